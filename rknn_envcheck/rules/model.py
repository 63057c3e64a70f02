"""Will this `.rknn` model load on that board? Pure judgement of a ModelInfo against device facts.

The seed's RKNN_ERR_MODEL_INVALID causes (seed §1.7.1: pre-compiled model vs driver, old board
firmware, target_platform family) and toolkit2's `Invalid RKNN model version 6` all surface only
at rknn_init on the board; every check here says it before the copy. Without a board the same
checks list what the board must have (minimum versions) as `ok`/`unknown` rows.
"""
from __future__ import annotations

import re

from rknn_envcheck.model.header import LINE_UNKNOWN, LINE_V1, LINE_V2, ModelInfo
from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN, Check, Fix

# Toolkit-v1 NPU families (toolkit1.md §5.3: UG-1.7.5 §7.2, TS-1.7.5 §4.2, lite
# list_support_target_platform()). Used when the matrix has no chip row for a target name.
V1_FAMILIES = {
    "LION": ("rk1806", "rk1808", "rk3399pro"),
    "PUMA": ("rv1109", "rk1109", "rv1126", "rk1126"),
}
V1_DEFAULT_TARGET = "rk1808"  # toolkit1.md §5.3: default when target_platform is unset
V2_DEFAULT_TARGET = "rk3566"  # toolkit2.md §3.2: "if not set, the default is rk3566" (UG-1.5.0)
# Models are shared by these chips (toolkit2.md §4.5: resnet18_for_rk3566_rk3568.rknn).
V2_SHARED = ({"rk3566", "rk3568"},)

SRC_FAMILY = "toolkit1.md §5.3 (UG-1.7.5 §7.2; seed §1.7.1 item 3)"
SRC_V2_TARGET = "toolkit2.md §4.3/§4.5 (`This rknn model is for %s, but current platform is %s`)"
SRC_LINE = "toolkit1.md §5.3 (TS-1.7.5 §4.15); toolkit2.md §4.3 (`Invalid RKNN format` / `invalid RKNN_MAGIC`)"
SRC_PRECOMPILE = "seed §1.6.2; toolkit1.md §5.2 (CHANGELOG 1.0.0, [NPU@355a44a])"
SRC_PRECOMPILE_DRIFT = "toolkit1.md §5.2 (TS-1.7.5 §4.12, §8.7)"
SRC_MINI = "toolkit1.md §5.1 ([NPU] drivers/README; API-UG-1.7.5 §5.1.2)"
SRC_NBG = "toolkit1.md §5.3/§5.4 (NBG pid 0x82 LION, 0xB5 PUMA)"
SRC_TK_RUNTIME_V2 = "toolkit2.md §3.2/§4.3 (QS-1.6.0 §3.4.2; `RKNN Model version: %d.%d.%d not match with rknn runtime version: %d.%d.%d`)"
SRC_TK_RUNTIME_V1 = "toolkit1.md §3.1 (TS-1.7.5 Table 8-1 and §2: same toolkit and RKNPU versions)"
SRC_CUSTOM_OPS = "toolkit1.md §3.2 ([NPU@be3a0a8] runtime 1.2.0, [NPU@fae5532] runtime 1.3.1)"
SRC_ENCRYPTED = "toolkit1.md §3.2 ([NPU@b010399] 1.6.0, [NPU@ae933da] RV1109/RV1126 1.5.2)"

_RELEASE = re.compile(r"(?<![\d.])[vV]?(\d+\.\d+(?:\.\d+)?)")


# ---------------------------------------------------------------- helpers


def _release(text) -> tuple | None:
    """First three numbers of a vendor version string (`1.5.2+b642f30c`, `librknn_runtime version 1.7.5 (...)`)."""
    # Only the release numbers matter for these rules (pre-release and local parts are ignored),
    # so a regex does it without importing `packaging` (see model/header.py _COMMON_VERSION).
    if not text:
        return None
    match = _RELEASE.search(str(text))
    if not match:
        return None
    release = tuple(int(x) for x in match.group(1).split(".")) + (0, 0)
    return release[:3]


def _fmt(release: tuple | None) -> str:
    return ".".join(str(x) for x in release) if release else "?"


def _device_how(device: dict, field: str) -> str:
    how = (device.get("how") or {}).get(field) or ""
    raw = (device.get("raw") or {}).get(field) or ""
    parts = [p for p in (how and f"read with `{how}`", raw and f"raw: {raw!r}") if p]
    return "; ".join(parts)


def _serial_flag(device: dict | None) -> str:
    serial = (device or {}).get("serial")
    return f"-s {serial} " if serial and (device or {}).get("transport") in (None, "adb") else ""


def _v1_family(target: str, matrix) -> str | None:
    row = matrix.chip(target) if matrix is not None else None
    if row and row.get("line") == LINE_V1 and row.get("npu") in V1_FAMILIES:
        return row["npu"]
    for family, names in V1_FAMILIES.items():
        if target.lower() in names:
            return family
    return None


def _chip_row(device: dict | None, matrix) -> dict | None:
    if not device or matrix is None:
        return None
    return matrix.chip(device.get("chip"))


def _chip_line(chip_name: str | None, row: dict | None) -> str | None:
    if row:
        return row.get("line")
    if chip_name and any(chip_name.lower() in names for names in V1_FAMILIES.values()):
        return LINE_V1
    return None


