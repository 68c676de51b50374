"""Faults a new user meets (issue 25): numbers out of range, empty jobs, weights that are not
numbers, a DataLoader worker's error, damaged bags, SIGTERM, and two writers of one folder.

Commands run through `lircdepth.cli.main` in this process where that is enough; SIGTERM
and the second writer need real processes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lircdepth.locks import LOCK_NAME, FolderLockedError, folder_lock
from test.helpers.cli_errors import assert_one_line_error, run_cli, run_process, temp_files
from test.helpers.ros_env import next_domain
from test.helpers.worlds import synth_and_prepare

LIRCDEPTH = Path(sys.executable).parent / "lircdepth"
TINY_TRAIN = [
    *("--input_height", "64", "--input_width", "128", "--batch_size", "1", "--workers", "0"),
    *("--num_threads", "1", "--eval_freq", "0", "--save_freq", "1", "--max_val_images", "1"),
    *("--no-progress", "--w_image_feature_distill", "0", "--w_radar_feature_distill", "0"),
    *("--w_pairwise_distill", "0", "--w_inter_depth_distill", "0"),
]
PREPARE = ["--accumulate-sweeps", "1", "--accumulate-sweeps-test", "1", "--no-progress"]


@pytest.fixture(scope="module")
def world(module_tmp_path, student_checkpoint):
    root, prepared = synth_and_prepare(
        module_tmp_path, scenes=2, keyframes=2, seed=9, width=256, height=132, camera_sweeps=False
    )
    return {
        "root": root,
        "prepared": prepared,
        "student": student_checkpoint,
        "tmp": module_tmp_path,
    }


# --- numbers and empty jobs ---------------------------------------------------------------------

RANGE_CASES = {
    "negative --accumulate-sweeps": (["prepare", "--dataroot", "{root}", "--out", "{tmp}/o", "--accumulate-sweeps", "-1"], "--accumulate-sweeps"),
    "negative --patch-size": (["prepare", "--dataroot", "{root}", "--out", "{tmp}/o", "--patch-size", "-1", "-1"], "--patch-size"),
    "zero --workers": (["prepare", "--dataroot", "{root}", "--out", "{tmp}/o", "--workers", "0"], "--workers"),
    "negative loss weight": (["train", "student", "--data_path", "{prepared}", "--w_depth", "-1"], "--w_depth"),
    "negative adam_eps": (["train", "student", "--data_path", "{prepared}", "--adam_eps", "-1e-3"], "--adam_eps"),
    "zero input size": (["train", "student", "--data_path", "{prepared}", "--input_width", "0"], "--input_width"),
    "nan loss weight": (["train", "student", "--data_path", "{prepared}", "--w_smoothness", "nan"], "--w_smoothness"),
    "negative max_depth in model_config": (["train", "student", "--data_path", "{prepared}", "--log_directory", "{tmp}/runs", "--model_config", '{{"max_depth": -1}}'], "max_depth"),
    "5 radar channels in model_config": (["train", "student", "--data_path", "{prepared}", "--log_directory", "{tmp}/runs", "--model_config", '{{"radar_channels": 5}}'], "radar_channels"),
    "empty --model_name": (["train", "student", "--data_path", "{prepared}", "--log_directory", "{tmp}/runs", "--model_name", ""], "--model_name"),
    "--model_name above the log root": (["train", "student", "--data_path", "{prepared}", "--log_directory", "{tmp}/runs", "--model_name", ".."], "--model_name"),
    "export --opset 99": (["export", "--checkpoint", "{student}", "--out", "{tmp}/m.onnx", "--opset", "99"], "--opset"),
    "export --opset -1": (["export", "--checkpoint", "{student}", "--out", "{tmp}/m.onnx", "--opset", "-1"], "--opset"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(RANGE_CASES))
def test_number_out_of_range_is_a_usage_error(world, case):
    args, culprit = RANGE_CASES[case]
    code, err = run_cli([a.format(**world) for a in args])
    assert_one_line_error(code, err, 2, culprit)
    assert not (world["tmp"] / "o").exists() and not (world["tmp"] / "runs").exists()
    assert not (world["tmp"] / "m.onnx").exists()


@pytest.fixture(scope="module")
def empty_world(world) -> Path:
    """The world's tables with every scene (and what hangs off scenes) removed."""
    root = world["tmp"] / "empty_root"
    for folder in ("v1.0-mini", "maps"):
        shutil.copytree(world["root"] / folder, root / folder)
    for table in ("scene", "sample", "sample_data", "sample_annotation", "instance", "ego_pose"):
        (root / "v1.0-mini" / f"{table}.json").write_text("[]")
    return root


