"""What the model checks share: the toolkit-v1 NPU families, the default targets, the sources,
small version helpers, the re-export fix and the per-check context (`_Ctx`) that carries the
board's one install plan (fixplan.py). Pure."""
from __future__ import annotations

from rknn_envcheck.fixplan import BoardPlan, plan_for
from rknn_envcheck.model.header import LINE_V1, ModelInfo
from rknn_envcheck.report import Check, Fix
from rknn_envcheck.rules.chips import v1_family_names, v1_npu_family
from rknn_envcheck.rules.model_needs import model_fact
from rknn_envcheck.shellcmd import PYTHON, Command

V1_DEFAULT_TARGET = "rk1808"  # toolkit1.md §5.3: default when target_platform is unset
V2_DEFAULT_TARGET = "rk3566"  # toolkit2.md §3.2: "if not set, the default is rk3566" (UG-1.5.0)

SRC_FAMILY = "UG-1.7.5 §7.2; seed §1.7.1 item 3"
SRC_V2_TARGET = "WHL-2.5.0 (strings of librknnrt.so and librknnc.so) `This rknn model is for %s, but current platform is %s`"
SRC_LINE = "TS-1.7.5 §4.15; WHL-2.5.0 (strings of librknnrt.so and librknnc.so) `Invalid RKNN format` / `invalid RKNN_MAGIC`"
SRC_PRECOMPILE = "seed §1.6.2; CHANGELOG 1.0.0; NPU@355a44a"
SRC_PRECOMPILE_DRIFT = "TS-1.7.5 §4.12, §8.7"
SRC_MINI = "NPU drivers/README; API-UG-1.7.5 §5.1.2"
SRC_NBG = "UG-1.7.5 §7.2 NBG pid 0x82 LION, 0xB5 PUMA"
SRC_TK_RUNTIME_V2 = "QS-1.6.0 §3.4.2 (`RKNN Model version: %d.%d.%d not match with rknn runtime version: %d.%d.%d`)"
SRC_TK_RUNTIME_V1 = "TS-1.7.5 Table 8-1 and §2: same toolkit and RKNPU versions"
SRC_CUSTOM_OPS = "NPU@be3a0a8 runtime 1.2.0; NPU@fae5532 runtime 1.3.1"
SRC_ENCRYPTED = "NPU@b010399 1.6.0; NPU@ae933da RV1109/RV1126 1.5.2"


# ---------------------------------------------------------------- helpers


def _release(text) -> tuple | None:
    """First three numbers of a vendor version string (`1.5.2+b642f30c`, `librknn_runtime version 1.7.5 (...)`)."""
    # Only the release numbers matter for these rules (pre-release and local parts are ignored),
    # so the one parser's release-only reader does it without importing `packaging`.
    from rknn_envcheck.versions import release_numbers

    return release_numbers(text)


def _fmt(release: tuple | None) -> str:
    return ".".join(str(x) for x in release) if release else "?"


def _device_how(device: dict, field: str) -> str:
    how = (device.get("how") or {}).get(field) or ""
    raw = (device.get("raw") or {}).get(field) or ""
    parts = [p for p in (how and f"read with `{how}`", raw and f"raw: {raw!r}") if p]
    return "; ".join(parts)


def _v1_family(target: str, matrix) -> str | None:
    """LION/PUMA for a toolkit-v1 chip or target_platform name, from its matrix [[chip]] row."""
    return v1_npu_family(matrix, target)


def _chip_row(device: dict | None, matrix) -> dict | None:
    if not device or matrix is None:
        return None
    return matrix.chip(device.get("chip"))


def _chip_line(row: dict | None) -> str | None:
    return row.get("line") if row else None


def _runtime_field(device: dict) -> tuple[str | None, str]:
    return device.get("librknn_runtime"), "librknn_runtime"


def _re_export_fix(info: ModelInfo, chip: str, line: str, matrix=None) -> Fix:
    chip_l = chip.lower()
    if line == LINE_V1:
        # seed §1.7.1 item 3 spells the PUMA list; the LION default ['rk1808'] covers RK1806/RK1808/RK3399Pro.
        family = v1_npu_family(matrix, chip)
        if family == "PUMA":
            targets = v1_family_names(matrix, "PUMA")
        elif family == "LION":
            targets = ["rk1808"]
        else:
            targets = [chip_l]
        snippet = f"rknn.config(target_platform={targets!r})"
        tool = "rknn-toolkit (v1)"
    else:
        snippet = f"rknn.config(target_platform={chip_l!r})"  # repr: a chip name from outside stays one string
        tool = "rknn-toolkit2"
    return Fix(
        text=f"re-convert the source model with {tool}, setting the board's chip before rknn.build(), then export it again: {snippet}",
        commands=[Command([snippet], shell=PYTHON)],
    )


class _Ctx:
    def __init__(self, info: ModelInfo, device: dict | None, matrix, plan: BoardPlan | None = None):
        self.info = info
        self.device = device
        self.matrix = matrix
        # The board's one install plan for the whole report (fixplan): every row that proposes an
        # install shows it, so two rows never name two releases.
        self.plan = plan if plan is not None or device is None else plan_for({"models": [model_fact(info)]}, device, None, matrix)
        self.subject = f"model:{info.path}"
        self.row = _chip_row(device, matrix)
        self.chip = (device or {}).get("chip")
        self.chip_line = _chip_line(self.row)
        self.board = f"board {device.get('serial') or '?'} ({self.chip or 'chip unknown'})" if device else None

    def install_fix(self, full_driver: bool = False) -> Fix:
        return self.plan.install_fix(full_driver=full_driver)

    def check(self, id_: str, title: str, status: str, **kw) -> Check:
        kw.setdefault("component", "model")
        return Check(id=f"model.{id_}", title=title, status=status, subject=self.subject, **kw)

    def model_how(self, *fields: str) -> str:
        parts = [f"{f}: {self.info.evidence[f]}" for f in fields if f in self.info.evidence]
        return f"the header of {self.info.path}" + (f" ({'; '.join(parts)})" if parts else "")