def _runtime_field(device: dict) -> tuple[str | None, str]:
    return device.get("librknn_runtime"), "librknn_runtime"


def _re_export_fix(info: ModelInfo, chip: str, line: str) -> Fix:
    chip_l = chip.lower()
    if line == LINE_V1:
        # seed §1.7.1 item 3 spells the PUMA list; the LION default ['rk1808'] covers RK1806/RK1808/RK3399Pro.
        if chip_l in V1_FAMILIES["PUMA"]:
            targets = ["rv1109", "rv1126"]
        elif chip_l in V1_FAMILIES["LION"]:
            targets = ["rk1808"]
        else:
            targets = [chip_l]
        snippet = f"rknn.config(target_platform={targets!r})"
        tool = "rknn-toolkit (v1)"
    else:
        snippet = f"rknn.config(target_platform='{chip_l}')"
        tool = "rknn-toolkit2"
    return Fix(
        text=f"re-convert the source model with {tool}, setting the board's chip before rknn.build(), then export it again: {snippet}",
        commands=[snippet],
    )


def _runtime_update_fix(device: dict | None, row: dict | None, want: str | None) -> Fix:
    """Exact adb commands to put a newer runtime on the board, from the chip row's paths."""
    chip = (device or {}).get("chip") or (row or {}).get("name") or "the board"
    goal = f" (at least {want})" if want else ""
    adb = f"adb {_serial_flag(device)}"
    if row is None:
        return Fix(text=f"update the NPU runtime on {chip}{goal} to the version matching your toolkit; the chip is not in the matrix, so no exact path is known")
    line = row.get("line")
    os_name = (device or {}).get("os") or "linux"
    arch = ((device or {}).get("arch") or "").lower()
    if line == LINE_V1:
        name = row.get("name", "").lower()
        if name == "rk3399pro":
            return Fix(
                text=f"update the RK3399Pro NPU firmware{goal} from https://github.com/airockchip/RK3399Pro_npu (its runtime is not in rknpu)",
                commands=["git clone --depth 1 https://github.com/airockchip/RK3399Pro_npu"],
            )
        folder = {"rk1808": "linux-aarch64", "rk1806": "linux-armhf"}.get(name, "linux-armhf-puma")
        module = {"rk1808": "galcore.ko", "rk1806": "galcore_rk1806.ko"}.get(name, "galcore_puma.ko")
        if (device or {}).get("mini_driver"):
            folder += "-mini"
        return Fix(
            text=f"update the NPU driver and runtime on {chip}{goal} from rockchip-linux/rknpu (toolkit1.md §5.1), then check the md5 of the pushed files and reboot",
            commands=[
                "git clone --depth 1 https://github.com/rockchip-linux/rknpu",
                f"{adb}push rknpu/drivers/{folder}/* /",
                f"{adb}push rknpu/drivers/npu_ko/{module} /lib/modules/galcore.ko",
                f"{adb}reboot",
            ],
        )
    library = row.get("runtime_library", "librknnrt.so")
    paths = (row.get("runtime_paths") or {}).get(os_name) or []
    if not paths:
        return Fix(text=f"update {library} on {chip}{goal}; the matrix has no {os_name} path for this chip")
    wide = not (arch.startswith("arm") and "64" not in arch)
    dest = next((p for p in paths if ("/lib64/" in p) == wide), paths[0]) if os_name == "android" else paths[0]
    if not dest.endswith(library):
        dest = dest.rstrip("/") + "/" + library
    if os_name == "android":
        sdk_arch = "armeabi-v7a" if arch.startswith("arm") and "64" not in arch else "arm64-v8a"
        src = f"rknn-toolkit2/rknpu2/runtime/Android/librknn_api/{sdk_arch}/{library}"
        server = f"rknn-toolkit2/rknpu2/runtime/Android/rknn_server/{'arm' if sdk_arch == 'armeabi-v7a' else 'arm64'}/rknn_server"
    else:
        if library == "librknnmrt.so":
            sdk_arch = "armhf-uclibc"
        else:
            sdk_arch = "armhf" if arch.startswith("arm") and "64" not in arch else "aarch64"
        src = f"rknn-toolkit2/rknpu2/runtime/Linux/librknn_api/{sdk_arch}/{library}"
        server = f"rknn-toolkit2/rknpu2/runtime/Linux/rknn_server/{sdk_arch}/usr/bin/rknn_server"
    server_paths = (row.get("server_paths") or {}).get(os_name) or []
    commands = ["git clone --depth 1 https://github.com/airockchip/rknn-toolkit2"]
    if os_name == "android":
        commands += [f"{adb}root", f"{adb}remount"]  # /vendor is read-only until remounted
    commands.append(f"{adb}push {src} {dest}")
    if server_paths:
        commands.append(f"{adb}push {server} {server_paths[0]}")
    return Fix(
        text=f"update {library}{' and rknn_server' if server_paths else ''} on {chip}{goal} from airockchip/rknn-toolkit2 (toolkit2.md §1.3), then restart rknn_server (or reboot)",
        commands=commands,
    )