@pytest.mark.parametrize("command", ["prepare", "bag convert"])
def test_a_world_without_scenes_is_an_empty_job_not_success(world, empty_world, command):
    if command == "bag convert":
        pytest.importorskip("rosbags")
    out = world["tmp"] / f"empty_{command.replace(' ', '_')}"
    code, err = run_cli([*command.split(), "--dataroot", empty_world, "--out", out])
    assert_one_line_error(code, err, 1 if command == "bag convert" else 2, "no scene")
    assert not out.exists() or not list(out.iterdir())


# --- weights ----------------------------------------------------------------------------------


def _damaged(world, name: str, change) -> Path:
    state = torch.load(world["student"], weights_only=False)
    change(state)
    path = world["tmp"] / f"{name}.pt"
    torch.save(state, path)
    return path


def _first_weight(state: dict) -> str:
    return next(key for key, value in state["model"].items() if value.is_floating_point())


def _poison(value: float):
    def change(state: dict) -> None:
        key = _first_weight(state)
        state["model"][key] = state["model"][key].clone()
        state["model"][key].view(-1)[3] = value

    return change


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_at_load_naming_the_tensor(world, value):
    from lircdepth.inference.estimator import DepthEstimator

    path = _damaged(world, f"poisoned_{value}", _poison(value))
    name = _first_weight(torch.load(path, weights_only=False))
    code, err = run_cli(
        ["evaluate", "--checkpoint", path, "--data", world["prepared"], "--no-progress"]
    )
    assert_one_line_error(code, err, 2, path, name)
    code, err = run_cli(["export", "--checkpoint", path, "--out", world["tmp"] / "p.onnx"])
    assert_one_line_error(code, err, 2, path, name)
    assert not (world["tmp"] / "p.onnx").exists() and not temp_files(world["tmp"])
    with pytest.raises(Exception, match=name) as raised:  # what the node loads its model with
        DepthEstimator.from_checkpoint(path)
    assert "Checkpoint" in type(raised.value).__name__


