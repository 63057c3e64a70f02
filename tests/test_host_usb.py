"""USB through sysfs (a fake tree) and through the real pyusb with a fake backend (there is no USB bus here), and the no-libusb case."""
from __future__ import annotations

import shutil
import sys

import pytest

from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.probes import usb as usb_probe
from rknn_envcheck.probes.host import gather_host
from usb_fakes import ADB_INTERFACE, MTP_INTERFACE, NTB_INTERFACE, FakeBackend, make_sysfs


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


def test_no_usb_bus_here_is_a_fact_and_the_usb_row_is_skipped(venv_python):
    """This machine (a container) has no /sys/bus/usb at all: on Linux USB is read from sysfs, no
    libusb needed, and "no bus" is said as such — never an error to fix, never "unknown"."""
    from rknn_envcheck.rules.host import judge_host

    from rknn_envcheck.udev.devices import usb_bus_state

    state, _how = usb_bus_state("/")
    if state != "absent":
        pytest.skip("this machine has a USB bus; the no-bus case is covered with a fake tree below")
    result = usb_probe.scan_usb()
    assert result["devices"] == [] and result["usb_bus"] == "absent" and result["error"] is None
    host = gather_host(venv_python)
    assert host["usb"] == [] and host["usb_bus"] == "absent" and "usb_error" not in host
    row = [c for c in judge_host({"host": host}, load_matrix()) if c.id == "host.usb"][0]
    assert row.status == "skipped" and "no USB bus" in row.message


def test_empty_sysfs_is_no_bus_too(tmp_path):
    (tmp_path / "sys/bus/usb/devices").mkdir(parents=True)
    assert usb_probe.scan_usb(sysfs_root=str(tmp_path))["usb_bus"] == "absent"
    make_sysfs(tmp_path, [])  # only a root hub: a bus, no Rockchip device
    result = usb_probe.scan_usb(sysfs_root=str(tmp_path))
    assert (result["usb_bus"], result["devices"]) == ("present", [])


def test_sysfs_devices_with_interfaces_and_adb_by_interface(tmp_path):
    make_sysfs(tmp_path, [
        (0x2207, 0x0006, 1, 5, [ADB_INTERFACE], "515e9b401c060c0b"),       # RKNPU1 board, ADB gadget id
        (0x2207, 0x0019, 1, 6, [MTP_INTERFACE, ADB_INTERFACE], "c3d9b8674f4b94f6"),  # RKNPU2 board: adb in a composite gadget
        (0x2207, 0x1808, 2, 3, [NTB_INTERFACE]),                          # NTB gadget
        (0x2207, 0x350a, 2, 9, []),                                        # undocumented id, no ADB interface
        (0x1d6b, 0x0003, 3, 1, []),                                        # not Rockchip
    ], compatible=["rockchip,rk3399pro-toybrick", "rockchip,rk3399pro"])
    result = usb_probe.scan_usb(matrix=load_matrix(), sysfs_root=str(tmp_path))
    by_pid = {d["pid"]: d for d in result["devices"]}
    assert sorted(by_pid) == ["0006", "0019", "1808", "350a"]
    assert all(d["source"] == "sysfs" for d in by_pid.values())
    assert by_pid["0006"]["mode"] == "adb" and by_pid["0006"]["serial"] == "515e9b401c060c0b"
    assert by_pid["0019"]["mode"] == "adb" and by_pid["0019"]["adb_interface"] is True and by_pid["0019"]["known_pid"] is False
    assert "class ff, subclass 42, protocol 01" in by_pid["0019"]["meaning"] and "adb.h" in by_pid["0019"]["meaning_source"]
    assert by_pid["0019"]["interfaces"] == [{"class": "06", "subclass": "01", "protocol": "01"}, {"class": "ff", "subclass": "42", "protocol": "01"}]
    assert by_pid["1808"]["mode"] == "ntb" and by_pid["1808"]["adb_interface"] is False
    assert by_pid["350a"]["mode"] == "unknown-rockchip"
    assert by_pid["0006"]["can_open"] is not None and "001/005" in by_pid["0006"]["can_open_how"]
    assert result["device_tree_compatible"] == ["rockchip,rk3399pro-toybrick", "rockchip,rk3399pro"]
    visible, why = usb_probe.rockchip_adb_visible(result)
    assert visible is True and "2207:0006" in why and "2207:0019" in why


def test_the_matrix_row_and_the_code_name_the_same_adb_interface():
    from rknn_envcheck.udev.devices import ADB_INTERFACE as CODE

    rows = load_matrix().rows("usb_interface")
    assert [(r["class"], r["subclass"], r["protocol"], r["mode"]) for r in rows] == [(*CODE, "adb")]


def test_pyusb_reads_interfaces_too():
    result = usb_probe.scan_usb(backend=FakeBackend([(0x2207, 0x0019, 1, 7, [MTP_INTERFACE, ADB_INTERFACE]),
                                                     (0x2207, 0x1808, 1, 8, [NTB_INTERFACE])]), matrix=load_matrix())
    by_pid = {d["pid"]: d for d in result["devices"]}
    assert by_pid["0019"]["mode"] == "adb" and by_pid["0019"]["source"] == "pyusb"
    assert {"class": "ff", "subclass": "42", "protocol": "01"} in by_pid["0019"]["interfaces"]
    assert by_pid["1808"]["mode"] == "ntb" and by_pid["1808"]["adb_interface"] is False
    assert usb_probe.rockchip_adb_visible(result)[0] is True


def test_macos_without_libusb_is_a_fact_not_a_crash(monkeypatch):
    """Off Linux there is no sysfs: pyusb needs libusb, and this machine has none — the real lookup
    fails and says how to install it for that OS; the adb start policy then starts a server."""
    monkeypatch.setattr(usb_probe, "_uses_sysfs", lambda: False)
    monkeypatch.setattr(usb_probe, "_os_name", lambda: "darwin")
    backend, reason = usb_probe.find_backend()
    if backend is not None:
        # libusb is installed here (Debian's adb depends on it): pyusb's lookup is made to miss
        # the way it misses on a Mac without `brew install libusb`.
        monkeypatch.setattr(usb_probe, "find_backend", lambda: (None, "pyusb found no backend (tried libusb-1.0, OpenUSB, libusb-0.1)"))
    else:
        assert "libusb-1.0" in reason
    result = usb_probe.scan_usb()
    assert result["devices"] is None and "brew install libusb" in result["error"]
    assert usb_probe.rockchip_adb_visible(result)[0] is None


def test_usb_import_stays_lazy():
    """The CLI's start-up must not import pyusb (or psutil)."""
    import subprocess

    code = ("import sys, rknn_envcheck.cli, rknn_envcheck.commands.host, rknn_envcheck.probes.host; "
            "print(sorted(m for m in ('usb', 'psutil', 'adbutils') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