class _Ctx:
    def __init__(self, info: ModelInfo, device: dict | None, matrix):
        self.info = info
        self.device = device
        self.matrix = matrix
        self.subject = f"model:{info.path}"
        self.row = _chip_row(device, matrix)
        self.chip = (device or {}).get("chip")
        self.chip_line = _chip_line(self.chip, self.row)
        self.board = f"board {device.get('serial') or '?'} ({self.chip or 'chip unknown'})" if device else None

    def check(self, id_: str, title: str, status: str, **kw) -> Check:
        kw.setdefault("component", "model")
        return Check(id=f"model.{id_}", title=title, status=status, subject=self.subject, **kw)

    def model_how(self, *fields: str) -> str:
        parts = [f"{f}: {self.info.evidence[f]}" for f in fields if f in self.info.evidence]
        return f"the header of {self.info.path}" + (f" ({'; '.join(parts)})" if parts else "")


# ---------------------------------------------------------------- checks


def _check_header(c: _Ctx) -> Check:
    info = c.info
    if info.encrypted:
        return c.check(
            "header", "RKNN model header", UNKNOWN, observed="encrypted (CYPTRKNN)", how=c.model_how("encrypted"),
            expected="a readable RKNN header", source="toolkit1.md §5.4; toolkit2.md §4.6",
            message=f"{info.path} is an encrypted RKNN model: its layout is not documented, so toolkit version, target platform and format cannot be read; check them on the unencrypted model",
            fix=Fix(text="run the preflight on the unencrypted .rknn exported before rknn.export_encrypted_rknn_model()"),
        )
    status = OK if info.line != LINE_UNKNOWN else UNKNOWN
    message = info.summary()
    if status == UNKNOWN:
        message += f"; cannot tell whether rknn-toolkit or rknn-toolkit2 built it ({info.evidence.get('line', '')})"
    return c.check(
        "header", "RKNN model header", status, observed=info.summary(), how=c.model_how("format", "header_size", "line", "toolkit_version", "target_platforms", "pre_compiled"),
        expected="RKNN container: magic, format, data size, JSON metadata", source="toolkit1.md §5.4; toolkit2.md §4.6", message=message,
    )


def _check_line(c: _Ctx) -> Check:
    info = c.info
    title = "Model toolkit line vs board NPU"
    if info.line == LINE_UNKNOWN:
        return c.check("line", title, UNKNOWN, observed="unknown", how=c.model_how("line"), source=SRC_LINE,
                       message="the model's toolkit line (rknn-toolkit vs rknn-toolkit2) could not be determined from its header")
    if c.device is None:
        chips = "RK1806/RK1808/RK3399Pro/RV1109/RV1126" if info.line == LINE_V1 else "RK3562/RK3566/RK3568/RK3576/RK3588/RV1103/RV1106/…"
        return c.check("line", title, OK, observed=info.line, how=c.model_how("line"), expected=f"a board with an NPU of the {info.line} line ({chips})",
                       source=SRC_LINE, message=f"this model was built by {info.line}: it runs only on {chips} boards")
    if not c.chip:
        return c.check("line", title, UNKNOWN, observed=info.line, how=c.model_how("line"), expected=f"a {info.line} chip", source=SRC_LINE,
                       message=f"{c.board}: the board's chip is not known, so it cannot be checked against a {info.line} model")
    if not c.chip_line:
        return c.check("line", title, UNKNOWN, observed=f"model {info.line}, chip {c.chip}", how=c.model_how("line"), source=SRC_LINE,
                       message=f"chip {c.chip} is not in the matrix; cannot tell which toolkit line it needs")
    if c.chip_line == info.line:
        return c.check("line", title, OK, observed=f"model {info.line}, chip {c.chip} ({c.chip_line})", how=c.model_how("line"),
                       expected=f"{c.chip_line} model", source=SRC_LINE, message=f"{info.line} model on a {c.chip_line} chip")
    need = c.chip_line
    error = ("`Invalid RKNN format` / `parseRKNN: invalid RKNN_MAGIC!`" if need == LINE_V2
             else "RKNN_ERR_MODEL_INVALID")
    return c.check(
        "line", title, FAIL, observed=f"model built by {info.line}; {c.board} needs {need} models", how=c.model_how("line"),
        expected=f"a model built by {need}", source=SRC_LINE,
        message=f"{c.board}: this model was built by {info.line}, but {c.chip} runs only {need} models; rknn_init will fail with {error}",
        fix=_re_export_fix(info, c.chip, need),
    )


