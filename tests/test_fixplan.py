"""One fix planner: every command that takes a board plans the same release and commands for it,
and every row of one report that installs something shows that one plan (issues 13 and 15)."""
from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from core_helpers import run_cli
from test_model_header import rknn_bytes, v2_meta

PROFILES = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "rknn_envcheck" / "profiles").glob("*.toml"))
# A generic error without versions: explain adds nothing the board's plan must satisfy.
GENERIC_LOG = "T Exception: RKNN init failed. error code: RKNN_ERR_DEVICE_UNAVAILABLE\n"
ISSUE_15_LOG = """\
I RKNN: [10:00:01.123] RKNN Runtime Information, librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)
E RKNN: [10:00:01.124] Invalid RKNN model version 6
E RKNN: [10:00:01.124] rknn_init, load model failed!
"""
# Files whose copy onto a board is an install (what a plan installs).
INSTALLED = ("librknnrt.so", "librknnmrt.so", "librknn_runtime.so", "rknn_server", "galcore.ko", "galcore_puma.ko", "galcore_rk1806.ko")


def _json(capsys, *argv) -> dict:
    code, out, err = run_cli(capsys, *argv, "--json")
    assert code in (0, 1, 3), (argv, code, err)
    return json.loads(out)


def _harmless_model(tmp_path: Path, profile: str) -> str:
    """A model whose needs no board release is below: format 2 (no runtime minimum), built by the
    oldest toolkit. Its rows then judge the board without raising the board's plan."""
    path = tmp_path / f"{profile}.rknn"
    path.write_bytes(rknn_bytes(2, v2_meta("0.6.0", "rk3588"), payload=b"\x01" * 256, header=64))
    return str(path)


def _installs(argv: list[str]) -> bool:
    words = [a.rstrip("/").rsplit("/", 1)[-1] for a in argv]
    return ("push" in argv[:4] or "cp" in argv[:2]) and any(w in INSTALLED for w in words)


def _row_installs(report: dict, subject_prefix: str) -> list[list[str]]:
    rows = []
    for check in report["checks"]:
        if not check["subject"].startswith(subject_prefix) or not check["fix"]:
            continue
        for command in check["fix"]["commands"]:
            if command["argv"] and (_installs(command["argv"]) or command["argv"][:2] in (["git", "clone"], ["git", "-C"])):
                rows.append(command["argv"])
    return rows


def _assert_rows_follow_the_plan(report: dict, subject_prefixes=("device:", "model:", "log:")) -> None:
    """Every install command any row shows is one of the board's planned commands."""
    plans = list(report.get("plans", {}).values())
    assert len(plans) <= 1 or len({p["serial"] for p in plans}) == len(plans)
    planned = [c for p in plans for c in p["commands"]]
    for prefix in subject_prefixes:
        for argv in _row_installs(report, prefix):
            if "-mini" in " ".join(argv) or "linux-aarch64/usr" in argv or any("/drivers/linux-" in a for a in argv):
                continue  # the mini-driver row installs the full driver of the same planned release
            assert argv in planned, (prefix, argv, planned)


@pytest.mark.parametrize("profile", PROFILES)
def test_device_model_and_explain_plan_the_same_fix_for_every_profile(profile, tmp_path, capsys):
    device = _json(capsys, "device", "--emulate", profile)
    model = _json(capsys, "model", _harmless_model(tmp_path, profile), "--emulate", profile)
    log = tmp_path / "run.log"
    log.write_text(GENERIC_LOG)
    explain = _json(capsys, "explain", str(log), "--emulate", profile)
    subject = f"device:emulated:{profile}"
    plans = [report["plans"][subject] for report in (device, model, explain)]
    assert plans[0]["release"], plans[0]  # every shipped profile names a board with a known release
    assert plans[0] == plans[1] == plans[2], profile
    assert plans[0]["commands"] and plans[0]["commands"][0][:2] == ["git", "clone"]
    for report in (device, model, explain):
        _assert_rows_follow_the_plan(report)


@pytest.mark.parametrize("profile", PROFILES)
def test_every_printed_fix_line_of_every_profile_parses(profile, capsys):
    code, out, _ = run_cli(capsys, "device", "--emulate", profile)
    lines = [line.strip()[2:] for line in out.splitlines() if line.strip().startswith("$ ")]
    for line in lines:
        if line.startswith(("rknn.", "import ")):
            continue  # Python statements (built with repr), not shell lines
        assert shlex.split(line), line


