"""Resuming: only deleted outputs are regenerated, identical to the originals."""

from __future__ import annotations

import shutil

from lircdepth.data import storage
from lircdepth.data.prepare import PrepareConfig, prepare


def test_resume_regenerates_exactly_the_deleted_files(prepared_root, synth_root, tmp_path):
    out = tmp_path / "prepared"
    shutil.copytree(prepared_root, out)
    files = sorted(p for p in out.rglob("*") if p.is_file() and p.parent.name != "index")
    records = storage.read_index(out / "index" / "train.txt")
    deleted = [
        out / records[0]["lidar_accum"],
        out / records[1]["radar"],
        out / records[1]["assoc_label"],
    ]
    originals = {p: p.read_bytes() for p in deleted}
    for path in deleted:
        path.unlink()
    before = {p: p.stat().st_mtime_ns for p in files if p not in originals}
    # A leftover temp file from a killed run must not count as an output.
    (out / "radar" / f".{records[2]['camera_token']}.npy.123.tmp").write_bytes(b"half")
    prepare(
        PrepareConfig(
            dataroot=synth_root,
            version="v1.0-mini",
            out=out,
            accumulate_sweeps=10,
            accumulate_sweeps_test=10,
            progress=False,
        )
    )
    for path, content in originals.items():
        assert path.read_bytes() == content, path
    after = {p: p.stat().st_mtime_ns for p in before}
    assert after == before