def _check_target(c: _Ctx) -> Check:
    info = c.info
    title = "Model target_platform vs board chip"
    if info.line == LINE_UNKNOWN:
        return c.check("target_platform", title, UNKNOWN, observed=info.target_platforms, how=c.model_how("target_platforms"),
                       message="toolkit line unknown: cannot tell which chips the target_platform allows")
    if info.line == LINE_V1:
        targets = info.target_platforms or [V1_DEFAULT_TARGET]
        defaulted = not info.target_platforms
        families = {_v1_family(t, c.matrix) for t in targets}
        if None in families:
            unknown_names = [t for t in targets if _v1_family(t, c.matrix) is None]
            return c.check("target_platform", title, UNKNOWN, observed=targets, how=c.model_how("target_platforms"), source=SRC_FAMILY,
                           message=f"target_platform {unknown_names} is not a known rknn-toolkit (v1) target")
        allowed = sorted({n for fam in families for n in V1_FAMILIES[fam]})
        src = SRC_FAMILY
    else:
        targets = info.target_platforms or [V2_DEFAULT_TARGET]
        defaulted = not info.target_platforms
        allowed = set()
        for t in targets:
            row = c.matrix.chip(t) if c.matrix is not None else None
            names = {t}
            if row:
                names |= {row["name"].lower(), *[a.lower() for a in row.get("aliases", [])]}
            for group in V2_SHARED:
                if names & group:
                    names |= group
            allowed |= names
        allowed = sorted(allowed)
        src = SRC_V2_TARGET
    observed = f"target_platform {targets}" + (" (not set in the model: toolkit default)" if defaulted else "")
    if c.device is None:
        return c.check("target_platform", title, OK, observed=observed, how=c.model_how("target_platforms"), expected=f"board chip one of {allowed}",
                       source=src, message=f"the model runs only on {', '.join(a.upper() for a in allowed)}")
    if not c.chip:
        return c.check("target_platform", title, UNKNOWN, observed=observed, how=c.model_how("target_platforms"), expected=f"board chip one of {allowed}",
                       source=src, message=f"{c.board}: the board's chip is not known, so the target_platform cannot be checked")
    if c.chip_line and c.chip_line != info.line:
        return c.check("target_platform", title, SKIPPED, observed=observed, how=c.model_how("target_platforms"),
                       message="the model's toolkit line does not match the chip at all (see model.line)")
    chip_names = {c.chip.lower()}
    if c.row:
        chip_names |= {c.row["name"].lower(), *[a.lower() for a in c.row.get("aliases", [])]}
    chip_how = _device_how(c.device, "chip")
    how = c.model_how("target_platforms") + (f"; board chip {chip_how}" if chip_how else "")
    if chip_names & set(allowed):
        return c.check("target_platform", title, OK, observed=f"{observed}; board chip {c.chip}", how=how, expected=f"one of {allowed}",
                       source=src, message=f"{c.board}: {c.chip} is allowed by the model's target_platform")
    if info.line == LINE_V1:
        error = "RKNN_ERR_MODEL_INVALID / RKNN_ERR_TARGET_PLATFORM_UNMATCH (`rknn model target platform[0] is …, while current platform is …`)"
    else:
        error = f"`This rknn model is for {targets[0].upper()}, but current platform is {c.chip.upper()}`"
    return c.check(
        "target_platform", title, FAIL, observed=f"{observed}; board chip {c.chip}", how=how, expected=f"board chip one of {allowed}", source=src,
        message=f"{c.board}: the model was built for {', '.join(t.upper() for t in targets)}, which does not include {c.chip}; rknn_init fails with {error}",
        fix=_re_export_fix(info, c.chip, info.line),
    )


def _check_nbg_npu(c: _Ctx) -> Check | None:
    info = c.info
    if info.line != LINE_V1 or not info.pre_compiled or info.npu_pid is None:
        return None
    title = "Pre-compiled NBG NPU vs board NPU"
    observed = f"NBG pid 0x{info.npu_pid:X} ({info.npu_family or 'unknown NPU'})"
    if info.npu_family is None:
        return c.check("nbg_npu", title, UNKNOWN, observed=observed, how=c.model_how("npu_pid"), source=SRC_NBG,
                       message=f"the pre-compiled blob names NPU pid 0x{info.npu_pid:X}, which is neither LION (0x82) nor PUMA (0xB5)")
    chips = [n.upper() for n in V1_FAMILIES[info.npu_family]]
    if c.device is None:
        return c.check("nbg_npu", title, OK, observed=observed, how=c.model_how("npu_pid"), expected=f"a {info.npu_family} board", source=SRC_NBG,
                       message=f"the pre-compiled blob runs only on {info.npu_family} NPUs ({', '.join(chips)})")
    family = _v1_family(c.chip, c.matrix) if c.chip else None
    if family is None:
        return c.check("nbg_npu", title, UNKNOWN, observed=observed, how=c.model_how("npu_pid"), expected=f"a {info.npu_family} board", source=SRC_NBG,
                       message=f"{c.board}: the board's NPU family is not known")
    if family == info.npu_family:
        return c.check("nbg_npu", title, OK, observed=f"{observed}; board {c.chip} ({family})", how=c.model_how("npu_pid"), expected=info.npu_family,
                       source=SRC_NBG, message=f"{c.board}: the pre-compiled blob is for this NPU ({family})")
    return c.check(
        "nbg_npu", title, FAIL, observed=f"{observed}; board {c.chip} ({family})", how=c.model_how("npu_pid"), expected=f"a {family} blob", source=SRC_NBG,
        message=f"{c.board}: the pre-compiled blob was compiled for a {info.npu_family} NPU, the board has {family}; rknn_init fails with RKNN_ERR_MODEL_INVALID",
        fix=_re_export_fix(info, c.chip, LINE_V1),
    )


def _board_drv(device: dict) -> tuple[tuple | None, str, str]:
    """The 'NPU driver version' of seed §1.6.2 = get_sdk_version's DRV = rknn_server (toolkit1.md §3.1);
    mini drivers >= 1.6.0 ship no rknn_server, so fall back to librknn_runtime."""
    for field in ("rknn_server", "librknn_runtime"):
        rel = _release(device.get(field))
        if rel:
            return rel, field, _device_how(device, field)
    return None, "", ""


