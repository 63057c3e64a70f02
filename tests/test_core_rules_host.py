"""Every host rule with a passing and a failing case, judged from facts (no I/O)."""
import pytest

from core_helpers import by_id, facts
from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN
from rknn_envcheck.rules.host import judge_host


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


def statuses(checks, prefix):
    return {c.status for c in by_id(checks, prefix)}


def test_no_toolkit_is_unknown_not_ok(matrix):
    checks = judge_host(facts({"numpy": "1.26.4"}), matrix)
    assert statuses(checks, "host.toolkit") == {UNKNOWN}


def test_toolkit_in_matrix_is_ok_and_unknown_release_is_unknown(matrix):
    assert statuses(judge_host(facts({"rknn-toolkit2": "2.3.2"}), matrix), "host.toolkit") == {OK}
    checks = judge_host(facts({"rknn-toolkit2": "2.4.0"}), matrix)
    toolkit = by_id(checks, "host.toolkit")[0]
    assert toolkit.status == UNKNOWN and "not in matrix" in toolkit.message


def test_legacy_non_pep440_version_is_recognised(matrix):
    checks = judge_host(facts({"rknn-toolkit2": "1.4.0-22dcfef4"}, python_version="3.8.10"), matrix)
    assert statuses(checks, "host.toolkit") == {OK}


def test_both_lines_installed_conflict(matrix):
    checks = judge_host(facts({"rknn-toolkit2": "2.3.2", "rknn-toolkit": "1.7.5"}), matrix)
    assert by_id(checks, "host.toolkit.conflict")[0].status == FAIL


def test_wheel_for_python(matrix):
    ok = judge_host(facts({"rknn-toolkit": "1.7.5"}, python_version="3.8.10"), matrix)
    assert statuses(ok, "host.wheel") == {OK}
    planned = judge_host(facts({}, python_version="3.11.7"), matrix, toolkit="rknn-toolkit==1.7.5")
    check = by_id(planned, "host.wheel")[0]
    assert check.status == FAIL and "Python 3.11" in check.message and "3.6" in str(check.expected)
    installed = judge_host(facts({"rknn-toolkit": "1.7.5"}, python_version="3.11.7"), matrix)
    assert statuses(installed, "host.wheel") == {WARN}


def test_apple_silicon_has_no_toolkit1_wheel(matrix):
    checks = judge_host(facts({}, os="darwin", arch="arm64", python_version="3.7.9"), matrix, toolkit="rknn-toolkit==1.7.5")
    assert by_id(checks, "host.wheel")[0].status == FAIL


def test_framework_range_toolkit1_tensorflow_too_new(matrix):
    checks = judge_host(facts({"rknn-toolkit": "1.4.0", "tensorflow": "1.14.0"}, python_version="3.6.9"), matrix)
    tf = by_id(checks, "host.framework.tensorflow")[0]
    # the vendor's framework table only recommends (docs/checks.md severity policy): warn
    assert tf.status == WARN and "1.13.2" in str(tf.expected) and "pip install" in tf.fix.commands[0]
    ok = judge_host(facts({"rknn-toolkit": "1.4.0", "tensorflow": "1.13.2"}, python_version="3.6.9"), matrix)
    assert by_id(ok, "host.framework.tensorflow")[0].status == OK


def test_framework_not_supported_by_old_toolkit(matrix):
    checks = judge_host(facts({"rknn-toolkit": "1.2.0", "torch": "1.2.0"}, python_version="3.6.9"), matrix)
    assert by_id(checks, "host.framework.torch")[0].status == WARN


def test_toolkit2_pins(matrix):
    good = facts({"rknn-toolkit2": "2.3.2", "numpy": "1.26.4", "onnx": "1.16.1", "protobuf": "4.25.4", "torch": "2.4.0"})
    checks = judge_host(good, matrix)
    assert statuses(checks, "host.requirement.numpy") == {OK}
    bad = facts({"rknn-toolkit2": "2.3.2", "numpy": "2.0.0", "protobuf": "3.20.3"})
    checks = judge_host(bad, matrix)
    # numpy 2 is one problem, said once: the pitfall (which names the crash) replaces the pin mismatch
    numpy = [c for c in checks if c.component == "numpy" and c.status in (WARN, FAIL)]
    assert len(numpy) == 1 and numpy[0].id == "pitfall.numpy2-toolkit2" and numpy[0].status == FAIL
    assert "1.26.4" in " ".join(numpy[0].fix.commands)
    older = judge_host(facts({"rknn-toolkit2": "2.3.2", "numpy": "1.19.5", "scipy": "1.0.0"}, python_version="3.8.10"), matrix)
    assert by_id(older, "host.requirement.scipy")[0].status in (WARN, FAIL)  # a plain pin mismatch still shows
    assert by_id(checks, "host.requirement.protobuf")[0].status in (WARN, FAIL)


