#!/usr/bin/env bash
# Run the ROS-facing tests (every test that starts rclpy or uses the ROS message classes:
# test/ros, test/bag, and the bag/node cases of the CLI error tests) under another ROS 2
# distribution, in its own venv (.venv-<distro>/; one venv holds one distribution).
#   bash scripts/test_ros_distro.sh jazzy [PYTEST ARGS]
# The default suite (`bash scripts/test.sh`) runs under Kilted; .ci/run runs both.
set -euo pipefail
cd "$(dirname "$0")/.."
distro=${1:?usage: scripts/test_ros_distro.sh DISTRO [PYTEST ARGS]}
shift
venv=".venv-$distro"
ROS_DISTRO=$distro VENV=$venv bash scripts/setup.sh
# The real ROS 2 Python tools (ros2 launch/param/topic, tf2_ros, message_filters), where
# they are shipped beside the checkout, as .ci/run does for the default venv.
tools="$(dirname "$(pwd)")/shared/ros2-tools/install.sh"
if [ -f "$tools" ]; then
  bash "$tools" "$venv"
fi
cli=test/errors/test_errors_cli.py
exec bash scripts/pytest.sh "$venv/bin/python" test/ros test/bag \
  "$cli::test_lockstep_play_without_a_node_fails_fast" \
  "$cli::test_bag_evaluate_without_a_node_is_an_error_not_a_nan_table" \
  "$cli::test_node_start_up_failure_is_one_line" "$@"
