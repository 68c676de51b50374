"""Online evaluator: score the depth a running node publishes against a bag's lidar.

It subscribes to the node's depth topic (32FC1, metres, stamped with the camera
image's stamp) and takes lidar, TF and intrinsics from the bag itself, so no message
can be lost on the ground-truth side. With several cameras it listens to each camera's
depth topic and scores each camera and the whole rig. It stops when every scored frame
has arrived, after `idle_timeout` seconds without a new scored frame (once the first one
came), or after `timeout` seconds in all; then it writes the metrics table (JSON +
Markdown) and, if asked, the surround picture.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lircdepth.atomic import write_text_atomic
from lircdepth.errors import JobError, UnknownNameError
from lircdepth.metrics import DEFAULT_CAPS, format_markdown, write_json
from lircdepth_ros.bag import messages as m
from lircdepth_ros.bag.ground_truth import bag_cameras
from lircdepth_ros.bag.ros_runtime import message_class, reliable_qos, ros_node, spin_until
from lircdepth_ros.bag.scoring import FrameScorer, RigScorer, rig_markdown
from lircdepth_ros.bag.topics import depth_topics
from lircdepth_ros.conversions import MessageError, image_to_numpy

LOG = logging.getLogger(__name__)
MATCH_GRACE = 5.0  # seconds the other cameras' depth publishers may take after the first


def depth_from_message(msg) -> np.ndarray:
    """H x W float32 metres of the node's depth image (32FC1 only: no unit guessing)."""
    if msg.encoding != "32FC1":
        raise MessageError(f"depth Image.encoding is {msg.encoding!r}, expected '32FC1' (metres)")
    return image_to_numpy(msg)


class DepthListener:
    """Feeds every depth message of one camera to its scorer; counts what could not be
    scored and keeps the depth of the stamps in `keep` (for the surround picture)."""

    def __init__(self, node, topic: str, scorer: FrameScorer, keep: frozenset[int] = frozenset()):
        self.scorer = scorer
        self.last_scored = 0.0
        self.errors: list[str] = []
        self.keep = keep
        self.kept: dict[int, np.ndarray] = {}  # stamp (ns) -> depth
        self.subscription = node.create_subscription(
            message_class(m.IMAGE), topic, self.on_depth, reliable_qos(20)
        )

    def on_depth(self, msg) -> None:
        try:
            stamp, depth = m.stamp_to_nanoseconds(msg.header.stamp), depth_from_message(msg)
            if self.scorer.add(stamp, depth):
                self.last_scored = time.monotonic()
                if stamp in self.keep:
                    self.kept[stamp] = depth
        except (ValueError, KeyError) as error:  # a malformed message must not stop scoring
            self.errors.append(str(error))
            LOG.warning("depth message not scored: %s", error)


def wait_for_publishers(executor, listeners: dict[str, DepthListener], timeout: float) -> list[str]:
    """Wait until a node publishes every camera's depth topic, or, once one is matched,
    at most MATCH_GRACE seconds more for the others; returns the cameras still unmatched."""
    first_match: list[float] = []

    def unmatched() -> list[str]:
        return [c for c, lis in listeners.items() if lis.subscription.get_publisher_count() == 0]

    def settled() -> bool:
        missing = unmatched()
        if len(missing) < len(listeners) and not first_match:
            first_match.append(time.monotonic())
        return not missing or bool(first_match and time.monotonic() - first_match[0] > MATCH_GRACE)

    spin_until(executor, settled, timeout)
    return unmatched()


@dataclass(frozen=True)
class EvaluateOptions:
    """What `evaluate_bag` scores and how long it listens (the `bag evaluate` flags).

    cameras: the cameras to score (None or ["all"]: every camera the bag records).
    depth_topic: the topic, or with several cameras a template with `{camera}` (default
    `depth` for one camera, `{camera}/depth` for several, as the node names them).
    idle_timeout: scoring ends this long after the last scored frame, so a camera that
    never answers does not hold up the others. node_timeout: how long to wait for a node
    to publish any depth topic. ready_file: touched once the depth subscriptions are
    matched, so a script can start the player only when no output can be missed.
    surround_path: the surround picture of keyframe sample `surround_sample`.
    """

    depth_topic: str | None = None
    cameras: Sequence[str] | None = None
    frames: str = "keyframes"
    caps: Sequence[float] = DEFAULT_CAPS
    timeout: float = 600.0
    idle_timeout: float = 30.0
    domain_id: int | None = None
    ready_file: str | Path | None = None
    json_path: str | Path | None = None
    markdown_path: str | Path | None = None
    node_timeout: float = 120.0
    surround_path: str | Path | None = None
    surround_sample: int = 0