def test_duplicates_pyfpe_case(matrix):
    dup = [{"name": "numpy", "locations": [{"path": "/usr/lib/python3/dist-packages", "version": "1.13.3"},
                                           {"path": "/home/u/.local/lib/python3.6/site-packages", "version": "1.16.3"}]}]
    checks = judge_host(facts({"numpy": "1.16.3"}, duplicates=dup), matrix)
    check = by_id(checks, "host.duplicate.numpy")[0]
    assert check.status == FAIL and "PyFPE_jbuf" in check.source and "1.13.3" in check.message
    assert statuses(judge_host(facts({"numpy": "1.16.3"}), matrix), "host.duplicates") == {OK}


def test_duplicates_not_scanned_is_unknown(matrix):
    data = facts({})
    del data["host"]["duplicates"]
    assert statuses(judge_host(data, matrix), "host.duplicates") == {UNKNOWN}


def test_install_target_not_writable(matrix):
    checks = judge_host(facts({}, install_target={"path": "/usr/lib/python3/dist-packages", "writable": False}), matrix)
    check = by_id(checks, "host.install-target")[0]
    assert check.status == WARN and any("--user" in c for c in check.fix.commands)
    ok = judge_host(facts({}, install_target={"path": "/venv/lib", "writable": True}), matrix)
    assert by_id(ok, "host.install-target")[0].status == OK


def test_pitfall_numpy_with_toolkit_before_1_0(matrix):
    checks = judge_host(facts({"rknn-toolkit": "0.9.9", "numpy": "1.16.3"}, python_version="3.6.9"), matrix)
    hits = [c for c in checks if c.id.startswith("pitfall.") and "numpy" in c.id]
    assert hits and hits[0].status in (FAIL, WARN)
    clean = judge_host(facts({"rknn-toolkit": "0.9.9", "numpy": "1.16.2"}, python_version="3.6.9"), matrix)
    assert not [c for c in clean if c.id.startswith("pitfall.") and "numpy" in c.id and c.status in (FAIL, WARN)]


def test_pitfall_windows_legacy_stdio(matrix):
    win = facts({"rknn-toolkit": "1.2.0"}, os="windows", arch="AMD64", python_version="3.6.8", env={})
    checks = [c for c in judge_host(win, matrix) if c.id.startswith("pitfall.") and c.status in (FAIL, WARN)]
    assert any("PYTHONLEGACYWINDOWSSTDIO" in (c.message + c.fix.text + " ".join(c.fix.commands)) for c in checks)
    fixed = facts({"rknn-toolkit": "1.2.0"}, os="windows", arch="AMD64", python_version="3.6.8", env={"PYTHONLEGACYWINDOWSSTDIO": "1"})
    assert not any("PYTHONLEGACYWINDOWSSTDIO" in c.message for c in judge_host(fixed, matrix) if c.status in (FAIL, WARN))


def test_pitfall_with_missing_fact_is_unknown_not_ok(matrix):
    data = facts({"rknn-toolkit": "1.2.0"}, os="windows", arch="AMD64", python_version="3.6.8")
    del data["host"]["env"]
    checks = [c for c in judge_host(data, matrix) if c.id.startswith("pitfall.") and "PYTHONLEGACYWINDOWSSTDIO" in str(c.expected)]
    assert checks and all(c.status == UNKNOWN for c in checks)


def test_info_pitfalls_are_not_problems(matrix):
    checks = judge_host(facts({"rknn-toolkit": "1.2.0"}, python_version="3.6.9"), matrix)
    assert all(c.status != FAIL for c in checks if c.id.startswith("pitfall.") and c.status == SKIPPED)


def test_32_bit_python_fails(matrix):
    data = facts({})
    data["host"]["python"]["bits"] = 32
    assert by_id(judge_host(data, matrix), "host.python")[0].status == FAIL


