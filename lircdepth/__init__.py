"""LiRCDepth: lightweight radar-camera depth estimation.

The core library (models, losses, data, geometry, metrics, inference). It never
imports ROS, so it runs on a plain training cluster; ROS glue lives in `lircdepth_ros`.
"""

__version__ = "0.1.0"
