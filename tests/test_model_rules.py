"""judge_model against the shipped matrices and board facts dicts (as gather_board / facts files give)."""
from __future__ import annotations

import pytest

from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.model import preflight
from rknn_envcheck.model.header import read_model_info
from rknn_envcheck.rules.model import judge_model
from test_model_header import (
    encrypted,
    v1_custom_op,
    v1_normal,
    v1_precompiled_offline,
    v1_precompiled_online,
    v2_format1,
    v2_format2,
    v2_format6,
    write,
)


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


def board(chip, runtime=None, server=None, **extra):
    device = {"serial": "SER1", "state": "device", "transport": "adb", "chip": chip, "os": "linux", "arch": "aarch64",
              "librknn_runtime": runtime, "rknn_server": server, "raw": {}, "how": {"librknn_runtime": "strings /usr/lib/librknnrt.so | grep version"}}
    device.update(extra)
    return {k: v for k, v in device.items() if v is not None}


def judge(tmp_path, data, device, matrix):
    checks = judge_model(read_model_info(write(tmp_path, "m.rknn", data)), device, matrix)
    for check in checks:  # every check names what it saw and, when not ok, why and the fix
        assert check.subject.startswith("model:") and check.message
        if check.status == "fail":
            assert check.fix and check.fix.text and check.source and check.expected
    return {c.id: c for c in checks}


def test_v2_format6_on_old_runtime_fails_with_update_commands(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6("2.3.2", "rk3588"), board("RK3588", "1.4.0", "1.4.0"), matrix)
    fmt = checks["model.format"]
    assert fmt.status == "fail"
    assert "Invalid RKNN model version 6" in fmt.message and ">= 1.5.2" in fmt.message
    assert "adb -s SER1 push rknn-toolkit2/rknpu2/runtime/Linux/librknn_api/aarch64/librknnrt.so /usr/lib/librknnrt.so" in fmt.fix.commands
    assert "adb -s SER1 push rknn-toolkit2/rknpu2/runtime/Linux/rknn_server/aarch64/usr/bin/rknn_server /usr/bin/rknn_server" in fmt.fix.commands
    tk = checks["model.toolkit_runtime"]
    assert tk.status == "warn"
    assert "RKNN Model version: 2.3.2 not match with rknn runtime version: 1.4.0" in tk.message
    assert checks["model.target_platform"].status == "ok" and checks["model.line"].status == "ok"


def test_v2_format6_on_matching_runtime_is_ok(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6("2.3.2", "rk3588"), board("rk3588s", "2.3.2+b642f30c", "2.3.2"), matrix)
    assert {c.status for c in checks.values()} == {"ok"}


def test_v2_runtime_1_5_2_loads_format6_but_warns_older_than_toolkit(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6("2.0.0b0", "rk3588"), board("RK3588", "1.5.2"), matrix)
    assert checks["model.format"].status == "ok"
    assert checks["model.toolkit_runtime"].status == "warn"


def test_v2_wrong_chip_gives_exact_config_snippet(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6("2.3.2", "rk3588"), board("RK3576", "2.3.2"), matrix)
    target = checks["model.target_platform"]
    assert target.status == "fail"
    assert "This rknn model is for RK3588, but current platform is RK3576" in target.message
    assert target.fix.commands == ["rknn.config(target_platform='rk3576')"]


@pytest.mark.parametrize("chip", ["RK3566", "RK3568"])
def test_rk3566_and_rk3568_share_models(tmp_path, matrix, chip):
    checks = judge(tmp_path, v2_format1(), board(chip, "1.2.0"), matrix)
    assert checks["model.target_platform"].status == "ok"
    assert checks["model.format"].status == "ok"  # format 1 needs >= 1.1.0 per matrix


def test_v2_format2_min_runtime_unknown(tmp_path, matrix):
    checks = judge(tmp_path, v2_format2(), board("RK3588", "1.4.0"), matrix)
    assert checks["model.format"].status == "unknown"
    assert "not known" in checks["model.format"].message


def test_v1_model_on_rknpu2_board_fails_line(tmp_path, matrix):
    checks = judge(tmp_path, v1_normal(), board("RK3588", "2.3.2"), matrix)
    assert checks["model.line"].status == "fail"
    assert checks["model.line"].fix.commands == ["rknn.config(target_platform='rk3588')"]
    assert checks["model.target_platform"].status == "skipped"


