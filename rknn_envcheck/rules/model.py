"""Will this `.rknn` model load on that board? Pure judgement of a ModelInfo against device facts.

The seed's RKNN_ERR_MODEL_INVALID causes (seed §1.7.1: pre-compiled model vs driver, old board
firmware, target_platform family) and toolkit2's `Invalid RKNN model version 6` all surface only
at rknn_init on the board; every check here says it before the copy. Without a board the same
checks list what the board must have (minimum versions) as `ok`/`unknown` rows.

Split by concern: model_common.py (what the checks share), model_v1.py (checks only toolkit-v1
models have), model_needs.py (what a model needs from the board, for the one fix planner).
"""
from __future__ import annotations

from rknn_envcheck.fixplan import BoardPlan
from rknn_envcheck.model.header import LINE_UNKNOWN, LINE_V1, LINE_V2, ModelInfo
from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules.chips import model_chip_names, v1_families
from rknn_envcheck.rules.model_common import (
    SRC_FAMILY, SRC_LINE, SRC_TK_RUNTIME_V1, SRC_TK_RUNTIME_V2, SRC_V2_TARGET, V1_DEFAULT_TARGET, V2_DEFAULT_TARGET,
    _Ctx, _device_how, _fmt, _re_export_fix, _release, _runtime_field, _v1_family,
)
from rknn_envcheck.rules.model_needs import LARGE_MODEL_BYTES
from rknn_envcheck.shellcmd import cmd, path_arg
from rknn_envcheck.rules.model_v1 import _check_custom_ops, _check_encrypted, _check_mini, _check_nbg_npu, _check_pre_compiled

# ---------------------------------------------------------------- checks


def _check_header(c: _Ctx) -> Check:
    info = c.info
    if info.encrypted:
        return c.check(
            "header", "RKNN model header", UNKNOWN, observed="encrypted (CYPTRKNN)", how=c.model_how("encrypted"),
            expected="a readable RKNN header", source="inferred from NPU rknn/rknn_api/examples (sample .rknn files); inferred from AR rknpu2/examples (sample .rknn files)",
            message=f"{info.path} is an encrypted RKNN model: its layout is not documented, so toolkit version, target platform and format cannot be read; check them on the unencrypted model",
            fix=Fix(text="run the preflight on the unencrypted .rknn exported before rknn.export_encrypted_rknn_model()"),
        )
    status = OK if info.line != LINE_UNKNOWN else UNKNOWN
    message = info.summary()
    if status == UNKNOWN:
        message += f"; cannot tell whether rknn-toolkit or rknn-toolkit2 built it ({info.evidence.get('line', '')})"
    return c.check(
        "header", "RKNN model header", status, observed=info.summary(), how=c.model_how("format", "header_size", "line", "toolkit_version", "target_platforms", "pre_compiled"),
        expected="RKNN container: magic, format, data size, JSON metadata", source="inferred from NPU rknn/rknn_api/examples (sample .rknn files); inferred from AR rknpu2/examples (sample .rknn files)", message=message,
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
        fix=_re_export_fix(info, c.chip, need, c.matrix),
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
        allowed = sorted({n for fam in families for n in v1_families(c.matrix)[fam]})
        src = SRC_FAMILY
    else:
        targets = info.target_platforms or [V2_DEFAULT_TARGET]
        defaulted = not info.target_platforms
        allowed = set()
        for t in targets:
            allowed |= model_chip_names(c.matrix, t)
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
        fix=_re_export_fix(info, c.chip, info.line, c.matrix),
    )


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
                   fix=c.install_fix())


def _check_toolkit_runtime(c: _Ctx) -> Check | None:
    info = c.info
    if info.line == LINE_UNKNOWN:
        return None
    title = "Toolkit that built the model vs board runtime"
    src = SRC_TK_RUNTIME_V2 if info.line == LINE_V2 else SRC_TK_RUNTIME_V1
    tk = _release(info.toolkit_version)
    if tk is None:
        return c.check("toolkit_runtime", title, UNKNOWN, observed=info.toolkit_version_raw, how=c.model_how("toolkit_version"), source=src,
                       expected=f"a toolkit version in the model header (e.g. {'2.3.2' if info.line == LINE_V2 else '1.7.5'})",
                       message=f"the toolkit version in the model ({info.toolkit_version_raw!r}) is missing or not a version",
                       fix=Fix("read the model's header again with this rknn-envcheck; if it still has no version, rebuild the model with a released toolkit "
                               "and keep the runtime on the board at least as new as that toolkit",
                               [cmd("rknn-envcheck", "model", path_arg(str(info.path)))]))
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
                   fix=c.install_fix())


SRC_LARGE = "AR doc/rknn_server_proxy.md §2.2: models larger than 2 GB need rknn_server >= 2.0.0b0"


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
                   fix=None if ok else c.install_fix())


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


def judge_model(info: ModelInfo, device: dict | None, matrix, plan: BoardPlan | None = None) -> list[Check]:
    """All model checks; `device` None = list what a board needs. `plan`: the board's install plan
    for the whole report (fixplan.plan_for over facts with this model); made here when not given."""
    c = _Ctx(info, device, matrix, plan)
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

