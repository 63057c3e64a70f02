"""Review findings on `explain`: real log lines through the real CLI (exit codes, checks, the fix argv)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest


def explain(tmp_path, text: str, *extra: str) -> tuple[int, dict]:
    log = tmp_path / "run.log"
    log.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", "explain", str(log), "--json", *extra],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def checks(report: dict) -> dict:
    return {c["id"]: c for c in report["checks"]}


def argvs(check: dict) -> list:
    return [c["argv"] for c in check["fix"]["commands"]]


def test_galcore_user_kernel_mismatch_on_one_line_fails(tmp_path):
    code, report = explain(tmp_path, "[  12.345] galcore: HAL user version 6.4.6.5.351518 HAL kernel version 6.4.3.5.231098\n")
    found = checks(report)["log.galcore_user_vs_kernel"]
    assert code == 1 and found["status"] == "fail"
    assert "6.4.6.5.351518" in found["observed"] and "6.4.3.5.231098" in found["observed"]


def test_galcore_same_release_is_not_a_failure_and_not_all_clear(tmp_path):
    code, report = explain(tmp_path, "[ 1] HAL user version 6.4.3.5.293908 HAL kernel version 6.4.3.5.293908\n")
    assert "log.galcore_user_vs_kernel" not in checks(report)
    assert code == 3 and checks(report)["log.nothing_recognised"]["status"] == "unknown"


def test_a_log_with_nothing_known_is_unknown_never_all_clear(tmp_path):
    code, report = explain(tmp_path, "app: started\napp: I RKNN: [10:00:00.000] noise\n")
    assert code == 3
    assert [c["id"] for c in report["checks"]] == ["log.nothing_recognised"]


@pytest.mark.parametrize("line, check_id", [
    ("error: externally-managed-environment", "log.pip_externally_managed"),
    ("ImportError: DLL load failed while importing _multiarray_umath: The specified module could not be found.", "log.windows_extension_dll_load"),
    ("E RKNN: rknn_init error result=-7", "log.init_fail_ret"),
    ("OSError: librknnrt.so: cannot open shared object file: No such file or directory", "log.lite_library_missing"),
])
def test_families_users_paste_are_known(tmp_path, line, check_id):
    code, report = explain(tmp_path, line + "\n")
    assert code == 1 and checks(report)[check_id]["status"] == "fail"
    assert "log.nothing_recognised" not in checks(report)


@pytest.mark.parametrize("line", [
    "pip config: externally-managed-environment marker absent",
    "DLL load failed while importing _multiarray_umath (retrying)",
    "E RKNN: rknn_init error result=unknown",
    "OSError: libOpenCL.so: cannot open shared object file: No such file or directory",
])
def test_near_misses_of_those_families_stay_unknown(tmp_path, line):
    code, _ = explain(tmp_path, line + "\n")
    assert code == 3


def test_init_error_result_extracts_the_code(tmp_path):
    _, report = explain(tmp_path, "E RKNN: rknn_init error result=-7\n")
    assert "-7" in checks(report)["log.init_fail_ret"]["message"] or "CTX_INVALID" in checks(report)["log.init_fail_ret"]["message"]


def test_platform_mismatch_fix_uses_the_chip_from_the_log(tmp_path):
    _, report = explain(tmp_path, "E RKNN: [12:00:00.000] This rknn model is for rk3588, but current platform is rk3566\n")
    fix = checks(report)["log.model_platform_mismatch"]["fix"]
    assert fix["commands"][0]["argv"] == ["rknn.config(target_platform='rk3566')"] and fix["commands"][0]["shell"] == "python"
    assert "<board chip" not in fix["text"] and "'rk3566'" in fix["text"]
    diagnostic = [c for c in fix["commands"] if c["argv"][:2] == ["adb", "shell"]]
    assert diagnostic and all(c.get("note", "").startswith("check") for c in diagnostic)


def test_planned_install_runs_clone_push_then_restart_on_one_serial(tmp_path):
    text = ("I RKNN: [01:19:04.510] RKNN Runtime Information: librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)\n"
            "E RKNN: [10:48:38.432] Invalid RKNN model version 6\n")
    _, report = explain(tmp_path, text, "--emulate", "rk3568-android-rknpu2-1.4.0")
    commands = argvs(checks(report)["log.model_version_unsupported_old"])
    clone = next(i for i, a in enumerate(commands) if a[:2] == ["git", "clone"])
    assert "--branch" in commands[clone]
    pushes = [i for i, a in enumerate(commands) if "push" in a]
    restarts = [i for i, a in enumerate(commands) if any("restart_rknn" in x or "killall rknn_server" in x or "nohup" in x for x in a)]
    assert pushes and all(clone < p for p in pushes)
    assert restarts and all(r > max(pushes) for r in restarts)
    adb = [a for a in commands if a[0] == "adb"]
    assert adb and {tuple(a[1:3]) for a in adb} == {("-s", adb[0][2])}  # one serial for the board


def test_protobuf_fix_is_the_toolkits_requires_dist(tmp_path):
    text = ("I rknn-toolkit2 version: 2.2.0\n"
            '  File "/home/u/venv/lib/python3.10/site-packages/rknn/api/__init__.py", line 1, in <module>\n'
            "TypeError: Descriptors cannot be created directly.\n")
    _, report = explain(tmp_path, text)
    assert argvs(checks(report)["log.protobuf_too_new"]) == [["python3", "-m", "pip", "install", "protobuf==3.20.3"]]


def test_protobuf_fix_without_a_known_toolkit_is_one_command_not_two_pins(tmp_path):
    _, report = explain(tmp_path, "TypeError: Descriptors cannot be created directly.\n")
    assert argvs(checks(report)["log.protobuf_too_new"]) == [["python3", "-m", "pip", "check"]]


def test_pkg_resources_fix_agrees_with_host_boundary(tmp_path):
    _, report = explain(tmp_path, "ModuleNotFoundError: No module named 'pkg_resources'\n")
    assert ["python3", "-m", "pip", "install", "setuptools<82"] in argvs(checks(report)["log.pkg_resources_missing"])
