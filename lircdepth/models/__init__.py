"""The networks: LiRCDepth (student), CaFNet (teacher), building and checkpoints.

The teacher is imported on first use, so the student works even where the teacher's
module fails to import.
"""

from .registry import build_model
from .student import LiRCDepth, StudentOutput

__all__ = ["CaFNet", "LiRCDepth", "StudentOutput", "TeacherOutput", "build_model"]


def __getattr__(name: str):
    if name in ("CaFNet", "TeacherOutput"):
        from . import teacher

        return getattr(teacher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
