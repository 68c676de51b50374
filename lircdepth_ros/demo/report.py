"""The demo's Markdown report: pictures, metrics tables, stage times, node statistics."""

from __future__ import annotations

from pathlib import Path

from lircdepth.atomic import write_text_atomic
from lircdepth.pipeline import results_table
from lircdepth.stage_clock import StageClock


def write_report(
    out: Path, offline: dict[str, dict], online: dict[str, dict], clock: StageClock
) -> Path:
    from lircdepth.metrics import format_markdown

    lines = ["# LiRCDepth demo report", ""]
    if (out / "preview.png").exists():
        lines += ["## The world", "", "![keyframe with lidar and radar](preview.png)", ""]
    if (out / "panel.png").exists():
        lines += [
            "## A test frame (distilled student)",
            "",
            "image | radar | predicted depth | lidar | error (0-5 m)",
            "",
            "![panel](panel.png)",
            "",
        ]
    if offline or online:
        lines += ["## Test split, 0-80 m", "", results_table(offline, online), ""]
    for name, results in offline.items():
        lines += [f"## Offline evaluation: {name}", "", format_markdown(results["metrics"]), ""]
    for bag, results in online.items():
        lines += [
            f"## Replay through lircdepth_node: {bag}",
            "",
            format_markdown(results["metrics"]),
            "",
        ]
        lines += [
            f"Frames scored: {results.get('frames_scored')} of {results.get('frames_expected')}",
            "",
        ]
    if (out / "loss_curves.png").exists():
        lines += ["## Training curves", "", "![loss curves](loss_curves.png)", ""]
    if clock.stages:
        lines += ["## Time and machine use (this run; skipped stages are not listed)", ""]
        lines += [clock.markdown(), ""]
    lines += _latency_lines(out / "logs")
    report = out / "report.md"
    write_text_atomic(report, "\n".join(lines))
    return report


def _latency_lines(logs: Path) -> list[str]:
    """The node's last periodic statistics line and the player's summary, verbatim."""
    node_stats = _last_line_with(logs / "node.log", "model=")
    player = _last_line_with(logs / "play.log", "published")
    if not (node_stats or player):
        return []
    lines = ["## Latency and rates (CPU, this machine)", ""]
    if node_stats:
        lines += [f"- node statistics: `{node_stats.split(']: ', 1)[-1]}`"]
    if player:
        lines += [f"- player: {player}"]
    return [*lines, ""]


def _last_line_with(path: Path, marker: str) -> str | None:
    if not path.exists():
        return None
    matches = [line.strip() for line in path.read_text().splitlines() if marker in line]
    return matches[-1] if matches else None
