"""Fix commands are argument lists: whatever a value holds, the printed line parses back to the
same argv in the shell it is printed for, and nothing in it runs."""
import shlex

import pytest

from rknn_envcheck.report import Check, Fix, Report
from rknn_envcheck.shellcmd import Command, adb_shell, cmd, posix_join

HOSTILE = ["x; touch pwned; #", "/home/a b/venv", "evil';touch $HOME$(echo)pwned;'-1.0.dist-info", "$(id)", "`id`", "a\"b", "", "-rf", "~/x'y"]


@pytest.mark.parametrize("value", HOSTILE)
def test_posix_display_parses_back_to_the_argv(value):
    command = cmd("rm", "-r", value)
    parsed = shlex.split(command.display("posix"))
    expected = ["rm", "-r", value]
    if value.startswith("~/"):
        expected[-1] = value  # ~/ stays home-relative: shlex keeps the word as written
    assert parsed == expected


@pytest.mark.parametrize("value", HOSTILE)
def test_adb_shell_is_quoted_for_both_shells(value):
    serial = value or "SERIAL"
    command = adb_shell(serial, ["cat", value])
    local = shlex.split(command.display("posix"))
    assert local[:4] == ["adb", "-s", serial, "shell"] and len(local) == 5
    assert shlex.split(local[4]) == ["cat", value]


def test_powershell_quotes_single_quotes_and_calls_quoted_programs():
    command = cmd("C:\\Program Files\\py.exe", "-m", "pip", "it's")
    assert command.display("powershell") == "& 'C:\\Program Files\\py.exe' -m pip 'it''s'"


def test_control_characters_make_a_command_unsafe_and_it_is_withheld():
    from rknn_envcheck.render import render

    report = Report(command="t")
    report.add(Check("x", "X", "fail", fix=Fix("do it", [cmd("adb", "-s", "a\x1b]52;c;aGk=\x07", "reboot")])))
    text = render(report, "text")
    assert "\x1b" not in text and "command not shown" in text
    data = report.to_dict()["checks"][0]["fix"]["commands"][0]
    assert data["argv"][2] == "a\x1b]52;c;aGk=\x07" and data["unsafe"]


def test_a_command_is_never_built_from_a_string():
    with pytest.raises(TypeError):
        Command("rm -rf /")


def test_json_keeps_argv_beside_the_display_string_for_the_facts_host_shell():
    report = Report(command="t", facts={"host": {"os": "windows"}})
    report.add(Check("x", "X", "fail", fix=Fix("do it", [cmd("pip", "install", "numpy<2")])))
    data = report.to_dict()
    assert data["host_shell"] == "powershell"
    assert data["checks"][0]["fix"]["commands"][0] == {"argv": ["pip", "install", "numpy<2"], "shell": "powershell", "display": "pip install 'numpy<2'"}
    assert posix_join(["pip", "install", "numpy<2"]) == "pip install 'numpy<2'"
