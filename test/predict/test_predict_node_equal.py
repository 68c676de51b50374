"""`predict` on files feeds the network what `lircdepth_node` feeds it for the same data:
the node's own message path (`lircdepth_ros.frame.frame_inputs`) on an Image, CameraInfo
and PointCloud2 made from the files, with the calibration's extrinsic as its fallback."""

from __future__ import annotations

import numpy as np
import yaml
from sensor_msgs.msg import CameraInfo

from lircdepth.inference import preprocess
from lircdepth.predict.calibration import read_calibration
from lircdepth.predict.files_source import file_jobs
from lircdepth_ros.calibration import RadarToCamera, extrinsic_from_parameters
from lircdepth_ros.conversions import array_to_pointcloud2, numpy_to_image
from lircdepth_ros.frame import frame_inputs


def test_files_radar_points_and_map_equal_the_nodes(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    height, width = 120, 200
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), image[:, :, ::-1])
    k = [150.0, 0.0, 100.0, 0.0, 150.0, 60.0, 0.0, 0.0, 1.0]
    translation, xyzw = [0.2, 0.5, -0.1], [0.5, -0.5, 0.5, 0.5]  # radar x forward -> camera z
    (tmp_path / "calib.yaml").write_text(
        yaml.safe_dump(
            {
                "camera_info": {"width": width, "height": height, "k": k},
                "extrinsic": {"translation": translation, "rotation_xyzw": xyzw},
            }
        )
    )
    points = np.zeros(60, dtype=[(n, "f4") for n in ("x", "y", "z", "rcs", "vx", "vy")])
    points["x"] = rng.uniform(2, 60, 60)
    points["y"] = rng.uniform(-20, 20, 60)
    points["z"] = rng.uniform(-1, 2, 60)
    for name in ("rcs", "vx", "vy"):
        points[name] = rng.normal(size=60)
    (tmp_path / "radar").mkdir()
    np.save(tmp_path / "radar" / "a.npy", points)

    calibration = read_calibration(tmp_path / "calib.yaml")
    (job,) = file_jobs(tmp_path / "images", tmp_path / "radar", calibration, "radar")
    ours = job.load()

    info = CameraInfo(width=width, height=height, k=k)
    node = frame_inputs(
        numpy_to_image(image, "rgb8"),
        info,
        [array_to_pointcloud2(points)],
        RadarToCamera(fallback=extrinsic_from_parameters(translation, xyzw)),
        camera_frame="camera",
        radar_frame="radar",
    )
    np.testing.assert_array_equal(ours.image, node.image)
    np.testing.assert_allclose(ours.radar_points, node.radar_points, rtol=0, atol=1e-9)
    assert node.points_in_image[0] > 10
    layout = preprocess.plan_layout(height, width)
    np.testing.assert_array_equal(
        preprocess.radar_map(ours.radar_points, layout),
        preprocess.radar_map(node.radar_points, layout),
    )
