"""Device rules, from facts and from every shipped emulated profile (in-process, no sockets)."""
import pytest

from core_helpers import by_id, device
from rknn_envcheck.emulator.board import EmulatedBoard
from rknn_envcheck.emulator.profile import shipped_profiles
from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.probes.board import gather_board
from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN
from rknn_envcheck.rules.device import judge_device
from rknn_envcheck.rules.toolkit import parse_toolkit_option


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


def worst(checks):
    order = [OK, SKIPPED, UNKNOWN, WARN, FAIL]
    return max((c.status for c in checks if c.status in order), key=order.index, default=OK)


@pytest.mark.parametrize("state, component", [("unauthorized", "adb"), ("offline", "adb"), ("no permissions", "udev")])
def test_states_become_diagnostics(matrix, state, component):
    checks = judge_device({"serial": "S", "state": state, "transport": "adb"}, ("rknn-toolkit2", "2.3.2"), matrix)
    assert len(checks) == 1 and checks[0].status == FAIL and checks[0].component == component and checks[0].fix.commands
    if state == "no permissions":
        assert any("udev --install" in c for c in checks[0].fix.commands)


def test_probe_error_is_unknown(matrix):
    checks = judge_device(device(probe_error="timeout: no answer"), ("rknn-toolkit2", "2.3.2"), matrix)
    assert [c.status for c in checks] == [UNKNOWN]


def test_chip_line_mismatch(matrix):
    checks = judge_device(device(chip="RK1808", rknn_server="1.7.5", librknn_runtime="1.7.5", npu_driver="6.4.6.5.351518", mini_driver=False),
                          ("rknn-toolkit2", "2.3.2"), matrix)
    assert by_id(checks, "device.chip")[0].status == FAIL


def test_toolkit2_matching_stack_is_ok(matrix):
    d = device(chip="RK3588", rknn_server="2.3.2", librknn_runtime="2.3.2", runtime_library="librknnrt.so", npu_driver="0.9.6", npu_driver_kind="rknpu")
    checks = judge_device(d, ("rknn-toolkit2", "2.3.2"), matrix)
    assert worst(checks) == OK, [(c.id, c.status, c.message) for c in checks]


def test_toolkit2_server_too_old_fails(matrix):
    # librknn_api.so of toolkit2 2.2.0-2.5.0 refuses an rknn_server <= 1.2.0 (a hard limit: fail);
    # a newer server that is older than the toolkit only misses the vendor's same-version advice (warn).
    d = device(chip="RK3588", rknn_server="1.2.0", librknn_runtime="1.2.0", runtime_library="librknnrt.so", npu_driver="0.9.6", npu_driver_kind="rknpu")
    checks = judge_device(d, ("rknn-toolkit2", "2.3.2"), matrix)
    assert by_id(checks, "device.rknn_server")[0].status == FAIL
    d = device(chip="RK3588", rknn_server="2.0.0b0", librknn_runtime="2.0.0b0", runtime_library="librknnrt.so", npu_driver="0.9.6", npu_driver_kind="rknpu")
    checks = judge_device(d, ("rknn-toolkit2", "2.3.2"), matrix)
    assert by_id(checks, "device.rknn_server")[0].status == WARN


def test_server_runtime_skew_warns(matrix):
    # QS §3.4.2 / TS-1.7.5 §2 ask for the same versions (a remedy, not a refusal): warn per the
    # severity policy, with the reinstall fix.
    d = device(chip="RK3588", rknn_server="1.5.0", librknn_runtime="2.3.2", runtime_library="librknnrt.so", npu_driver="0.9.6", npu_driver_kind="rknpu")
    check = by_id(judge_device(d, None, matrix), "device.rknn_server.vs_runtime")[0]
    assert check.status == WARN and any("adb" in c for c in check.fix.commands)


def test_server_rows_agree_on_one_server(matrix):
    """rk1808-1.7.5-old-server: the server judged against the runtime and against the toolkit's
    Table 8-1 row is one old rknn_server; both rows give it the same grade."""
    d = device(chip="RK1808", rknn_server="1.4.0", librknn_runtime="1.7.5", npu_driver="6.4.6.5.351518", npu_driver_kind="galcore", mini_driver=False)
    checks = judge_device(d, ("rknn-toolkit", "1.7.5"), matrix)
    grades = {c.status for c in checks if c.id in ("device.rknn_server", "device.rknn_server.vs_runtime")}
    assert grades == {WARN}


def test_old_driver_warns(matrix):
    d = device(chip="RK3588", rknn_server="2.3.2", librknn_runtime="2.3.2", npu_driver="0.8.2", npu_driver_kind="rknpu")
    assert by_id(judge_device(d, ("rknn-toolkit2", "2.3.2"), matrix), "device.driver")[0].status == WARN


