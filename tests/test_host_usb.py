"""USB through the real pyusb with a fake backend (there is no USB bus here), and the no-libusb case."""
from __future__ import annotations

import shutil
import sys

import pytest
import usb.backend

from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.probes import usb as usb_probe
from rknn_envcheck.probes.host import gather_host


class _Descriptor:
    """What a backend's get_device_descriptor returns: the USB device descriptor fields pyusb copies."""

    def __init__(self, vid: int, pid: int, bus: int, address: int):
        self.bLength = 18
        self.bDescriptorType = 1
        self.bcdUSB = 0x0200
        self.bDeviceClass = 0
        self.bDeviceSubClass = 0
        self.bDeviceProtocol = 0
        self.bMaxPacketSize0 = 64
        self.idVendor = vid
        self.idProduct = pid
        self.bcdDevice = 0x0310
        self.iManufacturer = 1
        self.iProduct = 2
        self.iSerialNumber = 3
        self.bNumConfigurations = 1
        self.address = address
        self.bus = bus
        self.port_number = 1
        self.port_numbers = (1,)
        self.speed = 3


class FakeBackend(usb.backend.IBackend):
    """A pyusb backend presenting a fixed set of devices; pyusb's own find() does the filtering."""

    def __init__(self, devices):
        self.devices = [_Descriptor(*d) for d in devices]

    def enumerate_devices(self):
        return iter(self.devices)

    def get_device_descriptor(self, dev):
        return dev


DEVICES = [
    (0x2207, 0x0006, 1, 5),   # board in ADB mode
    (0x2207, 0x1808, 1, 6),   # board in NTB mode
    (0x2207, 0x0018, 2, 3),   # TB-RK1808 compute stick
    (0x2207, 0x350A, 2, 9),   # a Rockchip id nobody documented (loader?)
    (0x1D6B, 0x0002, 1, 1),   # a Linux root hub: not Rockchip, must not appear
]


def test_every_mode_from_the_matrix(tmp_path):
    dev_root = tmp_path / "dev-bus-usb"
    (dev_root / "001").mkdir(parents=True)
    (dev_root / "001" / "005").write_bytes(b"")
    result = usb_probe.scan_usb(backend=FakeBackend(DEVICES), matrix=load_matrix(), dev_root=str(dev_root))
    assert result["error"] is None
    by_pid = {d["pid"]: d for d in result["devices"]}
    assert sorted(by_pid) == ["0006", "0018", "1808", "350a"]
    assert all(d["vid"] == "2207" for d in result["devices"])
    assert by_pid["0006"]["mode"] == "adb" and (by_pid["0006"]["bus"], by_pid["0006"]["address"]) == (1, 5)
    assert by_pid["1808"]["mode"] == "ntb"
    assert by_pid["0018"]["mode"] == "compute-stick-ntb" and "compute stick" in by_pid["0018"]["meaning"]
    assert by_pid["350a"]["known_pid"] is False and by_pid["350a"]["mode"] == "unknown-rockchip"
    assert all(d["known_pid"] for p, d in by_pid.items() if p != "350a")
    assert "matrix [[usb_id]]" in result["modes_from"]
    # access: the node that exists is judged with os.access; the missing ones say why not.
    assert by_pid["0006"]["can_open"] is True and "001/005" in by_pid["0006"]["can_open_how"]
    assert by_pid["1808"]["can_open"] is None and "does not exist" in by_pid["1808"]["can_open_how"]


def test_fallback_table_when_the_matrix_has_no_usb_rows(tmp_path):
    shipped = load_matrix().directory
    trimmed = tmp_path / "matrices"
    shutil.copytree(shipped, trimmed)
    (trimmed / "usb.toml").unlink()
    result = usb_probe.scan_usb(backend=FakeBackend(DEVICES), matrix=load_matrix(trimmed))
    by_pid = {d["pid"]: d for d in result["devices"]}
    assert "built-in table" in result["modes_from"]
    assert (by_pid["0006"]["mode"], by_pid["1808"]["mode"], by_pid["0018"]["mode"]) == ("adb", "ntb", "ntb")
    assert by_pid["350a"]["mode"] == "unknown" and by_pid["350a"]["known_pid"] is False


def test_matrix_is_loaded_only_when_a_device_needs_it():
    calls = []

    def loader():
        calls.append(1)
        return load_matrix()

    assert usb_probe.scan_usb(backend=FakeBackend([(0x1D6B, 0x0002, 1, 1)]), matrix=loader)["devices"] == []
    assert calls == []
    assert len(usb_probe.scan_usb(backend=FakeBackend(DEVICES[:1]), matrix=loader)["devices"]) == 1
    assert calls == [1]


def test_gather_host_carries_the_devices(venv_python):
    host = gather_host(venv_python, usb_backend=FakeBackend(DEVICES))
    assert [d["pid"] for d in host["usb"]] == ["0006", "1808", "0018", "350a"]
    assert "usb_error" not in host
    assert "FakeBackend" in host["how"]["usb"]


@pytest.fixture
def venv_python(tmp_path):
    from test_host_venvs import make_venv

    return make_venv(tmp_path / "env")[0]


def test_no_libusb_here_is_a_fact_not_a_crash(venv_python):
    """This machine has pyusb but no libusb: the real lookup fails and says how to install it."""
    soname, _how = usb_probe.linux_libusb()
    if soname is not None:
        pytest.skip(f"libusb is installed here ({soname}); the no-backend case cannot be observed for real")
    backend, reason = usb_probe.find_backend()  # pyusb's own backends, given our dlopen finder
    assert backend is None and "libusb-1.0" in reason
    result = usb_probe.scan_usb()
    assert result["devices"] is None
    assert "sudo apt-get install libusb-1.0-0" in result["error"]
    host = gather_host(venv_python)
    assert "usb" not in host  # not checked, so absent: never an empty "all fine" list
    assert "sudo apt-get install libusb-1.0-0" in host["usb_error"]
    assert "dlopen" in host["how"]["usb"]


def test_usb_import_stays_lazy():
    """The CLI's start-up must not import pyusb (or psutil)."""
    import subprocess

    code = ("import sys, rknn_envcheck.cli, rknn_envcheck.commands.host, rknn_envcheck.probes.host; "
            "print(sorted(m for m in ('usb', 'psutil', 'adbutils') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