def test_one_log_one_release_issue_15(tmp_path, capsys):
    """librknnrt 1.4.0 + `Invalid RKNN model version 6`: every installing row names 1.5.2 and
    shows the same commands, the plan's."""
    log = tmp_path / "issue15.log"
    log.write_text(ISSUE_15_LOG)
    report = _json(capsys, "explain", str(log))
    plan = report["plans"]["device:log"]
    assert plan["release"] == "1.5.2" and any("format 6" in why for why in plan["why"])
    installing = [c for c in report["checks"] if c["fix"] and any(x["argv"][:2] == ["git", "clone"] for x in c["fix"]["commands"])]
    assert len(installing) >= 2, [c["id"] for c in report["checks"]]
    for check in installing:
        assert "1.5.2" in check["fix"]["text"], check["fix"]["text"]
        assert "1.4.0 …" not in check["fix"]["text"]
        clones = [x["argv"] for x in check["fix"]["commands"] if x["argv"][:1] == ["git"]]
        assert clones == [c for c in plan["commands"] if c[:1] == ["git"]], (check["id"], clones)
    _assert_rows_follow_the_plan(report)


def test_an_rk1808_and_an_rk3588_plan_one_release_per_toolkit_line(capsys):
    report = _json(capsys, "device", "--emulate", "rk1808-1.7.5,rk3588-1.5.2-driver-0.8.2", "--toolkit", "rknn-toolkit2==2.3.2")
    v1 = report["plans"]["device:emulated:rk1808-1.7.5"]
    v2 = report["plans"]["device:emulated:rk3588-1.5.2-driver-0.8.2"]
    assert (v1["line"], v1["release"]) == ("rknn-toolkit", "1.7.5")  # the board's own line, not the PC's toolkit2
    assert (v2["line"], v2["release"]) == ("rknn-toolkit2", "2.3.2")  # the PC's toolkit pins it
    assert ["git", "-C", "rknpu", "checkout", "e0cb42b"] in v1["commands"]
    assert ["git", "clone", "--depth", "1", "--branch", "v2.3.2", "https://github.com/airockchip/rknn-toolkit2"] in v2["commands"]
    _assert_rows_follow_the_plan(report)


def test_a_model_that_needs_more_raises_the_plan_for_model_and_board_rows(tmp_path, capsys):
    """The doctor-style report: a format-6 model on a 1.4.0 board makes every row install 2.3.2."""
    from rknn_envcheck.fixplan import plan_for
    from rknn_envcheck.matrix import load_matrix
    from rknn_envcheck.rules.device import judge_device

    matrix = load_matrix()
    board = {"serial": "B1", "state": "device", "transport": "adb", "chip": "RK3588", "os": "linux", "arch": "aarch64",
             "rknn_server": "1.4.0", "librknn_runtime": "1.4.0", "npu_driver": "0.9.6", "npu_driver_kind": "rknpu"}
    model = {"path": "m.rknn", "line": "rknn-toolkit2", "format": 6, "toolkit_version": "2.3.2", "toolkit_version_raw": "2.3.2", "size": 1000}
    facts = {"devices": [board], "models": [model]}
    plan = plan_for(facts, board, None, matrix)
    assert plan.release == "2.3.2" and any("built by toolkit 2.3.2" in w for w in plan.why)
    for check in judge_device(board, None, matrix, facts):
        if check.fix and check.fix.commands:
            clones = [c for c in check.fix.commands if c.argv[:2] == ("git", "clone")]
            assert all("v2.3.2" in c.argv for c in clones), (check.id, clones)
    assert plan_for({"devices": [board]}, board, None, matrix).release == "1.4.0"


def test_local_board_commands_use_sudo_not_adb_and_remote_ones_quote_the_serial():
    from rknn_envcheck.fixplan import plan_board
    from rknn_envcheck.matrix import load_matrix

    matrix = load_matrix()
    base = {"chip": "RV1126", "os": "linux", "arch": "armv7l", "rknn_server": "1.6.0", "librknn_runtime": "1.6.0"}
    local = plan_board(dict(base, serial="local", transport="local"), None, matrix).install_fix().commands
    assert not any(c.argv[0] == "adb" for c in local)
    assert ("sudo", "cp", "-r", "rknpu/drivers/linux-armhf-puma/usr", "/") in [c.argv for c in local]
    remote = plan_board(dict(base, serial="x; touch pwned; #", transport="adb"), None, matrix).install_fix().commands
    for command in remote:
        words = shlex.split(command.display("posix"))
        if words[0] == "adb":
            assert words[1:3] == ["-s", "x; touch pwned; #"], words