def _check_pre_compiled(c: _Ctx) -> Check | None:
    info = c.info
    if info.line != LINE_V1:
        return None
    title = "Pre-compiled model vs NPU driver"
    if info.pre_compiled is None:
        return c.check("pre_compiled", title, UNKNOWN, observed="no node list and no VPMN data", how=c.model_how("pre_compiled"), source=SRC_PRECOMPILE,
                       message="cannot tell whether the model is pre-compiled (no JSON 'nodes' and no NBG data section)")
    if not info.pre_compiled:
        return c.check("pre_compiled", title, SKIPPED, observed="not pre-compiled", how=c.model_how("pre_compiled"),
                       message="the model is not pre-compiled; the driver-version rule for pre-compiled models does not apply")
    tk = _release(info.toolkit_version)
    tk_text = info.toolkit_version_raw or "?"
    observed = f"pre-compiled by toolkit {tk_text}"
    rebuild = Fix(
        text="rebuild the model with the toolkit matching the board (Table 8-1), or rebuild it without pre_compile, or export a pre-compiled model on the board itself",
        commands=["rknn.build(do_quantization=True, dataset='./dataset.txt', pre_compile=False)",
                  "rknn.init_runtime(target='rk1808', rknn2precompile=True); rknn.export_rknn_precompile_model('model_precompile.rknn')"],
    )
    if tk is None:
        return c.check("pre_compiled", title, UNKNOWN, observed=observed, how=c.model_how("pre_compiled", "toolkit_version"), source=SRC_PRECOMPILE,
                       message="the model is pre-compiled but the toolkit version that built it is not readable")
    new_format = tk >= (1, 0, 0)
    need = "NPU driver (rknn_server) >= 0.9.6" if new_format else "an NPU driver older than 0.9.6 (pre-1.0.0 pre-compiled format)"
    if c.device is None:
        status = OK if new_format else WARN
        msg = (f"pre-compiled by toolkit {tk_text}: the board needs {need}, ideally the same RKNPU version {_fmt(tk)} (pre-compiled models may break across driver versions)"
               if new_format else f"pre-compiled by toolkit {tk_text} (< 1.0.0): no current NPU driver loads it; rebuild it with toolkit >= 1.0.0")
        return c.check("pre_compiled", title, status, observed=observed, how=c.model_how("pre_compiled", "toolkit_version"), expected=need,
                       source=SRC_PRECOMPILE, message=msg, fix=None if new_format else rebuild)
    drv, field, drv_how = _board_drv(c.device)
    how = c.model_how("pre_compiled", "toolkit_version") + (f"; board {field} {drv_how}" if drv_how else "")
    if drv is None:
        return c.check("pre_compiled", title, UNKNOWN, observed=observed, how=how, expected=need, source=SRC_PRECOMPILE,
                       message=f"{c.board}: neither rknn_server nor librknn_runtime version is known; pre-compiled models need {need}")
    observed += f"; board {field} {_fmt(drv)}"
    if new_format and drv < (0, 9, 6):
        return c.check("pre_compiled", title, FAIL, observed=observed, how=how, expected=need, source=SRC_PRECOMPILE,
                       message=f"{c.board}: models pre-compiled by toolkit >= 1.0.0 do not run on NPU driver < 0.9.6 (board {field} {_fmt(drv)}); rknn_init fails with RKNN_ERR_MODEL_INVALID",
                       fix=_runtime_update_fix(c.device, c.row, _fmt(tk)))
    if not new_format and drv >= (0, 9, 6):
        return c.check("pre_compiled", title, FAIL, observed=observed, how=how, expected=need, source=SRC_PRECOMPILE,
                       message=f"{c.board}: models pre-compiled by toolkit {tk_text} (<= 0.9.9) do not run on NPU driver >= 0.9.6 (board {field} {_fmt(drv)}); rknn_init fails with RKNN_ERR_MODEL_INVALID",
                       fix=rebuild)
    if drv[:2] != tk[:2]:
        return c.check("pre_compiled", title, WARN, observed=observed, how=how, expected=f"board RKNPU {tk[0]}.{tk[1]}.x like the toolkit", source=SRC_PRECOMPILE_DRIFT,
                       message=f"{c.board}: the model was pre-compiled by toolkit {tk_text} but the board runs {field} {_fmt(drv)}; pre-compiled models can be incompatible across driver versions (RKNN_ERR_INCOMPATILE_PRE_COMPILE_MODEL -11)",
                       fix=_runtime_update_fix(c.device, c.row, _fmt(tk)) if drv < tk else rebuild)
    return c.check("pre_compiled", title, OK, observed=observed, how=how, expected=need, source=SRC_PRECOMPILE,
                   message=f"{c.board}: pre-compiled model from toolkit {tk_text} fits {field} {_fmt(drv)}")


