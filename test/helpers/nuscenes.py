"""nuScenes as tests meet it: the records behind what a test read (a bag's message, a frame)
and the radar point layout of community bags."""

from __future__ import annotations


def scene_sample_data(nusc, scene: dict, channel: str) -> list[dict]:
    """Every sample_data record (keyframes and sweeps) of `channel` in `scene`, by time."""
    samples = {s["token"] for s in nusc.sample if s["scene_token"] == scene["token"]}
    records = [
        sd for sd in nusc.sample_data if sd["sample_token"] in samples and sd["channel"] == channel
    ]
    return sorted(records, key=lambda sd: sd["timestamp"])


def sample_data_at(nusc, channel: str, stamp_ns: int) -> dict:
    """The sample_data record of `channel` taken at `stamp_ns` (a ROS stamp, nanoseconds)."""
    return next(
        sd
        for sd in nusc.sample_data
        if sd["timestamp"] * 1000 == stamp_ns and sd["channel"] == channel
    )


# sensor_msgs/msg/PointField datatypes.
INT8, INT16, FLOAT32 = 1, 3, 7
# The nuScenes radar point as community (nuscenes2bag) bags carry it, 43 bytes, unaligned:
# (name, offset, datatype) of x y z (f32), dyn_prop (i8), id (i16), rcs vx vy vx_comp vy_comp
# (f32) and 8 int8 flags.
RADAR_LAYOUT = [
    ("x", 0, FLOAT32),
    ("y", 4, FLOAT32),
    ("z", 8, FLOAT32),
    ("dyn_prop", 12, INT8),
    ("id", 13, INT16),
    ("rcs", 15, FLOAT32),
    ("vx", 19, FLOAT32),
    ("vy", 23, FLOAT32),
    ("vx_comp", 27, FLOAT32),
    ("vy_comp", 31, FLOAT32),
    *((f"flag{i}", 35 + i, INT8) for i in range(8)),
]
