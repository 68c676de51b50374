"""Which depth topic answers which camera: the node's per-camera output template.

One camera: a plain topic (`depth`, the single-camera node's). Several: a template with
`{camera}` (the rig node's `topics.depth`, default `{camera}/depth`), filled with each
camera's name (the image topic without its image leaf, see `lircdepth.bagdata.sensors`).
"""

from __future__ import annotations

from collections.abc import Sequence

from lircdepth.errors import UsageError

CAMERA_FIELD = "{camera}"
SINGLE_DEPTH_TOPIC = "depth"
RIG_DEPTH_TOPIC = "{camera}/depth"


def depth_topics(template: str | None, cameras: Sequence[str]) -> dict[str, str]:
    """camera -> the depth topic it is answered on; template None: the node's default."""
    if template is None:
        template = SINGLE_DEPTH_TOPIC if len(cameras) == 1 else RIG_DEPTH_TOPIC
    if len(cameras) > 1 and CAMERA_FIELD not in template:
        raise UsageError(
            f"--depth-topic {template!r} has no {CAMERA_FIELD}, but {len(cameras)} cameras "
            f"each need their own topic (e.g. {RIG_DEPTH_TOPIC!r})"
        )
    return {camera: template.replace(CAMERA_FIELD, camera) for camera in cameras}
