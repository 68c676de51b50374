"""The node's parameters, described once: each field of `NodeConfig` names its ROS
parameter with the typed default, description, range or choices, and whether it is
dynamic. The declaration (`declare_parameters`), the command line's checks
(`check_override`, `quote_string_overrides`), the `PARAMETERS` table and the validated
config (`config_from_values`) all read that one description.

Structural parameters (model, device, topics' QoS, frames, TF, radar fields) are
read-only: the worker thread never sees them change. Dynamic ones can be set at run time
(`ros2 param set`); rclpy checks their ranges from the same descriptors and the node
re-validates the whole set with `config_from_values` before applying it. Invalid values
raise `ParameterError` with the parameter's name and what is allowed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, cast

import numpy as np
import yaml
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node
from rclpy.parameter import Parameter

from lircdepth_ros.calibration import extrinsic_from_parameters
from lircdepth_ros.conversions import DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_RADAR_POINTS
from lircdepth_ros.image_input import TRANSPORTS
from lircdepth_ros.radar_fields import PRESETS, RadarFieldNames, preset_fields
from lircdepth_ros.rig import RigError, RigTopics, rig_layout

DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("auto", "torch", "compile", "onnxruntime", "openvino", "tensorrt")
SYNC_METHODS = ("project", "message_filters")
DEGRADED_MODES = ("camera_only", "stop")
RADAR_FIELDS = ("x", "y", "z", "rcs", "vx", "vy", "radial")


class ParameterError(ValueError):
    """A parameter value the node cannot run with."""


@dataclass(frozen=True)
class Spec:
    """One ROS parameter: its name, typed default, description and limits."""

    name: str
    default: Any  # str, int, float, bool or list: it gives the parameter's ROS type
    description: str
    dynamic: bool = False  # `ros2 param set` may change it while the node runs
    between: tuple[float, float] | None = None  # the descriptor's range (int or float)
    choices: tuple[str, ...] | None = None
    names: bool = False  # a list of names (else a list parameter holds numbers)
    convert: Callable[[object], object] | None = None  # value -> config value (may raise)

    def descriptor_range(self) -> dict:
        """The range fields of its ParameterDescriptor."""
        if self.between is None:
            return {}
        low, high = self.between
        if isinstance(self.default, int):
            return {"integer_range": [IntegerRange(from_value=low, to_value=high, step=1)]}
        return {
            "floating_point_range": [FloatingPointRange(from_value=low, to_value=high, step=0.0)]
        }

    def value(self, raw: object) -> Any:
        """The config's value of `raw` (of its NodeConfig field's type); ParameterError when
        it is not allowed."""
        if self.choices is not None:
            text = str(raw)
            if text not in self.choices and not (
                self.name == "device" and text.startswith("cuda:")
            ):
                raise ParameterError(
                    f"parameter '{self.name}' = '{text}' is not one of {self.choices}"
                )
        if self.convert is not None:
            return self.convert(raw)
        if isinstance(self.default, list):
            items = cast(Iterable[Any], raw)  # a list parameter's value: a sequence
            return tuple(str(item) if self.names else float(item) for item in items)
        return type(self.default)(raw)


def param(name: str, default: object, description: str, **limits) -> Any:
    """A NodeConfig field that is the ROS parameter `name` (Spec's keywords as `limits`)."""
    return field(metadata={"ros": Spec(name, default, description, **limits)})


def _checkpoint(value: object) -> Path:
    if not str(value):
        raise ParameterError(
            "parameter 'checkpoint' is empty: give the path of a LiRCDepth checkpoint"
        )
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise ParameterError(f"parameter 'checkpoint': file not found: {path}")
    return path


@dataclass(frozen=True)
class NodeConfig:
    """The node's parameters, validated. Several parameters together give `radar_fields`,
    `extrinsic` and `topics` (derived, not parameters themselves)."""

    checkpoint: Path = param(
        "checkpoint", "", "path of the LiRCDepth checkpoint (.pt); required", convert=_checkpoint
    )
    device: str = param(
        "device",
        "auto",
        f"inference device, one of {DEVICES} (cuda:N also accepted)",
        choices=DEVICES,
    )
    backend: str = param(
        "backend",
        "auto",
        f"estimator backend, one of {BACKENDS} (auto: fastest installed)",
        choices=BACKENDS,
    )
    max_depth: float = param(
        "max_depth",
        0.0,
        "depth shown in depth/colored and kept in depth/points; 0 = the model's max",
        between=(0.0, 1000.0),
        dynamic=True,
    )
    cameras: tuple[str, ...] = param(
        "cameras",
        [],
        "camera names of a surround rig (topics from topics.*); empty = one camera on "
        "image/camera_info with outputs on depth",
        names=True,
    )
    radars: tuple[str, ...] = param(
        "radars",
        [],
        "radar names shared by every camera (topics from topics.radar); empty = one radar on radar",
        names=True,
    )
    topics_image: str = param("topics.image", "{camera}/image", "image topic of each named camera")
    image_transport: str = param(
        "transport",
        "raw",
        f"image transport, one of {TRANSPORTS}: raw = sensor_msgs/Image on the image topic, "
        "compressed = sensor_msgs/CompressedImage (jpeg, png) on <image>/compressed; an image "
        "topic ending in 'compressed' is always read as CompressedImage",
        choices=TRANSPORTS,
    )
    topics_camera_info: str = param(
        "topics.camera_info", "{camera}/camera_info", "CameraInfo topic of each named camera"
    )
    topics_depth: str = param(
        "topics.depth",
        "{camera}/depth",
        "depth topic of each named camera; <depth>/camera_info, /uncertainty, /points, "
        "/colored follow it",
    )
    topics_radar: str = param("topics.radar", "{radar}", "PointCloud2 topic of each named radar")
    batch_max_size: int = param(
        "batch.max_size",
        0,
        "cameras per forward; 0 = every ready camera, 1 = one camera at a time",
        between=(0, 64),
        dynamic=True,
    )
    batch_wait: float = param(
        "batch.wait",
        0.05,
        "wall seconds the worker waits after a camera's frame for the other live cameras",
        between=(0.0, 1.0),
        dynamic=True,
    )
    sync_method: str = param(
        "sync.method",
        "project",
        f"pairing, one of {SYNC_METHODS}: project = nearest sweep with counted drops, "
        "message_filters = its ApproximateTimeSynchronizer (needs message_filters)",
        choices=SYNC_METHODS,
    )
    sync_slop: float = param(
        "sync.slop",
        0.05,
        "max |image stamp - radar stamp| of a pair, seconds",
        between=(0.0, 1.0),
        dynamic=True,
    )
    sync_queue_size: int = param(
        "sync.queue_size",
        10,
        "messages kept per stream while waiting for a partner",
        between=(1, 100),
        dynamic=True,
    )
    sync_max_wait: float = param(
        "sync.max_wait",
        0.1,
        "wall-clock seconds an image waits for a nearer radar sweep before it is decided",
        between=(0.0, 10.0),
        dynamic=True,
    )
    radar_field_x: str = param("radar.field_x", "x", "PointCloud2 field holding x")
    radar_field_y: str = param("radar.field_y", "y", "PointCloud2 field holding y")
    radar_field_z: str = param("radar.field_z", "z", "PointCloud2 field holding z")
    radar_preset: str = param(
        "radar.preset",
        "nuscenes",
        f"radar driver's field map, one of {tuple(PRESETS)} (docs/ros.md, Radar drivers); "
        "radar.field_* override single names",
        choices=tuple(PRESETS),
    )
    radar_field_rcs: str = param(
        "radar.field_rcs", "", "PointCloud2 field holding RCS; empty = the preset's"
    )
    radar_field_vx: str = param(
        "radar.field_vx", "", "field holding vx (e.g. vx_comp); empty = the preset's"
    )
    radar_field_vy: str = param(
        "radar.field_vy", "", "field holding vy (e.g. vy_comp); empty = the preset's"
    )
    radar_field_radial: str = param(
        "radar.field_radial",
        "",
        "field holding a radial (Doppler) speed, split along the line of sight into vx, vy "
        "when no vx/vy field is given; empty = the preset's",
    )
    radar_sweeps: int = param(
        "radar.sweeps",
        1,
        "radar sweeps accumulated per image (motion-compensated with fixed_frame)",
        between=(1, 10),
    )
    camera_frame: str = param(
        "frames.camera",
        "",
        "camera frame id, also the outputs' frame_id; empty = the image header's frame_id",
    )
    radar_frame: str = param(
        "frames.radar", "", "radar frame id; empty = the cloud header's frame_id"
    )
    fixed_frame: str = param(
        "frames.fixed",
        "",
        "fixed frame for time travel between stamps (e.g. odom); empty = rigid rig",
    )
    tf_enabled: bool = param("tf.enabled", True, "look the extrinsic up in TF (/tf, /tf_static)")
    tf_cache_time: float = param(
        "tf.cache_time", 10.0, "seconds of TF history kept", between=(0.5, 600.0)
    )
    tf_extrapolation: float = param(
        "tf.extrapolation",
        0.5,
        "seconds a dynamic transform may be extrapolated past its first/last stamp "
        "(community bags carry ego poses at 2 Hz); 0 = never",
        between=(0.0, 2.0),
    )
    tf_wait: float = param(
        "tf.wait",
        0.2,
        "wall seconds a pair waits for TF that has not arrived yet before it is skipped",
        between=(0.0, 5.0),
    )
    extrinsic_translation: tuple[float, ...] = param(
        "extrinsic.translation",
        [],
        "fallback T_camera_from_radar translation [x, y, z] m; [] = none",
    )
    extrinsic_rotation_xyzw: tuple[float, ...] = param(
        "extrinsic.rotation_xyzw",
        [],
        "fallback T_camera_from_radar rotation quaternion [x, y, z, w]",
    )
    publish_uncertainty: bool = param(
        "publish.uncertainty",
        True,
        "publish depth/uncertainty when the model estimates it",
        dynamic=True,
    )
    publish_points: bool = param(
        "publish.points", False, "publish depth/points (PointCloud2 from the depth)", dynamic=True
    )
    publish_colored: bool = param(
        "publish.colored", False, "publish depth/colored (rgb8 visualisation)", dynamic=True
    )
    qos_sensor_data: bool = param(
        "qos.sensor_data", True, "best-effort sensor-data QoS on inputs; false = reliable"
    )
    qos_depth: int = param(
        "qos.depth", 5, "history depth of input and output QoS", between=(1, 100)
    )
    diagnostics_period: float = param(
        "diagnostics.period",
        1.0,
        "seconds between /diagnostics messages and log lines",
        between=(0.1, 60.0),
        dynamic=True,
    )
    no_input_warning: float = param(
        "diagnostics.no_input_warning",
        5.0,
        "warn when no image/radar arrived for this long, seconds",
        between=(0.5, 600.0),
        dynamic=True,
    )
    max_image_pixels: int = param(
        "limits.max_image_pixels",
        DEFAULT_MAX_IMAGE_PIXELS,
        "images with more pixels are refused (counted in rejected.image.too_large) before "
        "any allocation; bounds the node's memory",
        between=(1, 100_000_000),
    )
    max_radar_points: int = param(
        "limits.max_radar_points",
        DEFAULT_MAX_RADAR_POINTS,
        "radar clouds with more points are refused (rejected.pointcloud2.too_many_points)",
        between=(1, 10_000_000),
    )
    lazy: bool = param(
        "lazy",
        True,
        "run the model only while an output has a subscriber (depth_image_proc idiom); "
        "pairs skipped meanwhile are counted in skipped.no_subscriber",
        dynamic=True,
    )
    degraded_mode: str = param(
        "degraded.mode",
        "camera_only",
        "when every radar is silent for degraded.radar_timeout: camera_only (depth from the "
        "image alone, WARN) or stop (no depth, ERROR)",
        choices=DEGRADED_MODES,
        dynamic=True,
    )
    degraded_radar_timeout: float = param(
        "degraded.radar_timeout",
        1.0,
        "seconds without any radar sweep before the radar counts as silent",
        between=(0.1, 60.0),
        dynamic=True,
    )
    # Derived from several parameters (set in __post_init__).
    radar_fields: RadarFieldNames = field(init=False)
    extrinsic: np.ndarray | None = field(init=False)  # 4x4 T_camera_from_radar, or None
    topics: RigTopics = field(init=False)

    def __post_init__(self) -> None:
        overrides = {name: getattr(self, f"radar_field_{name}") for name in RADAR_FIELDS}
        object.__setattr__(self, "radar_fields", preset_fields(self.radar_preset, overrides))
        try:
            extrinsic = extrinsic_from_parameters(
                list(self.extrinsic_translation), list(self.extrinsic_rotation_xyzw)
            )
        except ValueError as error:
            raise ParameterError(f"parameters 'extrinsic.*': {error}") from error
        if not self.tf_enabled and extrinsic is None:
            raise ParameterError(
                "'tf.enabled' is false but no 'extrinsic.translation'/'extrinsic.rotation_xyzw' given"
            )
        object.__setattr__(self, "extrinsic", extrinsic)
        topics = RigTopics(
            self.topics_image, self.topics_camera_info, self.topics_depth, self.topics_radar
        )
        object.__setattr__(self, "topics", topics)
        self._check_rig()

    def _check_rig(self) -> None:
        """Names and templates give distinct topics; one-frame parameters name one frame."""
        try:
            rig_layout(self.cameras, self.radars, self.topics)
        except RigError as error:
            raise ParameterError(str(error)) from error
        for parameter, frame, names in (
            ("frames.camera", self.camera_frame, self.cameras),
            ("frames.radar", self.radar_frame, self.radars),
        ):
            if frame and len(names) > 1:
                raise ParameterError(
                    f"parameter '{parameter}' names one frame but {len(names)} "
                    f"{parameter.split('.')[1]}s are configured: leave it empty (the headers' frame ids)"
                )
        if self.extrinsic is not None and (len(self.cameras) > 1 or len(self.radars) > 1):
            raise ParameterError(
                "parameters 'extrinsic.*' give one radar -> camera transform but the rig has "
                f"{max(len(self.cameras), 1)} cameras and {max(len(self.radars), 1)} radars: use TF"
            )


# config field -> its parameter, in declaration order.
SPECS: dict[str, Spec] = {
    f.name: f.metadata["ros"] for f in fields(NodeConfig) if "ros" in f.metadata
}
# name -> (default, description, range fields of its descriptor)
PARAMETERS: dict[str, tuple[object, str, dict]] = {
    spec.name: (spec.default, spec.description, spec.descriptor_range()) for spec in SPECS.values()
}
# Parameters `ros2 param set` may change while the node runs; every other one is read-only.
DYNAMIC = frozenset(spec.name for spec in SPECS.values() if spec.dynamic)
# List parameters holding names; every other list parameter holds numbers.
STRING_LISTS = frozenset(spec.name for spec in SPECS.values() if spec.names)


# Parameters every rclpy node declares itself (name -> default, for the type check).
ROS_NODE_PARAMETERS: dict[str, object] = {
    "use_sim_time": False,
    "start_type_description_service": True,
}


def check_override(assignment: str) -> None:
    """Validate one `NAME:=VALUE` override before ROS sees it.

    Why: rcl silently keeps the params-file value when a `-p` override has another type,
    so a typo would run the node with a value the user did not ask for.
    """
    name, separator, text = assignment.partition(":=")
    if not separator:
        raise ParameterError(f"override '{assignment}' is not of the form NAME:=VALUE")
    if name in ROS_NODE_PARAMETERS:
        default = ROS_NODE_PARAMETERS[name]
    elif name in PARAMETERS:
        default = PARAMETERS[name][0]
    else:
        raise ParameterError(
            f"parameter '{name}' does not exist "
            f"(known: {', '.join([*PARAMETERS, *ROS_NODE_PARAMETERS])})"
        )
    if isinstance(default, str):
        return  # any text is a string: quote_string_overrides keeps it as typed
    if not text:
        raise ParameterError(f"parameter '{name}' is given no value; expected like {default!r}")
    value = yaml.safe_load(text)
    # ROS types are strict: 1 is not a double, true is not an integer.
    names_expected = name in STRING_LISTS
    if type(value) is not type(default) or (
        names_expected and isinstance(value, list) and not all(isinstance(i, str) for i in value)
    ):
        expected = "['CAM_FRONT', 'CAM_BACK']" if names_expected else repr(default)
        raise ParameterError(
            f"parameter '{name}' = {text!r} has the wrong type; expected like {expected}"
        )


def _string_parameter(assignment: str) -> bool:
    """Is `[node:]NAME:=VALUE` an override of one of our string parameters?"""
    name = assignment.partition(":=")[0].rsplit(":", 1)[-1]
    return isinstance(PARAMETERS.get(name, (None,))[0], str)


def quote_string_overrides(ros_args: list[str]) -> list[str]:
    """Quote the values of `-p` overrides of string parameters as YAML strings.

    Why: rcl reads `-p` values as YAML 1.1, so `radar.field_y:=y` becomes the boolean
    true and `frames.fixed:=` fails to parse; a ROS user means the text as typed.
    """
    out = list(ros_args)
    for index in range(1, len(out)):
        name, separator, text = out[index].partition(":=")
        if (
            out[index - 1] in ("-p", "--param")
            and separator
            and _string_parameter(out[index])
            and not text.startswith(("'", '"'))
        ):
            out[index] = f"{name}:='{text.replace(chr(39), chr(39) * 2)}'"
    return out


def declare_parameters(node: Node) -> dict[str, object]:
    """Declare every parameter (typed default, description, range; read-only unless
    dynamic); return their values."""
    return {spec.name: _declare(node, spec) for spec in SPECS.values()}


def _declare(node: Node, spec: Spec) -> object:
    descriptor = ParameterDescriptor(
        description=spec.description, read_only=not spec.dynamic, **spec.descriptor_range()
    )
    # An empty list has no ROS type of its own (rclpy infers a byte array): declare list
    # parameters by type, then give an unset one its typed empty default below.
    list_type = Parameter.Type.STRING_ARRAY if spec.names else Parameter.Type.DOUBLE_ARRAY
    is_list = isinstance(spec.default, list)
    try:
        parameter = node.declare_parameter(
            spec.name,
            list_type if is_list else spec.default,
            _writable(descriptor) if is_list else descriptor,
        )
    except InvalidParameterValueException as error:
        raise ParameterError(f"parameter '{spec.name}' is invalid: {error}") from error
    except (InvalidParameterTypeException, TypeError, ValueError) as error:
        raise ParameterError(
            f"parameter '{spec.name}' has the wrong type ({error}); expected like {spec.default!r}"
        ) from error
    if is_list:
        # Why: a NOT_SET parameter makes `ros2 param get/dump` fail for the whole node. The
        # typed empty default is set while the parameter is writable, then made read-only.
        if parameter.type_ == Parameter.Type.NOT_SET:
            node.set_parameters([Parameter(spec.name, list_type, list(spec.default))])
        descriptor.type = list_type.value
        node.set_descriptor(spec.name, descriptor)
        parameter = node.get_parameter(spec.name)
    return parameter.value


def _writable(descriptor: ParameterDescriptor) -> ParameterDescriptor:
    return ParameterDescriptor(
        description=descriptor.description,
        floating_point_range=descriptor.floating_point_range,
        integer_range=descriptor.integer_range,
    )


def parameter_values(parameters: list[Parameter]) -> dict[str, object]:
    """name -> Python value of parameters being set, for `config_from_values`."""
    return {p.name: p.value for p in parameters if p.name in PARAMETERS}


def config_from_values(values: dict[str, object]) -> NodeConfig:
    """Validate declared values (name -> value) into a NodeConfig; ParameterError names the
    bad parameter."""
    return NodeConfig(**{key: spec.value(values[spec.name]) for key, spec in SPECS.items()})
