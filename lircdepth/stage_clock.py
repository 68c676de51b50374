"""Wall and CPU time of each stage of a job, for the report's "time and machine use" table.

CPU seconds count this process and its reaped children (worker pools, ROS processes), so
CPU utilisation = CPU seconds / (wall seconds x cores) says how much of the machine a
stage used, even when other jobs share the CPU.
"""

from __future__ import annotations

import contextlib
import os
import resource
import time
from dataclasses import dataclass, field


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children so far."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass
class Stage:
    name: str
    wall_s: float
    cpu_s: float
    images: int = 0  # training images processed (0: not a training stage)
    part: bool = False  # one process of the stage above (side by side): not in the total

    def utilisation(self, cores: int) -> float:
        return self.cpu_s / max(self.wall_s * cores, 1e-9)


@dataclass
class StageClock:
    cores: int = field(default_factory=lambda: len(os.sched_getaffinity(0)))
    stages: list[Stage] = field(default_factory=list)

    @contextlib.contextmanager
    def stage(self, name: str, images: int = 0):
        wall, cpu = time.perf_counter(), cpu_seconds()
        yield
        self.stages.append(Stage(name, time.perf_counter() - wall, cpu_seconds() - cpu, images))

    def add_part(self, name: str, wall_s: float, cpu_s: float, images: int = 0) -> None:
        """One process of the last stage, timed by itself (it ran side by side with others)."""
        self.stages.append(Stage(name, wall_s, cpu_s, images, part=True))

    def markdown(self) -> str:
        lines = [
            f"| stage | wall s | CPU s | CPU use of {self.cores} cores | training images/s |",
            "|---|---:|---:|---:|---:|",
        ]
        for s in self.stages:
            rate = f"{s.images / max(s.wall_s, 1e-9):.2f}" if s.images else ""
            name = f"↳ {s.name}" if s.part else s.name
            lines.append(
                f"| {name} | {s.wall_s:.0f} | {s.cpu_s:.0f} | "
                f"{100 * s.utilisation(self.cores):.0f} % | {rate} |"
            )
        whole = [s for s in self.stages if not s.part]
        wall, cpu = sum(s.wall_s for s in whole), sum(s.cpu_s for s in whole)
        lines.append(
            f"| total ({wall / 60:.1f} min) | {wall:.0f} | {cpu:.0f} | {100 * cpu / max(wall * self.cores, 1e-9):.0f} % | |"
        )
        return "\n".join(lines) + "\n"
