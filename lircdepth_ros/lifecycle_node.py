"""`lircdepth_node --managed`: the depth node as a managed (lifecycle) node.

unconfigured -> configure: loads the model (and builds its engine), creates the topics, the
    timers and the worker; inactive: images and sweeps are ignored.
inactive -> activate: images and sweeps are processed, depth is published.
active -> deactivate: processing stops (the topics stay, as in rclcpp's lifecycle nodes).
inactive -> cleanup: the worker stops, the topics and timers go, the model is freed.
shutdown (from any state): as cleanup.

`ros2 lifecycle get/set /lircdepth_node ...` drives it; the plain node stays the default.
"""

from __future__ import annotations

import gc

from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn

from lircdepth_ros.node import NODE_NAME, DepthNode, StartupError


class ManagedDepthNode(DepthNode, LifecycleNode):
    """DepthNode's data flow, built and torn down by lifecycle transitions."""

    def __init__(self, **node_kwargs) -> None:
        LifecycleNode.__init__(self, NODE_NAME, **node_kwargs)
        self._declare()
        self._active = False
        self.estimator = None
        self._made: dict[str, set] = {}

    def _entities(self) -> dict[str, set]:
        return {
            "subscriptions": set(self.subscriptions),
            "publishers": set(self.publishers),
            "timers": set(self.timers),
        }

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            self.estimator = self._load_estimator()
        except StartupError as error:
            self.get_logger().error(f"configure failed: {error}")
            return TransitionCallbackReturn.FAILURE
        before = self._entities()
        self._start()
        self._made = {kind: now - before[kind] for kind, now in self._entities().items()}
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = True
        self.get_logger().info("active: processing")
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = False
        self.get_logger().info("inactive: processing stopped")
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._tear_down()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._tear_down()
        return TransitionCallbackReturn.SUCCESS

    def _tear_down(self) -> None:
        """Stop the worker, destroy what configure made, free the model."""
        self._active = False
        if self.estimator is None:
            return
        DepthNode.stop(self)
        self.remove_on_set_parameters_callback(self._check_parameters)
        self.remove_post_set_parameters_callback(self._apply_parameters)
        for subscription in self._made.get("subscriptions", ()):
            self.destroy_subscription(subscription)
        for publisher in self._made.get("publishers", ()):
            self.destroy_publisher(publisher)
        for timer in self._made.get("timers", ()):
            self.destroy_timer(timer)
        self._made = {}
        self.estimator = None
        gc.collect()
        self.get_logger().info("cleaned up: model freed")

    def stop(self) -> None:
        """At process end (main's finally): stop the worker if configure started it."""
        if self.estimator is not None:
            DepthNode.stop(self)