def _check_mini(c: _Ctx) -> Check | None:
    info = c.info
    if info.line != LINE_V1:
        return None
    title = "Model vs mini driver"
    if c.device is None:
        if info.pre_compiled is False:
            return c.check("mini_driver", title, OK, observed="not pre-compiled", how=c.model_how("pre_compiled"), expected="a full NPU driver (not mini)",
                           source=SRC_MINI, message="the model is not pre-compiled: the board needs the full NPU driver; a mini driver rejects it (RKNN_ERR_NON_PRE_COMPILED_MODEL_ON_MINI_DRIVER)")
        if info.pre_compiled:
            return c.check("mini_driver", title, OK, observed="pre-compiled", how=c.model_how("pre_compiled"), expected="full or mini NPU driver",
                           source=SRC_MINI, message="the model is pre-compiled: full and mini NPU drivers can load it")
        return c.check("mini_driver", title, UNKNOWN, observed="pre-compile unknown", source=SRC_MINI, message="cannot tell whether a mini driver could load it")
    mini = c.device.get("mini_driver")
    how = c.model_how("pre_compiled") + (f"; board: {_device_how(c.device, 'mini_driver')}" if _device_how(c.device, "mini_driver") else "")
    if mini is None:
        status = UNKNOWN if info.pre_compiled is not True else OK
        return c.check("mini_driver", title, status, observed=f"pre_compiled={info.pre_compiled}; mini driver unknown", how=how, source=SRC_MINI,
                       message=(f"{c.board}: whether the board has the mini driver is not known; a non-pre-compiled model needs the full driver"
                                if status == UNKNOWN else f"{c.board}: pre-compiled model, loadable by full and mini drivers"))
    if not mini:
        return c.check("mini_driver", title, OK, observed="full driver", how=how, expected="full driver or pre-compiled model", source=SRC_MINI,
                       message=f"{c.board}: full NPU driver, loads pre-compiled and normal models")
    if info.pre_compiled:
        return c.check("mini_driver", title, OK, observed="mini driver, pre-compiled model", how=how, source=SRC_MINI,
                       message=f"{c.board}: mini driver with a pre-compiled model — supported")
    if info.pre_compiled is None:
        return c.check("mini_driver", title, UNKNOWN, observed="mini driver; pre-compile unknown", how=how, source=SRC_MINI,
                       message=f"{c.board}: the board has the mini driver, which loads only pre-compiled models, and the model's pre-compile state is unknown")
    fix = Fix(
        text="export a pre-compiled model (the mini driver loads only those), or install the full driver",
        commands=["rknn.build(do_quantization=True, dataset='./dataset.txt', pre_compile=True)",
                  *_runtime_update_fix({**c.device, "mini_driver": False}, c.row, None).commands],
    )
    return c.check("mini_driver", title, FAIL, observed="mini driver, model not pre-compiled", how=how, expected="a pre-compiled model", source=SRC_MINI,
                   message=f"{c.board}: the mini driver loads only pre-compiled models; this one is not (`This RKNN model is not a pre-compiled model, but the npu driver is mini driver.`, RKNN_ERR_NON_PRE_COMPILED_MODEL_ON_MINI_DRIVER -14 / RKNN_ERR_MODEL_INVALID)",
                   fix=fix)


def _format_row(info: ModelInfo, matrix) -> tuple[dict | None, bool]:
    if matrix is None:
        return None, False
    rows = matrix.model_formats(info.line)
    for row in rows:
        if row.get("format") == info.format:
            return row, True
    return None, bool(rows)


def _check_format(c: _Ctx) -> Check | None:
    info = c.info
    if info.line == LINE_UNKNOWN:
        return None
    title = "Model file format vs board runtime"
    observed = f"file format {info.format}"
    row, have_rows = _format_row(info, c.matrix)
    if row is None:
        why = f"format {info.format} is not in the matrix's model_format rows for {info.line}" if have_rows else f"the matrix has no model_format rows for {info.line}"
        return c.check("format", title, UNKNOWN, observed=observed, how=c.model_how("format"), source="matrices (model_format)", message=why)
    src = row.get("source", "")
    min_rt = row.get("min_runtime") or ""
    if not min_rt:
        return c.check("format", title, UNKNOWN, observed=observed, how=c.model_how("format"), source=src,
                       message=f"the minimum runtime for {info.line} model format {info.format} is not known (matrix row {row.get('_file', '')}:{row.get('_row', '')})")
    need = _release(min_rt)
    component = (c.row or {}).get("runtime_library", "librknnrt.so" if info.line == LINE_V2 else "librknn_runtime.so")
    if c.device is None:
        return c.check("format", title, OK, observed=observed, how=c.model_how("format"), expected=f"runtime >= {min_rt}", source=src,
                       message=f"model format {info.format} needs the board's runtime >= {min_rt}")
    runtime_raw, field = _runtime_field(c.device)
    runtime = _release(runtime_raw)
    how = c.model_how("format") + (f"; board {field} {_device_how(c.device, field)}" if _device_how(c.device, field) else "")
    if runtime is None:
        return c.check("format", title, UNKNOWN, observed=observed, how=how, expected=f"{component} >= {min_rt}", source=src,
                       message=f"{c.board}: the runtime version is not known; model format {info.format} needs {component} >= {min_rt}")
    observed += f"; board {component} {_fmt(runtime)}"
    if runtime >= need:
        return c.check("format", title, OK, observed=observed, how=how, expected=f">= {min_rt}", source=src,
                       message=f"{c.board}: {component} {_fmt(runtime)} loads model format {info.format}")
    err = f"`Invalid RKNN model version {info.format}` / `RKNN model version is {info.format}, but current librknnrt.so is support model version <= …`" if info.line == LINE_V2 else "RKNN_ERR_MODEL_INVALID"
    return c.check("format", title, FAIL, observed=observed, how=how, expected=f"{component} >= {min_rt}", source=src,
                   message=f"{c.board}: {component} {_fmt(runtime)} cannot load model format {info.format} (needs >= {min_rt}); rknn_init fails with {err}",
                   fix=_runtime_update_fix(c.device, c.row, min_rt))


