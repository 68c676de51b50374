"""Test helper, run as its own process: record what arrives on some topics.

    python topic_recorder.py OUT.json IDLE_SECONDS TOPIC=pkg/msg/Type [...]

Creates the subscriptions (reliable; /tf_static latched), touches OUT.json.ready, then
records per message: topic, header stamp (ns), monotonic receive time (s: the wall clock
can step while a test runs) and a digest of the payload, until IDLE_SECONDS pass
without a message (counted from the first one, or 60 s without any), and writes the
list to OUT.json.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

from lircdepth_ros.bag.ros_runtime import message_class, reliable_qos, ros_node, spin_until


def header_stamp(msg) -> int:
    """The header stamp (ns); a rosgraph_msgs/Clock's time."""
    if hasattr(msg, "clock"):
        return msg.clock.sec * 1_000_000_000 + msg.clock.nanosec
    header = msg.transforms[0].header if hasattr(msg, "transforms") else msg.header
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def payload_digest(msg) -> str:
    data = bytes(msg.data) if hasattr(msg, "data") else repr(msg).encode()
    return hashlib.sha1(data).hexdigest()


def main(out: str, idle: str, *topic_types: str) -> None:
    received: list[dict] = []
    with ros_node("topic_recorder") as (node, executor):
        for spec in topic_types:
            topic, _, msgtype = spec.partition("=")

            def record(msg, topic=topic) -> None:
                received.append(
                    {
                        "topic": topic,
                        "stamp": header_stamp(msg),
                        "time": time.monotonic(),
                        "digest": payload_digest(msg),
                    }
                )

            qos = reliable_qos(100, latched=topic == "/tf_static")
            node.create_subscription(message_class(msgtype), topic, record, qos)
        Path(out + ".ready").write_text("ready\n")
        spin_until(executor, lambda: bool(received), 60.0)
        count = -1
        while count != len(received):
            count = len(received)
            spin_until(executor, lambda seen=count: len(received) > seen, float(idle))
    Path(out).write_text(json.dumps(received))


if __name__ == "__main__":
    main(*sys.argv[1:])