def test_v2_model_on_v1_board_fails_line(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6(), board("RV1126", "1.7.5"), matrix)
    assert checks["model.line"].status == "fail"
    assert "rknn.config(target_platform=['rv1109', 'rv1126'])" in checks["model.line"].fix.commands


def test_v1_default_target_rk1808_does_not_run_on_rv1126(tmp_path, matrix):
    # seed §1.7.1 item 3: without target_platform the model runs only on RK1806/RK1808/RK3399Pro
    checks = judge(tmp_path, v1_custom_op(), board("RV1126", "1.7.5", "1.7.5"), matrix)
    target = checks["model.target_platform"]
    assert target.status == "fail"
    assert "not set in the model" in target.observed
    assert target.fix.commands == ["rknn.config(target_platform=['rv1109', 'rv1126'])"]
    assert judge(tmp_path, v1_custom_op(), board("RK1806", "1.7.5"), matrix)["model.target_platform"].status == "ok"


def test_v1_non_precompiled_on_mini_driver_fails(tmp_path, matrix):
    checks = judge(tmp_path, v1_normal(), board("RK1808", "1.7.5", mini_driver=True), matrix)
    mini = checks["model.mini_driver"]
    assert mini.status == "fail"
    assert "pre_compile=True" in mini.fix.commands[0]
    # the full driver, not -mini; an argv cannot hold a shell glob, so the folder's usr/ is pushed
    assert "adb -s SER1 push rknpu/drivers/linux-aarch64/usr /" in mini.fix.commands
    assert checks["model.pre_compiled"].status == "skipped"


def test_v1_precompiled_on_mini_driver_ok(tmp_path, matrix):
    checks = judge(tmp_path, v1_precompiled_online(), board("RK1808", "1.6.0", mini_driver=True), matrix)
    assert checks["model.mini_driver"].status == "ok"
    assert checks["model.pre_compiled"].status == "ok"
    assert checks["model.nbg_npu"].status == "ok"


def test_v1_precompiled_on_driver_older_than_0_9_6_fails(tmp_path, matrix):
    checks = judge(tmp_path, v1_precompiled_online(), board("RK1808", "0.9.5", "0.9.5"), matrix)
    pre = checks["model.pre_compiled"]
    assert pre.status == "fail" and "0.9.6" in pre.message
    # the rknpu commit of the planned release — the model's toolkit, 1.6.0 (toolkit1.md §3.2) — not HEAD
    assert pre.fix.commands[:2] == ["git clone https://github.com/rockchip-linux/rknpu", "git -C rknpu checkout b010399"]


def test_v1_precompiled_by_old_toolkit_fails_on_new_driver(tmp_path, matrix):
    from test_model_header import nbg_payload, rknn_bytes

    old = rknn_bytes(1, {"version": "0.9.9", "ovxlib_version": "1.0", "pre_compile": 1, "nodes": [{"op": "VSI_NN_OP_NBG"}]}, payload=nbg_payload(0x10001, 0x82))
    checks = judge(tmp_path, old, board("RK1808", "1.7.5", "1.7.5"), matrix)
    assert checks["model.pre_compiled"].status == "fail"
    assert "0.9.9" in checks["model.pre_compiled"].message


def test_v1_precompiled_drift_warns(tmp_path, matrix):
    checks = judge(tmp_path, v1_precompiled_offline(), board("RV1126", "1.6.0", "1.6.0"), matrix)
    assert checks["model.pre_compiled"].status == "warn"
    assert checks["model.toolkit_runtime"].status == "warn"
    assert "adb -s SER1 push rknpu/drivers/linux-armhf-puma/usr /" in checks["model.toolkit_runtime"].fix.commands


def test_v1_precompiled_blob_for_other_npu_fails(tmp_path, matrix):
    # PUMA blob (pid 0xB5) on a LION board
    checks = judge(tmp_path, v1_precompiled_offline(), board("RK1808", "1.7.5", "1.7.5"), matrix)
    assert checks["model.nbg_npu"].status == "fail"
    assert checks["model.target_platform"].status == "fail"


