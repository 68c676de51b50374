"""Fast inference: `DepthEstimator` over torch / compiled / ONNX Runtime backends, ONNX export."""

from lircdepth.inference.backends import BackendUnavailableError
from lircdepth.inference.estimator import DepthEstimator, DepthResult

__all__ = ["BackendUnavailableError", "DepthEstimator", "DepthResult"]
