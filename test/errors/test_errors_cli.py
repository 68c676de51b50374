"""Every expected failure of a `lircdepth` command: one line naming the culprit, no traceback,
a documented exit code (1 failed job, 2 usage, 130 interrupted) and no partial file.

Each case runs the real CLI in a subprocess on real (damaged) files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import pytest
import torch

from test.helpers.cli_errors import assert_failed, run_process, temp_files
from test.helpers.ros_env import domain_env
from test.helpers.worlds import synth_and_prepare

BIN = Path(sys.executable).parent
LIRCDEPTH = BIN / "lircdepth"
TINY_TRAIN = [
    *("--input_height", "64", "--input_width", "128", "--batch_size", "2", "--workers", "0"),
    *("--num_threads", "1", "--eval_freq", "0", "--save_freq", "1", "--max_val_images", "1"),
    "--no-progress",
]
NO_DISTILL = [
    *("--w_image_feature_distill", "0", "--w_radar_feature_distill", "0"),
    *("--w_pairwise_distill", "0", "--w_inter_depth_distill", "0"),
]
ONE_SWEEP = ["--accumulate-sweeps", "1", "--accumulate-sweeps-test", "1"]


@dataclass
class World:
    """A small dataroot, its prepared dataset and checkpoints, plus damaged variants."""

    root: Path
    prepared: Path
    tmp: Path
    files: dict[str, Path] = field(default_factory=dict)

    def copy_root(self, name: str) -> Path:
        target = self.tmp / name
        shutil.copytree(self.root, target)
        return target


@pytest.fixture(scope="module")
def world(module_tmp_path, student_checkpoint) -> World:
    tmp = module_tmp_path
    root, prepared = synth_and_prepare(
        tmp, scenes=2, keyframes=3, seed=3, width=704, height=388, camera_sweeps=False
    )
    data = student_checkpoint.read_bytes()
    (tmp / "truncated.pt").write_bytes(data[: len(data) // 3])
    (tmp / "random.pt").write_bytes(os.urandom(4096))
    state = torch.load(student_checkpoint, weights_only=False)
    state["model"] = dict(list(state["model"].items())[::2])
    torch.save(state, tmp / "partial.pt")
    state = torch.load(student_checkpoint, weights_only=False)
    first = next(iter(state["model"]))
    state["model"][first] = torch.full_like(state["model"][first], float("nan"))
    torch.save(state, tmp / "nan.pt")
    files = {name: tmp / f"{name}.pt" for name in ("truncated", "random", "partial", "nan")}
    return World(root, prepared, tmp, files | {"student": student_checkpoint})


def sensor_file(root: Path, channel: str, index: int) -> Path:
    return sorted((root / "samples" / channel).iterdir())[index]


# --- command-line values and named inputs --------------------------------------------------

USAGE_CASES = {
    "missing dataroot": (["prepare", "--dataroot", "{tmp}/absent", "--out", "{tmp}/o"], 2, ["{tmp}/absent"]),
    "wrong version": (["prepare", "--dataroot", "{root}", "--version", "v9.9", "--out", "{tmp}/o"], 2, ["v9.9"]),
    "unknown scene": (["prepare", "--dataroot", "{root}", "--scenes", "nope", "--out", "{tmp}/o"], 2, ["nope"]),
    "truncated checkpoint": (["evaluate", "--checkpoint", "{truncated}", "--data", "{prepared}"], 2, ["{truncated}"]),
    "random-bytes checkpoint": (["evaluate", "--checkpoint", "{random}", "--data", "{prepared}"], 2, ["{random}"]),
    "missing checkpoint": (["evaluate", "--checkpoint", "{tmp}/none.pt", "--data", "{prepared}"], 2, ["none.pt"]),
    "negative caps": (["evaluate", "--checkpoint", "{student}", "--data", "{prepared}", "--caps", "-5", "0"], 2, ["--caps"]),
    "negative max-images": (["evaluate", "--checkpoint", "{student}", "--data", "{prepared}", "--max-images", "-1"], 2, ["--max-images"]),
    "export of a checkpoint missing weights": (["export", "--checkpoint", "{partial}", "--out", "{tmp}/p.onnx"], 2, ["{partial}", "missing"]),
    "negative max_steps": (["train", "student", "--data_path", "{prepared}", "--max_steps", "-5"], 2, ["--max_steps"]),
    "unknown model_config key": (["train", "teacher", "--data_path", "{prepared}", "--log_directory", "{tmp}/runs", "--model_config", '{{"nope": 1}}', *TINY_TRAIN], 2, ["nope"]),
    "student as teacher": (["train", "student", "--data_path", "{prepared}", "--log_directory", "{tmp}/runs", "--teacher_checkpoint", "{student}", *TINY_TRAIN], 2, ["{student}"]),
    "bad rate": (["bag", "play", "{tmp}/nobag", "--rate", "-1"], 2, ["--rate"]),
    "not a bag": (["bag", "play", "{tmp}", "--wait-for-subscribers", "0"], 2, ["metadata.yaml"]),
    "bench all with arguments": (["bench", "all", "--fast"], 2, ["--fast"]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(USAGE_CASES))
def test_bad_input_is_one_line_naming_the_culprit(world, case):
    args, code, culprits = USAGE_CASES[case]
    names = {"tmp": world.tmp, "root": world.root, "prepared": world.prepared, **world.files}
    result = run_process([LIRCDEPTH, *(a.format(**names) for a in args)])
    assert_failed(result, code, *(c.format(**names) for c in culprits))
    assert not (world.tmp / "p.onnx").exists() and not (world.tmp / "o").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_one_line(world):
    argv = ["evaluate", "--checkpoint", world.files["student"], "--data", world.prepared]
    assert_failed(run_process([LIRCDEPTH, *argv, "--device", "cuda"]), 2, "--device cuda")


def test_debug_flag_shows_the_traceback(world):
    evaluate = ["evaluate", "--checkpoint", world.files["random"], "--data", world.prepared]
    result = run_process([LIRCDEPTH, "--debug", *evaluate])
    assert result.returncode == 2 and "Traceback" in result.stderr


def test_a_real_bug_prints_its_traceback_and_says_so(capsys):
    from lircdepth.errors import run_command

    assert run_command("demo", lambda: 1 / 0) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError" in err and "a bug in lircdepth" in err


def test_help_prints_the_exit_codes_and_bench_all_help_prints_help():
    assert "exit codes" in run_process([LIRCDEPTH, "--help"]).stdout
    result = run_process([LIRCDEPTH, "bench", "all", "--help"], timeout=60)
    assert result.returncode == 0 and "lircdepth bench all" in result.stdout


# --- damaged dataroots: the file is named, or skipped and listed ---------------------------


def _truncate_radar(root: Path) -> Path:
    path = sensor_file(root, "RADAR_FRONT", 1)
    path.write_bytes(path.read_bytes()[:300])
    return path


def _garbage_jpeg(root: Path) -> Path:
    path = sensor_file(root, "CAM_FRONT", 1)
    path.write_bytes(os.urandom(3000))
    return path


def _resized_jpeg(root: Path) -> Path:
    path = sensor_file(root, "CAM_FRONT", 1)
    cv2.imwrite(str(path), cv2.resize(cv2.imread(str(path)), (352, 194)))
    return path


def _emptied_lidar(root: Path) -> Path:
    path = sensor_file(root, "LIDAR_TOP", 1)
    path.write_bytes(b"")
    return path


DAMAGES = {
    "truncated radar pcd": _truncate_radar,
    "garbage camera jpeg": _garbage_jpeg,
    "camera jpeg of another size": _resized_jpeg,
    "emptied lidar file": _emptied_lidar,
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_dataroot_names_the_file_or_skips_it(world, damage):
    root = world.copy_root(damage.replace(" ", "_"))
    culprit = DAMAGES[damage](root)
    out = world.tmp / f"{root.name}_out"
    argv = [LIRCDEPTH, "prepare", "--dataroot", root, "--out", out, *ONE_SWEEP, "--no-progress"]
    assert_failed(run_process(argv), 2, culprit)
    assert not temp_files(out) and not (out / "index").exists()
    skipped = run_process([*argv, "--on-error", "skip"])
    assert skipped.returncode == 0, skipped.stderr[-2000:]
    assert str(culprit) in skipped.stdout
    listed = [json.loads(line) for line in (out / "index" / "skipped.txt").read_text().splitlines()]
    indexed = [
        json.loads(line)
        for s in ("train", "val", "test")
        for line in (out / "index" / f"{s}.txt").read_text().splitlines()
    ]
    assert listed and not {r["camera_token"] for r in listed} & {r["camera_token"] for r in indexed}


def test_prepared_file_damaged_after_prepare_is_recomputed_on_rerun(world):
    out = world.tmp / "redo"
    shutil.copytree(world.prepared, out)
    damaged = sorted((out / "lidar_single").iterdir())[0]
    good = damaged.read_bytes()
    damaged.write_bytes(good[:100])
    result = run_process(
        [LIRCDEPTH, "prepare", "--dataroot", world.root, "--out", out, *ONE_SWEEP, "--no-progress"]
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert str(damaged) in result.stdout + result.stderr
    assert damaged.read_bytes() == good


def test_image_of_another_size_than_its_index_names_the_file(world):
    out = world.tmp / "mixed"
    shutil.copytree(world.prepared, out)
    records = [json.loads(line) for line in (out / "index" / "val.txt").read_text().splitlines()]
    small = out / "small.jpg"
    cv2.imwrite(str(small), cv2.resize(cv2.imread(records[0]["image"]), (352, 194)))
    records[0]["image"] = str(small)
    (out / "index" / "val.txt").write_text("".join(json.dumps(r) + "\n" for r in records))
    argv = ["evaluate", "--checkpoint", world.files["student"], "--data", out, "--split", "val"]
    assert_failed(run_process([LIRCDEPTH, *argv, "--device", "cpu"]), 1, small)


def test_val_and_test_of_one_scene_are_reported(world):
    out = world.tmp / "two_scenes"
    result = run_process(
        [LIRCDEPTH, "prepare", "--dataroot", world.root, "--out", out, *ONE_SWEEP, "--no-progress"]
    )
    assert result.returncode == 0 and "val and test are the same scene" in result.stderr


# --- outputs: strict JSON, read-only and full disks, Ctrl-C --------------------------------


def test_evaluation_json_is_strict_with_null_for_no_images(world):
    path = world.tmp / "metrics.json"
    evaluate = [LIRCDEPTH, "evaluate", "--checkpoint", world.files["student"], "--data"]
    caps = ["--max-images", "1", "--caps", "0.0001", "80", "--json", path]
    result = run_process([*evaluate, world.prepared, *caps, "--device", "cpu", "--no-progress"])
    assert result.returncode == 0, result.stderr[-2000:]

    def refuse(constant):
        raise ValueError(f"non-JSON constant {constant}")

    metrics = json.loads(path.read_text(), parse_constant=refuse)["metrics"]
    assert metrics["0.0001"]["num_images"] == 0 and metrics["0.0001"]["mae"] is None
    assert metrics["80"]["num_images"] == 1 and metrics["80"]["mae"] > 0


def in_small_mount(options: str, command: list) -> subprocess.CompletedProcess:
    """Run `command` with a fresh tmpfs (mount `options`) at its last argument's folder."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    mount = Path(command[-1]).parent
    mount.mkdir(parents=True, exist_ok=True)
    script = f'mount -t tmpfs -o {options} tmpfs "{mount}" && exec "$@"'
    result = run_process(["unshare", "-rm", "sh", "-c", script, "sh", *command])
    if "mount:" in result.stderr or "unshare:" in result.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()[:200]}")
    return result


