"""Online evaluator: score the depth a running node publishes against a bag's lidar.

It subscribes to the node's depth topic (32FC1, metres, stamped with the camera
image's stamp) and takes lidar, TF and intrinsics from the bag itself, so no message
can be lost on the ground-truth side. It stops when every scored frame has arrived,
after `idle_timeout` seconds without a new scored frame (once the first one came), or
after `timeout` seconds in all; then it writes the metrics table (JSON + Markdown).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lircdepth.atomic import write_text_atomic
from lircdepth.errors import JobError
from lircdepth.metrics import DEFAULT_CAPS, format_markdown, write_json
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.ground_truth import BagGroundTruth
from lircdepth_ros.bag.ros_runtime import message_class, reliable_qos, ros_node, spin_until
from lircdepth_ros.bag.scoring import FrameScorer
from lircdepth_ros.conversions import MessageError, image_to_numpy

LOG = logging.getLogger(__name__)


def depth_from_message(msg) -> np.ndarray:
    """H x W float32 metres of the node's depth image (32FC1 only: no unit guessing)."""
    if msg.encoding != "32FC1":
        raise MessageError(f"depth Image.encoding is {msg.encoding!r}, expected '32FC1' (metres)")
    return image_to_numpy(msg)


class DepthListener:
    """Feeds every depth message to the scorer; counts what could not be scored."""

    def __init__(self, node, topic: str, scorer: FrameScorer):
        self.scorer = scorer
        self.last_scored = 0.0
        self.errors: list[str] = []
        self.subscription = node.create_subscription(
            message_class(m.IMAGE), topic, self.on_depth, reliable_qos(20)
        )

    def on_depth(self, msg) -> None:
        try:
            if self.scorer.add(m.stamp_to_nanoseconds(msg.header.stamp), depth_from_message(msg)):
                self.last_scored = time.monotonic()
        except (ValueError, KeyError) as error:  # a malformed message must not stop scoring
            self.errors.append(str(error))
            LOG.warning("depth message not scored: %s", error)


def evaluate_bag(
    bag: str | Path,
    depth_topic: str = "depth",
    camera: str = "CAM_FRONT",
    frames: str = "keyframes",
    caps: Sequence[float] = DEFAULT_CAPS,
    timeout: float = 600.0,
    idle_timeout: float = 30.0,
    domain_id: int | None = None,
    ready_file: str | Path | None = None,
    json_path: str | Path | None = None,
    markdown_path: str | Path | None = None,
    node_timeout: float = 120.0,
) -> dict:
    """Listen to `depth_topic` and score what arrives; returns (and optionally writes) results.

    ready_file: touched once the depth subscription is matched with a publisher, so a
    script can start the player only when no output can be missed. Raises JobError, and
    writes nothing, when no node publishes `depth_topic` within `node_timeout` seconds or
    when no frame could be scored.
    """
    scorer = FrameScorer(BagGroundTruth(bag, camera=camera, frames=frames), caps)
    start = time.monotonic()
    with ros_node("lircdepth_bag_evaluator", domain_id) as (node, executor):
        listener = DepthListener(node, depth_topic, scorer)

        def matched() -> bool:
            return listener.subscription.get_publisher_count() > 0

        if not spin_until(executor, matched, min(node_timeout, timeout)):
            raise JobError(
                f"no node publishes {depth_topic} after {node_timeout:.0f} s (--node-timeout)",
                hint="start lircdepth_node (or check --depth-topic)",
            )
        if ready_file is not None:
            write_text_atomic(ready_file, "ready\n")

        def finished() -> bool:
            idle = listener.last_scored and time.monotonic() - listener.last_scored > idle_timeout
            return scorer.done or bool(idle)

        spin_until(executor, finished, max(timeout - (time.monotonic() - start), 0.0))
    results = scorer.results()
    results.update(
        depth_topic=depth_topic, camera=camera, frames=frames, errors=listener.errors[:20]
    )
    if not results["frames_scored"]:
        raise JobError(
            f"no depth image on {depth_topic} could be scored against {bag} "
            f"({results['frames_expected']} frames expected, {len(listener.errors)} malformed)"
        )
    if results["frames_missing"]:
        LOG.warning(
            "%d of %d frames got no depth",
            len(results["frames_missing"]),
            results["frames_expected"],
        )
    write_results(results, json_path, markdown_path)
    return results


def results_markdown(results: dict) -> str:
    title = f"Online evaluation of {Path(results['bag']).name} ({results['frames_scored']} frames)"
    return format_markdown(results["metrics"], title=title)


def write_results(
    results: dict, json_path: str | Path | None, markdown_path: str | Path | None
) -> None:
    if json_path is not None:
        write_json(results, json_path)
    if markdown_path is not None:
        write_text_atomic(markdown_path, results_markdown(results))