def _check_toolkit_runtime(c: _Ctx) -> Check | None:
    info = c.info
    if info.line == LINE_UNKNOWN:
        return None
    title = "Toolkit that built the model vs board runtime"
    src = SRC_TK_RUNTIME_V2 if info.line == LINE_V2 else SRC_TK_RUNTIME_V1
    tk = _release(info.toolkit_version)
    if tk is None:
        return c.check("toolkit_runtime", title, UNKNOWN, observed=info.toolkit_version_raw, how=c.model_how("toolkit_version"), source=src,
                       message=f"the toolkit version in the model ({info.toolkit_version_raw!r}) is missing or not a version")
    component = (c.row or {}).get("runtime_library", "librknnrt.so" if info.line == LINE_V2 else "librknn_runtime.so")
    if c.device is None:
        return c.check("toolkit_runtime", title, OK, observed=f"built by {info.line} {info.toolkit_version_raw}", how=c.model_how("toolkit_version"),
                       expected=f"{component} >= {_fmt(tk)}", source=src, message=f"the board's runtime should be >= {_fmt(tk)} (the toolkit that built the model)")
    runtime_raw, field = _runtime_field(c.device)
    runtime = _release(runtime_raw)
    how = c.model_how("toolkit_version") + (f"; board {field} {_device_how(c.device, field)}" if _device_how(c.device, field) else "")
    observed = f"built by {info.toolkit_version_raw}; board {component} {runtime_raw or '?'}"
    if runtime is None:
        return c.check("toolkit_runtime", title, UNKNOWN, observed=observed, how=how, expected=f">= {_fmt(tk)}", source=src,
                       message=f"{c.board}: the runtime version is not known; the model was built by toolkit {info.toolkit_version_raw}")
    if runtime >= tk:
        return c.check("toolkit_runtime", title, OK, observed=observed, how=how, expected=f">= {_fmt(tk)}", source=src,
                       message=f"{c.board}: {component} {_fmt(runtime)} is not older than the toolkit {_fmt(tk)} that built the model")
    if info.line == LINE_V2:
        vendor = f"the runtime will print `RKNN Model version: {_fmt(tk)} not match with rknn runtime version: {_fmt(runtime)}` and may lack operators (`Unsupport CPU op`)"
    else:
        vendor = "Rockchip requires the same RKNN Toolkit and RKNPU versions (Table 8-1); older runtimes may reject the model with RKNN_ERR_MODEL_INVALID"
    return c.check("toolkit_runtime", title, WARN, observed=observed, how=how, expected=f"{component} >= {_fmt(tk)}", source=src,
                   message=f"{c.board}: {component} {_fmt(runtime)} is older than the toolkit {_fmt(tk)} that built the model; {vendor}",
                   fix=_runtime_update_fix(c.device, c.row, _fmt(tk)))


LARGE_MODEL_BYTES = 2 * 1024 ** 3
SRC_LARGE = "toolkit2.md §3.1 ([AR] doc/rknn_server_proxy.md §2.2: models larger than 2 GB need rknn_server >= 2.0.0b0)"


def _check_large_model(c: _Ctx) -> Check | None:
    """Connected-board runs of a > 2 GB toolkit2 model go through rknn_server, which handles them
    only from 2.0.0b0 on."""
    info = c.info
    if info.line != LINE_V2 or info.size <= LARGE_MODEL_BYTES:
        return None
    title = "Model size vs rknn_server"
    observed = f"{info.size / 1024 ** 3:.1f} GiB model"
    if c.device is None:
        return c.check("size", title, OK, observed=observed, how=f"size of {info.path}", expected="rknn_server >= 2.0.0b0", source=SRC_LARGE,
                       message="a model over 2 GB needs rknn_server >= 2.0.0b0 on the board for connected-board runs")
    server = _release(c.device.get("rknn_server"))
    if server is None:
        return c.check("size", title, UNKNOWN, observed=observed, expected="rknn_server >= 2.0.0b0", source=SRC_LARGE,
                       message=f"{c.board}: the rknn_server version is not known; a model over 2 GB needs >= 2.0.0b0")
    ok = server >= (2, 0, 0)
    return c.check("size", title, OK if ok else FAIL, component="rknn_server", observed=f"{observed}; board rknn_server {_fmt(server)}",
                   how=f"size of {info.path}; board rknn_server {_device_how(c.device, 'rknn_server')}", expected="rknn_server >= 2.0.0b0", source=SRC_LARGE,
                   message=f"{c.board}: rknn_server {_fmt(server)} {'handles' if ok else 'cannot serve'} a model over 2 GB",
                   fix=None if ok else _runtime_update_fix(c.device, c.row, "2.0.0"))


