#!/usr/bin/env bash
# Build the ROS 2 message package tf2_msgs into a virtual environment, against the ROS 2
# distribution installed there (Kilted or Jazzy).
#
# Why: tf2_msgs is not published on PyPI, but the node listens to /tf and /tf_static
# with the standard tf2_msgs/TFMessage type. Its definition is one line, so we generate
# it with the pip-installed rosidl toolchain and install it straight into the venv
# prefix (the rclpy wheels' start-up hook already puts <venv>/lib on the library path).
#
# Usage: scripts/build_ros_msgs.sh [VENV]   (default: .venv next to this script's repo)
# Idempotent: returns at once when `from tf2_msgs.msg import TFMessage` already works.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(realpath "${1:-.venv}")
python="$venv/bin/python"

if "$python" -c "from tf2_msgs.msg import TFMessage" 2>/dev/null; then
  echo "[build_ros_msgs] tf2_msgs already importable; nothing to do"
  exit 0
fi

# The toolchain of the venv's ROS 2 distribution (read from its rclpy wheel): the other
# distribution's build wheels would replace this venv's core C libraries.
distro=$("$python" -c "
import importlib.metadata as m
names = {(d.metadata['Name'] or '').lower() for d in m.distributions()}
print(next((n[4:-6] for n in sorted(names) if n.count('-') == 2 and n.startswith('ros-') and n.endswith('-rclpy')), ''))")
requirements="requirements/ros-$distro.txt"
if [ -z "$distro" ] || [ ! -f "$requirements" ]; then
  echo "[build_ros_msgs] error: $venv has no ROS 2 rclpy wheel of a supported distribution (requirements/ros-*.txt)" >&2
  exit 1
fi
echo "[build_ros_msgs] installing the pinned rosidl/colcon build toolchain ($requirements)"
"$python" -m pip install --quiet -r "$requirements" 2> >(grep -v "is ignored: it is neither" >&2)

# The wheels' exported CMake files name the wheel build host's Python and numpy include
# folders; point them at this interpreter's.
py_include=$("$python" -c "import sysconfig; print(sysconfig.get_paths()['include'])")
np_include=$("$python" -c "import numpy; print(numpy.get_include())")
{ grep -rlE "/opt/python/cp[0-9]+-cp[0-9]+" "$venv/share" --include='*.cmake' || true; } | while read -r file; do
  sed -i -E \
    -e "s#/opt/python/cp[0-9]+-cp[0-9]+/lib/python[0-9.]+/site-packages/numpy/_?core/include#${np_include}#g" \
    -e "s#/opt/python/cp[0-9]+-cp[0-9]+/include/python[0-9.]+#${py_include}#g" \
    "$file"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pkg="$work/src/tf2_msgs"
mkdir -p "$pkg/msg"
echo "geometry_msgs/TransformStamped[] transforms" > "$pkg/msg/TFMessage.msg"
cat > "$pkg/package.xml" <<'XML'
<?xml version="1.0"?>
<package format="3">
  <name>tf2_msgs</name>
  <version>0.0.0</version>
  <description>tf2_msgs/TFMessage built locally for LiRCDepth (not published as a wheel).</description>
  <maintainer email="lircdepth-maintainers@example.com">LiRCDepth maintainers</maintainer>
  <license>BSD-3-Clause</license>
  <buildtool_depend>ament_cmake</buildtool_depend>
  <buildtool_depend>rosidl_default_generators</buildtool_depend>
  <depend>geometry_msgs</depend>
  <exec_depend>rosidl_default_runtime</exec_depend>
  <member_of_group>rosidl_interface_packages</member_of_group>
  <export><build_type>ament_cmake</build_type></export>
</package>
XML
cat > "$pkg/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(tf2_msgs)
find_package(ament_cmake REQUIRED)
find_package(rosidl_default_generators REQUIRED)
find_package(geometry_msgs REQUIRED)
rosidl_generate_interfaces(${PROJECT_NAME} "msg/TFMessage.msg" DEPENDENCIES geometry_msgs)
ament_export_dependencies(rosidl_default_runtime)
ament_package()
CMAKE

echo "[build_ros_msgs] building tf2_msgs into $venv"
(
  cd "$work"
  export AMENT_PREFIX_PATH="$venv" CMAKE_PREFIX_PATH="$venv" PATH="$venv/bin:$PATH"
  "$venv/bin/colcon" --log-base "$work/log" build --base-paths src --build-base "$work/build" \
    --install-base "$venv" --merge-install \
    --cmake-args "-DPython3_EXECUTABLE=$python" -DBUILD_TESTING=OFF > "$work/build.log" 2>&1
) || { cat "$work/build.log" >&2; echo "[build_ros_msgs] build failed" >&2; exit 1; }

"$python" -c "from tf2_msgs.msg import TFMessage" \
  || { echo "[build_ros_msgs] tf2_msgs built but does not import" >&2; exit 1; }
echo "[build_ros_msgs] tf2_msgs ready"
