"""Why an input topic stays silent, when the ROS graph can tell: the topic exists with
another type (a CompressedImage topic read as Image, or the reverse), or it does not exist
but a topic of the right type sits next to it. The node's silent-input warning then names
that cause instead of guessing at QoS and transports.
"""

from __future__ import annotations

from collections.abc import Callable

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED = "sensor_msgs/msg/CompressedImage"
# Topics of the right type listed at most, when the subscribed one has no publisher.
MAX_CANDIDATES = 3


def type_name(msg_type: type) -> str:
    """`sensor_msgs/msg/Image` for the class sensor_msgs.msg.Image."""
    return f"{msg_type.__module__.split('.')[0]}/msg/{msg_type.__name__}"


def _fix(actual: str, expected: str, topic: str) -> str:
    if actual == COMPRESSED and expected == IMAGE:
        return (
            "; set transport:=compressed (the node then reads <image>/compressed; "
            f"-r image/compressed:={topic} or a topics.image ending in 'compressed' reads it)"
        )
    if actual == IMAGE and expected == COMPRESSED:
        return "; set transport:=raw and name the raw image topic"
    return ""


class TopicTypes:
    """The node's input topics and their types; `explain` compares them with the graph."""

    def __init__(
        self,
        graph: Callable[[], list[tuple[str, list[str]]]],
        publishers: Callable[[str], list[str]],
        own: Callable[[], set[str]] = set,
    ) -> None:
        self._graph = graph  # the node's get_topic_names_and_types
        self._publishers = publishers  # topic -> its publishers' type names
        self._own = own  # the topics the node publishes itself (its outputs)
        self._expected: dict[str, str] = {}

    def expect(self, topic: str, msg_type: type) -> None:
        """`topic` (fully resolved) is subscribed with `msg_type`."""
        self._expected[topic] = type_name(msg_type)

    def explain(self, topic: str) -> str | None:
        """The graph's reason why nothing arrives on `topic`; None when it shows none."""
        expected = self._expected.get(topic)
        if expected is None:
            return None
        published = self._publishers(topic)
        others = [kind for kind in published if kind != expected]
        if others:
            return f"topic {topic} has type {others[0]}, the node reads {expected}" + _fix(
                others[0], expected, topic
            )
        if published:
            return None  # the right type: QoS or a silent publisher
        own = self._own()
        graph = {name: kinds for name, kinds in self._graph() if name not in own}
        nearby = self._nearby(graph, topic, expected)
        if nearby:
            return (
                f"no publisher on {topic}; {expected} topics next to it: {nearby} "
                "(check topics.image / transport / remaps)"
            )
        other = {IMAGE: COMPRESSED, COMPRESSED: IMAGE}.get(expected)
        nearby = self._nearby(graph, topic, other) if other else ""
        if nearby:
            fix = "transport:=raw" if other == IMAGE else "transport:=compressed"
            return (
                f"no publisher on {topic}; {other} topics next to it: {nearby}: set {fix} "
                "or a topics.image naming one (a name ending in 'compressed' is read as "
                "CompressedImage)"
            )
        return None

    @staticmethod
    def _nearby(graph: dict[str, list[str]], topic: str, kind: str) -> str:
        """Up to MAX_CANDIDATES other topics of type `kind` in the same first namespace (the
        graph also lists the node's own subscription of `topic`)."""
        names = sorted(
            name
            for name, kinds in graph.items()
            if kind in kinds and name != topic and name.split("/")[:2] == topic.split("/")[:2]
        )
        return ", ".join(names[:MAX_CANDIDATES])
