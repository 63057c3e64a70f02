"""Model checks that only toolkit-v1 (RKNPU1) models have: the pre-compiled NBG blob and its
NPU, pre-compiled models against the driver, the mini driver, custom operators and encrypted
models (toolkit1.md §3.2, §5.1–§5.4). Pure; split from rules/model.py by concern."""
from __future__ import annotations

from rknn_envcheck.model.header import LINE_V1
from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules.chips import v1_families
from rknn_envcheck.rules.model_common import (
    SRC_CUSTOM_OPS, SRC_ENCRYPTED, SRC_MINI, SRC_NBG, SRC_PRECOMPILE, SRC_PRECOMPILE_DRIFT, _Ctx, _device_how, _fmt,
    _re_export_fix, _release, _v1_family,
)
from rknn_envcheck.rules.model_needs import ENCRYPTED_MIN, custom_ops_minimum, encrypted_minimum
from rknn_envcheck.shellcmd import PYTHON, Command


def _check_nbg_npu(c: _Ctx) -> Check | None:
    info = c.info
    if info.line != LINE_V1 or not info.pre_compiled or info.npu_pid is None:
        return None
    title = "Pre-compiled NBG NPU vs board NPU"
    observed = f"NBG pid 0x{info.npu_pid:X} ({info.npu_family or 'unknown NPU'})"
    if info.npu_family is None:
        return c.check("nbg_npu", title, UNKNOWN, observed=observed, how=c.model_how("npu_pid"), source=SRC_NBG,
                       message=f"the pre-compiled blob names NPU pid 0x{info.npu_pid:X}, which is neither LION (0x82) nor PUMA (0xB5)")
    chips = [n.upper() for n in v1_families(c.matrix).get(info.npu_family, ())]
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
        fix=_re_export_fix(info, c.chip, LINE_V1, c.matrix),
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
        commands=[Command(["rknn.build(do_quantization=True, dataset='./dataset.txt', pre_compile=False)"], shell=PYTHON),
                  Command(["rknn.init_runtime(target='rk1808', rknn2precompile=True); rknn.export_rknn_precompile_model('model_precompile.rknn')"], shell=PYTHON)],
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
                       fix=c.install_fix())
    if not new_format and drv >= (0, 9, 6):
        return c.check("pre_compiled", title, FAIL, observed=observed, how=how, expected=need, source=SRC_PRECOMPILE,
                       message=f"{c.board}: models pre-compiled by toolkit {tk_text} (<= 0.9.9) do not run on NPU driver >= 0.9.6 (board {field} {_fmt(drv)}); rknn_init fails with RKNN_ERR_MODEL_INVALID",
                       fix=rebuild)
    if drv[:2] != tk[:2]:
        return c.check("pre_compiled", title, WARN, observed=observed, how=how, expected=f"board RKNPU {tk[0]}.{tk[1]}.x like the toolkit", source=SRC_PRECOMPILE_DRIFT,
                       message=f"{c.board}: the model was pre-compiled by toolkit {tk_text} but the board runs {field} {_fmt(drv)}; pre-compiled models can be incompatible across driver versions (RKNN_ERR_INCOMPATILE_PRE_COMPILE_MODEL -11)",
                       fix=c.install_fix() if drv < tk else rebuild)
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
        commands=[Command(["rknn.build(do_quantization=True, dataset='./dataset.txt', pre_compile=True)"], shell=PYTHON),
                  *c.install_fix(full_driver=True).commands],
    )
    return c.check("mini_driver", title, FAIL, observed="mini driver, model not pre-compiled", how=how, expected="a pre-compiled model", source=SRC_MINI,
                   message=f"{c.board}: the mini driver loads only pre-compiled models; this one is not (`This RKNN model is not a pre-compiled model, but the npu driver is mini driver.`, RKNN_ERR_NON_PRE_COMPILED_MODEL_ON_MINI_DRIVER -14 / RKNN_ERR_MODEL_INVALID)",
                   fix=fix)


def _check_custom_ops(c: _Ctx) -> Check | None:
    info = c.info
    if info.line != LINE_V1 or not info.custom_ops:
        return None
    title = "Custom operators vs board runtime"
    need = _release(custom_ops_minimum(info.toolkit_version))
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
                   fix=c.install_fix())


def _check_encrypted(c: _Ctx) -> Check | None:
    if not c.info.encrypted:
        return None
    title = "Encrypted model vs board runtime"
    if c.device is None or c.chip_line != LINE_V1:
        why = "no board given" if c.device is None else f"no documented runtime minimum for encrypted models on {c.chip or 'this chip'}"
        return c.check("encrypted", title, UNKNOWN, observed="encrypted", how=c.model_how("encrypted"), source=SRC_ENCRYPTED,
                       message=f"encrypted model: {why}; on rknn-toolkit (v1) boards encrypted models need librknn_runtime >= 1.6.0 (RV1109/RV1126 >= 1.5.2)")
    puma = _v1_family(c.chip, c.matrix) == "PUMA"
    need = _release(ENCRYPTED_MIN["PUMA"] if puma else encrypted_minimum(c.chip, c.matrix))
    runtime = _release(c.device.get("librknn_runtime"))
    if runtime is None:
        return c.check("encrypted", title, UNKNOWN, observed="encrypted", expected=f">= {_fmt(need)}", source=SRC_ENCRYPTED,
                       message=f"{c.board}: runtime version unknown; encrypted models need librknn_runtime >= {_fmt(need)}")
    status = OK if runtime >= need else FAIL
    return c.check("encrypted", title, status, observed=f"encrypted; board librknn_runtime {_fmt(runtime)}", expected=f">= {_fmt(need)}", source=SRC_ENCRYPTED,
                   message=f"{c.board}: librknn_runtime {_fmt(runtime)} {'supports' if status == OK else 'does not support'} encrypted models (needs >= {_fmt(need)})",
                   fix=None if status == OK else c.install_fix())
