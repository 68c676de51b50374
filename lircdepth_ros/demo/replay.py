"""The demo's ROS replay: node, online evaluator and player, each its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from lircdepth.pipeline import test_scene_names
from lircdepth_ros.bag import convert_scenes


class RosReplay:
    """Node + online evaluator + player, each its own process, on one ROS domain.

    The extra arguments (node `-p` parameters, `bag evaluate` and `bag play` flags) are
    how `lircdepth_ros.demo.rig` runs the six-camera node; `play_args` replaces `--to-node`.
    """

    def __init__(
        self,
        out: Path,
        checkpoint: Path,
        node_params: tuple[str, ...] = (),
        evaluate_args: tuple[str, ...] = (),
        play_args: tuple[str, ...] = ("--to-node",),
    ) -> None:
        self.out, self.checkpoint = out, checkpoint
        self.node_params, self.evaluate_args, self.play_args = node_params, evaluate_args, play_args
        self.env = dict(
            os.environ,
            ROS_DOMAIN_ID=str(os.environ.get("ROS_DOMAIN_ID", "42")),
            PYTHONUNBUFFERED="1",
        )
        self.logs = out / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)

    def run(self, bag: Path) -> dict:
        online_json = self.out / "online" / f"{bag.name}.json"
        if online_json.exists():
            return json.loads(online_json.read_text())
        online_json.parent.mkdir(parents=True, exist_ok=True)
        ready = self.out / "online" / f"{bag.name}.ready"
        ready.unlink(missing_ok=True)
        node = self._spawn(
            "node",
            [
                sys.executable,
                "-m",
                "lircdepth_ros.launcher",
                "-p",
                f"checkpoint:={self.checkpoint}",
                "-p",
                "frames.fixed:=map",
                *[arg for param in self.node_params for arg in ("-p", param)],
            ],
        )
        evaluator = self._spawn(
            "evaluate",
            [
                sys.executable,
                "-m",
                "lircdepth",
                "bag",
                "evaluate",
                "--bag",
                str(bag),
                "--ready-file",
                str(ready),
                "--json",
                str(online_json),
                "--markdown",
                str(online_json.with_suffix(".md")),
                "--idle-timeout",
                "20",
                *self.evaluate_args,
            ],
        )
        try:
            deadline = time.monotonic() + 180
            while not ready.exists():
                if (
                    node.poll() is not None
                    or evaluator.poll() is not None
                    or time.monotonic() > deadline
                ):
                    raise RuntimeError(f"node or evaluator did not start; see {self.logs}")
                time.sleep(0.5)
            player = self._spawn(
                "play",
                [
                    sys.executable,
                    "-m",
                    "lircdepth",
                    "bag",
                    "play",
                    str(bag),
                    "--lockstep",
                    *self.play_args,
                ],
            )
            if player.wait() != 0:
                raise RuntimeError(f"bag player failed; see {self.logs / 'play.log'}")
            evaluator.wait(timeout=300)
        finally:
            for process in (evaluator, node):
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
        if not online_json.exists():
            raise RuntimeError(f"online evaluation wrote no results; see {self.logs}")
        return json.loads(online_json.read_text())


def replay_scenes(
    dataroot: Path, version: str, prepared: Path | None, checkpoint: Path, out: Path
) -> dict:
    scenes = test_scene_names(dataroot, version, prepared) if prepared else None
    bag_root = out / "bags"
    bags = sorted(p for p in bag_root.iterdir() if p.is_dir()) if bag_root.exists() else []
    if not bags:
        bags = convert_scenes(dataroot, version, bag_root, scenes=scenes)
    return {bag.name: RosReplay(out, checkpoint).run(bag) for bag in bags[:1]}
