"""The devkit's view of the session's synthetic world, loaded once for the synth tests."""

from __future__ import annotations

import pytest

VERSION = "v1.0-mini"


@pytest.fixture(scope="session")
def synth_nusc(synth_root):
    from nuscenes.nuscenes import NuScenes

    return NuScenes(version=VERSION, dataroot=str(synth_root), verbose=False)
