"""The fake npu_transfer_proxy: the `devices` listing of toolkit1.md §4.3 and a resident process psutil sees."""
from __future__ import annotations

import subprocess

import pytest

from rknn_envcheck.emulator.ntb import FakeNtbProxy


def test_devices_listing_format():
    devices = [("TB-RK1808S0", 0x2BED0CC1, "USB_DEVICE"), ("0123456789ABCDEF", 0xCFBC0C55, "PCIE")]
    with FakeNtbProxy(devices) as proxy:
        out = subprocess.run(["npu_transfer_proxy", "devices"], env=proxy.path_env(), capture_output=True, text=True, timeout=10)
    assert out.returncode == 0
    assert out.stdout == ("List of ntb devices attached\n"
                          "TB-RK1808S0         2bed0cc1    USB_DEVICE\n"
                          "0123456789ABCDEF    cfbc0c55    PCIE\n")


def test_no_devices_prints_only_the_header():
    with FakeNtbProxy([]) as proxy:
        out = subprocess.run([proxy.path, "devices"], capture_output=True, text=True, timeout=10)
    assert out.stdout == "List of ntb devices attached\n"


def test_resident_process_is_named_npu_transfer_proxy():
    psutil = pytest.importorskip("psutil")
    with FakeNtbProxy() as proxy:
        pid = proxy.start()
        assert psutil.Process(pid).name() == "npu_transfer_proxy"
        assert pid in [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "npu_transfer_proxy"]
        proxy.stop()
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_fixture_puts_the_fake_on_path_and_runs_it(fake_ntb_proxy):
    import shutil

    assert shutil.which("npu_transfer_proxy") == fake_ntb_proxy.path
    assert fake_ntb_proxy.process.poll() is None
    out = subprocess.run(["npu_transfer_proxy", "devices"], capture_output=True, text=True, timeout=10).stdout
    assert out.splitlines()[1].split() == ["TB-RK1808S0", "2bed0cc1", "USB_DEVICE"]
