"""Why a camera publishes no depth: the honest part of its /diagnostics status.

Counters alone do not tell a monitor that the node is useless: images may arrive and every
one be refused (an encoding the model does not take), every pair may fail TF, CameraInfo
may never come, or the transport may lose most images. `Health` compares the camera's
counters over the last `WINDOW_PERIODS` diagnostics periods and names each cause seen in
that window, with the last logged text of its kind; the status is ERROR while images arrive
and none of them became depth, WARN when depth still comes out. Pure (no ROS).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

# Causes are looked for over this many diagnostics periods, so each shows up within two
# periods of its start and is gone two periods after it ends.
WINDOW_PERIODS = 2
# Warn when at least this fraction of the images sent was lost in transport.
LOSS_WARN_FRACTION = 0.5

# Counter prefix -> what its count is, in a warning.
FAULT_KINDS: tuple[tuple[str, str], ...] = (
    ("rejected.image.", "images refused"),
    ("rejected.camera_info.missing", "pairs skipped without CameraInfo"),
    ("rejected.camera_info.", "CameraInfo messages refused"),
    ("rejected.pointcloud2.", "radar clouds refused"),
    ("tf_failures", "pairs skipped without a transform"),
    ("bad.processing_errors", "frames failed in processing"),
)


def fault_kind(key: str) -> str | None:
    """What a fault counter counts, or None when `key` is not a fault that costs depth."""
    for prefix, text in FAULT_KINDS:
        if key.startswith(prefix):
            return text
    return None


@dataclass
class Verdict:
    """The camera's state over the window: `no_depth` is an ERROR, other warnings a WARN."""

    warnings: list[str] = field(default_factory=list)
    no_depth: bool = False


class Health:
    """Counter deltas over the last `WINDOW_PERIODS` reports -> named causes."""

    def __init__(self, window_periods: int = WINDOW_PERIODS) -> None:
        self._history: deque[dict[str, float]] = deque([{}], maxlen=window_periods + 1)

    def assess(
        self,
        counts: Mapping[str, float],
        texts: Mapping[str, str],
        *,
        image_topic: str,
        camera_info_topic: str,
        waiting_for_camera_info: bool,
        transport_hint: str,
        window_seconds: float,
    ) -> Verdict:
        """`counts`: the camera's cumulative counters now; `texts`: the last logged text per
        counter; `waiting_for_camera_info`: images came and no valid CameraInfo yet."""
        self._history.append(dict(counts))
        oldest = self._history[0]  # WINDOW_PERIODS reports back (or the start)
        delta = {key: value - oldest.get(key, 0.0) for key, value in counts.items()}
        images = delta.get("received.image", 0.0)
        lost = delta.get("dropped.transport_lost.image", 0.0)
        verdict = Verdict()
        if waiting_for_camera_info:
            verdict.warnings.append(
                f"no CameraInfo received on {camera_info_topic}: images cannot become depth"
            )
        faults = sorted(
            ((value, key) for key, value in delta.items() if value > 0 and fault_kind(key)),
            reverse=True,
        )
        for value, key in faults:
            text = texts.get(key)
            # (key), not the log's [key]: one grep of the log for [key] finds each fault once
            verdict.warnings.append(
                f"{value:g} {fault_kind(key)} ({key})" + (f": {text}" if text else "")
            )
        if lost > 0 and lost >= LOSS_WARN_FRACTION * (lost + images):
            verdict.warnings.append(
                f"{lost:g} of {lost + images:g} images lost in transport on {image_topic}; "
                f"{transport_hint}"
            )
        if verdict.warnings and (images > 0 or lost > 0) and delta.get("published", 0.0) == 0:
            verdict.no_depth = True
            verdict.warnings.insert(0, f"no depth published in the last {window_seconds:g} s")
        return verdict
