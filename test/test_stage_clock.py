"""The demo's time table: side-by-side processes are listed but not counted twice."""

from __future__ import annotations

from lircdepth.stage_clock import StageClock


def test_parts_are_listed_under_their_stage_and_left_out_of_the_total():
    clock = StageClock(cores=2)
    with clock.stage("prepare"):
        pass
    clock.stages[-1].wall_s, clock.stages[-1].cpu_s = 60.0, 100.0
    with clock.stage("train a + b (side by side)"):
        pass
    clock.stages[-1].wall_s, clock.stages[-1].cpu_s = 120.0, 200.0
    clock.add_part("train a: 10 steps", 120.0, 110.0, images=20)
    clock.add_part("train b: 10 steps", 50.0, 45.0, images=20)
    table = clock.markdown()
    assert "| ↳ train a: 10 steps | 120 | 110 | 46 % | 0.17 |" in table
    assert "| ↳ train b: 10 steps | 50 | 45 | 45 % | 0.40 |" in table
    assert "| total (3.0 min) | 180 | 300 | 83 % | |" in table
