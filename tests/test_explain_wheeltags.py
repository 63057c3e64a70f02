"""`explain` on a refused wheel: the wheel's tags against the Python the log (or the facts) shows.

The wheel names are real vendor file names (rockchip-linux/rknn-toolkit#364, #145,
rockchip-linux/rknn-toolkit2#197, airockchip/rknn-toolkit2#191); the fitting file comes from the
matrix's [[wheel]] rows, not from the test.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rknn_envcheck.explain.wheeltags import explain_wheel, fitting_wheel, parse_wheel_name
from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.rules.toolkit import wheel_rows


@pytest.mark.parametrize("name, pythons, platforms, dist, version", [
    ("rknn_toolkit2-1.4.0_22dcfef4-cp36-cp36m-linux_x86_64.whl", ["3.6"], ["linux_x86_64"], "rknn_toolkit2", "1.4.0_22dcfef4"),
    ("rknn_toolkit2-2.2.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", ["3.10"],
     ["manylinux_2_17_x86_64", "manylinux2014_x86_64"], "rknn_toolkit2", "2.2.0"),
    ("rknn_toolkit-1.7.0-cp37-cp37m-macosx_10_15_x86_64.whl", ["3.7"], ["macosx_10_15_x86_64"], "rknn_toolkit", "1.7.0"),
    ("packages/rknn_toolkit2-1.6.0+81f21f4d-cp39-cp39-linux_x86_64.whl", ["3.9"], ["linux_x86_64"], "rknn_toolkit2", "1.6.0+81f21f4d"),
])
def test_vendor_wheel_names_parse(name, pythons, platforms, dist, version):
    wheel = parse_wheel_name(name)
    assert (wheel.distribution, wheel.version, wheel.pythons, wheel.platforms) == (dist, version, pythons, platforms)


def test_platform_tags_give_os_arch_and_macos_minimum():
    mac = parse_wheel_name("rknn_toolkit-1.7.0-cp37-cp37m-macosx_10_15_x86_64.whl")
    assert mac.systems == [("darwin", "x86_64", "10.15")]
    many = parse_wheel_name("rknn_toolkit_lite2-2.3.2-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl")
    assert {s[:2] for s in many.systems} == {("linux", "aarch64")}
    assert parse_wheel_name("not-a-wheel.tar.gz") is None


def test_python_mismatch_names_the_wheel_of_the_same_release_from_the_matrix():
    matrix = load_matrix()
    facts = {"log": {"python_version": "3.10", "how": {"python_version": "log line 1"}}, "host": {}}
    answer = explain_wheel("rknn_toolkit2-1.5.0+1fa95b5c-cp38-cp38-linux_x86_64.whl", facts, matrix)
    assert "built for Python 3.8" in answer["message"] and "3.10 (log line 1)" in answer["message"]
    rows = wheel_rows(matrix, "rknn-toolkit2", "1.5.0")
    if any("3.10" in r["python"] for r in rows):
        assert answer["commands"][0].argv == ("python3.10", "-m", "pip", "install", "./rknn_toolkit2-1.5.0+1fa95b5c-cp310-cp310-linux_x86_64.whl")
    else:  # the matrix says the release has no cp310 wheel: the answer must say so, not invent one
        assert "has no wheel for Python 3.10" in answer["fix"]


def test_no_fitting_wheel_lists_what_the_release_has():
    matrix = load_matrix()
    rows = wheel_rows(matrix, "rknn-toolkit", "1.7.3")
    assert rows, "the matrix knows rknn-toolkit 1.7.3 wheels"
    missing = next(p for p in ("3.13", "3.12", "3.11") if all(p not in r["python"] for r in rows))
    fit, why = fitting_wheel(parse_wheel_name("rknn_toolkit-1.7.3-cp38-cp38-linux_x86_64.whl"), missing, "linux", "x86_64", matrix)
    assert fit is None and f"no wheel for Python {missing}" in why and "3.8" in why


def test_arm_board_is_told_the_x86_wheel_does_not_fit():
    facts = {"log": {"python_version": "3.10"}, "host": {"os": "linux", "arch": "aarch64"}}
    answer = explain_wheel("rknn_toolkit2-2.2.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", facts, load_matrix())
    assert "x86_64 CPUs, this host is aarch64" in answer["message"]


def test_old_macos_is_named():
    facts = {"log": {"python_version": "3.7", "macos_version": "10.14.6"}, "host": {"os": "darwin", "arch": "x86_64"}}
    answer = explain_wheel("rknn_toolkit-1.7.0-cp37-cp37m-macosx_10_15_x86_64.whl", facts, None)
    assert "needs macOS ≥ 10.15, this Mac runs 10.14.6" in answer["message"]


def test_without_any_python_the_answer_says_how_to_find_it():
    answer = explain_wheel("rknn_toolkit-1.7.3-cp38-cp38-linux_x86_64.whl", {"log": {}, "host": {}}, load_matrix())
    assert "does not show which Python" in answer["message"]
    assert ("python3", "--version") in [c.argv for c in answer["commands"]]


def test_explain_end_to_end_uses_the_python_line_of_the_log(tmp_path):
    log = tmp_path / "pip.log"
    # the lines of rockchip-linux/rknn-toolkit2#197, with the wheel of another Python
    log.write_text("I have Python 3.10.12 on Ubuntu 22.04\n"
                   "ERROR: rknn_toolkit2-1.5.0+1fa95b5c-cp38-cp38-linux_x86_64.whl is not a supported wheel on this platform.\n")
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", "explain", str(log), "--json"], capture_output=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    check = next(c for c in report["checks"] if c["id"] == "log.pip_unsupported_wheel")
    assert check["status"] == "fail"
    assert "built for Python 3.8, the Python here is 3.10 (log line 1)" in check["message"]
    assert check["expected"].startswith("a wheel tagged cp310-cp310")
    assert check["how"] == "log line 2"


def test_facts_python_is_used_when_the_log_has_none(tmp_path):
    log = tmp_path / "pip.log"
    log.write_text("ERROR: rknn_toolkit-1.7.3-cp38-cp38-linux_x86_64.whl is not a supported wheel on this platform.\n")
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"schema": "rknn-envcheck/facts/1", "host": {"os": "linux", "arch": "x86_64",
                                 "python": {"version": "3.6.9"}}, "devices": []}))
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", "explain", str(log), "--facts", str(facts), "--json"],
                          capture_output=True, timeout=60)
    report = json.loads(proc.stdout)
    check = next(c for c in report["checks"] if c["id"] == "log.pip_unsupported_wheel")
    assert "the Python here is 3.6 (observed host)" in check["message"]