CHECKPOINT_CASES = {
    "model_config a list": lambda s: s.update(model_config=[1]),
    "model a string": lambda s: s.update(model="weights"),
    "a weight an int": lambda s: s["model"].update({_first_weight(s): 3}),
    "arch a list": lambda s: s.update(arch=["lircdepth"]),
    "negative max_depth": lambda s: s.update(model_config={"max_depth": -5.0}),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_malformed_checkpoint_entries_are_one_line(world, case):
    path = _damaged(world, case.replace(" ", "_"), CHECKPOINT_CASES[case])
    code, err = run_cli(
        ["evaluate", "--checkpoint", path, "--data", world["prepared"], "--no-progress"]
    )
    assert_one_line_error(code, err, 2, path)


def test_published_student_with_5_radar_channels_is_refused(world):
    keys = (
        Path(__file__).resolve().parents[1]
        / "models"
        / "published_reference"
        / "lircdepth_keys.tsv"
    )
    rows = [line.split("\t") for line in keys.read_text().splitlines()[1:]]
    shapes = {
        key: () if shape == "scalar" else tuple(int(s) for s in shape.split("x"))
        for key, shape, *_ in rows
    }
    weights = {key: torch.zeros(shape) for key, shape in shapes.items()}
    stem = "module.encoder_radar.conv.0.weight"
    weights[stem] = torch.zeros(weights[stem].shape[0], 5, *weights[stem].shape[2:])
    path = world["tmp"] / "published_5ch.pth"
    torch.save({"global_step": 1, "optimizer": {}, "model": weights}, path)
    code, err = run_cli(
        ["evaluate", "--checkpoint", path, "--data", world["prepared"], "--no-progress"]
    )
    assert_one_line_error(code, err, 2, path, "radar_channels")


# --- a DataLoader worker's error keeps its one line ------------------------------------------------


def test_error_in_a_dataloader_worker_names_the_file(world):
    data = world["tmp"] / "bad_radar"
    shutil.copytree(world["prepared"], data)
    record = json.loads((data / "index" / "test.txt").read_text().splitlines()[0])
    radar = data / record["radar"]
    np.save(radar, np.load(radar)[:, :3])
    # Its own process: after DataLoader workers were forked from the pytest process, the
    # OpenVINO tests later in that process crashed (segfault; reproduced by running this
    # module and test_inference_engines.py together, gone with the CLI in a child).
    evaluate = [sys.executable, "-m", "lircdepth", "evaluate", "--checkpoint", world["student"]]
    result = subprocess.run(
        [*map(str, evaluate), "--data", str(data), "--workers", "2", "--no-progress"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    line = assert_one_line_error(result.returncode, result.stderr, 1, radar, "N x 6")
    assert "DataLoader worker" not in line


# --- bags -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bag(world) -> Path:
    pytest.importorskip("rosbags")
    from lircdepth_ros.bag.convert import convert_scenes

    (path,) = convert_scenes(
        world["root"], "v1.0-mini", world["tmp"] / "bags", scenes=["synth-0000"]
    )
    return path


def _without_topic(bag: Path, topic: str, out: Path) -> Path:
    """A copy of `bag` without `topic` (metadata custom_data kept)."""
    import yaml
    from rosbags.rosbag2 import Reader, Writer

    with Reader(bag) as reader, Writer(out, version=9) as writer:
        kept = {
            c.id: writer.add_connection(c.topic, c.msgtype, msgdef=c.msgdef.data, rihs01=c.digest)
            for c in reader.connections
            if c.topic != topic
        }
        for connection, stamp, raw in reader.messages():
            if connection.id in kept:
                writer.write(kept[connection.id], stamp, raw)
    custom = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"][
        "custom_data"
    ]
    info = yaml.safe_load((out / "metadata.yaml").read_text())
    info["rosbag2_bagfile_information"]["custom_data"] = custom
    (out / "metadata.yaml").write_text(yaml.safe_dump(info))
    return out


# A bag that opens but lacks what the job needs is a job failure (exit 1), as unreadable data
# is; a path that is no readable bag at all is a usage error (exit 2). Without /tf_static the
# mounts may still come on /tf (community bags), so that case is the community tests'.
@pytest.mark.parametrize(
    ("topic", "named"),
    [("/LIDAR_TOP", "LIDAR_TOP"), ("/CAM_FRONT/camera_info", "/CAM_FRONT/camera_info")],
)
def test_bag_without_a_needed_topic_is_named_by_bag_evaluate(world, bag, topic, named):
    pytest.importorskip("rclpy")
    damaged = _without_topic(bag, topic, world["tmp"] / f"without{topic.replace('/', '_')}")
    code, err = run_cli(["bag", "evaluate", "--bag", damaged, "--node-timeout", "1"])
    assert_one_line_error(code, err, 1, damaged, named)


def test_unknown_camera_is_named_by_bag_evaluate(bag):
    pytest.importorskip("rclpy")
    code, err = run_cli(
        ["bag", "evaluate", "--bag", bag, "--cameras", "CAM_NOPE", "--node-timeout", "1"]
    )
    assert_one_line_error(code, err, 2, "CAM_NOPE", "CAM_FRONT")


def test_bag_play_says_which_unreadable_messages_it_skipped(world, bag, monkeypatch):
    """A damaged MCAP record (its log time overwritten) is dropped by the reader; play counts
    the messages against metadata.yaml and says so instead of a silent success."""
    pytest.importorskip("rclpy")
    import struct

    damaged = world["tmp"] / "skipping_bag"
    shutil.copytree(bag, damaged)
    storage = next(damaged.glob("*.mcap"))
    data = bytearray(storage.read_bytes())
    at = data.find(b"\x05", len(data) // 3)
    while not (
        0 < struct.unpack_from("<Q", data, at + 1)[0] < 1 << 24
        and struct.unpack_from("<H", data, at + 9)[0] < 16
    ):
        at = data.find(b"\x05", at + 1)
    struct.pack_into("<Q", data, at + 15, 1)  # the record's log_time: 1 ns, outside the bag
    storage.write_bytes(bytes(data))
    monkeypatch.setenv("ROS_DOMAIN_ID", str(next_domain()))
    code, err = run_cli(["bag", "play", damaged, "--wait-for-subscribers", "0"])
    assert code == 0, err[-2000:]
    warnings = [line for line in err.splitlines() if "warning:" in line and "skipped" in line]
    assert len(warnings) == 1 and "1 of 75" in warnings[0] and str(damaged) in warnings[0], err


def test_full_disk_in_bag_convert_names_the_path(world):
    pytest.importorskip("rosbags")
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    out = world["tmp"] / "fullbag" / "out"
    out.parent.mkdir(parents=True, exist_ok=True)
    script = f'mount -t tmpfs -o size=2m tmpfs "{out.parent}" && exec "$@"'
    convert = [LIRCDEPTH, "bag", "convert", "--dataroot", world["root"], "--out", out]
    result = run_process(
        ["unshare", "-rm", "sh", "-c", script, "sh", *convert, "--scenes", "synth-0000"],
        timeout=300,
    )
    if "mount:" in result.stderr or "unshare:" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()[:200]}")
    assert_one_line_error(result.returncode, result.stderr, 1, "disk full", out / "synth-0000")


# --- two writers ----------------------------------------------------------------------------------


def _hold_lock(folder: Path) -> subprocess.Popen:
    code = (
        "import sys, time\n"
        "from lircdepth.locks import folder_lock\n"
        "with folder_lock(sys.argv[1], 'lircdepth test holder'):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(120)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_is_refused_naming_the_holder(world, bag):
    runs = world["tmp"] / "locked_runs"
    targets = {
        "prepare": (world["tmp"] / "locked_prepared", ["prepare", "--dataroot", world["root"], *PREPARE]),
        "train": (runs / "student", ["train", "student", "--data_path", world["prepared"],
                                     "--log_directory", runs, "--max_steps", "1", *TINY_TRAIN]),
        "bag convert": (bag.parent, ["bag", "convert", "--dataroot", world["root"], "--scenes", "synth-0000",
                                     "--overwrite"]),
    }  # fmt: skip
    for command, (folder, argv) in targets.items():
        holder = _hold_lock(folder)
        try:
            out = [] if command == "train" else ["--out", folder]
            code, err = run_cli([*argv, *out])
            line = assert_one_line_error(
                code, err, 1, folder, f"pid {holder.pid}", "lircdepth test holder"
            )
            assert command in line
        finally:
            holder.kill()
            holder.wait()
        assert not temp_files(folder)


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_note(world, caplog):
    folder = world["tmp"] / "stale"
    folder.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    info = {
        "pid": int(dead.stdout),
        "host": "here",
        "command": "lircdepth prepare",
        "since": "then",
    }
    (folder / LOCK_NAME).write_text(json.dumps(info))
    with folder_lock(folder, "lircdepth test") as lock:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        refused = pytest.raises(FolderLockedError, match=f"pid {os.getpid()}")
        with refused, folder_lock(folder, "a second writer"):
            pass
    # The library logs the note (a command shows it on stderr: lircdepth.console).
    assert f"stale lock {folder / LOCK_NAME} of lircdepth prepare (pid {info['pid']}" in caplog.text
    assert not (folder / LOCK_NAME).exists()


# --- SIGTERM behaves as Ctrl-C ----------------------------------------------------------------------


def _terminate_when(argv: list, ready, timeout: float = 180) -> tuple[int, str]:
    """Start `lircdepth argv`, send SIGTERM once `ready(pid)` holds; (exit code, stderr)."""
    process = subprocess.Popen(
        [str(LIRCDEPTH), *map(str, argv)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + timeout
    while (
        not (_catches_sigterm(process.pid) and ready(process.pid))
        and process.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    assert process.poll() is None, "the job ended before it could be terminated"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    return process.returncode, err


def _catches_sigterm(pid: int) -> bool:
    """The process has a SIGTERM handler (bit 15 of SigCgt): `lircdepth` runs its job."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(
        next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16
    )
    return bool(caught >> (signal.SIGTERM - 1) & 1)


def _job_running_for(seconds: float):
    since: list[float] = []

    def ready(pid: int) -> bool:
        if not since and _catches_sigterm(pid):
            since.append(time.monotonic())
        return bool(since) and time.monotonic() - since[0] > seconds

    return ready


@pytest.mark.parametrize("command", ["train", "prepare", "bag convert", "export"])
def test_sigterm_ends_like_ctrl_c_with_143_and_no_temp_file(world, command):
    out = world["tmp"] / f"terminated_{command.replace(' ', '_')}"
    if command == "train":
        argv = ["train", "student", "--data_path", world["prepared"], "--log_directory", out]
        argv += ["--max_steps", "100000", *TINY_TRAIN]
        ready = lambda pid: (out / "student" / "last.pt").exists()  # noqa: E731
    elif command == "prepare":  # two workers: forked processes end with the job
        argv = ["prepare", "--dataroot", world["root"], "--out", out, "--workers", "2", *PREPARE]
        ready = lambda pid: (out / "radar").is_dir()  # noqa: E731
    elif command == "bag convert":
        pytest.importorskip("rosbags")
        argv = ["bag", "convert", "--dataroot", world["root"], "--out", out]
        ready = lambda pid: bool(temp_files(out)) or bool(list(out.glob(".*.tmp")))  # noqa: E731
    else:
        argv = ["export", "--checkpoint", world["student"], "--out", out / "student.onnx"]
        ready = _job_running_for(1.0)  # loading the checkpoint or tracing
    code, err = _terminate_when(argv, ready)
    assert code == 143, err[-3000:]
    assert "Traceback" not in err and f"lircdepth {command}: terminated (SIGTERM)" in err
    assert not temp_files(out) and not list(out.rglob(LOCK_NAME))
    if command == "export":
        assert not (out / "student.onnx").exists()
    if command == "prepare":
        assert not (out / "index" / "train.txt").exists()