def test_toolkit1_table_8_1(matrix):
    ok = device(chip="RK1808", rknn_server="1.7.5", librknn_runtime="1.7.5", npu_driver="6.4.6.5.351518", npu_driver_kind="galcore", mini_driver=False)
    assert worst(judge_device(ok, ("rknn-toolkit", "1.7.5"), matrix)) == OK
    old_driver = dict(ok, npu_driver="6.4.0.227915")
    assert by_id(judge_device(old_driver, ("rknn-toolkit", "1.7.5"), matrix), "device.driver")[0].status in (FAIL, WARN)
    old_server = dict(ok, rknn_server="1.6.0", librknn_runtime="1.6.0")
    assert worst(judge_device(old_server, ("rknn-toolkit", "1.7.5"), matrix)) in (FAIL, WARN)


def test_missing_runtime_is_named(matrix):
    d = device(chip="RK3588", rknn_server="2.3.2", errors={"librknn_runtime": "not found at /usr/lib/librknnrt.so"}, npu_driver="0.9.6", npu_driver_kind="rknpu")
    check = by_id(judge_device(d, ("rknn-toolkit2", "2.3.2"), matrix), "device.runtime")[0]
    assert check.status == FAIL and "not found" in check.message


def test_unparseable_version_is_unknown_with_raw(matrix):
    d = device(chip="RK3588", rknn_server="weird", raw={"rknn_server": "rknn_server version: weird"}, librknn_runtime="2.3.2", npu_driver="0.9.6")
    check = by_id(judge_device(d, ("rknn-toolkit2", "2.3.2"), matrix), "device.rknn_server")[0]
    assert check.status == UNKNOWN


def test_mini_driver(matrix):
    d = device(chip="RV1126", librknn_runtime="1.7.5", npu_driver="6.4.6.5.351518", npu_driver_kind="galcore", mini_driver=True,
               errors={"rknn_server": "not found at /usr/bin/rknn_server"})
    checks = judge_device(d, ("rknn-toolkit", "1.7.5"), matrix)
    assert by_id(checks, "device.mini_driver")[0].status == WARN
    assert by_id(checks, "device.rknn_server")[0].status == SKIPPED


@pytest.mark.parametrize("name", shipped_profiles())
def test_every_shipped_profile_gives_its_expected_verdict(matrix, name):
    board = EmulatedBoard(name)
    facts = gather_board(board, timeout=5, matrix=matrix)
    assert board.stats.round_trips == 1, "the probe must take exactly one shell round trip"
    assert not facts.get("probe_error"), facts.get("probe_error")
    meta = board.profile.meta
    toolkit = meta.get("toolkit")
    checks = judge_device(facts, parse_toolkit_option(toolkit, matrix) if toolkit else None, matrix)
    expected = meta.get("expect_status")
    assert expected, f"profile {name} has no meta.expect_status"
    assert worst(checks) == expected, [(c.id, c.status, c.message) for c in checks if c.status != OK]


def test_two_runtime_copies_with_different_versions_warn(matrix):
    d = device(chip="RK3588", rknn_server="2.3.2", librknn_runtime="2.3.2", npu_driver="0.9.6", npu_driver_kind="rknpu",
               runtime_copies=[{"path": "/usr/lib/librknnrt.so", "version": "2.3.2"}, {"path": "/usr/lib64/librknnrt.so", "version": "1.4.0"}])
    check = by_id(judge_device(d, ("rknn-toolkit2", "2.3.2"), matrix), "device.runtime.copies")[0]
    assert check.status == WARN and "/usr/lib64/librknnrt.so" in check.message
    same = dict(d, runtime_copies=[{"path": "/usr/lib/librknnrt.so", "version": "2.3.2"}, {"path": "/usr/lib64/librknnrt.so", "version": "2.3.2"}])
    assert not by_id(judge_device(same, ("rknn-toolkit2", "2.3.2"), matrix), "device.runtime.copies")


def test_small_chips_want_rknn_server_2_1(matrix):
    d = device(chip="RV1106", rknn_server="1.5.2", librknn_runtime="1.5.2", runtime_library="librknnmrt.so", npu_driver="0.9.6", npu_driver_kind="rknpu")
    check = by_id(judge_device(d, None, matrix), "device.rknn_server.chip_minimum")[0]
    assert check.status == WARN and "2.1.0" in str(check.expected)
    assert not by_id(judge_device(dict(d, rknn_server="2.3.2", librknn_runtime="2.3.2"), None, matrix), "device.rknn_server.chip_minimum")


