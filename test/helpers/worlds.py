"""Small synthetic worlds of a test module's own (the session's shared ones are the
fixtures of test/conftest.py)."""

from __future__ import annotations

from pathlib import Path


def synth_and_prepare(folder: Path, **synth) -> tuple[Path, Path]:
    """A synthetic dataroot in folder/root (SynthConfig(**synth)) and its prepared dataset in
    folder/prepared (one lidar sweep per frame, no progress bar): (root, prepared)."""
    from lircdepth.data.prepare import PrepareConfig, prepare
    from lircdepth.synth import SynthConfig, generate

    root, prepared = folder / "root", folder / "prepared"
    generate(root, SynthConfig(**synth))
    prepare(
        PrepareConfig(
            dataroot=root,
            out=prepared,
            accumulate_sweeps=1,
            accumulate_sweeps_test=1,
            progress=False,
        )
    )
    return root, prepared
