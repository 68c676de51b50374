"""The node's parameters: declared with typed defaults, descriptors and ranges, validated
into `NodeConfig`.

Structural parameters (model, device, topics' QoS, frames, TF, radar fields) are
read-only: the worker thread never sees them change. The ones in `DYNAMIC` can be set at
run time (`ros2 param set`); rclpy checks their ranges from the same descriptors and the
node re-validates the whole set with `config_from_values` before applying it. Invalid
values raise `ParameterError` with the parameter's name and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node
from rclpy.parameter import Parameter

from lircdepth_ros.calibration import extrinsic_from_parameters
from lircdepth_ros.conversions import DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_MAX_RADAR_POINTS
from lircdepth_ros.radar import RadarFieldNames
from lircdepth_ros.rig import RigError, RigTopics, rig_layout

DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("auto", "torch", "compile", "onnxruntime", "openvino", "tensorrt")
SYNC_METHODS = ("project", "message_filters")
# List parameters holding names; every other list parameter holds numbers.
STRING_LISTS = frozenset({"cameras", "radars"})


class ParameterError(ValueError):
    """A parameter value the node cannot run with."""


def _float_range(low: float, high: float) -> dict:
    return {"floating_point_range": [FloatingPointRange(from_value=low, to_value=high, step=0.0)]}


def _int_range(low: int, high: int) -> dict:
    return {"integer_range": [IntegerRange(from_value=low, to_value=high, step=1)]}


# name -> (default, description, extra descriptor fields)
PARAMETERS: dict[str, tuple[object, str, dict]] = {
    "checkpoint": ("", "path of the LiRCDepth checkpoint (.pt); required", {}),
    "device": ("auto", f"inference device, one of {DEVICES} (cuda:N also accepted)", {}),
    "backend": ("auto", f"estimator backend, one of {BACKENDS} (auto: fastest installed)", {}),
    "max_depth": (
        0.0,
        "depth shown in depth/colored and kept in depth/points; 0 = the model's max",
        _float_range(0.0, 1000.0),
    ),
    "cameras": (
        [],
        "camera names of a surround rig (topics from topics.*); empty = one camera on "
        "image/camera_info with outputs on depth",
        {},
    ),
    "radars": (
        [],
        "radar names shared by every camera (topics from topics.radar); empty = one radar on radar",
        {},
    ),
    "topics.image": ("{camera}/image", "image topic of each named camera", {}),
    "topics.camera_info": ("{camera}/camera_info", "CameraInfo topic of each named camera", {}),
    "topics.depth": (
        "{camera}/depth",
        "depth topic of each named camera; <depth>/camera_info, /uncertainty, /points, "
        "/colored follow it",
        {},
    ),
    "topics.radar": ("{radar}", "PointCloud2 topic of each named radar", {}),
    "batch.max_size": (
        0,
        "cameras per forward; 0 = every ready camera, 1 = one camera at a time",
        _int_range(0, 64),
    ),
    "batch.wait": (
        0.05,
        "wall seconds the worker waits after a camera's frame for the other live cameras",
        _float_range(0.0, 1.0),
    ),
    "sync.method": (
        "project",
        f"pairing, one of {SYNC_METHODS}: project = nearest sweep with counted drops, "
        "message_filters = its ApproximateTimeSynchronizer (needs message_filters)",
        {},
    ),
    "sync.slop": (
        0.05,
        "max |image stamp - radar stamp| of a pair, seconds",
        _float_range(0.0, 1.0),
    ),
    "sync.queue_size": (
        10,
        "messages kept per stream while waiting for a partner",
        _int_range(1, 100),
    ),
    "sync.max_wait": (
        0.1,
        "wall-clock seconds an image waits for a nearer radar sweep before it is decided",
        _float_range(0.0, 10.0),
    ),
    "radar.field_x": ("x", "PointCloud2 field holding x", {}),
    "radar.field_y": ("y", "PointCloud2 field holding y", {}),
    "radar.field_z": ("z", "PointCloud2 field holding z", {}),
    "radar.field_rcs": ("rcs", "PointCloud2 field holding RCS (missing -> 0)", {}),
    "radar.field_vx": ("vx", "field holding vx, e.g. vx or vx_comp (missing -> 0)", {}),
    "radar.field_vy": ("vy", "field holding vy, e.g. vy or vy_comp (missing -> 0)", {}),
    "radar.sweeps": (
        1,
        "radar sweeps accumulated per image (motion-compensated with fixed_frame)",
        _int_range(1, 10),
    ),
    "frames.camera": ("", "camera frame id; empty = the image header's frame_id", {}),
    "frames.radar": ("", "radar frame id; empty = the cloud header's frame_id", {}),
    "frames.fixed": (
        "",
        "fixed frame for time travel between stamps (e.g. odom); empty = rigid rig",
        {},
    ),
    "tf.enabled": (True, "look the extrinsic up in TF (/tf, /tf_static)", {}),
    "tf.cache_time": (10.0, "seconds of TF history kept", _float_range(0.5, 600.0)),
    "tf.wait": (
        0.2,
        "wall seconds a pair waits for TF that has not arrived yet before it is skipped",
        _float_range(0.0, 5.0),
    ),
    "extrinsic.translation": (
        [],
        "fallback T_camera_from_radar translation [x, y, z] m; [] = none",
        {},
    ),
    "extrinsic.rotation_xyzw": (
        [],
        "fallback T_camera_from_radar rotation quaternion [x, y, z, w]",
        {},
    ),
    "publish.uncertainty": (True, "publish depth/uncertainty when the model estimates it", {}),
    "publish.points": (False, "publish depth/points (PointCloud2 from the depth)", {}),
    "publish.colored": (False, "publish depth/colored (rgb8 visualisation)", {}),
    "qos.sensor_data": (True, "best-effort sensor-data QoS on inputs; false = reliable", {}),
    "qos.depth": (5, "history depth of input and output QoS", _int_range(1, 100)),
    "diagnostics.period": (
        1.0,
        "seconds between /diagnostics messages and log lines",
        _float_range(0.1, 60.0),
    ),
    "diagnostics.no_input_warning": (
        5.0,
        "warn when no image/radar arrived for this long, seconds",
        _float_range(0.5, 600.0),
    ),
    "limits.max_image_pixels": (
        DEFAULT_MAX_IMAGE_PIXELS,
        "images with more pixels are refused (counted in rejected.image.too_large) before "
        "any allocation; bounds the node's memory",
        _int_range(1, 100_000_000),
    ),
    "limits.max_radar_points": (
        DEFAULT_MAX_RADAR_POINTS,
        "radar clouds with more points are refused (rejected.pointcloud2.too_many_points)",
        _int_range(1, 10_000_000),
    ),
}


# Parameters `ros2 param set` may change while the node runs; every other one is read-only.
DYNAMIC = frozenset(
    {
        "max_depth",
        "sync.slop",
        "sync.queue_size",
        "sync.max_wait",
        "batch.max_size",
        "batch.wait",
        "publish.uncertainty",
        "publish.points",
        "publish.colored",
        "diagnostics.period",
        "diagnostics.no_input_warning",
    }
)


@dataclass(frozen=True)
class NodeConfig:
    checkpoint: Path
    device: str
    backend: str
    max_depth: float
    sync_method: str
    sync_slop: float
    sync_queue_size: int
    sync_max_wait: float
    radar_fields: RadarFieldNames
    radar_sweeps: int
    camera_frame: str
    radar_frame: str
    fixed_frame: str
    tf_enabled: bool
    tf_cache_time: float
    tf_wait: float
    extrinsic: object
    publish_uncertainty: bool
    publish_points: bool
    publish_colored: bool
    qos_sensor_data: bool
    qos_depth: int
    diagnostics_period: float
    no_input_warning: float
    max_image_pixels: int
    max_radar_points: int
    cameras: tuple[str, ...] = ()
    radars: tuple[str, ...] = ()
    topics: RigTopics = RigTopics()
    batch_max_size: int = 0
    batch_wait: float = 0.05


def check_override(assignment: str) -> None:
    """Validate one `NAME:=VALUE` override before ROS sees it.

    Why: rcl silently keeps the params-file value when a `-p` override has another type,
    so a typo would run the node with a value the user did not ask for.
    """
    name, separator, text = assignment.partition(":=")
    if not separator:
        raise ParameterError(f"override '{assignment}' is not of the form NAME:=VALUE")
    if name not in PARAMETERS:
        raise ParameterError(f"parameter '{name}' does not exist (known: {', '.join(PARAMETERS)})")
    default = PARAMETERS[name][0]
    if isinstance(default, str):
        return  # any text is a string: quote_string_overrides keeps it as typed
    if not text:
        raise ParameterError(f"parameter '{name}' is given no value; expected like {default!r}")
    value = yaml.safe_load(text)
    # ROS types are strict: 1 is not a double, true is not an integer.
    names_expected = name in STRING_LISTS
    if type(value) is not type(default) or (
        names_expected and not all(isinstance(item, str) for item in value)
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
    """Declare every parameter (typed default, description, range; read-only unless in
    DYNAMIC); return their values."""
    values = {}
    for name, (default, description, extra) in PARAMETERS.items():
        descriptor = ParameterDescriptor(
            description=description, read_only=name not in DYNAMIC, **extra
        )
        # An empty list has no ROS type of its own (rclpy infers a byte array): declare
        # list parameters by type, then give an unset one its typed empty default below.
        list_type = (
            Parameter.Type.STRING_ARRAY if name in STRING_LISTS else Parameter.Type.DOUBLE_ARRAY
        )
        value = list_type if isinstance(default, list) else default
        try:
            parameter = node.declare_parameter(name, value, descriptor)
        except InvalidParameterValueException as error:
            raise ParameterError(f"parameter '{name}' is invalid: {error}") from error
        except (InvalidParameterTypeException, TypeError, ValueError) as error:
            raise ParameterError(
                f"parameter '{name}' has the wrong type ({error}); expected like {default!r}"
            ) from error
        if parameter.type_ == Parameter.Type.NOT_SET:
            # Why: a NOT_SET parameter makes `ros2 param get/dump` fail for the whole node,
            # and rclpy has no public way to declare an empty typed array (read-only too).
            parameter = Parameter(name, list_type, list(default))
            node._parameters[name] = parameter
        values[name] = parameter.value
    return values


def parameter_values(parameters: list[Parameter]) -> dict[str, object]:
    """name -> Python value of parameters being set, for `config_from_values`."""
    return {p.name: p.value for p in parameters if p.name in PARAMETERS}


def _choice(values: dict, name: str, choices: tuple[str, ...]) -> str:
    value = str(values[name])
    if value not in choices and not (name == "device" and value.startswith("cuda:")):
        raise ParameterError(f"parameter '{name}' = '{value}' is not one of {choices}")
    return value


def config_from_values(values: dict[str, object]) -> NodeConfig:
    """Validate declared values into a NodeConfig; ParameterError names the bad parameter."""
    checkpoint = Path(str(values["checkpoint"])).expanduser()
    if not str(values["checkpoint"]):
        raise ParameterError(
            "parameter 'checkpoint' is empty: give the path of a LiRCDepth checkpoint"
        )
    if not checkpoint.is_file():
        raise ParameterError(f"parameter 'checkpoint': file not found: {checkpoint}")
    fields = RadarFieldNames(
        *(str(values[f"radar.field_{n}"]) for n in ("x", "y", "z", "rcs", "vx", "vy"))
    )
    if not all((fields.x, fields.y, fields.z)):
        raise ParameterError("parameters 'radar.field_x/y/z' must not be empty")
    try:
        extrinsic = extrinsic_from_parameters(
            list(values["extrinsic.translation"]), list(values["extrinsic.rotation_xyzw"])
        )
    except ValueError as error:
        raise ParameterError(f"parameters 'extrinsic.*': {error}") from error
    if not values["tf.enabled"] and extrinsic is None:
        raise ParameterError(
            "'tf.enabled' is false but no 'extrinsic.translation'/'extrinsic.rotation_xyzw' given"
        )
    cameras = tuple(str(name) for name in values["cameras"])
    radars = tuple(str(name) for name in values["radars"])
    topics = RigTopics(
        *(str(values[f"topics.{k}"]) for k in ("image", "camera_info", "depth", "radar"))
    )
    _check_rig(values, cameras, radars, topics, extrinsic)
    return NodeConfig(
        checkpoint=checkpoint,
        device=_choice(values, "device", DEVICES),
        backend=_choice(values, "backend", BACKENDS),
        max_depth=float(values["max_depth"]),
        sync_method=_choice(values, "sync.method", SYNC_METHODS),
        sync_slop=float(values["sync.slop"]),
        sync_queue_size=int(values["sync.queue_size"]),
        sync_max_wait=float(values["sync.max_wait"]),
        radar_fields=fields,
        radar_sweeps=int(values["radar.sweeps"]),
        camera_frame=str(values["frames.camera"]),
        radar_frame=str(values["frames.radar"]),
        fixed_frame=str(values["frames.fixed"]),
        tf_enabled=bool(values["tf.enabled"]),
        tf_cache_time=float(values["tf.cache_time"]),
        tf_wait=float(values["tf.wait"]),
        extrinsic=extrinsic,
        publish_uncertainty=bool(values["publish.uncertainty"]),
        publish_points=bool(values["publish.points"]),
        publish_colored=bool(values["publish.colored"]),
        qos_sensor_data=bool(values["qos.sensor_data"]),
        qos_depth=int(values["qos.depth"]),
        diagnostics_period=float(values["diagnostics.period"]),
        no_input_warning=float(values["diagnostics.no_input_warning"]),
        max_image_pixels=int(values["limits.max_image_pixels"]),
        max_radar_points=int(values["limits.max_radar_points"]),
        cameras=cameras,
        radars=radars,
        topics=topics,
        batch_max_size=int(values["batch.max_size"]),
        batch_wait=float(values["batch.wait"]),
    )


def _check_rig(
    values: dict, cameras: tuple[str, ...], radars: tuple[str, ...], topics: RigTopics, extrinsic
) -> None:
    """Names and templates give distinct topics; one-frame parameters name one frame."""
    try:
        rig_layout(cameras, radars, topics)
    except RigError as error:
        raise ParameterError(str(error)) from error
    for parameter, names in (("frames.camera", cameras), ("frames.radar", radars)):
        if values[parameter] and len(names) > 1:
            raise ParameterError(
                f"parameter '{parameter}' names one frame but {len(names)} "
                f"{parameter.split('.')[1]}s are configured: leave it empty (the headers' frame ids)"
            )
    if extrinsic is not None and (len(cameras) > 1 or len(radars) > 1):
        raise ParameterError(
            "parameters 'extrinsic.*' give one radar -> camera transform but the rig has "
            f"{max(len(cameras), 1)} cameras and {max(len(radars), 1)} radars: use TF"
        )
