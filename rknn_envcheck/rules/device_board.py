"""Device checks about the board's condition rather than its versions against the toolkit: its
adb state, galcore user space vs kernel, the mini driver, and the toolkit-lite Python on the
board. Pure; split from rules/device.py by concern. Installs come from the board's one plan."""
from __future__ import annotations

from rknn_envcheck.fixplan import BoardPlan, board_serial, on_board, on_board_script
from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules.device_common import QS_CONSISTENT, _how, _raw
from rknn_envcheck.rules.toolkit import LINE_OF
from rknn_envcheck.shellcmd import adb_prefix, cmd, udev_commands
from rknn_envcheck.versions import galcore_key, parse_version, public, try_parse


def _network(serial: str) -> bool:
    """A board adb reaches over TCP (`HOST:PORT`), which `adb connect` re-establishes."""
    host, sep, port = serial.rpartition(":")
    return bool(sep and host and port.isdigit())


def _check_state(device: dict, facts: dict | None):
    # the planner's serial (its placeholder for an emulated board): one serial per board in a report
    serial = board_serial(device) or "SERIAL"
    adb = adb_prefix(serial)
    state = device.get("state")
    how = _how(device, "state") or "adb devices -l"
    if state == "unauthorized":
        # The board refuses this PC's key, so nothing can be pushed over this serial: the key goes on
        # by the prompt, or over another link (serial console, ssh) into adbd's key file.
        yield Check("device.state", "Board connection", FAIL, component="adb", observed="unauthorized", how=how, expected="device",
                    source="seed §1.7.2 (RKNN_ERR_DEVICE_UNAVAILABLE: the board is not usable over adb); AOSP-adbd-auth; AOSP-adb-man reconnect offline",
                    message="the board has not accepted this PC's adb key, so nothing on it can be checked",
                    fix=Fix("accept the \"Allow USB debugging?\" prompt on the board's screen; a board without a screen (Linux images) "
                            "needs this PC's public key ~/.android/adbkey.pub appended to adbd's key file (/adb_keys or "
                            "/data/misc/adb/adb_keys, whichever the image's adbd reads) over its serial console or ssh — not over "
                            "adb, which refuses this PC; then reset the connection",
                            [cmd(*adb, "reconnect", "offline", note="resets offline/unauthorized devices (adb(1): reconnect offline)"),
                             cmd(*adb, "wait-for-device")]))
    elif state == "offline":
        yield Check("device.state", "Board connection", FAIL, component="adb", observed="offline", how=how, expected="device",
                    source="AOSP-adb-man get-state, reconnect offline",
                    message="the adb server lists the board but it does not answer (adbd hung, cable or network lost, board rebooting)",
                    fix=Fix("reset the connection (adb(1): `reconnect offline` resets offline devices); if it stays offline, replug the cable "
                            "or reboot the board",
                            ([cmd("adb", "disconnect", serial), cmd("adb", "connect", serial)] if _network(serial) else [cmd(*adb, "reconnect", "offline")])
                            + [cmd(*adb, "wait-for-device")]))
    elif state == "no permissions":
        yield Check("device.state", "Board connection", FAIL, component="udev", observed="no permissions", how=how, expected="device",
                    source="TS-1.7.5 §8.6: 'no permissions (user … is not in the plugdev group)'",
                    message="this user may not open the board's USB device, so adb cannot talk to it",
                    fix=Fix("install the Rockchip udev rule (read what it will do first), then unplug and replug the board", udev_commands(facts)))
    else:
        yield Check("device.state", "Board connection", FAIL, component="adb", observed=state, how=how, expected="device",
                    message=f"the board is in state {state!r}, not in normal adb mode: its NPU stack cannot be inspected",
                    fix=Fix("reboot the board into its normal system", [cmd(*adb, "reboot")]))