def test_read_only_output_folder_is_one_line(world):
    out = world.tmp / "readonly" / "out"
    prepare = [LIRCDEPTH, "prepare", "--dataroot", world.root, *ONE_SWEEP]
    result = in_small_mount("ro,size=1m", [*prepare, "--out", out])
    assert_failed(result, 1, "read-only", out)


def test_full_disk_is_one_line_and_leaves_no_temp_file(world):
    out = world.tmp / "full" / "out"
    prepare = [LIRCDEPTH, "prepare", "--dataroot", world.root, *ONE_SWEEP, "--no-progress"]
    result = in_small_mount("size=600k", [*prepare, "--out", out])
    assert_failed(result, 1, "disk full", str(out))


def test_full_disk_during_a_checkpoint_save_is_reported_as_disk_full(world):
    target = world.tmp / "fullckpt" / "last.pt"
    code = (
        "import os, sys, torch\n"
        "from lircdepth.models.checkpoint import save_checkpoint\n"
        "try:\n"
        "    save_checkpoint(sys.argv[1], {'model': {'w': torch.zeros(2_000_000)}})\n"
        "except OSError as error:\n"
        "    print('errno', error.errno, error.filename, os.listdir(os.path.dirname(sys.argv[1])))\n"
    )
    result = in_small_mount("size=1m", [sys.executable, "-c", code, target])
    assert f"errno 28 {target} []" in result.stdout, result.stdout + result.stderr[-2000:]


