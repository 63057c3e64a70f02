"""In-process EmulatedBoard: the BoardSession from a profile, with the same faults as over ADB."""
from __future__ import annotations

import time

import pytest

from rknn_envcheck.boards.base import BoardError, ShellResult
from rknn_envcheck.emulator.board import EmulatedBoard
from rknn_envcheck.emulator.faults import parse_faults
from rknn_envcheck.errors import UsageError

CMD = "strings /usr/bin/rknn_server | grep build"


def board(fault=None, profile="rk1808-1.7.5"):
    return EmulatedBoard(profile, parse_faults([fault] if fault else []))


def test_healthy_board_answers_and_counts():
    b = board()
    assert (b.serial, b.transport) == ("emulated:rk1808-1.7.5", "emulated")
    assert b.shell(CMD, 2) == ShellResult("1.7.5 (bb79b30 build: 2023-07-18 10:49:14)\n.note.gnu.build-id\n", "", 0)
    assert b.shell("nosuch", 2) == ShellResult("", "sh: nosuch: not found\n", 127)
    assert (b.stats.round_trips, b.stats.shell_commands, b.stats.simple_commands) == (2, 2, 3)


@pytest.mark.parametrize("fault,kind", [("unauthorized", "unauthorized"), ("offline", "offline"), ("drop", "disconnected")])
def test_connection_faults_raise_their_kind(fault, kind):
    with pytest.raises(BoardError) as err:
        board(fault).shell(CMD, 2)
    assert err.value.kind == kind


def test_hang_times_out_after_the_given_timeout():
    b = board("hang")
    started = time.monotonic()
    with pytest.raises(BoardError) as err:
        b.shell(CMD, 0.2)
    assert err.value.kind == "timeout" and 0.2 <= time.monotonic() - started < 0.6
    assert b.stats.round_trips == 1 and b.stats.shell_commands == 0


def test_slow_delays_and_can_time_out():
    b = board("slow=150")
    started = time.monotonic()
    assert b.shell("echo hi", 2).stdout == "hi\n"
    assert 0.15 <= time.monotonic() - started < 0.5
    with pytest.raises(BoardError) as err:
        b.shell("echo hi", 0.1)
    assert err.value.kind == "timeout"


def test_garbage_and_truncated_change_the_output_not_the_status():
    good = board().shell(CMD, 2).stdout
    garbage = board("garbage").shell(CMD, 2)
    assert garbage.exit_code == 0 and garbage.stdout != good and "build" not in garbage.stdout
    truncated = board("truncated").shell(CMD, 2)
    assert truncated.exit_code == 0 and good.startswith(truncated.stdout) and len(truncated.stdout) == len(good) // 2


def test_missing_binary_and_dmesg_denied():
    assert board("missing-binary").shell("strings /usr/bin/rknn_server", 2) == ShellResult("", "sh: strings: not found\n", 127)
    assert board("dmesg-denied").shell("dmesg", 2) == ShellResult("", "dmesg: klogctl: Operation not permitted\n", 1)


def test_legacy_adbd_board_merges_stderr_and_uses_crlf():
    result = board(profile="legacy-linux-adbd").shell("uname -m; nosuch", 2)
    assert result == ShellResult("aarch64\r\nsh: nosuch: not found\r\n", "", 127)


def test_fault_in_the_profile_and_bad_fault_spec(tmp_path):
    from rknn_envcheck.emulator.profile import PROFILE_DIR

    text = (PROFILE_DIR / "rk3588-2.3.2.toml").read_text().replace('generation = "rknpu2"', 'generation = "rknpu2"\nfaults = ["dmesg-denied"]')
    (tmp_path / "denied.toml").write_text(text)
    assert EmulatedBoard(str(tmp_path / "denied.toml")).shell("dmesg", 2).exit_code == 1
    assert EmulatedBoard("rk3588-2.3.2").shell("dmesg", 2).exit_code == 0
    with pytest.raises(UsageError, match="unknown fault 'explode'"):
        parse_faults(["explode"])
    with pytest.raises(UsageError, match="needs a value"):
        parse_faults(["slow"])
    with pytest.raises(UsageError, match="whole number"):
        parse_faults(["slow=fast"])
