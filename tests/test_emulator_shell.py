"""The emulated board's `sh -c`: the constructs and tools a probe uses, run in-process (no sockets)."""
from __future__ import annotations

import pytest

from rknn_envcheck.emulator.board import BoardState
from rknn_envcheck.emulator.faults import parse_faults
from rknn_envcheck.emulator.profile import load_profile, profile_from_dict
from rknn_envcheck.emulator.shell import parse, ShellSyntaxError


def _profile(extra_files=None, os_name="linux", props=None, python=None):
    data = {
        "meta": {"description": "test board", "source": "tests", "expect": "ok", "expect_status": "ok", "toolkit": "rknn-toolkit2==2.3.2"},
        "board": {"chip": "RK3588", "os": os_name, "arch": "aarch64", "processes": ["/usr/bin/rknn_server", "/usr/bin/adbd"]},
        "kernel": {"release": "5.10.160", "dmesg": ["[    5.726221] [drm] Initialized rknpu 0.9.6 20240322 for fdab0000.npu on minor 1",
                                                    "[    6.000000] usb 1-1: new high-speed USB device"], "modules": ["rknpu"]},
        "files": {"/etc/a.txt": "alpha\nBeta\ngamma\ndelta\n", "/etc/b.txt": "beta two\n",
                  "/usr/lib/librknnrt.so": {"strings": ["librknnrt version: 2.3.2 (429f97ae6b@2025-04-09T09:09:27)", "other text"]},
                  "/proc/device-tree/compatible": "rockchip,rk3588s-orangepi-5\u0000rockchip,rk3588\u0000",
                  "/data/empty": {"dir": True}, **(extra_files or {})},
    }
    if props:
        data["props"] = props
    if python:
        data["python"] = python
    return profile_from_dict(data, "test-board")


@pytest.fixture
def sh():
    state = BoardState(_profile())

    def run(command):
        result = state.execute(command)
        return result.stdout.decode("latin-1"), result.stderr.decode("latin-1"), result.status
    run.state = state
    return run


def test_sequence_and_status_variable(sh):
    assert sh("false; echo $?") == ("1\n", "", 0)
    assert sh("nosuch; echo rc=$?") == ("rc=127\n", "sh: nosuch: not found\n", 0)
    assert sh("true && echo yes || echo no") == ("yes\n", "", 0)
    assert sh("false && echo yes || echo no") == ("no\n", "", 0)
    assert sh("false || false && echo never; echo $?") == ("1\n", "", 0)


def test_adbutils_exit_marker(sh):
    # adbutils' shell2() (v1) appends exactly this; the marker must carry the command's status
    assert sh("grep -q nomatch /etc/a.txt; echo X4EXIT:$?") == ("X4EXIT:1\n", "", 0)


def test_pipes_and_redirections(sh):
    assert sh("cat /etc/a.txt | grep -i beta") == ("Beta\n", "", 0)
    assert sh("cat /nope 2>/dev/null; echo $?") == ("1\n", "", 0)
    assert sh("cat /nope 2>&1 | grep -c 'No such'") == ("1\n", "", 0)
    assert sh("echo hidden >/dev/null; echo shown") == ("shown\n", "", 0)
    assert sh("echo to-err 1>&2") == ("", "to-err\n", 0)
    assert sh("echo kept > /tmp/x; cat /tmp/x; echo more >> /tmp/x; cat /tmp/x") == ("kept\nkept\nmore\n", "", 0)


def test_quotes_and_variables(sh):
    assert sh("echo 'a  b' \"c $? d\" e\\ f") == ("a  b c 0 d e f\n", "", 0)
    assert sh("echo '$?' \"'x'\"") == ("$? 'x'\n", "", 0)
    assert sh("X=1 true; echo ${HOME}") == ("/root\n", "", 0)


def test_glob_against_the_virtual_filesystem(sh):
    assert sh("ls /etc/*.txt") == ("/etc/a.txt\n/etc/b.txt\n", "", 0)
    assert sh("echo /etc/?.txt") == ("/etc/a.txt /etc/b.txt\n", "", 0)
    assert sh("echo /nomatch/*") == ("/nomatch/*\n", "", 0)  # no match: the word stays
    assert sh("echo '/etc/*.txt'") == ("/etc/*.txt\n", "", 0)


def test_strings_prints_the_binary_strings(sh):
    out, _, rc = sh("strings /usr/lib/librknnrt.so | grep -i 'librknnrt version'")
    assert (out, rc) == ("librknnrt version: 2.3.2 (429f97ae6b@2025-04-09T09:09:27)\n", 0)
    assert sh("strings /nope") == ("", "strings: /nope: No such file or directory\n", 1)


def test_grep_options(sh):
    assert sh("grep -E -o '[0-9]+\\.[0-9]+\\.[0-9]+' /usr/lib/librknnrt.so")[0] == "2.3.2\n"
    assert sh("grep -h -i beta /etc/a.txt /etc/b.txt") == ("Beta\nbeta two\n", "", 0)
    assert sh("grep -i beta /etc/a.txt /etc/b.txt") == ("/etc/a.txt:Beta\n/etc/b.txt:beta two\n", "", 0)
    assert sh("grep -c a /etc/a.txt") == ("4\n", "", 0)
    assert sh("grep -v -e alpha -e gamma /etc/a.txt") == ("Beta\ndelta\n", "", 0)
    assert sh("grep -m 1 a /etc/a.txt") == ("alpha\n", "", 0)
    assert sh("grep -s x /nope; echo $?") == ("2\n", "", 0)
    assert sh("grep x /nope") == ("", "grep: /nope: No such file or directory\n", 2)
    assert sh("echo 'a|b' | grep 'a|b'") == ("a|b\n", "", 0)      # BRE: | is literal
    assert sh("echo 'ab' | grep -E 'x|b'") == ("ab\n", "", 0)
    assert sh("printf 'one\\ntwo\\n' | grep two") == ("two\n", "", 0)


