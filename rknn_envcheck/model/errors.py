"""The one error every model reader raises: a file that is not a readable model (exit 2, one line).

Kept apart from header.py (the `.rknn` reader) so that reading an ONNX or TFLite file does not
import the `.rknn` reader, its dataclass and json (~5 ms of a run whose budget is 2x start-up).
"""
from __future__ import annotations

from rknn_envcheck.errors import UsageError


class ModelFileError(UsageError):
    """The file is not a readable model; the message says what it is instead."""
