"""What a `.rknn` model needs from the board's runtime, as fix-planner needs (pure).

The model checks (rules/model.py) judge each need as a row; the fix planner (fixplan.py) takes
the highest of them so that every row of the report installs one release. The model's header is a
fact (`facts["models"]`, see `model_fact`), read by the command before the rules run.
"""
from __future__ import annotations

from rknn_envcheck.fixplan import Need, short_source
from rknn_envcheck.rules.chips import v1_npu_family
from rknn_envcheck.versions import public, try_parse

LINE_V1, LINE_V2 = "rknn-toolkit", "rknn-toolkit2"
# Minimum librknn_runtime releases for toolkit-v1 model features (toolkit1.md §3.2).
CUSTOM_OPS_MIN = {"toolkit>=1.3.0": "1.3.1", "older": "1.2.0"}  # [NPU@fae5532], [NPU@be3a0a8]
ENCRYPTED_MIN = {"PUMA": "1.5.2", "other": "1.6.0"}  # [NPU@ae933da], [NPU@b010399]
LARGE_MODEL_BYTES = 2 * 1024 ** 3
LARGE_MODEL_SERVER_MIN = "2.0.0b0"  # toolkit2.md §3.1 (rknn_server_proxy.md §2.2)

MODEL_FACT_FIELDS = ("path", "size", "line", "format", "toolkit_version", "toolkit_version_raw", "target_platforms",
                     "pre_compiled", "encrypted", "custom_ops", "npu_family")


def model_fact(info) -> dict:
    """The header fields the rules and the planner use, as plain data for facts["models"]."""
    return {name: getattr(info, name, None) for name in MODEL_FACT_FIELDS}


def custom_ops_minimum(toolkit_version: str | None) -> str:
    built = try_parse(toolkit_version) if toolkit_version else None
    return CUSTOM_OPS_MIN["toolkit>=1.3.0"] if built is not None and public(str(built)) >= public("1.3.0") else CUSTOM_OPS_MIN["older"]


def encrypted_minimum(chip_name: str | None, matrix) -> str:
    """The runtime minimum for encrypted models: PUMA chips (RV1109/RV1126 per the matrix) differ."""
    return ENCRYPTED_MIN["PUMA"] if v1_npu_family(matrix, chip_name) == "PUMA" else ENCRYPTED_MIN["other"]


def model_needs(model: dict, device: dict | None, line: str | None, matrix) -> list[Need]:
    """The runtime releases `model` needs on a board of toolkit line `line` (none for a model of
    the other line: that board needs a re-exported model, not a runtime)."""
    model_line = model.get("line")
    if not line or model_line != line:
        return []
    name = model.get("path") or "the model"
    needs: list[Need] = []
    if model.get("encrypted"):
        if line == LINE_V1:
            minimum = encrypted_minimum((device or {}).get("chip"), matrix)
            needs.append(Need(minimum, f"{name} is encrypted: librknn_runtime >= {minimum} (NPU@b010399; NPU@ae933da for RV1109/RV1126)"))
        return needs
    if matrix is not None:
        for row in matrix.model_formats(line):
            if row.get("format") == model.get("format") and row.get("min_runtime"):
                needs.append(Need(row["min_runtime"], f"{name} has file format {model.get('format')}: runtime >= {row['min_runtime']} ({short_source(row)})"))
    built = model.get("toolkit_version")
    if built and try_parse(built) is not None:
        needs.append(Need(public(built).base_version, f"{name} was built by toolkit {model.get('toolkit_version_raw') or built}: the runtime should not be older"))
    if line == LINE_V1 and model.get("custom_ops"):
        minimum = custom_ops_minimum(built)
        needs.append(Need(minimum, f"{name} has custom operators: librknn_runtime >= {minimum} (NPU@fae5532; NPU@be3a0a8)"))
    if line == LINE_V2 and (model.get("size") or 0) > LARGE_MODEL_BYTES:
        needs.append(Need(LARGE_MODEL_SERVER_MIN, f"{name} is over 2 GB: rknn_server >= {LARGE_MODEL_SERVER_MIN} (rknn_server_proxy.md §2.2)"))
    return needs