def test_dmesg_and_fault(sh):
    assert sh("dmesg | grep -i rknpu") == ("[    5.726221] [drm] Initialized rknpu 0.9.6 20240322 for fdab0000.npu on minor 1\n", "", 0)
    denied = BoardState(_profile(), parse_faults(["dmesg-denied"]))
    result = denied.execute("dmesg")
    assert (result.stdout, result.stderr, result.status) == (b"", b"dmesg: klogctl: Operation not permitted\n", 1)


def test_cat_keeps_nul_bytes(sh):
    assert sh("cat /proc/device-tree/compatible")[0] == "rockchip,rk3588s-orangepi-5\x00rockchip,rk3588\x00"


def test_uname_ls_test_head_tail(sh):
    assert sh("uname -m") == ("aarch64\n", "", 0)
    assert sh("uname -s -r -m") == ("Linux 5.10.160 aarch64\n", "", 0)
    assert sh("uname -a")[0].startswith("Linux rk3588 5.10.160 ")
    assert sh("ls /data/empty; ls -d /data/empty") == ("/data/empty\n", "", 0)
    assert sh("ls -1 /etc") == ("a.txt\nb.txt\n", "", 0)
    assert sh("ls /nope") == ("", "ls: /nope: No such file or directory\n", 1)
    assert "-rwxr-xr-x" in sh("ls -l /usr/lib/librknnrt.so")[0]
    assert sh("test -f /etc/a.txt && [ -d /data/empty ] && [ ! -e /nope ] && test -s /etc/b.txt; echo $?") == ("0\n", "", 0)
    assert sh("[ -x /usr/lib/librknnrt.so ]; echo $?; [ -x /etc/a.txt ]; echo $?") == ("0\n1\n", "", 0)
    assert sh("head -n 2 /etc/a.txt; head -1 /etc/b.txt; tail -n 1 /etc/a.txt") == ("alpha\nBeta\nbeta two\ndelta\n", "", 0)


def test_commands_processes_and_identity(sh):
    assert sh("command -v strings") == ("/bin/strings\n", "", 0)
    assert sh("command -v nosuch; echo $?") == ("1\n", "", 0)
    assert sh("which dmesg") == ("/bin/dmesg\n", "", 0)
    assert sh("pidof rknn_server") == ("100\n", "", 0)
    assert sh("pidof nothing; echo $?") == ("1\n", "", 0)
    assert "/usr/bin/rknn_server" in sh("ps")[0]
    assert sh("id") == ("uid=0(root) gid=0(root) groups=0(root)\n", "", 0)
    assert sh("cat /proc/modules")[0].startswith("rknpu ")
    assert sh("lsmod")[0].splitlines()[1].startswith("rknpu")


def test_exit_sleep_and_unknown(sh):
    assert sh("echo a; exit 3; echo b") == ("a\n", "", 3)
    result = sh.state.execute("echo a; sleep 0.25; echo b")
    assert result.events == [("out", b"a\n"), ("sleep", 0.25), ("out", b"b\n")]
    assert sh("getprop ro.x") == ("", "sh: getprop: not found\n", 127)  # Linux boards have no getprop
    assert sh("sh -c 'echo nested; false'; echo $?") == ("nested\n1\n", "", 0)


def test_getprop_and_python_when_the_profile_has_them():
    state = BoardState(_profile(os_name="android", props={"ro.product.model": "rk3568_r", "ro.build.version.sdk": "30"}))
    run = lambda c: state.execute(c).stdout.decode()
    assert run("getprop ro.product.model") == "rk3568_r\n"
    assert run("getprop ro.missing") == "\n"
    assert "[ro.build.version.sdk]: [30]" in run("getprop")
    assert run("python3 --version") == ""  # no python in the profile
    state = BoardState(_profile(python={"version": "3.10.12", "packages": {"numpy": "1.26.4"}}))
    assert run("python3 --version") == "Python 3.10.12\n"
    assert run("grep -h '^Version:' /usr/local/lib/python3*/dist-packages/numpy-*.dist-info/METADATA") == "Version: 1.26.4\n"


def test_missing_binary_fault():
    state = BoardState(load_profile("rk1808-1.7.5"), parse_faults(["missing-binary"]))
    result = state.execute("strings /usr/bin/rknn_server | grep build")
    assert (result.stderr, result.status) == (b"sh: strings: not found\n", 1)  # grep on empty input: 1
    assert state.execute("strings /usr/bin/rknn_server").status == 127
    state = BoardState(load_profile("rk1808-1.7.5"), parse_faults(["missing-binary=/usr/bin/rknn_server"]))
    assert state.execute("/usr/bin/rknn_server").status == 127
    assert state.execute("test -e /usr/bin/rknn_server").status == 1


@pytest.mark.parametrize("script", ["echo $(uname)", "echo `uname`", "if true; then echo; fi", "echo a &&", "| grep x", "echo 'open"])
def test_unsupported_or_broken_syntax_is_an_error_not_a_guess(script):
    with pytest.raises(ShellSyntaxError):
        parse(script)
    state = BoardState(_profile())
    assert state.execute(script).status == 2
