"""Rules that need the host and its boards together, judged from facts (so `check --facts` replays them)."""
import pytest

from core_helpers import device, facts
from rknn_envcheck.evaluate import evaluate
from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.report import WARN


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


def ids(report, prefix):
    return {c.id: c for c in report.checks if c.id.startswith(prefix)}


BOARD = device(chip="RK1808", rknn_server="1.7.5", librknn_runtime="1.7.5", npu_driver="6.4.6.5.351518", npu_driver_kind="galcore", mini_driver=False)


def test_ntb_proxy_with_adb_boards_conflicts(matrix):
    report = evaluate(facts({"rknn-toolkit": "1.7.5"}, [BOARD], processes=["npu_transfer_proxy"], python_version="3.6.9"), matrix, "t")
    assert ids(report, "connection.ntb-conflict")["connection.ntb-conflict"].status == WARN
    clean = evaluate(facts({"rknn-toolkit": "1.7.5"}, [BOARD], processes=["adb"], python_version="3.6.9"), matrix, "t")
    assert not ids(clean, "connection.ntb-conflict")


def test_adb_usb_device_not_listed_only_when_adb_was_asked(matrix):
    data = facts({}, [], usb=[{"vid": "2207", "pid": "0006", "accessible": True}])
    data["devices"] = [dict(BOARD, serial="127.0.0.1:5555")]  # a TCP board does not account for the USB one
    assert not ids(evaluate(data, matrix, "t"), "connection.usb.adb")
    data["adb"] = {"endpoint": "127.0.0.1:5037", "listed": 1}
    assert ids(evaluate(data, matrix, "t"), "connection.usb.adb")["connection.usb.adb"].status == WARN
    data["devices"].append(dict(BOARD, serial="515e9b401c060c0b"))
    assert not ids(evaluate(data, matrix, "t"), "connection.usb.adb")


def test_macos_one_device_at_a_time(matrix):
    two = [dict(BOARD, serial="a"), dict(BOARD, serial="b")]
    mac = facts({"rknn-toolkit": "1.7.5"}, two, os="darwin", arch="x86_64", python_version="3.6.9")
    assert ids(evaluate(mac, matrix, "t"), "connection.macos-one-device")
    assert not ids(evaluate(facts({"rknn-toolkit": "1.7.5"}, two[:1], os="darwin", python_version="3.6.9"), matrix, "t"), "connection.macos-one-device")


def test_toolkit1_adb_boards_only_from_linux_x86_64(matrix):
    win = facts({"rknn-toolkit": "1.7.5"}, [BOARD], os="windows", arch="AMD64", python_version="3.6.8")
    check = ids(evaluate(win, matrix, "t"), "connection.adb-platform")["connection.adb-platform"]
    assert check.status == WARN and "NTB" in check.message
    linux = facts({"rknn-toolkit": "1.7.5"}, [BOARD], python_version="3.6.9")
    assert not ids(evaluate(linux, matrix, "t"), "connection.adb-platform")
