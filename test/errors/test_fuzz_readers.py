"""Property-based fuzzing of every reader's door: generated malformed files must end in
exit 1 or 2, one `error:` line on stderr naming the file, no traceback, nothing written.

Each example damages one real file of a small synthetic world (a nuScenes table, a radar
or lidar file, the prepared index, a checkpoint, a bag's metadata or storage), runs the
real command through `lircdepth.cli.main` in this process (no interpreter start-up per
example) and puts the file back. Examples are derandomised: the same inputs every run;
LIRCDEPTH_FUZZ_EXAMPLES=N tries N per reader instead of 25.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lircdepth.data.nusc_tables import REFERENCES, TABLE_KEYS
from test.helpers.cli_errors import assert_one_line_error, run_cli
from test.helpers.worlds import synth_and_prepare

FUZZ = settings(
    max_examples=int(os.environ.get("LIRCDEPTH_FUZZ_EXAMPLES", "25")),  # per reader
    deadline=None,
    derandomize=True,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TRIED: Counter = Counter()

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def world(module_tmp_path):
    """A 2-scene world, its prepared dataset, a checkpoint and a bag."""
    root, prepared = synth_and_prepare(
        module_tmp_path, scenes=2, keyframes=2, seed=5, width=256, height=132, camera_sweeps=False
    )
    checkpoint = module_tmp_path / "small.pt"
    torch.save(
        {"arch": "lircdepth", "model_config": {}, "model": {"w": torch.zeros(2)}}, checkpoint
    )
    return {"root": root, "prepared": prepared, "checkpoint": checkpoint, "tmp": module_tmp_path}


@pytest.fixture(scope="module")
def bag(world):
    pytest.importorskip("rosbags")
    from lircdepth_ros.bag.convert import convert_scenes

    (path,) = convert_scenes(
        world["root"], "v1.0-mini", world["tmp"] / "bags", scenes=["synth-0000"]
    )
    return path


def assert_clean(kind: str, argv: list, culprit: Path, code: int = 0, err: str = "") -> None:
    """Run `argv` unless a result is given, then the clean-failure contract."""
    if not err:
        code, err = run_cli(argv)
    TRIED[kind] += 1
    assert_one_line_error(code, err, (1, 2), culprit)
    TRIED["clean"] += 1


@contextlib.contextmanager
def replaced(path: Path, data: bytes):
    """`path` holds `data` inside the block, its own bytes again after it."""
    original = path.read_bytes()
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.write_bytes(original)


def nothing_written(folder: Path) -> bool:
    return not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]


# --- nuScenes tables (prepare) ---------------------------------------------------------------


def _is_json_list(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), list)
    except (ValueError, RecursionError):
        return False


def _finite_numbers(value, count: int) -> bool:
    return (
        isinstance(value, list)
        and len(value) == count
        and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value
        )
    )


@st.composite
def broken_table(draw, root: Path) -> tuple[str, bytes]:
    """(table name, damaged file content): one way of breaking one table."""
    name = draw(st.sampled_from(sorted(TABLE_KEYS)))
    rows = json.loads((root / "v1.0-mini" / f"{name}.json").read_text())
    text = json.dumps(rows)
    kind = draw(
        st.sampled_from(["bytes", "truncated", "not a list", "row", "key", "reference", "pose"])
    )
    row = draw(st.integers(0, len(rows) - 1))
    if kind == "bytes":
        return name, draw(st.binary(min_size=1, max_size=48).filter(lambda b: not _is_json_list(b)))
    if kind == "truncated":
        return name, text[: draw(st.integers(1, len(text) - 2))].encode()
    if kind == "not a list":
        return name, json.dumps(
            draw(json_values.filter(lambda v: not isinstance(v, list)))
        ).encode()
    if kind == "row":
        rows[row] = draw(json_values.filter(lambda v: not isinstance(v, dict)))
    elif kind == "key":
        del rows[row][draw(st.sampled_from(TABLE_KEYS[name]))]
    elif kind == "reference":
        name, key, _ = draw(st.sampled_from(REFERENCES))
        rows = json.loads((root / "v1.0-mini" / f"{name}.json").read_text())
        rows[draw(st.integers(0, len(rows) - 1))][key] = draw(st.text(min_size=1, max_size=8))
    else:
        name = "calibrated_sensor"
        rows = json.loads((root / "v1.0-mini" / f"{name}.json").read_text())
        key, count = draw(st.sampled_from([("translation", 3), ("rotation", 4)]))
        rows[draw(st.integers(0, len(rows) - 1))][key] = draw(
            json_values.filter(lambda v, n=count: not _finite_numbers(v, n))
        )
    return name, json.dumps(rows).encode()


def test_malformed_nuscenes_tables(world):
    root, out = world["root"], world["tmp"] / "prepared_fuzz"

    @FUZZ
    @given(st.data())
    def check(data):
        name, content = data.draw(broken_table(root))
        with replaced(root / "v1.0-mini" / f"{name}.json", content) as path:
            prepare = ["prepare", "--dataroot", root, "--out", out, "--accumulate-sweeps", "1"]
            assert_clean("nuScenes table", [*prepare, "--no-progress"], path)
        assert nothing_written(out)

    check()


# --- radar .pcd and lidar .pcd.bin (prepare) ---------------------------------------------------


def test_malformed_sensor_files(world):
    root, out = world["root"], world["tmp"] / "prepared_sensor_fuzz"
    radar = sorted((root / "samples" / "RADAR_FRONT").iterdir())[0]
    lidar = sorted((root / "samples" / "LIDAR_TOP").iterdir())[0]
    radar_bytes = radar.read_bytes()

    @FUZZ
    @given(
        st.sampled_from(["radar bytes", "radar truncated", "lidar bytes"]),
        st.binary(max_size=64),
        st.integers(0, len(radar_bytes) - 1),
    )
    def check(kind, junk, cut):
        if kind == "lidar bytes":
            path, content = lidar, (junk if len(junk) % 20 else junk + b"x")
        else:
            path = radar
            content = junk if kind == "radar bytes" else radar_bytes[:cut]
        with replaced(path, content):
            prepare = ["prepare", "--dataroot", root, "--out", out, "--accumulate-sweeps", "1"]
            code, err = run_cli([*prepare, "--accumulate-sweeps-test", "1", "--no-progress"])
        assert_clean(kind.split()[0] + " file", [], path, code, err)
        assert not list(out.rglob("*.tmp")) and not (out / "index" / "train.txt").exists()
        shutil.rmtree(out, ignore_errors=True)

    check()


# --- the prepared index (evaluate) --------------------------------------------------------------


def _valid_matrix(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and all(_finite_numbers(row, 3) for row in value)
        and value[0][0] > 0
        and value[1][1] > 0
    )


def _valid_size(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 1 << 16


RECORD_KEYS = ("image", "radar", "assoc_label", "lidar_single", "lidar_accum", "depth_interp",
               "camera_token", "sample_token", "scene_token", "height", "width", "camera_matrix")  # fmt: skip


@st.composite
def broken_index(draw, lines: list[str]) -> bytes:
    kind = draw(st.sampled_from(["bytes", "not an object", "key", "camera_matrix", "size"]))
    if kind == "bytes":
        return draw(st.binary(min_size=1, max_size=64).filter(lambda b: b.strip() != b""))
    lines = list(lines)
    number = draw(st.integers(0, len(lines) - 1))
    record = json.loads(lines[number])
    if kind == "not an object":
        lines[number] = json.dumps(draw(json_values.filter(lambda v: not isinstance(v, dict))))
        return ("\n".join(lines) + "\n").encode()
    if kind == "key":
        del record[draw(st.sampled_from(RECORD_KEYS))]
    elif kind == "camera_matrix":
        record["camera_matrix"] = draw(json_values.filter(lambda v: not _valid_matrix(v)))
    else:
        record[draw(st.sampled_from(["height", "width"]))] = draw(
            json_values.filter(lambda v: not _valid_size(v))
        )
    lines[number] = json.dumps(record)
    return ("\n".join(lines) + "\n").encode()


def test_malformed_index(world):
    index = world["prepared"] / "index" / "test.txt"
    lines = index.read_text().splitlines()
    report = world["tmp"] / "report.json"

    @FUZZ
    @given(st.data())
    def check(data):
        with replaced(index, data.draw(broken_index(lines))):
            evaluate = [
                "evaluate",
                "--checkpoint",
                world["checkpoint"],
                "--data",
                world["prepared"],
            ]
            assert_clean("split index", [*evaluate, "--json", report, "--no-progress"], index)
        assert not report.exists()

    check()


# --- checkpoints (evaluate) ---------------------------------------------------------------------


def _bad_config(value) -> bool:
    max_depth = value.get("max_depth", 1.0) if isinstance(value, dict) else None
    return not isinstance(value, dict) or not (
        isinstance(max_depth, (int, float))
        and not isinstance(max_depth, bool)
        and 0 < max_depth < math.inf
    )


@st.composite
def broken_checkpoint(draw) -> object:
    kind = draw(st.sampled_from(["bytes", "arch", "model_config", "model", "weight"]))
    state = {"arch": "lircdepth", "model_config": {}, "model": {"w": torch.zeros(2)}}
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "arch":
        state["arch"] = draw(json_values.filter(lambda v: v not in ("lircdepth", "cafnet")))
    elif kind == "model_config":
        state["model_config"] = draw(
            json_values.filter(_bad_config)
            | st.builds(dict, max_depth=st.floats().filter(lambda v: not 0 < v < math.inf))
        )
    elif kind == "model":
        state["model"] = draw(json_values.filter(lambda v: not isinstance(v, dict) or v))
    else:
        bad = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
        state["model"]["w"] = draw(st.sampled_from([torch.tensor([0.0, bad]), bad, "w"]))
    return state


def test_malformed_checkpoints(world):
    path = world["tmp"] / "fuzzed.pt"

    @FUZZ
    @given(broken_checkpoint())
    def check(state):
        if isinstance(state, bytes):
            path.write_bytes(state)
        else:
            torch.save(state, path)
        assert_clean(
            "checkpoint",
            ["evaluate", "--checkpoint", path, "--data", world["prepared"], "--no-progress"],
            path,
        )

    check()


# --- bags (bag play) ----------------------------------------------------------------------------


def test_malformed_bags(world, bag):
    pytest.importorskip("rclpy")
    metadata = bag / "metadata.yaml"
    storage = next(bag.glob("*.mcap"))
    stored = storage.read_bytes()

    @FUZZ
    @given(
        st.sampled_from(
            ["metadata bytes", "metadata yaml", "storage truncated", "storage missing"]
        ),
        st.binary(max_size=64),
        json_values,
        st.integers(0, len(stored) - 16),
    )
    def check(kind, junk, value, cut):
        if kind == "storage missing":
            storage.rename(storage.with_suffix(".gone"))
            try:
                assert_clean("bag", ["bag", "play", bag, "--wait-for-subscribers", "0"], bag)
            finally:
                storage.with_suffix(".gone").rename(storage)
            return
        path = storage if kind == "storage truncated" else metadata
        content = {
            "metadata bytes": junk,
            "metadata yaml": json.dumps(value).encode(),
            "storage truncated": stored[:cut],
        }[kind]
        with replaced(path, content):
            assert_clean("bag", ["bag", "play", bag, "--wait-for-subscribers", "0"], bag)

    check()


def test_counts(capsys):
    """The tally of the module (also the closing note's numbers): every input tried was clean."""
    tried = sum(n for kind, n in TRIED.items() if kind != "clean")
    with capsys.disabled():
        print(
            f"\nfuzzed readers: {tried} malformed inputs, {TRIED['clean']} clean: "
            + ", ".join(f"{k} {n}" for k, n in sorted(TRIED.items()) if k != "clean")
        )
    assert tried > 0 and TRIED["clean"] == tried
