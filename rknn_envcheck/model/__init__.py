"""Offline reading of `.rknn` model files (header only) and the model preflight.

`read_model_info` never loads a model whole: it reads the fixed header, peeks at the first bytes
of the data section and reads the trailing JSON metadata, all bounded. `preflight` adds the
judgement against a board (rules/model.py); it is imported lazily so the doctor pays for it only
when `--model` is given.
"""
from __future__ import annotations

from rknn_envcheck.model.header import ModelFileError, ModelInfo, read_model_info

__all__ = ["ModelFileError", "ModelInfo", "read_model_info", "preflight"]


def preflight(path, device: dict | None, matrix) -> list:
    """Read `path` and judge it against `device` (facts dict or None). ModelFileError propagates."""
    from rknn_envcheck.rules.model import preflight as _preflight

    return _preflight(path, device, matrix)