def _as_from_a_terminal() -> None:
    """SIGINT at its default, as in a shell's foreground job: a test runner started in the
    background (`cmd &` without job control) ignores SIGINT, its children inherit that,
    and Python then never turns Ctrl-C into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_ends_cleanly_with_130_and_no_temp_file(world):
    out = world.tmp / "interrupted"
    prepare = [str(LIRCDEPTH), "prepare", "--dataroot", str(world.root), "--out", str(out)]
    process = subprocess.Popen(
        [*prepare, *ONE_SWEEP, "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_from_a_terminal,
    )
    deadline = time.monotonic() + 120
    while not (out / "radar").is_dir() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted" in err
    assert not temp_files(out) and not (out / "index" / "train.txt").exists()


# --- training reruns -------------------------------------------------------------------------


def test_rerun_with_changed_options_is_refused_and_stale_temps_are_cleaned(world):
    logs = world.tmp / "rerun"
    train = [LIRCDEPTH, "train", "student", "--data_path", world.prepared]
    base = [*train, "--log_directory", logs, *TINY_TRAIN, *NO_DISTILL]
    first = run_process([*base, "--max_steps", "1"])
    assert first.returncode == 0, first.stderr[-3000:]
    options = (logs / "student" / "options.txt").read_text()
    stale = logs / "student" / ".last.pt.killed.tmp"
    stale.write_bytes(b"half a checkpoint")
    changed = run_process([*base, "--max_steps", "1", "--learning_rate", "0.5"])
    assert_failed(changed, 2, "--learning_rate", "last.pt")
    assert (logs / "student" / "options.txt").read_text() == options
    assert not stale.exists()
    extended = run_process([*base, "--max_steps", "2"])
    assert extended.returncode == 0, extended.stderr[-3000:]
    assert "resumed" in extended.stdout


# --- bags ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bag(world) -> Path:
    from lircdepth_ros.bag.convert import convert_scenes

    (path,) = convert_scenes(world.root, "v1.0-mini", world.tmp / "bags", scenes=["synth-0000"])
    return path


def test_existing_bag_is_refused_then_overwritten_on_request(world, bag):
    convert = [LIRCDEPTH, "bag", "convert", "--dataroot", world.root, "--out", bag.parent]
    argv = [*convert, "--scenes", "synth-0000"]
    assert_failed(run_process(argv), 2, bag, "exists")
    result = run_process([*argv, "--overwrite"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert (bag / "metadata.yaml").is_file() and not temp_files(bag.parent)


def test_lockstep_play_without_a_node_fails_fast(bag):
    start = time.monotonic()
    result = run_process(
        [LIRCDEPTH, "bag", "play", bag, "--lockstep", "--wait-for-subscribers", "1"],
        env=domain_env(),
    )
    assert_failed(result, 1, "no depth node", "--wait-for-subscribers")
    assert time.monotonic() - start < 60


def test_bag_evaluate_without_a_node_is_an_error_not_a_nan_table(world, bag):
    out = world.tmp / "online.json"
    result = run_process(
        [LIRCDEPTH, "bag", "evaluate", "--bag", bag, "--node-timeout", "1", "--json", out],
        env=domain_env(),
    )
    assert_failed(result, 1, "no node publishes depth", "--node-timeout")
    assert "nan" not in result.stdout.lower() and not out.exists()


# --- the node's start-up ---------------------------------------------------------------------

NODE_CASES = {
    "broken params YAML": (["--ros-args", "--params-file", "{bad_yaml}"], "params file"),
    "unknown radar preset": (["--ros-args", "-p", "checkpoint:={student}", "-p", "radar.preset:=bogus"], "radar.preset"),
    "missing checkpoint": (["--ros-args", "-p", "checkpoint:={tmp}/none.pt"], "none.pt"),
    "corrupt checkpoint": (["--ros-args", "-p", "checkpoint:={truncated}"], "{truncated}"),
    "NaN weights": (["--ros-args", "-p", "checkpoint:={nan}"], "NaN"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(NODE_CASES))
def test_node_start_up_failure_is_one_line(world, case):
    bad_yaml = world.tmp / "bad.yaml"
    bad_yaml.write_text("lircdepth_node:\n  ros__parameters:\n    device: [cpu\n")
    names = {"tmp": world.tmp, "bad_yaml": bad_yaml, **world.files}
    args, culprit = NODE_CASES[case]
    result = run_process(
        [sys.executable, "-m", "lircdepth_ros.launcher", *(a.format(**names) for a in args)],
        env=domain_env(),
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert culprit.format(**names) in result.stderr.strip().splitlines()[-1]