def test_usb_modes_permissions_and_missing_libusb(matrix):
    usb = [{"vid": "2207", "pid": "0006", "accessible": True, "bus": 1, "address": 4},
           {"vid": "2207", "pid": "1808", "accessible": False, "bus": 1, "address": 5}]
    checks = judge_host(facts({}, usb=usb), matrix)
    assert by_id(checks, "host.usb.0006")[0].status == OK
    blocked = by_id(checks, "host.usb.1808")[0]
    assert blocked.status == FAIL and any("udev --install" in c for c in blocked.fix.commands)
    none = judge_host(facts({}, usb=[{"vid": "1d6b", "pid": "0002"}]), matrix)
    assert by_id(none, "host.usb")[0].status == OK
    data = facts({})
    del data["host"]["usb"]
    data["host"]["usb_error"] = "no libusb library found"
    assert by_id(judge_host(data, matrix), "host.usb")[0].status == UNKNOWN


def test_interfering_processes(matrix):
    checks = judge_host(facts({}, processes=["npu_transfer_proxy"], security_software=["360Tray.exe"]), matrix)
    assert by_id(checks, "host.process.npu_transfer_proxy")[0].status == OK
    assert not by_id(checks, "host.process.security")  # a Windows connection rule now (tests/test_connection_rules.py)
    assert not by_id(judge_host(facts({}, processes=["adb"]), matrix), "host.process.")


def test_shadowed_top_level_module(matrix):
    shadow = [{"name": "rknn", "locations": [{"path": "/home/u/src"}, {"path": "/venv/lib/python3.8/site-packages"}]}]
    check = by_id(judge_host(facts({}, top_level_duplicates=shadow), matrix), "host.top-level.rknn")[0]
    assert check.status == WARN and "/home/u/src" in check.message


def test_framework_table_and_requirements_disagree_the_requirements_win(matrix):
    # toolkit2 1.5.2 on Python 3.8: the framework table says ONNX <= 1.10.0, the requirements file installs onnx==1.14.0
    checks = judge_host(facts({"rknn-toolkit2": "1.5.2", "onnx": "1.14.0"}, python_version="3.8.10"), matrix)
    onnx = by_id(checks, "host.framework.onnx")[0]
    assert onnx.status == OK and "requirements file" in onnx.rule
    # toolkit v1 1.7.5: requirements pin tensorflow==1.14.0 inside the table's range: the range stands
    tf = by_id(judge_host(facts({"rknn-toolkit": "1.7.5", "tensorflow": "1.13.2"}, python_version="3.6.9"), matrix), "host.framework.tensorflow")[0]
    assert tf.status == OK and "2.2.0" in str(tf.expected)


def test_unparsable_toolkit_version_gets_the_release_resolve_recommends(matrix):
    """Empty Version in the toolkit's METADATA: unknown, reinstall the release resolve would pick for
    this Python (a published board runtime), never a release without one; no "rknn-toolkit2 's"."""
    from rknn_envcheck.resolver import candidates_for, recommend

    for python in ("3.8", "3.11"):
        checks = judge_host(facts({"rknn-toolkit2": "", "numpy": "1.26.4"}, python_version=f"{python}.10"), matrix)
        toolkit = by_id(checks, "host.toolkit")[0]
        assert toolkit.status == UNKNOWN and "''" in toolkit.message
        resolved = recommend(candidates_for(matrix, python=python, platform="linux_x86_64")[0], matrix)
        argv = toolkit.fix.commands[0].argv
        assert argv[-2:] == ("--force-reinstall", f"rknn-toolkit2=={resolved.version}"), (python, argv, resolved.version)
        assert not any(" 's" in c.message or "  requires" in c.message for c in checks), [c.message for c in checks if " 's" in c.message]


def test_unknown_release_makes_release_dependent_pitfalls_unknown_not_fail(matrix):
    """`--toolkit rknn-toolkit2==9.9`: whether NumPy 2 or setuptools 84 break a release the matrix
    does not list is unknown; for a listed release the same environment fails."""
    host = facts({"numpy": "2.1.3", "setuptools": "84.2.1"}, python_version="3.11.7")
    unknown = judge_host(host, matrix, "rknn-toolkit2==9.9")
    assert statuses(unknown, "pitfall.numpy2-toolkit2") == {UNKNOWN}
    assert "9.9 is not a release in matrix" in by_id(unknown, "pitfall.numpy2-toolkit2")[0].message
    assert not [c.id for c in unknown if c.status == FAIL]
    known = judge_host(host, matrix, "rknn-toolkit2==2.3.2")
    assert statuses(known, "pitfall.numpy2-toolkit2") == {FAIL}
    # a row whose environment condition does not hold stays silent for the unknown release too
    assert not by_id(judge_host(facts({"numpy": "1.26.4"}, python_version="3.11.7"), matrix, "rknn-toolkit2==9.9"), "pitfall.numpy2-toolkit2")
