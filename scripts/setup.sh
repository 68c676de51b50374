#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment with every dependency pinned in
# requirements.txt plus one ROS 2 distribution's wheels (requirements/ros-<distro>.txt),
# install this repository into it (editable), and build the ROS message packages that are
# not published as wheels (tf2_msgs) against that distribution.
#   bash scripts/setup.sh                                   ROS 2 Kilted in .venv/
#   ROS_DISTRO=jazzy VENV=.venv-jazzy bash scripts/setup.sh  ROS 2 Jazzy in .venv-jazzy/
# One venv holds one distribution (their wheels share names at other versions).
# Idempotent: a second run with unchanged requirements only re-checks the install.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
distro=${ROS_DISTRO:-kilted}
venv_arg=${VENV:-.venv}
case $venv_arg in /*) venv=$venv_arg ;; *) venv="$root/$venv_arg" ;; esac
python=${PYTHON:-python3}
ros_requirements="requirements/ros-$distro.txt"
if [ ! -f "$ros_requirements" ]; then
  supported=$(cd requirements && ls ros-*.txt | sed -e 's/^ros-//' -e 's/\.txt$//' | paste -sd' ')
  echo "[setup] error: ROS_DISTRO=$distro: no $ros_requirements (supported: $supported)" >&2
  exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
  echo "[setup] creating virtual environment at $venv_arg/"
  "$python" -m venv "$venv"
fi
# A venv made for another distribution cannot take this one's wheels.
other=$("$venv/bin/python" -c "
import importlib.metadata as m
names = {(d.metadata['Name'] or '').lower() for d in m.distributions()}
print(' '.join(n[4:-6] for n in sorted(names) if n.count('-') == 2 and n.startswith('ros-') and n.endswith('-rclpy') and n != 'ros-$distro-rclpy'))")
if [ -n "$other" ]; then
  echo "[setup] error: $venv_arg holds ROS 2 $other, not $distro; choose another VENV=" >&2
  exit 2
fi

# pip prints one harmless warning per package for this machine's extra local indexes; hide
# only those lines and keep pip's exit status.
pip_quiet() { "$venv/bin/python" -m pip "$@" 2> >(grep -v "is ignored: it is neither" >&2); }

stamp="$venv/.lircdepth-requirements.sha256"
want=$(sha256sum requirements.txt "$ros_requirements" scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing pinned dependencies (requirements.txt, $ros_requirements); this takes a few minutes the first time"
  # No setuptools pin: these requirements resolve it to 79.0.1 (colcon-core wants < 80, torch
  # >= 77.0.3), and the install below was measured to work with 79.0.1 and 84.2.1.
  pip_quiet install --quiet -r requirements.txt -r "$ros_requirements"
  "$venv/bin/python" -c "import torch, torchvision, nuscenes, cv2, rclpy" \
    || { echo "[setup] dependency install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# A venv set up before pyproject.toml has bin/lircdepth* as links into lib/lircdepth_ros/
# (the old `setup.py develop` layout); pip would write the new scripts through them. The ROS
# package was named lircdepth_ros then (now lircdepth, as the distribution): its old index
# entry and folders go too, so `ros2 pkg list` shows one package.
for exe in lircdepth lircdepth_node; do
  if [ -L "$venv/bin/$exe" ]; then rm "$venv/bin/$exe"; fi
done
rm -rf "$venv/share/ament_index/resource_index/packages/lircdepth_ros" \
  "$venv/share/lircdepth_ros" "$venv/lib/lircdepth_ros"
echo "[setup] installing lircdepth (editable)"
pip_quiet install --quiet --no-deps --no-build-isolation -e .
"$venv/bin/lircdepth" --help > /dev/null || { echo "[setup] lircdepth install failed" >&2; exit 1; }
# Lay the venv out as the ament prefix `ros2 run/launch/pkg` read. Measured: pip's editable
# install (setuptools 79.0.1 and 84.2.1) installs none of setup.py's data_files (no share/ in
# the venv; `ros2 pkg prefix lircdepth` then answers "Package not found", `ros2 run` answers
# "Package 'lircdepth' not found"), and it writes the console scripts to bin/ only (with the
# index and package.xml but no lib/lircdepth/, `ros2 run` answers "No executable found").
# So: the index entry, links to this checkout's files (file links: `ros2 launch` does not
# search linked folders), and links to the console scripts where `ros2 run` looks.
share="$venv/share/lircdepth"
mkdir -p "$venv/share/ament_index/resource_index/packages" "$share" "$venv/lib/lircdepth"
: > "$venv/share/ament_index/resource_index/packages/lircdepth"
ln -sfn "$root/package.xml" "$share/package.xml"
for dir in launch config; do
  if [ -L "$share/$dir" ]; then rm "$share/$dir"; fi
  mkdir -p "$share/$dir"
  for file in "$root/$dir"/*; do ln -sfn "$file" "$share/$dir/"; done
done
for exe in lircdepth lircdepth_node; do
  ln -sfn "$venv/bin/$exe" "$venv/lib/lircdepth/$exe"
done

if [ -x scripts/build_ros_msgs.sh ]; then
  bash scripts/build_ros_msgs.sh "$venv"
fi
echo "[setup] done: $("$venv/bin/python" --version), ROS 2 $distro, environment in $venv_arg/"