def evaluate_bag(bag: str | Path, options: EvaluateOptions | None = None, **overrides) -> dict:
    """Listen to each camera's depth topic and score what arrives; returns (and optionally
    writes) the results. Options as `EvaluateOptions` (or its fields as keywords).

    One camera gives the single-camera results; several give `RigScorer.results` (per
    camera and the rig) plus `cameras_unmatched` (no publisher found). Raises JobError,
    and writes nothing, when no node publishes any depth topic within `node_timeout`
    seconds or when no frame could be scored.
    """
    options = replace(options or EvaluateOptions(), **overrides)
    cameras = chosen_cameras(bag, options.cameras)
    topics = depth_topics(options.depth_topic, cameras)
    scorer = RigScorer(bag, cameras, options.frames, options.caps)
    keep = surround_stamps(scorer, topics, options)
    listeners, unmatched = listen(scorer, topics, keep, options)
    results = collect_results(bag, scorer, listeners, topics, unmatched, options.frames)
    if options.surround_path is not None:
        from lircdepth_ros.bag.surround import write_surround_picture

        kept = {c: lis.kept[keep[c]] for c, lis in listeners.items() if keep.get(c) in lis.kept}
        write_surround_picture(
            options.surround_path,
            scorer.recording,
            options.surround_sample,
            kept,
            cameras,
            max(options.caps),
        )
    write_results(results, options.json_path, options.markdown_path)
    return results


def chosen_cameras(bag: str | Path, asked: Sequence[str] | None) -> list[str]:
    """The cameras to score: those asked for (each must be in the bag), or all recorded."""
    recorded = bag_cameras(bag)
    cameras = recorded if asked in (None, ["all"], ("all",)) else list(asked)
    if not cameras:
        raise JobError(f"bag {bag} records no camera")
    unknown = [c for c in cameras if c not in recorded]
    if unknown:
        raise UnknownNameError(
            f"--cameras: bag {bag} records no camera {', '.join(unknown)} "
            f"(it has: {', '.join(recorded) or 'none'})"
        )
    return cameras


def surround_stamps(scorer: RigScorer, topics: dict, options: EvaluateOptions) -> dict:
    """camera -> the stamp whose depth the surround picture needs (none when not asked)."""
    if options.surround_path is None:
        return {}
    from lircdepth_ros.bag.surround import sample_stamps  # loads torch: only when asked

    stamps = sample_stamps(scorer.recording, options.surround_sample)
    return {c: s for c, s in stamps.items() if c in topics}


def listen(
    scorer: RigScorer, topics: dict, keep: dict, options: EvaluateOptions
) -> tuple[dict, list[str]]:
    """Subscribe every camera's depth, wait for a node, then score until done or idle."""
    start = time.monotonic()
    with ros_node("lircdepth_bag_evaluator", options.domain_id) as (node, executor):
        listeners = {
            c: DepthListener(node, topic, scorer.scorers[c], frozenset({keep.get(c, -1)}))
            for c, topic in topics.items()
        }
        wait = min(options.node_timeout, options.timeout)
        unmatched = wait_for_publishers(executor, listeners, wait)
        if len(unmatched) == len(listeners):
            raise JobError(
                f"no node publishes {' or '.join(topics.values())} after "
                f"{options.node_timeout:.0f} s (--node-timeout)",
                hint="start lircdepth_node (or check --depth-topic)",
            )
        if unmatched:
            LOG.warning(
                "no node publishes the depth of %s; scoring the others", ", ".join(unmatched)
            )
        if options.ready_file is not None:
            write_text_atomic(options.ready_file, "ready\n")

        def finished() -> bool:
            last = max(lis.last_scored for lis in listeners.values())
            return scorer.done or bool(last and time.monotonic() - last > options.idle_timeout)

        spin_until(executor, finished, max(options.timeout - (time.monotonic() - start), 0.0))
    return listeners, unmatched


def collect_results(
    bag, scorer: RigScorer, listeners: dict, topics: dict, unmatched: list[str], frames: str
) -> dict:
    """The scores of what arrived; JobError when nothing could be scored."""
    cameras = list(topics)
    errors = [e for lis in listeners.values() for e in lis.errors]
    if len(cameras) == 1:
        results = scorer.scorers[cameras[0]].results()
        results.update(depth_topic=topics[cameras[0]], camera=cameras[0])
    else:
        results = scorer.results()
        results.update(depth_topics=topics, cameras_unmatched=unmatched)
    results.update(frames=frames, errors=errors[:20])
    if not results["frames_scored"]:
        raise JobError(
            f"no depth image on {' or '.join(topics.values())} could be scored against {bag} "
            f"({results['frames_expected']} frames expected, {len(errors)} malformed)"
        )
    for camera, frame_scorer in scorer.scorers.items():
        missing = frame_scorer.expected - set(frame_scorer.frames)
        if missing:
            LOG.warning(
                "%s: %d of %d frames got no depth", camera, len(missing), len(frame_scorer.expected)
            )
    return results


def results_markdown(results: dict) -> str:
    title = f"Online evaluation of {Path(results['bag']).name} ({results['frames_scored']} frames)"
    if "cameras" in results:
        return f"### {title}\n\n{rig_markdown(results)}"
    return format_markdown(results["metrics"], title=title)


def write_results(
    results: dict, json_path: str | Path | None, markdown_path: str | Path | None
) -> None:
    if json_path is not None:
        write_json(results, json_path)
    if markdown_path is not None:
        write_text_atomic(markdown_path, results_markdown(results))
