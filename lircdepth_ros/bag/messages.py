"""Moved to `lircdepth.bagdata.messages` (ROS-free); kept so existing imports work."""

from lircdepth.bagdata.messages import *  # noqa: F403
from lircdepth.bagdata.messages import _FLOAT32  # noqa: F401