def test_v1_custom_ops_need_runtime(tmp_path, matrix):
    checks = judge(tmp_path, v1_custom_op(), board("RK1808", "1.3.0", "1.3.0"), matrix)
    assert checks["model.custom_ops"].status == "fail"  # toolkit 1.3.0 custom ops need runtime 1.3.1
    assert checks["model.format"].status == "ok"  # format 2 needs >= 1.2.0


def test_missing_board_fields_are_unknown_never_ok(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6(), {"serial": "S", "state": "device"}, matrix)
    for cid in ("model.line", "model.target_platform", "model.format", "model.toolkit_runtime"):
        assert checks[cid].status == "unknown", cid


def test_unreachable_board_is_reported(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6(), {"serial": "S", "state": "unauthorized"}, matrix)
    assert checks["model.board"].status == "unknown" and "unauthorized" in checks["model.board"].message


def test_without_board_lists_minimum_versions(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6("2.3.2"), None, matrix)
    # nothing was compared without a board: the requirements are listed as unknown, never ok
    assert checks["model.format"].status == "unknown" and "runtime >= 1.5.2" in checks["model.format"].message
    assert "no board given" in checks["model.format"].message
    assert checks["model.toolkit_runtime"].expected == "librknnrt.so >= 2.3.2"
    assert checks["model.target_platform"].status == "unknown" and "RK3588" in checks["model.target_platform"].message
    assert checks["model.header"].status == "ok"
    v1 = judge(tmp_path, v1_normal(), None, matrix)
    assert v1["model.format"].status == "unknown"  # v1 format 1: matrix has no minimum runtime
    assert "full NPU driver" in v1["model.mini_driver"].message


def test_encrypted_model_is_unknown(tmp_path, matrix):
    checks = judge(tmp_path, encrypted(), board("RV1126", "1.5.0"), matrix)
    assert checks["model.header"].status == "unknown"
    assert checks["model.encrypted"].status == "fail"  # RV1126 runtime < 1.5.2
    assert judge(tmp_path, encrypted(), board("RK3588", "2.3.2"), matrix)["model.encrypted"].status == "unknown"


def test_preflight_export(tmp_path, matrix):
    checks = preflight(write(tmp_path, "m.rknn", v2_format6()), board("RK3588", "2.3.2"), matrix)
    assert [c.status for c in checks] and all(c.status == "ok" for c in checks)


def test_models_over_2_gb_need_rknn_server_2(tmp_path):
    """A sparse 2.1 GB toolkit2 model: only the header and the trailing JSON hold data."""
    import json as _json
    import struct

    from rknn_envcheck.matrix import load_matrix
    from rknn_envcheck.model import preflight

    meta = _json.dumps({"name": "rknn model", "version": "2.3.2", "target_platform": ["rk3588"], "network_platform": "ONNX"}).encode()
    data_size = 2 * 1024 ** 3 + 100 * 1024 ** 2
    path = tmp_path / "big.rknn"
    with open(path, "wb") as handle:
        handle.write(b"RKNN\0\0\0\0" + struct.pack("<QQ", 6, data_size) + bytes(40))
        handle.seek(64 + data_size)
        handle.write(struct.pack("<Q", len(meta)) + meta)
    matrix = load_matrix()
    board = {"serial": "S", "state": "device", "chip": "RK3588", "rknn_server": "1.6.0", "librknn_runtime": "2.3.2", "how": {}, "raw": {}}
    size = {c.id: c for c in preflight(path, board, matrix)}["model.size"]
    assert size.status == "fail" and "2.0.0b0" in size.expected
    ok = {c.id: c for c in preflight(path, dict(board, rknn_server="2.3.2"), matrix)}["model.size"]
    assert ok.status == "ok"
    assert {c.id: c for c in preflight(path, None, matrix)}["model.size"].status == "unknown"


def test_other_line_model_is_not_compared_with_the_runtime(tmp_path, matrix):
    checks = judge(tmp_path, v2_format6("2.3.2"), board("RK1808", "1.7.5"), matrix)
    assert checks["model.line"].status == "fail"
    assert "model.toolkit_runtime" not in checks and "model.format" not in checks