def test_galcore_user_space_must_match_the_kernel_module(matrix):
    from rknn_envcheck.probes.board_parse import galcore_key

    assert galcore_key("6.4.6.5.351518") == galcore_key("6.4.6:351518") == ("6.4.6", "351518")
    assert galcore_key("6.4.0.227915") == galcore_key("6.4.0:227915")
    base = device(chip="RK1808", rknn_server="1.7.5", librknn_runtime="1.7.5", npu_driver_kind="galcore", mini_driver=False)
    same = judge_device(dict(base, npu_driver="6.4.6.5.351518", galcore_user="6.4.6:351518"), ("rknn-toolkit", "1.7.5"), matrix)
    assert by_id(same, "device.galcore_user")[0].status == OK
    skew = judge_device(dict(base, npu_driver="6.4.3.5.293908", galcore_user="6.4.6:351518"), ("rknn-toolkit", "1.7.5"), matrix)
    assert by_id(skew, "device.galcore_user")[0].status == FAIL


def test_galcore_user_space_read_from_the_board(matrix):
    facts = gather_board(EmulatedBoard("rk1808-1.7.5"), timeout=5, matrix=matrix)
    assert facts["galcore_user"] == "6.4.6:351518" and "VERSION" in facts["raw"]["galcore_user"]


def test_rknpu_0_9_3_warns_with_runtime_1_6_and_later(matrix):
    d = device(chip="RK3588", rknn_server="2.3.2", librknn_runtime="2.3.2", npu_driver="0.9.3", npu_driver_kind="rknpu")
    check = by_id(judge_device(d, ("rknn-toolkit2", "2.3.2"), matrix), "device.driver")[0]
    assert check.status == WARN and "0.9.3" in check.expected
    assert by_id(judge_device(dict(d, npu_driver="0.9.6"), ("rknn-toolkit2", "2.3.2"), matrix), "device.driver")[0].status == OK


def test_fix_commands_for_the_board_itself_use_no_adb(matrix):
    local = device(serial="local", transport="local", chip="RK3588", rknn_server="1.5.2", librknn_runtime="2.3.2",
                   runtime_library="librknnrt.so", npu_driver="0.9.6", npu_driver_kind="rknpu")
    commands = [cmd for c in judge_device(local, ("rknn-toolkit2", "2.3.2"), matrix) if c.fix for cmd in c.fix.commands]
    assert commands and not any(cmd.startswith(("adb", "push", "shell")) for cmd in commands), commands
    assert any(cmd.startswith("sudo cp rknn-toolkit2/rknpu2/runtime/Linux/librknn_api/aarch64/librknnrt.so") for cmd in commands)
    remote = dict(local, serial="abc", transport="adb")
    commands = [cmd for c in judge_device(remote, ("rknn-toolkit2", "2.3.2"), matrix) if c.fix for cmd in c.fix.commands]
    assert any(cmd.startswith("adb -s abc push rknn-toolkit2/rknpu2/") for cmd in commands)
    # rknn_server_proxy.md §4.2: kill, then start in the background (restart_rknn.sh is missing on some images)
    assert "adb -s abc shell 'killall rknn_server'" in commands and "adb -s abc shell 'nohup /usr/bin/rknn_server >/dev/null 2>&1 &'" in commands


@pytest.mark.parametrize("driver, kind", [("-1", None), ("garbage", "galcore"), ("v0.9", "rknpu")])
def test_driver_in_no_known_format_is_unknown(matrix, driver, kind):
    d = device(chip="RK3588" if kind != "galcore" else "RK1808", rknn_server="2.3.2", librknn_runtime="2.3.2", npu_driver=driver, npu_driver_kind=kind)
    toolkit = ("rknn-toolkit", "1.7.5") if kind == "galcore" else ("rknn-toolkit2", "2.3.2")
    assert by_id(judge_device(d, toolkit, matrix), "device.driver")[0].status == UNKNOWN


def test_unauthorized_emulated_board_is_the_same_diagnosis_as_over_adb(matrix):
    from rknn_envcheck.emulator.faults import parse_faults

    facts = gather_board(EmulatedBoard("rk3588-2.3.2", parse_faults(["unauthorized"])), timeout=2, matrix=matrix)
    assert facts["state"] == "unauthorized" and "probe_error" not in facts
    hung = gather_board(EmulatedBoard("rk3588-2.3.2", parse_faults(["hang"])), timeout=0.5, matrix=matrix)
    assert hung["probe_error"].startswith("timeout") and len(hung["probe_error"]) < 250 and "@@S:" not in hung["probe_error"]


def test_local_inspection_of_a_pc_says_so_once(matrix):
    pc = device(serial="local", transport="local", arch="x86_64", errors={"chip": "no /proc/device-tree/compatible"})
    checks = judge_device(pc, ("rknn-toolkit2", "2.3.2"), matrix)
    assert [c.id for c in checks] == ["device.local"] and checks[0].status == FAIL
