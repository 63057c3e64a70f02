"""`rknn-envcheck model FILE` end to end: bad input → exit 2 with a clear message, boards from a
facts file and from the in-process emulator, and the installed console script."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from rknn_envcheck.cli import main
from rknn_envcheck.facts import FACTS_SCHEMA
from test_model_header import v1_normal, v1_precompiled_online, v2_format6, write


def run_cli(capsys, *argv):
    code = main(["model", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "is empty (0 bytes)"),
        (b"RKNN\0\0\0\0\x06\0", "is truncated"),
        (bytes(range(7, 250)) * 3, "is not an RKNN model"),
        (b"\x08\x08\x12\x07pytorch\x1a\x052.1.0" + b"\0" * 32, "looks like an ONNX model"),
        (b"\x18\0\0\0TFL3\0\0" + b"\0" * 32, "TensorFlow Lite"),
        (b"RKNN\0\0\0\0" + (1).to_bytes(8, "little") + (2**63).to_bytes(8, "little") + b"{}" * 8, "data section is 9223372036854775808 bytes"),
        (b"RKNN\0\0\0\0" + (6).to_bytes(8, "little") + (0).to_bytes(8, "little") + b"\0" * 40 + (2**40).to_bytes(8, "little") + b"{}",
         "exceeds the 16 MiB limit"),
    ],
    ids=["zero-byte", "truncated", "random", "renamed-onnx", "renamed-tflite", "huge-data", "huge-json"],
)
def test_bad_model_files_exit_2(tmp_path, capsys, data, words):
    path = write(tmp_path, "model.rknn", data)
    code, out, err = run_cli(capsys, path)
    assert code == 2
    assert err.startswith("rknn-envcheck: error: model file ") and words in err, err
    assert "Traceback" not in err and out == ""
    assert path.read_bytes() == data  # nothing on disk touched


def test_directory_and_missing_file_exit_2(tmp_path, capsys):
    code, _, err = run_cli(capsys, tmp_path)
    assert code == 2 and "is a directory" in err
    code, _, err = run_cli(capsys, tmp_path / "missing.rknn")
    assert code == 2 and "does not exist" in err


def test_unreadable_file_exit_2(tmp_path, capsys):
    path = write(tmp_path, "locked.rknn", v1_normal())
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: mode 000 does not stop reads (the ENOTDIR read error is covered in test_model_header)")
        code, _, err = run_cli(capsys, path)
        assert code == 2 and "cannot read model file" in err
    finally:
        path.chmod(0o644)


def _facts(tmp_path, *devices):
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"schema": FACTS_SCHEMA, "host": {}, "devices": list(devices)}))
    return path


def test_facts_board_fail_exit_1_and_json(tmp_path, capsys):
    model = write(tmp_path, "yolo.rknn", v2_format6("2.3.2", "rk3588"))
    facts = _facts(tmp_path, {"serial": "A1", "state": "device", "transport": "adb", "chip": "RK3588", "os": "linux", "arch": "aarch64",
                              "librknn_runtime": "1.4.0", "rknn_server": "1.4.0"})
    code, out, _ = run_cli(capsys, model, "--facts", facts, "--json")
    assert code == 1
    report = json.loads(out)
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["model.format"]["status"] == "fail"
    assert any("librknnrt.so /usr/lib/librknnrt.so" in cmd["display"] for cmd in checks["model.format"]["fix"]["commands"])
    assert report["facts"]["devices"][0]["serial"] == "A1"


def test_facts_select_board_by_id(tmp_path, capsys):
    model = write(tmp_path, "m.rknn", v2_format6("2.3.2", "rk3588"))
    good = {"serial": "GOOD", "state": "device", "chip": "RK3588", "librknn_runtime": "2.3.2", "rknn_server": "2.3.2"}
    bad = {"serial": "BAD", "state": "device", "chip": "RK3566", "librknn_runtime": "2.3.2"}
    facts = _facts(tmp_path, bad, good)
    assert run_cli(capsys, model, "--facts", facts, "--id", "GOOD")[0] == 0
    assert run_cli(capsys, model, "--facts", facts)[0] == 1  # devices[0] = BAD (wrong chip)
    code, _, err = run_cli(capsys, model, "--facts", facts, "--id", "NOPE")
    assert code == 2 and "no board with serial 'NOPE'" in err and "GOOD" in err


def test_no_board_lists_requirements(tmp_path, capsys):
    model = write(tmp_path, "m.rknn", v2_format6("2.3.2", "rk3588"))
    code, out, _ = run_cli(capsys, model)
    assert code == 3  # the requirements are listed; nothing was compared with a board
    assert "1.5.2" in out and "RK3588" in out and "no board given" in out


def test_emulated_board(tmp_path, capsys):
    model = write(tmp_path, "m.rknn", v2_format6("2.3.2", "rk3588"))
    code, out, _ = run_cli(capsys, model, "--emulate", "rk3566-1.5.2", "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert code == 1
    assert checks["model.target_platform"]["status"] == "fail"
    assert checks["model.format"]["status"] == "ok"  # 1.5.2 loads format 6
    assert checks["model.toolkit_runtime"]["status"] == "warn"


def test_emulated_mini_driver_board_rejects_normal_model(tmp_path, capsys):
    model = write(tmp_path, "m.rknn", v1_normal())
    code, out, _ = run_cli(capsys, model, "--emulate", "rv1126-1.7.5-mini-driver", "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert code == 1
    assert checks["model.mini_driver"]["status"] == "fail"
    assert checks["model.target_platform"]["status"] == "fail"  # rk1808 model on RV1126
    online = write(tmp_path, "pre.rknn", v1_precompiled_online())
    code, out, _ = run_cli(capsys, online, "--emulate", "rk1808-1.7.5", "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert checks["model.mini_driver"]["status"] == "ok" and checks["model.nbg_npu"]["status"] == "ok"


def test_unknown_profile_exit_2(tmp_path, capsys):
    model = write(tmp_path, "m.rknn", v2_format6())
    code, _, err = run_cli(capsys, model, "--emulate", "no-such-board")
    assert code == 2 and "no profile named" in err


def test_console_script(tmp_path):
    exe = shutil.which("rknn-envcheck")
    cmd = [exe] if exe else [sys.executable, "-m", "rknn_envcheck"]
    empty = write(tmp_path, "empty.rknn", b"")
    proc = subprocess.run([*cmd, "model", str(empty)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "is empty" in proc.stderr and "Traceback" not in proc.stderr
    good = write(tmp_path, "good.rknn", v2_format6())
    proc = subprocess.run([*cmd, "model", str(good), "--format", "markdown"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3, proc.stderr  # no board: the board-side requirements could not be checked