def _check_custom_ops(c: _Ctx) -> Check | None:
    info = c.info
    if info.line != LINE_V1 or not info.custom_ops:
        return None
    title = "Custom operators vs board runtime"
    tk = _release(info.toolkit_version)
    need = (1, 3, 1) if tk and tk >= (1, 3, 0) else (1, 2, 0)
    observed = f"{len(info.custom_ops)} custom op(s): {', '.join(info.custom_ops)}"
    if c.device is None:
        return c.check("custom_ops", title, OK, observed=observed, how=c.model_how("custom_ops"), expected=f"librknn_runtime >= {_fmt(need)}",
                       source=SRC_CUSTOM_OPS, message=f"the model contains custom operators: the board needs librknn_runtime >= {_fmt(need)}")
    runtime = _release(c.device.get("librknn_runtime"))
    if runtime is None:
        return c.check("custom_ops", title, UNKNOWN, observed=observed, how=c.model_how("custom_ops"), expected=f">= {_fmt(need)}", source=SRC_CUSTOM_OPS,
                       message=f"{c.board}: runtime version unknown; custom operators need librknn_runtime >= {_fmt(need)}")
    if runtime >= need:
        return c.check("custom_ops", title, OK, observed=f"{observed}; board {_fmt(runtime)}", expected=f">= {_fmt(need)}", source=SRC_CUSTOM_OPS,
                       message=f"{c.board}: librknn_runtime {_fmt(runtime)} supports custom operators")
    return c.check("custom_ops", title, FAIL, observed=f"{observed}; board {_fmt(runtime)}", expected=f">= {_fmt(need)}", source=SRC_CUSTOM_OPS,
                   message=f"{c.board}: librknn_runtime {_fmt(runtime)} cannot load custom operators built by toolkit {info.toolkit_version_raw} (needs >= {_fmt(need)})",
                   fix=_runtime_update_fix(c.device, c.row, _fmt(need)))


def _check_encrypted(c: _Ctx) -> Check | None:
    if not c.info.encrypted:
        return None
    title = "Encrypted model vs board runtime"
    if c.device is None or c.chip_line != LINE_V1:
        why = "no board given" if c.device is None else f"no documented runtime minimum for encrypted models on {c.chip or 'this chip'}"
        return c.check("encrypted", title, UNKNOWN, observed="encrypted", how=c.model_how("encrypted"), source=SRC_ENCRYPTED,
                       message=f"encrypted model: {why}; on rknn-toolkit (v1) boards encrypted models need librknn_runtime >= 1.6.0 (RV1109/RV1126 >= 1.5.2)")
    puma = _v1_family(c.chip, c.matrix) == "PUMA"
    need = (1, 5, 2) if puma else (1, 6, 0)
    runtime = _release(c.device.get("librknn_runtime"))
    if runtime is None:
        return c.check("encrypted", title, UNKNOWN, observed="encrypted", expected=f">= {_fmt(need)}", source=SRC_ENCRYPTED,
                       message=f"{c.board}: runtime version unknown; encrypted models need librknn_runtime >= {_fmt(need)}")
    status = OK if runtime >= need else FAIL
    return c.check("encrypted", title, status, observed=f"encrypted; board librknn_runtime {_fmt(runtime)}", expected=f">= {_fmt(need)}", source=SRC_ENCRYPTED,
                   message=f"{c.board}: librknn_runtime {_fmt(runtime)} {'supports' if status == OK else 'does not support'} encrypted models (needs >= {_fmt(need)})",
                   fix=None if status == OK else _runtime_update_fix(c.device, c.row, _fmt(need)))


def _check_device_state(c: _Ctx) -> Check | None:
    if c.device is None:
        return None
    state = c.device.get("state")
    if c.device.get("probe_error"):
        return c.check("board", "Board reachable", UNKNOWN, component="board", observed=c.device["probe_error"], expected="an answer to the probe",
                       how=_device_how(c.device, "probe"), source="DESIGN.md (boards)",
                       message=f"{c.board}: the board probe failed ({c.device['probe_error']}); the board-side checks below are unknown")
    if state in (None, "device"):
        return None
    return c.check("board", "Board reachable", UNKNOWN, component="board", observed=f"adb state {state!r}", expected="state 'device'",
                   how=_device_how(c.device, "state"), source="DESIGN.md (boards)",
                   message=f"{c.board} is {state}: its versions could not be read, so the board-side checks below are unknown")


def judge_model(info: ModelInfo, device: dict | None, matrix) -> list[Check]:
    """All model checks; `device` None = list what a board needs."""
    c = _Ctx(info, device, matrix)
    checks = [_check_header(c), _check_device_state(c)]
    if info.encrypted:
        checks.append(_check_encrypted(c))
        return [x for x in checks if x is not None]
    checks += [
        _check_line(c),
        _check_target(c),
        _check_nbg_npu(c),
        _check_pre_compiled(c),
        _check_mini(c),
        _check_format(c),
        _check_toolkit_runtime(c),
        _check_large_model(c),
        _check_custom_ops(c),
    ]
    checks = [x for x in checks if x is not None]
    if any(x.id == "model.line" and x.status == FAIL for x in checks):
        # A model of the other toolkit line: comparing its versions with this board's runtime means nothing.
        checks = [x for x in checks if x.id not in ("model.toolkit_runtime", "model.format")]
    if device is None:
        # Without a board these rows state what a board needs; nothing was compared, so they are
        # `unknown` (could not check), never `ok` — only the header itself was really checked.
        for check in checks:
            if check.status == OK and check.id != "model.header":
                check.status = UNKNOWN
                check.message = f"no board given — {check.message}"
    return checks


def preflight(path, device: dict | None, matrix) -> list[Check]:
    """Read the model at `path` (ModelFileError on bad input) and judge it."""
    from rknn_envcheck.model.header import read_model_info

    return judge_model(read_model_info(path), device, matrix)
