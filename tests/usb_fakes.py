"""USB stand-ins for a machine without a USB bus: a pyusb backend (the real pyusb does the
finding and descriptor parsing) and a sysfs tree laid out as the Linux kernel lays it out."""
from __future__ import annotations

from pathlib import Path

import usb.backend
import usb.core

ADB_INTERFACE = (0xFF, 0x42, 0x01)
MTP_INTERFACE = (0x06, 0x01, 0x01)
NTB_INTERFACE = (0xFF, 0x00, 0x00)  # the NTB function's vendor-specific interface (not the ADB triple)


class _Descriptor:
    """What a backend's get_device_descriptor returns: the USB device descriptor fields pyusb copies."""

    def __init__(self, vid: int, pid: int, bus: int, address: int, interfaces=()):
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
        self.iSerialNumber = 0  # no serial string: reading one would need the device opened
        self.bNumConfigurations = 1
        self.address = address
        self.bus = bus
        self.port_number = 1
        self.port_numbers = (1,)
        self.speed = 3
        self.interfaces = list(interfaces)


class _Config:
    def __init__(self, count: int):
        self.bLength = 9
        self.bDescriptorType = 2
        self.wTotalLength = 9 + 9 * count
        self.bNumInterfaces = count
        self.bConfigurationValue = 1
        self.iConfiguration = 0
        self.bmAttributes = 0x80
        self.bMaxPower = 250
        self.extra_descriptors = []


class _Interface:
    def __init__(self, number: int, triple):
        self.bLength = 9
        self.bDescriptorType = 4
        self.bInterfaceNumber = number
        self.bAlternateSetting = 0
        self.bNumEndpoints = 0
        self.bInterfaceClass, self.bInterfaceSubClass, self.bInterfaceProtocol = triple
        self.iInterface = 0
        self.extra_descriptors = []


class FakeBackend(usb.backend.IBackend):
    """A pyusb backend presenting a fixed set of devices: (vid, pid, bus, address[, interfaces]),
    each interface a (class, subclass, protocol) triple. pyusb's own find() does the filtering."""

    def __init__(self, devices):
        self.devices = [_Descriptor(*d) for d in devices]

    def enumerate_devices(self):
        return iter(self.devices)

    def get_device_descriptor(self, dev):
        return dev

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError(config)
        return _Config(len(dev.interfaces))

    def get_interface_descriptor(self, dev, intf, alt, config):
        if alt != 0 or intf >= len(dev.interfaces):
            raise usb.core.USBError("no such alternate setting")
        return _Interface(intf, dev.interfaces[intf])


def make_sysfs(root: Path, devices, compatible: list[str] | None = None, dev_nodes: bool = True) -> Path:
    """<root>/sys/bus/usb/devices/<bus>-<port> with idVendor, idProduct, busnum, devnum, serial and
    one <bus>-<port>:1.<n> directory per interface, as the kernel lays them out; a root hub too.
    `devices`: (vid, pid, bus, address, interfaces[, serial]); `compatible`: the host's device tree."""
    base = root / "sys/bus/usb/devices"
    hub = base / "usb1"
    hub.mkdir(parents=True, exist_ok=True)
    (hub / "idVendor").write_text("1d6b\n")
    (hub / "idProduct").write_text("0002\n")
    for index, (vid, pid, bus, address, interfaces, *rest) in enumerate(devices, start=1):
        name = f"{bus}-{index}"
        sysdir = base / name
        sysdir.mkdir(parents=True)
        for field, value in (("idVendor", f"{vid:04x}"), ("idProduct", f"{pid:04x}"), ("busnum", str(bus)), ("devnum", str(address))):
            (sysdir / field).write_text(value + "\n")
        if rest:
            (sysdir / "serial").write_text(rest[0] + "\n")
        for number, (cls, sub, proto) in enumerate(interfaces):
            intf = sysdir / f"{name}:1.{number}"
            intf.mkdir()
            (intf / "bInterfaceClass").write_text(f"{cls:02x}\n")
            (intf / "bInterfaceSubClass").write_text(f"{sub:02x}\n")
            (intf / "bInterfaceProtocol").write_text(f"{proto:02x}\n")
            (intf / "bInterfaceNumber").write_text(f"{number:02x}\n")
        if dev_nodes:
            node = root / "dev/bus/usb" / f"{bus:03d}" / f"{address:03d}"
            node.parent.mkdir(parents=True, exist_ok=True)
            node.write_text("")
    if compatible is not None:
        (root / "proc/device-tree").mkdir(parents=True, exist_ok=True)
        (root / "proc/device-tree/compatible").write_bytes("".join(c + "\0" for c in compatible).encode())
    return root
