"""Simulated sensors: a shaded z-buffered camera, a 32-beam lidar and an ARS408-like radar."""

from __future__ import annotations

import numpy as np

from lircdepth.geometry import invert_transform, transform_points
from lircdepth.synth.raycast import GROUND, NOTHING, Hits, cast
from lircdepth.synth.world import LANE_WIDTH, ROAD_HALF_WIDTH, SIDEWALK_OUTER, Scene, Snapshot

CAMERA_RANGE = 250.0
LIDAR_RANGE = 70.0
RADAR_RANGE = 200.0
SUN = np.array([0.35, 0.45, 0.82]) / np.linalg.norm([0.35, 0.45, 0.82])
FOG_DISTANCE = 260.0


def _hash_noise(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """Deterministic pseudo-random value in [0, 1) per integer cell (texture noise)."""
    return np.modf(np.abs(np.sin(ix * 12.9898 + iy * 78.233) * 43758.5453))[0]


def _ground_colour(scene: Scene, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Asphalt with lane markings, tiled sidewalk, grass: texture that carries depth cues."""
    s, lat = scene.road.road_coordinates(x, y)
    a = np.abs(lat)
    noise = _hash_noise(np.floor(x * 3), np.floor(y * 3))[:, None]
    colour = np.empty((len(x), 3))
    grass = np.array([0.22, 0.38, 0.14]) + (noise - 0.5) * 0.12
    sidewalk = np.array([0.62, 0.6, 0.57]) + (noise - 0.5) * 0.06
    sidewalk = np.where((np.mod(s, 1.5) < 0.06)[:, None], sidewalk * 0.7, sidewalk)
    asphalt = np.array([0.27, 0.27, 0.29]) + (noise - 0.5) * 0.07
    colour[:] = np.where((a < SIDEWALK_OUTER)[:, None], sidewalk, grass)
    colour = np.where((a < ROAD_HALF_WIDTH)[:, None], asphalt, colour)
    dashed = (np.abs(a - LANE_WIDTH) < 0.08) & (np.mod(s, 9.0) < 3.0)
    edge = np.abs(a - (ROAD_HALF_WIDTH - 0.25)) < 0.08
    colour[dashed | edge] = (0.92, 0.92, 0.9)
    colour[a < 0.12] = (0.9, 0.75, 0.2)
    return colour


def _box_colour(boxes: Snapshot, hits: Hits, points: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-material face patterns (windows, glass, wheels) on the box's base colour."""
    idx = np.flatnonzero(mask)
    obj = hits.obj[idx]
    colour = boxes.colors[obj].copy()
    centres = boxes.centres[obj]
    height_in_box = points[idx, 2] - (centres[:, 2] - boxes.sizes[obj, 2] / 2)
    along = np.hypot(points[idx, 0] - centres[:, 0], points[idx, 1] - centres[:, 1])
    vertical = hits.face_axis[idx] != 2
    materials = np.array(boxes.materials)[obj]
    building = (materials == "building") & vertical
    window = (
        building
        & (np.mod(height_in_box, 3.2) > 1.0)
        & (np.mod(along, 3.0) > 1.1)
        & (height_in_box > 1.5)
    )
    colour[window] = colour[window] * 0.35 + np.array([0.1, 0.15, 0.25])
    vehicle = np.isin(materials, ("car", "truck")) & vertical
    glass = vehicle & (height_in_box > boxes.sizes[obj, 2] * 0.62)
    colour[glass] = (0.12, 0.14, 0.18)
    wheels = vehicle & (height_in_box < 0.45)
    colour[wheels] = (0.05, 0.05, 0.05)
    return colour


def render_camera(
    scene: Scene,
    boxes: Snapshot,
    T_world_from_cam: np.ndarray,
    camera_matrix: np.ndarray,
    width: int,
    height: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render an RGB uint8 image, its true depth (camera z, 0 = sky) and per-pixel object id.

    The ray through pixel (u, v) is K^-1 [u, v, 1], so the hit parameter t equals the
    camera depth and a point projecting to (u, v) rounds onto the pixel that saw it.
    """
    origin = T_world_from_cam[:3, 3]
    rays_world = camera_rays(T_world_from_cam, camera_matrix, width, height)
    candidates = _screen_candidates(boxes, T_world_from_cam, camera_matrix, width, height)
    hits = cast(origin, rays_world, boxes, CAMERA_RANGE, candidates)

    points = origin + hits.t[:, None] * rays_world
    colour = np.zeros((len(rays_world), 3))  # sky rows are painted last; no garbage meanwhile
    sky = hits.obj == NOTHING
    ground = hits.obj == GROUND
    on_box = hits.obj >= 0
    colour[ground] = _ground_colour(scene, points[ground, 0], points[ground, 1])
    colour[on_box] = _box_colour(boxes, hits, points, on_box)
    light = 0.5 + 0.5 * np.clip(hits.normal @ SUN, 0.0, 1.0)
    colour *= light[:, None]
    distance = np.where(sky, 0.0, hits.t * np.linalg.norm(rays_world, axis=1))
    fog = np.exp(-distance / FOG_DISTANCE)[:, None]
    colour = colour * fog + scene.sky_color * (1.0 - fog)
    rows = np.repeat(np.arange(height) / height, width)[:, None]
    colour[sky] = scene.sky_color * (0.75 + 0.35 * rows[sky])
    image = (np.clip(colour, 0, 1) * 255 + 0.5).astype(np.uint8).reshape(height, width, 3)
    depth = np.where(sky, 0.0, hits.t).astype(np.float32).reshape(height, width)
    return image, depth, hits.obj.reshape(height, width)


def camera_rays(
    T_world_from_cam: np.ndarray,
    camera_matrix: np.ndarray,
    width: int,
    height: int,
    pixels: np.ndarray | None = None,
) -> np.ndarray:
    """World-frame rays K^-1 [u, v, 1] (z = 1 in the camera) of the given flattened
    row-major pixel indices, default every pixel."""
    pixels = np.arange(width * height) if pixels is None else pixels
    pix = np.stack([pixels % width, pixels // width, np.ones(len(pixels))], axis=1)
    return pix @ (T_world_from_cam[:3, :3] @ np.linalg.inv(camera_matrix)).T


def unoccluded_pixels(
    boxes: Snapshot,
    i: int,
    T_world_from_cam: np.ndarray,
    camera_matrix: np.ndarray,
    width: int,
    height: int,
) -> int:
    """How many pixels box i would cover if nothing stood in front of it."""
    alone = boxes.select([i])
    candidates = _screen_candidates(alone, T_world_from_cam, camera_matrix, width, height)
    if not candidates:
        return 0
    rays = camera_rays(T_world_from_cam, camera_matrix, width, height, candidates[0])
    everyone = {0: np.arange(len(rays))}
    hits = cast(T_world_from_cam[:3, 3], rays, alone, CAMERA_RANGE, everyone, hit_ground=False)
    return int((hits.obj == 0).sum())


_CORNER_SIGNS = np.array(
    [[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float
)
# The 12 box edges as corner index pairs (corners differing in one sign).
_EDGES = np.array([(a, a | bit) for bit in (1, 2, 4) for a in range(8) if not a & bit])
NEAR_PLANE = 0.05


def _visible_corners(cam: np.ndarray) -> np.ndarray:
    """Vertices of the box part in front of the near plane: corners in front, plus the
    points where edges cross the plane. Their projections bound the box on screen."""
    front = cam[:, 2] > NEAR_PLANE
    a, b = cam[_EDGES[:, 0]], cam[_EDGES[:, 1]]
    crossing = front[_EDGES[:, 0]] != front[_EDGES[:, 1]]
    fraction = (NEAR_PLANE - a[crossing, 2]) / (b[crossing, 2] - a[crossing, 2])
    cut = a[crossing] + fraction[:, None] * (b[crossing] - a[crossing])
    return np.vstack([cam[front], cut])


def _screen_candidates(
    boxes: Snapshot,
    T_world_from_cam: np.ndarray,
    camera_matrix: np.ndarray,
    width: int,
    height: int,
) -> dict[int, np.ndarray]:
    """Flattened pixel indices inside each box's projected bounding rectangle."""
    T_cam_from_world = invert_transform(T_world_from_cam)
    candidates = {}
    for i in range(len(boxes.centres)):
        corners = (_CORNER_SIGNS * boxes.half_extents(i)) @ boxes.box_rotation(i).T
        cam = transform_points(T_cam_from_world, corners + boxes.centres[i])
        if (cam[:, 2] <= NEAR_PLANE).all():
            continue
        uv = _visible_corners(cam) @ camera_matrix.T
        uv = uv[:, :2] / uv[:, 2:3]
        u0, v0 = np.floor(uv.min(axis=0)).astype(int) - 1
        u1, v1 = np.ceil(uv.max(axis=0)).astype(int) + 2
        u0, u1, v0, v1 = max(u0, 0), min(u1, width), max(v0, 0), min(v1, height)
        if u0 >= u1 or v0 >= v1:
            continue
        rows, cols = np.mgrid[v0:v1, u0:u1]
        candidates[i] = (rows * width + cols).ravel()
    return candidates


def lidar_sweep(
    scene: Scene, boxes: Snapshot, T_world_from_lidar: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One 32-beam sweep: N x 5 (x, y, z, intensity, ring) in the lidar frame, and hit ids."""
    elevations = np.deg2rad(np.linspace(-30.67, 10.67, 32))
    azimuths = np.deg2rad(np.arange(0.0, 360.0, 0.33))
    el, az = np.meshgrid(elevations, azimuths, indexing="ij")
    dirs_lidar = np.stack(
        [np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], -1
    ).reshape(-1, 3)
    ring = np.repeat(np.arange(32), len(azimuths))
    rotation, origin = T_world_from_lidar[:3, :3], T_world_from_lidar[:3, 3]
    dirs_world = dirs_lidar @ rotation.T
    hits = cast(origin, dirs_world, boxes, LIDAR_RANGE)
    keep = (
        np.isfinite(hits.t)
        & (hits.t > 1.0)
        & (hits.t < LIDAR_RANGE)
        & (rng.random(len(ring)) > 0.04)
    )
    distance = hits.t[keep] + rng.normal(0.0, 0.015, keep.sum())
    points = dirs_lidar[keep] * distance[:, None]
    hit_points = origin + dirs_world[keep] * hits.t[keep, None]
    intensity = _lidar_intensity(scene, boxes, hits, hit_points, keep, dirs_world)
    intensity = np.clip(intensity + rng.normal(0.0, 2.0, keep.sum()), 0.0, 255.0)
    cloud = np.column_stack([points, intensity, ring[keep]]).astype(np.float32)
    return cloud, hits.obj[keep]


# Diffuse reflectivity per material; the ground's comes from its texture, so lane
# markings return far brighter than asphalt, as in real lidar intensity images.
REFLECTIVITY = {
    "car": 0.35,
    "truck": 0.4,
    "person": 0.15,
    "building": 0.3,
    "wall": 0.3,
    "pole": 0.6,
    "trunk": 0.2,
    "canopy": 0.12,
}


def _lidar_intensity(
    scene: Scene,
    boxes: Snapshot,
    hits: Hits,
    points_world: np.ndarray,
    keep: np.ndarray,
    directions_world: np.ndarray,
) -> np.ndarray:
    """Return strength 0..255: reflectivity x sqrt(cos incidence), like a real lidar's."""
    obj = hits.obj[keep]
    reflectivity = np.empty(len(obj))
    ground = obj == GROUND
    luminance = _ground_colour(scene, points_world[ground, 0], points_world[ground, 1]).mean(axis=1)
    reflectivity[ground] = luminance**2
    materials = np.array([REFLECTIVITY[m] for m in boxes.materials] or [0.0])
    reflectivity[~ground] = materials[obj[~ground]]
    incidence = np.abs(np.sum(hits.normal[keep] * directions_world[keep], axis=1))
    return 120.0 * reflectivity * np.sqrt(incidence)


RADAR_FIELDS = [
    "x",
    "y",
    "z",
    "dyn_prop",
    "id",
    "rcs",
    "vx",
    "vy",
    "vx_comp",
    "vy_comp",
    "is_quality_valid",
    "ambig_state",
    "x_rms",
    "y_rms",
    "invalid_state",
    "pdh0",
    "vx_rms",
    "vy_rms",
]


def radar_sweep(
    boxes: Snapshot,
    T_world_from_radar: np.ndarray,
    sensor_velocity_world: np.ndarray,
    rng: np.random.Generator,
    half_fov_deg: float = 60.0,
) -> tuple[np.ndarray, np.ndarray]:
    """One ARS408-like sweep: 18 x N fields (devkit order) in the radar frame, and object ids.

    The sensor sees +/- `half_fov_deg` about its x axis; clutter falls 10 degrees inside.

    Detections lie in the sensor's horizontal plane (z = 0: no elevation), a few per
    object, with range/azimuth noise, radial Doppler velocities (raw and ego-compensated),
    missed detections and clutter.
    """
    azimuths = np.deg2rad(np.arange(-half_fov_deg, half_fov_deg, 0.25))
    dirs = np.column_stack([np.cos(azimuths), np.sin(azimuths), np.zeros_like(azimuths)])
    rotation, origin = T_world_from_radar[:3, :3], T_world_from_radar[:3, 3]
    hits = cast(origin, dirs @ rotation.T, boxes, RADAR_RANGE, hit_ground=False)
    chosen: list[int] = []
    for obj in np.unique(hits.obj[hits.obj >= 0]):
        rays = np.flatnonzero(hits.obj == obj)
        wanted = 1 + int(boxes.rcs[obj] > 10) + int(boxes.sizes[obj].max() > 6)
        if rng.random() < 0.9:
            chosen += list(rng.choice(rays, size=min(wanted, len(rays)), replace=False))
    chosen_arr = np.array(sorted(chosen), dtype=np.int64)
    ranges = hits.t[chosen_arr] + rng.normal(0, 0.15, len(chosen_arr))
    az = azimuths[chosen_arr] + np.deg2rad(rng.normal(0, 0.3, len(chosen_arr)))
    objects = hits.obj[chosen_arr]
    velocities = boxes.velocities[objects] if len(objects) else np.zeros((0, 3))
    rcs = boxes.rcs[objects] + rng.normal(0, 1.5, len(objects)) if len(objects) else np.zeros(0)

    n_clutter = rng.poisson(3)
    ranges = np.concatenate([ranges, rng.uniform(5, 80, n_clutter)])
    clutter_half = half_fov_deg - 10.0
    az = np.concatenate([az, np.deg2rad(rng.uniform(-clutter_half, clutter_half, n_clutter))])
    velocities = np.concatenate([velocities, np.zeros((n_clutter, 3))])
    rcs = np.concatenate([rcs, rng.uniform(-10, 0, n_clutter)])
    objects = np.concatenate([objects, np.full(n_clutter, NOTHING)])

    los = np.column_stack([np.cos(az), np.sin(az), np.zeros_like(az)])
    v_object = velocities @ rotation  # world -> radar frame
    v_sensor = rotation.T @ sensor_velocity_world
    # The sensor measures relative Doppler; compensation adds back its own motion, so
    # raw and compensated share the measurement noise.
    radial_raw = np.sum((v_object - v_sensor) * los, axis=1) + rng.normal(0, 0.1, len(az))
    radial_comp = radial_raw + los @ v_sensor
    moving = np.linalg.norm(v_object, axis=1) > 0.5
    dyn_prop = np.where(moving, np.where(radial_comp < 0, 2, 0), 1)
    n = len(az)
    fields = np.zeros((18, n))
    fields[0], fields[1] = ranges * los[:, 0], ranges * los[:, 1]
    fields[3], fields[4], fields[5] = dyn_prop, np.arange(n), rcs
    fields[6:8] = (radial_raw[:, None] * los[:, :2]).T
    fields[8:10] = (radial_comp[:, None] * los[:, :2]).T
    fields[10], fields[11] = 1, 3
    fields[12], fields[13] = rng.integers(16, 22, n), rng.integers(3, 8, n)
    fields[14] = np.where(rng.random(n) < 0.04, 4, 0)
    fields[15] = np.where(objects == NOTHING, 2, 1)
    fields[16], fields[17] = rng.integers(2, 6, n), rng.integers(2, 6, n)
    order = np.argsort(ranges, kind="stable")
    return fields[:, order], objects[order]