def _check_galcore_user(device: dict, chip, plan: BoardPlan):
    """libGAL.so (user space) and galcore.ko (kernel) must come from the same driver release:
    rknpu's README names `HAL user version` ≠ `HAL kernel version` as the sign they were not
    updated together (toolkit1.md §3.3)."""
    user, kernel = device.get("galcore_user"), device.get("npu_driver")
    if not user or not kernel or device.get("npu_driver_kind") != "galcore":
        return
    user_key, kernel_key = galcore_key(user), galcore_key(kernel)
    if user_key is None or kernel_key is None:
        return
    if user_key == kernel_key:
        yield Check("device.galcore_user", "galcore user space vs kernel", OK, component="libGAL.so", observed=f"{user} / {kernel}",
                    how=f"{_how(device, 'galcore_user')}; {_how(device, 'npu_driver')}", message="libGAL.so and galcore.ko are from the same driver release")
        return
    yield Check("device.galcore_user", "galcore user space vs kernel", FAIL, component="libGAL.so", observed=f"libGAL.so {user}, galcore.ko {kernel}",
                how=f"{_how(device, 'galcore_user')}; {_how(device, 'npu_driver')}", expected="the same release (version and build)",
                source="TS-1.7.5 §8 rknpu README: `HAL user version` / `HAL kernel version` differ when the user-space driver and the .ko were not updated together",
                message="the NPU user-space driver (libGAL.so) and the kernel module (galcore.ko) are from different releases: rknn_init fails",
                evidence=_raw(device, "galcore_user") + _raw(device, "npu_driver"),
                fix=plan.install_fix())


def _check_mini(device: dict, chip, host_toolkit, plan: BoardPlan):
    if not chip or chip["line"] != "rknn-toolkit":
        return
    mini = device.get("mini_driver")
    if mini is None:
        yield Check("device.mini_driver", "Mini driver", UNKNOWN, component="galcore", how=_how(device, "mini_driver"),
                    message="could not tell whether the board runs the full or the mini NPU driver")
        return
    if not mini:
        yield Check("device.mini_driver", "Mini driver", OK, component="galcore", observed="full driver", how=_how(device, "mini_driver"),
                    message="full NPU driver: connected debugging and non-pre-compiled models work")
        return
    pc_toolkit = host_toolkit is not None and host_toolkit[0] == "rknn-toolkit"
    yield Check("device.mini_driver", "Mini driver", WARN if pc_toolkit else OK, component="galcore", observed="mini driver",
                how=_how(device, "mini_driver"), expected="full driver for connected debugging",
                source="inferred from rknpu drivers/README: mini driver only runs pre-compiled models; TS-1.7.5 §8.8 item 9: no online debugging",
                message="mini driver: only pre-compiled models load (else RKNN_ERR_MODEL_INVALID / -14), and the PC toolkit cannot debug on this board",
                fix=Fix("for connected debugging push the full driver (drivers/linux-armhf-puma or linux-aarch64, not *-mini); for deployment build with pre_compile=True",
                        plan.install_fix(full_driver=True).commands))


def _check_board_python(device: dict, chip, matrix, plan: BoardPlan):
    python = device.get("python") or {}
    packages = python.get("packages") or {}
    lite = [(p, v) for p, v in packages.items() if p in ("rknn-toolkit-lite", "rknn-toolkit-lite2")]
    if not lite:
        return
    for package, version in lite:
        line = LINE_OF[package]
        if chip and chip["line"] != line:
            yield Check(f"device.lite.{package}", f"{package} on the board", FAIL, component=package, observed=f"{package} {version}",
                        how=_how(device, "python"), expected=f"{chip['line'].replace('rknn-toolkit', 'rknn-toolkit-lite')} for {chip['name']}",
                        source="AR README.md generation split", message=f"{package} cannot drive {chip['name']}",
                        fix=Fix("install the lite package of the right line on the board", [on_board(device, "python3", "-m", "pip", "install", chip["line"].replace("rknn-toolkit", "rknn-toolkit-lite"))]))
            continue
        runtime = device.get("librknn_runtime")
        if runtime and try_parse(runtime) and try_parse(version):
            older = public(runtime) < public(version)
            yield Check(f"device.lite.{package}", f"{package} on the board", WARN if older else OK, component=package,
                        observed=f"{package} {version}, runtime {runtime}", how=_how(device, "python"), expected=f"runtime >= {version}",
                        source=QS_CONSISTENT, message=(f"{package} {version} is newer than the board's runtime {runtime}" if older else f"{package} {version} with runtime {runtime}"),
                        fix=plan.install_fix() if older else None)
        numpy = packages.get("numpy")
        if line == "rknn-toolkit2" and numpy and try_parse(numpy) and parse_version(numpy).major >= 2:
            yield Check("device.lite.numpy", "numpy on the board", WARN, component="numpy", observed=f"numpy {numpy}", how=_how(device, "python"),
                        expected="numpy<=1.26.4", source="inferred from PyPI (public user reports) numpy 2 breaks modules built for NumPy 1.x",
                        message="numpy 2 on the board: modules compiled for NumPy 1.x may crash",
                        fix=Fix("install numpy 1.x on the board", [on_board(device, "python3", "-m", "pip", "install", "numpy<=1.26.4")]))
