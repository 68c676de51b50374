"""ROS-free reading of ROS 2 bags (MCAP or sqlite3), whatever made them.

Stable API (other commands build on it; extend, do not change):

    from lircdepth.bagdata import BagData
    bag = BagData(path)                      # a bag folder (or a .mcap/.db3 file in it)
    bag.topics                               # topic -> message type
    bag.sensors.cameras                      # name -> CameraTopics(name, image_topic, msgtype, info_topic)
    bag.sensors.radars / .lidars             # name -> PointCloud2 topic ('RADAR_FRONT' -> '/RADAR_FRONT')
    bag.camera_infos(camera)                 # header stamp ns -> CameraModel(camera_matrix, width, height, frame_id)
    bag.image_stamps(camera)                 # [Stamped(stamp, log_time)] (header stamp and bag time, ns)
    bag.images(camera, stamps=None)          # CameraFrame(camera, stamp, log_time, frame_id, rgb uint8 HxWx3)
    bag.cloud_stamps(name)                   # [Stamped]
    bag.clouds(name, stamps=None)            # Cloud(name, stamp, log_time, frame_id, message): .fields(names), .xyz()
    bag.transforms                           # TransformTree of /tf_static + /tf:
        .lookup(target, source, stamp)       #   T_target_from_source, interpolated, bounded extrapolation
        .lookup_full(target, t_target, source, t_source, fixed)
        .to_ancestor(ancestor, frame, stamp)
    bag.map_from_sensor(frame, stamp)        # T_map_from_frame at a stamp
    bag.keyframes(cameras=None, lidar=None)  # [Keyframe(lidar, stamps={channel: ns}, token)]
    bag.messages(topics)                     # (topic, log time, decoded message)

    cloud_fields(message, names) / cloud_xyz(message)     # any PointCloud2, by field offset
    image_rgb(message, msgtype)                           # Image or CompressedImage -> RGB

Errors are one line naming the bag: MissingPathError (not a bag), MissingTopicError (a
topic, frame or transform it lacks; also TransformLookupError), BagDataError (content).
This package never imports rclpy, a ROS message package or lircdepth_ros.
"""

from lircdepth.bagdata.errors import BagDataError, MissingTopicError
from lircdepth.bagdata.images import CAMERA_TYPES, COMPRESSED_IMAGE, IMAGE, image_rgb
from lircdepth.bagdata.keyframes import Keyframe, Stamped, find_keyframes
from lircdepth.bagdata.pointcloud import cloud_fields, cloud_points, cloud_xyz
from lircdepth.bagdata.reader import (
    BagData,
    CameraFrame,
    CameraModel,
    Cloud,
    bag_custom_data,
    bag_folder,
    open_bag,
)
from lircdepth.bagdata.sensors import BagSensors, CameraTopics, find_sensors
from lircdepth.bagdata.tf import TransformLookupError, TransformTree

__all__ = [
    "CAMERA_TYPES",
    "COMPRESSED_IMAGE",
    "IMAGE",
    "BagData",
    "BagDataError",
    "BagSensors",
    "CameraFrame",
    "CameraModel",
    "CameraTopics",
    "Cloud",
    "Keyframe",
    "MissingTopicError",
    "Stamped",
    "TransformLookupError",
    "TransformTree",
    "bag_custom_data",
    "bag_folder",
    "cloud_fields",
    "cloud_points",
    "cloud_xyz",
    "find_keyframes",
    "find_sensors",
    "image_rgb",
    "open_bag",
]
