"""Hostile values in fix commands (issue 14 item 1): a serial, a venv path, a dist-info name, a
--root, a chip name — each comes out as one quoted argument in text, markdown and JSON, and a
Python snippet keeps it one string (repr). The printed line is parsed back with shlex.split."""
from __future__ import annotations

import ast
import json
import shlex

import pytest

from core_helpers import device, facts, run_cli, write_facts

SERIAL = "x; touch pwned; #"
VENV_PYTHON = "/home/u/my venv/bin/python"
DIST_INFO = "/home/u/venv/lib/python3.10/site-packages/evil';touch $HOME$(echo)pwned;'-1.0.dist-info"
CHIP = "rk3588'); __import__('os').system('touch pwned'); ('"


def _printed_lines(out: str, markdown: bool = False) -> list[str]:
    if markdown:
        return [line.strip() for line in out.splitlines() if line.startswith("    ") and not line.strip().startswith(("|", "#"))]
    return [line.strip()[2:] for line in out.splitlines() if line.strip().startswith("$ ")]


def _hostile_facts(tmp_path):
    board = device(serial=SERIAL, chip="RK3588", rknn_server="1.5.0", librknn_runtime="2.3.2", npu_driver="0.9.6", npu_driver_kind="rknpu")
    data = facts(packages={"rknn-toolkit2": "2.3.2", "numpy": "2.1.0"}, devices=[board])
    data["host"]["python"]["executable"] = VENV_PYTHON
    data["host"]["broken_metadata"] = [{"path": DIST_INFO, "problem": "no METADATA"}]
    return str(write_facts(tmp_path, data))


def _check_words(words: list[str]) -> None:
    # unquoted, a hostile value would split into words of their own (`touch`, `pwned;`, `#`)
    assert not {"touch", "pwned", "pwned;", "#", "venv/bin/python"} & set(words), words


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_hostile_facts_print_single_quoted_arguments(tmp_path, capsys, fmt):
    path = _hostile_facts(tmp_path)
    _code, out, _err = run_cli(capsys, "check", "--facts", path, *(["--format", "markdown"] if fmt == "markdown" else []))
    lines = _printed_lines(out, markdown=fmt == "markdown")
    seen = {"serial": False, "venv": False, "dist": False}
    for line in lines:
        words = shlex.split(line, comments=True)  # a note is printed as a shell comment
        _check_words(words)
        seen["serial"] |= SERIAL in words
        seen["venv"] |= VENV_PYTHON in words
        seen["dist"] |= DIST_INFO in words
    assert all(seen.values()), (seen, lines)


def test_hostile_facts_json_keeps_argv_and_a_display_that_parses_back(tmp_path, capsys):
    path = _hostile_facts(tmp_path)
    _code, out, _err = run_cli(capsys, "check", "--facts", path, "--json")
    report = json.loads(out)
    commands = [c for check in report["checks"] if check["fix"] for c in check["fix"]["commands"]]
    assert commands
    for command in commands:
        assert command["argv"], command
        if command["shell"] != "python":
            assert shlex.split(command["display"]) == command["argv"], command
    argvs = [c["argv"] for c in commands]
    assert any(a[:3] == ["adb", "-s", SERIAL] for a in argvs)
    assert any(a[:1] == [VENV_PYTHON] for a in argvs)
    assert ["rm", "-r", DIST_INFO] in argvs


def test_adb_shell_board_commands_are_quoted_twice(tmp_path, capsys):
    path = _hostile_facts(tmp_path)
    _code, out, _err = run_cli(capsys, "check", "--facts", path, "--json")
    report = json.loads(out)
    for check in report["checks"]:
        for command in (check["fix"] or {}).get("commands", []):
            argv = command["argv"]
            if argv[:3] == ["adb", "-s", SERIAL] and argv[3] == "shell":
                assert len(argv) == 5 and shlex.split(argv[4]), argv  # one argument, a line the board's sh parses


def test_a_udev_root_with_a_space_is_one_argument(tmp_path, capsys):
    root = tmp_path / "a root; touch pwned"
    (root / "etc/udev/rules.d").mkdir(parents=True)
    _code, out, _err = run_cli(capsys, "udev", "--root", str(root), "--json")
    commands = [c for check in json.loads(out)["checks"] if check["fix"] for c in check["fix"]["commands"]]
    installs = [c for c in commands if "--install" in c["argv"]]
    assert installs
    for command in installs:
        words = shlex.split(command["display"])
        assert words[-2:] == ["--root", str(root)] and "touch" not in words


def _snippet_target(snippet: str):
    call = ast.parse(snippet, mode="eval").body
    assert isinstance(call, ast.Call) and ast.unparse(call.func) == "rknn.config", snippet
    (keyword,) = call.keywords
    return ast.literal_eval(keyword.value)


def test_a_chip_name_in_a_python_snippet_stays_one_string():
    from rknn_envcheck.explain.diagnose import cross_checks
    from rknn_envcheck.model.header import LINE_V2, ModelInfo
    from rknn_envcheck.rules.model import _re_export_fix

    fix = _re_export_fix(ModelInfo(path="m.rknn", size=1, line=LINE_V2), CHIP, LINE_V2)
    (command,) = fix.commands
    assert command.shell == "python" and _snippet_target(command.display()) == CHIP.lower()
    checks = cross_checks({"log": {"model_chip": "RK3576"}, "devices": [{"serial": "log", "chip": CHIP}]}, {}, "log:x")
    (row,) = [c for c in checks if c.id == "log.model_chip_vs_board"]
    assert _snippet_target(row.fix.commands[0].display()) == CHIP.lower()


def test_a_control_character_withholds_the_command(tmp_path, capsys):
    board = device(serial="evil\x1b]52;c;cm0gLXJmIH4=\x07", chip="RK3588", rknn_server="1.5.0", librknn_runtime="2.3.2")
    path = str(write_facts(tmp_path, facts(packages={"rknn-toolkit2": "2.3.2"}, devices=[board])))
    _code, out, _err = run_cli(capsys, "check", "--facts", path)
    assert "\x1b" not in out and "command not shown" in out


def test_the_shipped_messages_write_commands_as_argv_arrays():
    """messages*.toml: `commands = [["adb", "push", …], …]` and a cause's `check = [...]`; a string
    would be split by the loader's fallback, so the data says exactly what runs."""
    import tomllib
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parent.parent / "matrices").glob("messages*.toml"))
    assert files
    for path in files:
        for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("message") or []:
            for command in entry.get("commands") or []:
                assert isinstance(command, list) and command and all(isinstance(a, str) for a in command), (path.name, entry["id"], command)
            for cause in entry.get("causes") or []:
                if "check" in cause:
                    assert isinstance(cause["check"], list) and cause["check"], (path.name, entry["id"], cause)


def test_the_loader_turns_data_commands_into_commands():
    from rknn_envcheck.shellcmd import from_data

    assert from_data(["adb", "push", "librknnrt.so", "/usr/lib/"]).argv == ("adb", "push", "librknnrt.so", "/usr/lib/")
    assert from_data({"argv": ["rknn.config(target_platform='rk3588')"], "shell": "python"}).shell == "python"
    assert from_data("adb shell 'cat /proc/device-tree/compatible'").argv == ("adb", "shell", "cat /proc/device-tree/compatible")
    assert from_data("ps -ef | grep npu_transfer_proxy").argv == ("sh", "-c", "ps -ef | grep npu_transfer_proxy")
