#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment at .venv/ with every dependency
# pinned in requirements.txt, install this repository into it (editable), and build the
# ROS message packages that are not published as wheels (tf2_msgs).
# Idempotent: a second run with unchanged requirements only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/.venv"
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating virtual environment at .venv/"
  "$python" -m venv "$venv"
fi

# pip prints one harmless warning per package for this machine's extra local indexes; hide
# only those lines and keep pip's exit status.
pip_quiet() { "$venv/bin/python" -m pip "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

stamp="$venv/.lircdepth-requirements.sha256"
want=$(sha256sum requirements.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing pinned dependencies (requirements.txt); this takes a few minutes the first time"
  # setuptools 80 dropped the `develop --script-dir` option that ament_python's setup.cfg uses.
  pip_quiet install --quiet "setuptools==79.0.1" wheel
  pip_quiet install --quiet -r requirements.txt
  "$venv/bin/python" -c "import torch, torchvision, nuscenes, cv2, rclpy" \
    || { echo "[setup] dependency install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

echo "[setup] installing lircdepth (editable)"
pip_quiet install --quiet --no-deps --no-build-isolation -e .
# setup.cfg sends console scripts to lib/lircdepth_ros/ (where `ros2 run` looks); a venv
# user expects them in .venv/bin as well.
for exe in lircdepth lircdepth_node; do
  if [ ! -e "$venv/bin/$exe" ] && [ -x "$venv/lib/lircdepth_ros/$exe" ]; then
    ln -s "$venv/lib/lircdepth_ros/$exe" "$venv/bin/$exe"
  fi
done
"$venv/bin/lircdepth" --help > /dev/null || { echo "[setup] lircdepth install failed" >&2; exit 1; }
# An editable install skips setup.py's data_files: lay the venv out as the ament prefix
# `ros2 run/launch/pkg` expect (index entry, share/lircdepth_ros/ with links to this
# checkout's files; file links, as `ros2 launch` does not search linked folders).
share="$venv/share/lircdepth_ros"
mkdir -p "$venv/share/ament_index/resource_index/packages" "$share"
: > "$venv/share/ament_index/resource_index/packages/lircdepth_ros"
ln -sfn "$root/package.xml" "$share/package.xml"
for dir in launch config; do
  if [ -L "$share/$dir" ]; then rm "$share/$dir"; fi
  mkdir -p "$share/$dir"
  for file in "$root/$dir"/*; do ln -sfn "$file" "$share/$dir/"; done
done

if [ -x scripts/build_ros_msgs.sh ]; then
  bash scripts/build_ros_msgs.sh "$venv"
fi
echo "[setup] done: $("$venv/bin/python" --version), environment in .venv/"
