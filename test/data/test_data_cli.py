"""`lircdepth prepare` end to end on one synthetic scene, and its error exit."""

from __future__ import annotations

from lircdepth.cli import main
from lircdepth.data import storage
from lircdepth.data.prepare import OUTPUTS


def test_prepare_command_in_parallel_matches_the_library_run(
    synth_root, prepared_root, tmp_path, capsys
):
    out = tmp_path / "out"
    argv = ["prepare", "--dataroot", str(synth_root), "--version", "v1.0-mini", "--out", str(out)]
    # Scenes that are not test-only in either run: a test-only scene's accumulated map
    # walks the keyframe chain (synth-0000 is test-only among 3 scenes, train among 2).
    scenes = ["--scenes", "synth-0001", "synth-0002", "--workers", "2"]
    code = main(
        [
            *argv,
            *scenes,
            "--accumulate-sweeps",
            "10",
            "--accumulate-sweeps-test",
            "10",
            "--no-progress",
        ]
    )
    assert code == 0
    records = [
        r for s in ("train", "val", "test") for r in storage.read_index(out / "index" / f"{s}.txt")
    ]
    assert {r["scene_name"] for r in records} == {"synth-0001", "synth-0002"}
    for record in records:
        for name in OUTPUTS:
            assert (out / record[name]).read_bytes() == (prepared_root / record[name]).read_bytes()
    assert "prepared" in capsys.readouterr().out


def test_prepare_command_reports_a_missing_dataroot(tmp_path, capsys):
    code = main(["prepare", "--dataroot", str(tmp_path / "absent"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert str(tmp_path / "absent") in capsys.readouterr().err


def test_prepare_flags_reach_the_published_rules_and_their_options():
    import argparse

    from lircdepth.data.boxes import RADAR_BOX_CATEGORIES
    from lircdepth.data.prepare_cli import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    default = config_from_args(parser.parse_args(["--dataroot", "d", "--out", "o"]))
    assert default.radar.box_categories == RADAR_BOX_CATEGORIES
    assert default.radar.box_winner == "later" and default.accumulate_test_chain == "keyframes"
    changed = config_from_args(
        parser.parse_args(
            [
                *("--dataroot", "d", "--out", "o", "--radar-box-categories", "vehicle.", "human."),
                *("--radar-box-winner", "nearest", "--accumulate-test-chain", "sweeps"),
            ]
        )
    )
    assert changed.radar.box_categories == ("vehicle.", "human.")
    assert changed.radar.box_winner == "nearest" and changed.accumulate_test_chain == "sweeps"
