"""Node health in numbers: input rates, pair rate, per-stage latency, drops and failures.

One `NodeStats` collects everything (thread-safe: callbacks and the worker both write);
it renders as a diagnostic_msgs/DiagnosticStatus for /diagnostics and as one log line.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

RATE_WINDOW_SECONDS = 5.0
# `batch`: the worker's whole turn over the cameras of one batch (rig node only).
STAGES = ("convert", "rasterise", "model", "postprocess", "publish", "end_to_end", "batch")


class RateMeter:
    """Events per second over the last few seconds."""

    def __init__(self, window: float = RATE_WINDOW_SECONDS) -> None:
        self.window = window
        self._times: deque[float] = deque()

    def tick(self, now: float) -> None:
        self._times.append(now)

    def rate(self, now: float) -> float:
        while self._times and self._times[0] < now - self.window:
            self._times.popleft()
        return len(self._times) / self.window


class NodeStats:
    """Counters (bad messages by kind, drops, TF failures), rates and stage latencies."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._rates: dict[str, RateMeter] = defaultdict(RateMeter)
        self._latency: dict[str, list[float]] = defaultdict(list)
        self.last_seen: dict[str, float] = {}
        self.texts: dict[str, str] = {}  # the last logged text of each fault counter
        self._lock = threading.Lock()

    def received(self, stream: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._rates[stream].tick(now)
            self.last_seen[stream] = now
            self.counts[f"received.{stream}"] += 1

    def count(self, key: str, amount: int = 1, text: str | None = None) -> None:
        with self._lock:
            self.counts[key] += amount
            if text is not None:
                self.texts[key] = text

    def latency(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._latency[stage].append(seconds)

    def snapshot(self) -> dict[str, float]:
        """Flat name -> value: counts, rates (Hz), and stage latency mean/max (ms) since the last snapshot."""
        now = time.monotonic()
        with self._lock:
            values: dict[str, float] = {
                key: float(value) for key, value in sorted(self.counts.items())
            }
            values.update(
                {f"rate.{name}": meter.rate(now) for name, meter in sorted(self._rates.items())}
            )
            for stage in STAGES:
                samples = self._latency.pop(stage, [])
                if samples:
                    values[f"latency_ms.{stage}.mean"] = 1000 * sum(samples) / len(samples)
                    values[f"latency_ms.{stage}.max"] = 1000 * max(samples)
        return values

    def silent_streams(self, streams: tuple[str, ...], timeout: float, since: float) -> list[str]:
        """Streams with nothing received for `timeout` seconds (counting from `since` if never)."""
        now = time.monotonic()
        with self._lock:
            return [s for s in streams if now - self.last_seen.get(s, since) > timeout]


class KindThrottle:
    """Decides which faults to log: the first of each kind at once, then at most one per
    `period` seconds per kind, saying how many were not logged in between.

    Why not rclpy's `throttle_duration_sec`: it throttles per call site, so one kind
    arriving at camera rate would hide every other kind logged from the same place.
    """

    def __init__(self, period: float) -> None:
        self.period = period
        self._last: dict[str, float] = {}
        self._suppressed: Counter[str] = Counter()
        self._lock = threading.Lock()

    def admit(self, kind: str, now: float | None = None) -> int | None:
        """None: do not log this one; else log it, with this many suppressed since the last."""
        now = time.monotonic() if now is None else now
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.period:
                self._suppressed[kind] += 1
                return None
            self._last[kind] = now
            return self._suppressed.pop(kind, 0)


# Dropped on purpose, not a fault: the worker runs the newest pair and skips older ones.
NOT_PROBLEMS = frozenset({"dropped.superseded_pairs"})


def problem_count(values: dict[str, float]) -> float:
    """Faults and losses for the log's `problems=`; superseded pairs are normal operation."""
    return sum(
        v
        for k, v in values.items()
        if k.startswith(("bad.", "rejected.", "tf_failures", "dropped.")) and k not in NOT_PROBLEMS
    )


def diagnostic_status(
    name: str,
    hardware_id: str,
    values: dict[str, float],
    warnings: list[str],
    info: dict[str, str] | None = None,
    error: bool = False,
    ok_message: str = "running",
) -> DiagnosticStatus:
    """WARN with a message when something is wrong (ERROR with `error`), else OK.

    `info` holds fixed facts (the engine and why it was chosen) listed after the numbers.
    """
    level = DiagnosticStatus.WARN if warnings else DiagnosticStatus.OK
    return DiagnosticStatus(
        level=DiagnosticStatus.ERROR if error else level,
        name=name,
        hardware_id=hardware_id,
        message="; ".join(warnings) if warnings else ok_message,
        values=[KeyValue(key=key, value=f"{value:g}") for key, value in values.items()]
        + [KeyValue(key=key, value=text) for key, text in (info or {}).items()],
    )


def diagnostic_array(statuses: list[DiagnosticStatus], stamp) -> DiagnosticArray:
    return DiagnosticArray(status=statuses, header=Header(stamp=stamp))


def summed_counts(per_camera: list[dict[str, float]]) -> dict[str, float]:
    """The rig's totals: every counter of every camera summed (rates and latencies left out)."""
    totals: Counter[str] = Counter()
    for values in per_camera:
        totals.update(
            {k: v for k, v in values.items() if not k.startswith(("rate.", "latency_ms."))}
        )
    return {key: float(value) for key, value in sorted(totals.items())}


def summary_line(values: dict[str, float]) -> str:
    """Short periodic log line: rates, model latency, drops and failures."""
    rates = " ".join(f"{k[5:]}={v:.1f}Hz" for k, v in values.items() if k.startswith("rate."))
    latency = "".join(
        f" {label}={values[key]:.0f}ms"
        for label, key in (
            ("model", "latency_ms.model.mean"),
            ("e2e", "latency_ms.end_to_end.mean"),
        )
        if values.get(key) is not None
    )
    return f"{rates}{latency} published={values.get('published', 0):g} problems={problem_count(values):g}"
