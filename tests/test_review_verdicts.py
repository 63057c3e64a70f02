"""Verdicts a hostile review found wrong, each through the CLI: `check --facts` with a facts file
(the shipped example with one field changed) or `device --id` against emulated boards served on
the real adb server. The mechanism is tested, not the named case: every emitted check of every
example and profile, every pip pin of every fix, every `resolve` command a dead end suggests."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from core_helpers import run_cli
from rknn_envcheck.emulator.profile import load_profile, shipped_profiles

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
EXAMPLE = ROOT / "examples" / "facts-rk3588-mismatch.json"


def _example() -> dict:
    return json.loads(EXAMPLE.read_text())


def _variant(tmp_path, name, change) -> Path:
    data = _example()
    change(data)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


def _set_python(version):
    def change(data):
        data["host"]["python"]["version"] = version
    return change


def _beta(data):
    data["host"]["rknn"]["version"] = "2.3.2 beta"
    data["host"]["packages"]["rknn-toolkit2"] = "2.3.2 beta"


# The hostile variants of the example: each field the review changed (and the same kinds of values).
VARIANTS = {
    "python-3.x": _set_python("3.x"),
    "python-null": _set_python(None),
    "python-3": _set_python("3"),
    "toolkit-beta": _beta,
    "judged-for-unlisted": lambda d: d.__setitem__("judged_for", "rknn-toolkit2==99"),
    "server-garbage": lambda d: d["devices"][0].__setitem__("rknn_server", "1.5.2 (garbage"),
    "runtime-garbage": lambda d: d["devices"][0].__setitem__("librknn_runtime", "v?.?"),
    "driver-garbage": lambda d: d["devices"][0].__setitem__("npu_driver", "0.9.x"),
    "chip-unknown": lambda d: d["devices"][0].__setitem__("chip", "RK9999"),
    "chip-missing": lambda d: d["devices"][0].pop("chip"),
    "no-how": lambda d: d["devices"][0].__setitem__("how", {}),
}


def _report(capsys, *argv):
    code, out, err = run_cli(capsys, *argv, "--json")
    assert "Traceback" not in err, err
    return code, json.loads(out)


def _check_json(capsys, path, *extra):
    return _report(capsys, "check", "--facts", str(path), *extra)


# ---------------------------------------------------------------- 1. matrix view

def test_matrix_view_shows_a_toolkit_version_it_cannot_parse_as_not_understood(capsys, tmp_path):
    path = _variant(tmp_path, "beta", _beta)
    code, out, err = run_cli(capsys, "matrix", "--facts", str(path))
    assert code == 0 and "Traceback" not in err, err
    yours = [line for line in out.splitlines() if "yours: toolkit" in line]
    assert yours and "2.3.2 beta" in yours[0] and "not a version this tool understands" in yours[0]
    code, _out, _err = run_cli(capsys, "check", "--facts", str(path))  # the same file judged: no crash either
    assert code in (0, 1, 3)


# ---------------------------------------------------------------- 2. Python version not a version

@pytest.mark.parametrize("version", ["3.x", None, "3", "three"])
def test_python_rows_are_unknown_with_the_command_that_reads_it(capsys, tmp_path, version):
    code, report = _check_json(capsys, _variant(tmp_path, "py", _set_python(version)))
    checks = report["checks"]
    assert not [c for c in checks if c["status"] == "crashed"], [c["message"] for c in checks if c["status"] == "crashed"]
    python = next(c for c in checks if c["id"] == "host.python")
    assert python["status"] == "unknown"
    argvs = [cmd["argv"] for cmd in python["fix"]["commands"]]
    assert ["/tmp/rknn-venv/bin/python", "--version"] in argvs
    wheel = next(c for c in checks if c["id"] == "host.wheel")
    assert wheel["status"] == "unknown" and wheel["fix"]["commands"]
    text = json.dumps([c["fix"] for c in checks if c["fix"]])
    assert "python3.x" not in text.lower() and "Python 3.x" not in text  # no advice built from a made-up version
    for check in checks:  # nothing judged on the Python is ok or a wheel verdict
        if check["id"].startswith("host.framework.onnx"):
            assert check["status"] == "unknown", check


# ---------------------------------------------------------------- 3. one severity for one fact

@pytest.fixture
def rk3588_152(served_board):
    return served_board("rk3588-1.5.2-driver-0.8.2")


def _board_rows(report, serial):
    return {c["id"]: c for c in report["checks"] if c["subject"] == f"device:{serial}"}


def test_a_toolkit_release_not_in_the_matrix_is_never_ok_on_the_board(capsys, rk3588_152):
    code, report = _report(capsys, "device", "--id", rk3588_152.serial, "--toolkit", "rknn-toolkit2==2.6.0")
    rows = _board_rows(report, rk3588_152.serial)
    for check_id in ("device.rknn_server", "device.runtime"):
        row = rows[check_id]
        assert row["status"] == "unknown", row
        assert "2.6.0 is not a release in matrix" in row["message"]
        assert row["fix"]["commands"] and "init_runtime" in row["fix"]["commands"][0]["display"]
    assert code != 0


def test_judged_for_an_unlisted_release_in_facts_gives_the_same_unknowns(capsys, tmp_path):
    code, report = _check_json(capsys, _variant(tmp_path, "j99", lambda d: d.__setitem__("judged_for", "rknn-toolkit2==99")))
    statuses = {c["id"]: c["status"] for c in report["checks"] if c["subject"].startswith("device:")}
    assert statuses["device.rknn_server"] == statuses["device.runtime"] == "unknown", statuses


def test_server_and_runtime_of_one_release_get_one_severity(capsys, rk3588_152):
    code, report = _report(capsys, "device", "--id", rk3588_152.serial, "--toolkit", "rknn-toolkit2==2.3.2")
    rows = _board_rows(report, rk3588_152.serial)
    assert rows["device.rknn_server"]["status"] == rows["device.runtime"]["status"] == "warn"


def test_without_the_toolkit2_matrix_nothing_claims_the_toolkit_refuses(capsys, tmp_path):
    matrix = tmp_path / "matrix"
    shutil.copytree(ROOT / "matrices", matrix)
    (matrix / "toolkit2.toml").unlink()
    code, report = _check_json(capsys, EXAMPLE, "--matrix", str(matrix))
    server = next(c for c in report["checks"] if c["id"] == "device.rknn_server")
    assert server["status"] == "unknown" and "refuses" not in server["message"], server


@pytest.mark.parametrize("server, status", [("1.2.0", "fail"), ("1.0.0", "fail"), ("1.2.1", "warn"), ("2.3.2", "ok")])
def test_the_hard_refusal_is_only_where_the_toolkit_binary_refuses(capsys, tmp_path, server, status):
    def change(data):
        data["devices"][0]["rknn_server"] = data["devices"][0]["librknn_runtime"] = server
        data["devices"][0]["raw"] = {}
    code, report = _check_json(capsys, _variant(tmp_path, "srv", change), "--toolkit", "rknn-toolkit2==2.3.2")
    row = next(c for c in report["checks"] if c["id"] == "device.rknn_server")
    assert row["status"] == status, row


# ---------------------------------------------------------------- 4. satisfiable pins, no merged ranges

def _satisfiable(spec) -> bool:
    """Independent of the tool: try every bound of the specifier and a point just above it."""
    candidates = [Version("0")]
    for item in spec:
        base = Version(item.version.rstrip(".*"))
        candidates += [base, Version(f"{base.base_version}.0.0.1")]
        if len(base.release) > 1:
            candidates.append(Version(".".join(map(str, base.release[:-1])) + ".0"))
    return any(spec.contains(v, prereleases=True) for v in candidates)


def _pip_pins(report):
    for check in report["checks"]:
        for command in (check.get("fix") or {}).get("commands") or []:
            argv = command.get("argv") or []
            if "install" in argv and "pip" in " ".join(argv):
                for arg in argv[argv.index("install") + 1:]:
                    if not arg.startswith(("-", ".", "/")) and any(op in arg for op in "<>=!~"):
                        yield check["id"], Requirement(arg)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_every_pip_pin_a_fix_suggests_is_satisfiable(capsys, tmp_path, name):
    _code, report = _check_json(capsys, _variant(tmp_path, name, VARIANTS[name]))
    bad = [(check_id, str(req)) for check_id, req in _pip_pins(report) if not _satisfiable(req.specifier)]
    assert not bad, bad


def test_python_unknown_keeps_per_python_ranges_apart(capsys, tmp_path):
    _code, report = _check_json(capsys, _variant(tmp_path, "pynull", _set_python(None)))
    onnx = next(c for c in report["checks"] if c["id"] == "host.framework.onnx")
    assert onnx["status"] == "unknown" and "Python 3.8:" in onnx["expected"] and "Python 3.6:" in onnx["expected"]
    assert "outside the range" not in onnx["message"]


# ---------------------------------------------------------------- 5. every row says how, what, per which source, and the fix

def _incomplete(report) -> list:
    out = []
    for check in report["checks"]:
        if check["status"] in ("ok", "skipped"):
            continue
        missing = [k for k in ("how", "expected", "source") if not check.get(k)]
        fix = check.get("fix") or {}
        if check["status"] in ("fail", "warn", "unknown") and not (fix.get("text") and (fix.get("commands") or len(fix["text"]) > 20)):
            missing.append("fix")
        if missing:
            out.append((check["id"], check["status"], missing, check["message"][:80]))
    return out


@pytest.mark.parametrize("name", [p.name for p in EXAMPLES] + sorted(VARIANTS))
def test_every_check_of_the_example_facts_is_complete(capsys, tmp_path, name):
    path = ROOT / "examples" / name if name.endswith(".json") else _variant(tmp_path, name, VARIANTS[name])
    _code, report = _check_json(capsys, path)
    assert not _incomplete(report), _incomplete(report)


@pytest.mark.parametrize("name", shipped_profiles())
def test_every_check_of_every_emulated_board_is_complete(capsys, served_board, name):
    board = served_board(name)
    meta = load_profile(name).meta
    _code, report = _report(capsys, "device", "--id", board.serial, *(["--toolkit", meta["toolkit"]] if meta.get("toolkit") else []))
    assert not _incomplete(report), _incomplete(report)


def test_a_serial_adb_does_not_list_is_cited(capsys, served_board):
    served_board("rk3588-2.3.2")
    _code, report = _report(capsys, "device", "--id", "127.0.0.1:1", "--toolkit", "rknn-toolkit2==2.3.2")
    row = next(c for c in report["checks"] if c["id"] == "connection.board")
    assert row["source"] and row["expected"] and row["fix"]["commands"]


# ---------------------------------------------------------------- 6. no dead-end advice

@pytest.mark.parametrize("inputs", [
    ["--chip", "RK3588", "--python", "3.13"],
    ["--chip", "RV1126", "--python", "3.11"],
    ["--chip", "RK3588", "--runtime", "1.5.2", "--python", "3.11"],
    ["--chip", "RV1126", "--runtime", "1.6.0", "--python", "3.11"],
    ["--toolkit", "rknn-toolkit2==1.5.2", "--python", "3.12"],
])
def test_a_dead_end_names_a_way_out_that_resolves(capsys, inputs):
    args = ["resolve", *inputs, "--platform", "linux_x86_64"]
    code, out, _err = run_cli(capsys, *args, "--json")
    data = json.loads(out)
    assert code == 1 and data["recommended"] is None
    assert data["ways_out"], data
    for way in data["ways_out"]:
        argv = way["command"].split()
        assert argv[:2] == ["rknn-envcheck", "resolve"]
        code, out, _err = run_cli(capsys, *argv[1:], "--json")
        assert code == 0 and json.loads(out)["recommended"], way


def test_no_toolkit_installed_suggests_a_resolve_that_answers_for_an_attached_chip_only(capsys, tmp_path):
    def no_toolkit_313(data, devices=True):
        data["host"]["python"]["version"] = "3.13.1"
        data["host"]["packages"].pop("rknn-toolkit2")
        data["host"].pop("rknn")
        if not devices:
            data["devices"] = []
    for devices in (True, False):
        path = _variant(tmp_path, f"nt{devices}", lambda d: no_toolkit_313(d, devices))
        _code, report = _check_json(capsys, path)
        row = next(c for c in report["checks"] if c["id"] == "host.toolkit")
        resolves = [c["argv"] for c in row["fix"]["commands"] if c["argv"][:2] == ["rknn-envcheck", "resolve"]]
        assert resolves, row["fix"]
        for argv in resolves:
            assert ("--chip" in argv) == devices, argv  # the attached board's chip, never an invented one
            code, out, _err = run_cli(capsys, *argv[1:], "--json")
            assert code == 0 and json.loads(out)["recommended"], argv


def test_resolve_text_lists_a_release_once_and_no_empty_versions(capsys):
    _code, out, _err = run_cli(capsys, "resolve", "--python", "3.11", "--platform", "linux_x86_64")
    not_recommended = [line.split(": ")[1] for line in out.splitlines() if line.startswith("Not recommended: ")]
    also = next(line for line in out.splitlines() if line.startswith("Also fit: "))
    assert not_recommended and not any(name in also for name in not_recommended)
    assert not [line for line in out.splitlines() if ":  " in line], out


# ---------------------------------------------------------------- 7. one serial, one board

def test_facts_with_a_repeated_serial_are_refused(capsys, tmp_path):
    def three(data):
        data["devices"] = [copy.deepcopy(data["devices"][0]) for _ in range(3)]
    code, out, err = run_cli(capsys, "check", "--facts", str(_variant(tmp_path, "three", three)))
    assert code == 2 and "Traceback" not in err
    assert "9a3c2f1e0b7d4c55" in err and "devices[1].serial" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- 8. many boards: linear

def test_grouping_a_report_by_subject_is_linear():
    from rknn_envcheck.render.common import grouped
    from rknn_envcheck.report import Check, Report

    reads = 0

    class Counted(Check):
        def __getattribute__(self, name):
            nonlocal reads
            if name == "subject":
                reads += 1
            return object.__getattribute__(self, name)

    boards = 400
    report = Report(command="t")
    for i in range(boards):
        report.subjects[f"device:{i}"] = f"Board {i}"
        report.checks += [Counted(f"c{j}", "t", "ok", subject=f"device:{i}") for j in range(3)]
    groups = grouped(report)
    assert len(groups) == boards and all(len(g[2]) == 3 for g in groups)
    assert reads <= 3 * len(report.checks), f"{reads} reads of check.subject for {len(report.checks)} checks"
