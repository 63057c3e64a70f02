"""Offline reading of `.rknn` model files (header only) and the model preflight.

`read_model_info` never loads a model whole: it reads the fixed header, peeks at the first bytes
of the data section and reads the trailing JSON metadata, all bounded. `preflight` adds the
judgement against a board (rules/model.py); it is imported lazily so the doctor pays for it only
when `--model` is given.
"""
from __future__ import annotations

from rknn_envcheck.model.errors import ModelFileError

__all__ = ["ModelFileError", "ModelInfo", "read_model_info", "preflight"]


def __getattr__(name: str):
    # the .rknn reader is imported when asked for: a source model (ONNX, TFLite…) never needs it
    if name in ("ModelInfo", "read_model_info"):
        from rknn_envcheck.model import header

        return getattr(header, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def preflight(path, device: dict | None, matrix, plan=None) -> list:
    """Read `path` and judge it against `device` (facts dict or None). ModelFileError propagates.

    The header is read here, not in the rules (rules are pure); `plan` is the board's install plan
    for the whole report (fixplan.plan_for), so model rows and board rows name one release."""
    from rknn_envcheck.rules.model import judge_model

    from rknn_envcheck.model.header import read_model_info

    return judge_model(read_model_info(path), device, matrix, plan)
