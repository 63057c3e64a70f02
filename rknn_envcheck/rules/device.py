"""Device rules: a board's rknn_server, runtime library and NPU driver against each other and
against the host's toolkit (the seed's Table "版本对应关系", toolkit1.md §3.1, toolkit2.md §3.1–3.2).

Pure: one device-facts dict + the host toolkit + matrix → Checks for subject "device:<serial>".
"""
from __future__ import annotations

import re

from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN, Check, Fix, run_guarded
from rknn_envcheck.rules.toolkit import LINE_OF
from rknn_envcheck.versions import in_versions, matches, parse_version, public, try_parse

QS_CONSISTENT = "toolkit2.md §3.1 (Quick Start 1.6.0 §3.4.2: RKNN Server, Runtime and RKNN-Toolkit2 versions must be consistent)"
TS_CONSISTENT = "toolkit1.md §3.1 (TS-1.7.5 §2: use the same version of RKNN Toolkit and RKNPU; Table 8-1)"


def subject_of(device: dict) -> str:
    return f"device:{device.get('serial', '?')}"


def heading_of(device: dict) -> str:
    parts = [f"Board {device.get('serial', '?')}"]
    desc = [x for x in (device.get("chip"), (device.get("os") or "").capitalize() or None, device.get("arch")) if x]
    transport = device.get("transport")
    if desc:
        parts.append(f"({' '.join(desc)}{', ' + transport if transport else ''})")
    elif transport:
        parts.append(f"({transport})")
    return " ".join(parts)


def _adb(device: dict) -> str:
    """The adb prefix for fix commands: none on the board itself, no -s when the serial is unknown
    (a board described only by a log)."""
    serial = device.get("serial")
    if device.get("transport") == "local":
        return ""
    if not serial or serial == "log":
        return "adb "
    if device.get("transport") == "emulated":
        return "adb -s SERIAL "  # an in-process emulated board has no adb serial; on hardware, the board's
    return f"adb -s {serial} "


def _on_board(device: dict, command: str, root: bool = False) -> str:
    """A command to run on the board: through adb for a remote board (adbd runs it as root on
    these images), as it is — with sudo when it needs root — on the board itself."""
    import shlex

    if device.get("transport") == "local":
        if not root:
            return command
        compound = any(ch in command for ch in ";&|()<>")
        return f"sudo sh -c {shlex.quote(command)}" if compound else f"sudo {command}"
    simple = all(ch.isalnum() or ch in " ./_-=+:," for ch in command)
    return f"{_adb(device)}shell {command if simple else shlex.quote(command)}"


def _push(device: dict, source: str, target: str) -> str:
    """Copy a file from the SDK checkout onto the board (`cp` when the tool runs on the board)."""
    if device.get("transport") == "local":
        return f"sudo cp {source} {target}"
    return f"{_adb(device)}push {source} {target}"


def _reboot(device: dict) -> str:
    return "sudo reboot" if device.get("transport") == "local" else f"{_adb(device)}reboot"


def _how(device: dict, field: str) -> str:
    return (device.get("how") or {}).get(field, "")


def _raw(device: dict, field: str) -> list[str]:
    raw = (device.get("raw") or {}).get(field)
    return [f"raw: {raw}"] if raw else []


def _why_missing(device: dict, field: str) -> str:
    return (device.get("errors") or {}).get(field, "not observed")


def _probe_retry(device: dict) -> list[str]:
    serial = str(device.get("serial", "SERIAL"))
    if device.get("transport") == "emulated":
        return [f"rknn-envcheck device --emulate {serial.split(':', 1)[-1]} --timeout 15"]
    if device.get("transport") == "local":
        return ["rknn-envcheck device --local --timeout 15"]
    return [_on_board(device, "echo alive"), f"rknn-envcheck device --id {serial} --timeout 15"]


def judge_device(device: dict, host_toolkit, matrix) -> list[Check]:
    subject = subject_of(device)
    state = device.get("state", "device")
    if state != "device":
        checks = run_guarded("device.state", "Board connection", subject, lambda: _check_state(device))
        for check in checks:
            check.subject = subject
        return checks
    if device.get("probe_error"):
        return [Check("device.probe", "Board inspection", UNKNOWN, subject=subject, component="adb",
                      observed=device["probe_error"], how=_how(device, "probe"),
                      message=f"the board did not answer the inspection completely ({device['probe_error']}); its versions are unknown",
                      fix=Fix("check the cable / network and that the board is not hung, then re-run", _probe_retry(device)))]
    chip = matrix.chip(device.get("chip"))
    arch = (device.get("arch") or "").lower()
    if device.get("transport") == "local" and chip is None and arch and not arch.startswith(BOARD_ARCHES):
        # `--local` on a PC: one clear answer instead of a list of missing board files.
        return [Check("device.local", "This machine as a board", FAIL, subject=subject, component="chip", observed=f"{arch}, no Rockchip device tree",
                      how=f"{_how(device, 'arch')}; /proc/device-tree/compatible", expected="a Rockchip NPU board (aarch64/armv7l with an RKNN chip)",
                      source="toolkit2.md §1.2 (rknn-toolkit-lite2 runs on the board, aarch64 Linux only)",
                      message=f"this machine ({arch}) is not a Rockchip NPU board, so there is nothing to inspect locally",
                      fix=Fix("run `--local` on the board itself, or inspect boards from this PC over adb",
                              ["rknn-envcheck device --all", "rknn-envcheck   # the doctor: this PC and every board"]))]
    checks: list[Check] = []
    for check_id, title, func in (
        ("device.chip", "Chip and toolkit line", lambda: _check_chip(device, chip, host_toolkit)),
        ("device.rknn_server", "rknn_server", lambda: _check_server(device, chip, host_toolkit, matrix)),
        ("device.runtime", "NPU runtime library", lambda: _check_runtime(device, chip, host_toolkit, matrix)),
        ("device.driver", "NPU kernel driver", lambda: _check_driver(device, chip, host_toolkit, matrix)),
        ("device.mini_driver", "Mini driver", lambda: _check_mini(device, chip, host_toolkit)),
        ("device.galcore_user", "galcore user space vs kernel", lambda: _check_galcore_user(device, chip)),
        ("device.lite", "Toolkit-lite on the board", lambda: _check_board_python(device, chip, matrix)),
    ):
        checks.extend(run_guarded(check_id, title, subject, func))
    for check in checks:
        check.subject = subject
    return checks


def _check_state(device: dict):
    serial = device.get("serial", "SERIAL")
    state = device.get("state")
    how = _how(device, "state") or "adb devices -l"
    if state == "unauthorized":
        yield Check("device.state", "Board connection", FAIL, component="adb", observed="unauthorized", how=how, expected="device",
                    source="adb-emulation.md §2; seed §1.7.2 (RKNN_ERR_DEVICE_UNAVAILABLE: the board is not usable over adb)",
                    message="the board has not accepted this PC's adb key, so nothing on it can be checked",
                    fix=Fix("accept the USB debugging prompt on the board's screen, or put this PC's key on the board; then reconnect",
                            ["adb kill-server  # only if you own this adb server", f"adb -s {serial} wait-for-device",
                             f"cat ~/.android/adbkey.pub | adb -s {serial} shell 'cat >> /data/misc/adb/adb_keys'  # on boards without a screen, over another authorised link"]))
    elif state == "offline":
        yield Check("device.state", "Board connection", FAIL, component="adb", observed="offline", how=how, expected="device",
                    source="adb-emulation.md §2",
                    message="the adb server lists the board but it does not answer (adbd hung, cable or network lost, board rebooting)",
                    fix=Fix("reconnect the board; for a network board, reconnect it", [f"adb disconnect {serial} && adb connect {serial}" if ":" in serial else f"adb -s {serial} reconnect", f"adb -s {serial} wait-for-device"]))
    elif state == "no permissions":
        yield Check("device.state", "Board connection", FAIL, component="udev", observed="no permissions", how=how, expected="device",
                    source="toolkit1.md §4.1 (TS-1.7.5 §8.6: 'no permissions (user … is not in the plugdev group)')",
                    message="this user may not open the board's USB device, so adb cannot talk to it",
                    fix=Fix("install the Rockchip udev rule (read what it will do first), then unplug and replug the board", _udev_commands()))
    else:
        yield Check("device.state", "Board connection", FAIL, component="adb", observed=state, how=how, expected="device",
                    message=f"the board is in state {state!r}, not in normal adb mode: its NPU stack cannot be inspected",
                    fix=Fix("reboot the board into its normal system", [f"adb -s {serial} reboot"]))


def _udev_commands() -> list[str]:
    from rknn_envcheck.udev import udev_fix_commands

    return udev_fix_commands()


def _check_chip(device: dict, chip, host_toolkit):
    observed = device.get("chip")
    if not observed:
        yield Check("device.chip", "Chip and toolkit line", UNKNOWN, component="chip", observed=None, how=_how(device, "chip"),
                    message=f"the board's chip could not be identified ({_why_missing(device, 'chip')})", evidence=_raw(device, "chip"),
                    fix=Fix("check what the board reports", [_on_board(device, "cat /proc/device-tree/compatible")]))
        return
    if chip is None:
        yield Check("device.chip", "Chip and toolkit line", UNKNOWN, component="chip", observed=observed, how=_how(device, "chip"),
                    message=f"chip {observed} is not in the matrix: no RKNN NPU known for it", evidence=_raw(device, "chip"))
        return
    line = chip["line"]
    expected = f"{line} (for {chip['name']})"
    if host_toolkit is None:
        yield Check("device.chip", "Chip and toolkit line", OK, component="chip", observed=chip["name"], how=_how(device, "chip"),
                    expected=expected, source=chip.get("source", ""), message=f"{chip['name']} needs {line} on the PC (no toolkit on the host to compare)")
        return
    package, version = host_toolkit
    if LINE_OF[package] != line:
        yield Check("device.chip", "Chip and toolkit line", FAIL, component="chip", observed=f"{chip['name']} board, host has {package} {version}",
                    how=_how(device, "chip"), expected=expected, source=chip.get("source", "") or "toolkit2.md §0 (generation split)",
                    message=f"{chip['name']} is driven by {line}, but the host has {package}: the two lines are not compatible",
                    fix=Fix(f"install {line} in a separate environment for this board", [f"python3 -m venv ~/{line}-venv && ~/{line}-venv/bin/pip install {line}"]))
        return
    yield Check("device.chip", "Chip and toolkit line", OK, component="chip", observed=chip["name"], how=_how(device, "chip"), expected=expected,
                source=chip.get("source", ""), message=f"{chip['name']} fits {package}")


def _stack_rows(matrix, host_toolkit, component: str) -> list[dict]:
    if host_toolkit is None:
        return []
    package, version = host_toolkit
    line_package = "rknn-toolkit" if LINE_OF[package] == "rknn-toolkit" else "rknn-toolkit2"
    rows = [r for r in matrix.rows("board_stack", package) if r["component"] == component]
    if not rows and package != line_package:
        rows = [r for r in matrix.rows("board_stack", line_package) if r["component"] == component]
    return [r for r in rows if in_versions(version, r["versions"])]


def _row_accepts(row: dict, value: str) -> bool | None:
    if "accepted" in row:
        # galcore versions (6.4.6.5.351518) are not PEP 440: compare the exact strings.
        return value in row["accepted"]
    if try_parse(value) is None:
        return None
    return matches(value, row["specifier"]) if row["specifier"] else True


def _judge_rows(device, rows, component_label, value, how, title, check_id, fix):
    """Apply matrix board_stack rows; yield the worst mismatch, else one ok row."""
    failures = []
    undecided = []
    for row in rows:
        verdict = _row_accepts(row, value)
        if verdict is None:
            undecided.append(row)
        elif not verdict:
            failures.append(row)
    if failures:
        worst = next((r for r in failures if r["level"] == "fail"), failures[0])
        expected = worst.get("specifier") or " or ".join(worst.get("accepted", []))
        yield Check(check_id, title, FAIL if worst["level"] == "fail" else WARN, component=component_label, observed=value, how=how,
                    expected=expected, source=worst.get("source", ""),
                    rule=f"{worst['_file']} [[board_stack]] row {worst['_row']}" + (f" (note: {worst['note']})" if worst.get("note") else ""),
                    message=f"{component_label} {value} does not match what the toolkit needs ({expected})",
                    evidence=_raw(device, check_id.split(".")[-1]), fix=fix)
        return True
    if undecided:
        yield Check(check_id, title, UNKNOWN, component=component_label, observed=value, how=how,
                    message=f"{component_label} version {value!r} does not parse; cannot compare", evidence=_raw(device, check_id.split(".")[-1]))
        return True
    return False


# The newest runtime/rknn_server Rockchip published (toolkit2.md §1.3, §7: no public 2.5.0 runtime).
NEWEST_PUBLIC_RUNTIME = "2.3.2"
BOARD_ARCHES = ("aarch64", "arm64", "armv7l", "armv8l", "armhf", "arm")


def target_version(device: dict, host_toolkit) -> str | None:
    """The one release every board fix installs: the host toolkit's, else the newer of what the
    board has (server or runtime), so two checks never prescribe two different versions."""
    if host_toolkit and try_parse(host_toolkit[1]) is not None:
        return public(host_toolkit[1]).base_version
    have = [v for v in (device.get("rknn_server"), device.get("librknn_runtime")) if v and try_parse(v) is not None]
    return str(max((public(v) for v in have))) if have else None


def _sdk_checkout(repo: str, version: str | None, tagged: bool) -> str:
    url = f"https://github.com/{repo}"
    name = repo.split("/")[1]
    if version is None:
        return f"git clone {url} && cd {name}  # then check out the release that matches your toolkit"
    if tagged:
        return f"git clone --depth 1 --branch v{version} {url} && cd {name}"
    return f"git clone {url} && cd {name} && git checkout $(git log --format=%h -1 --grep='{version}')  # the {version} release commit"


def _push_fix(device: dict, chip, what: str, version: str | None) -> Fix:
    arch = (device.get("arch") or "aarch64").lower()
    if device.get("transport") == "local" and not arch.startswith(BOARD_ARCHES):
        return Fix(f"this machine ({arch}) is not a Rockchip NPU board: run `rknn-envcheck device --local` on the board itself, "
                   "or `rknn-envcheck device --id SERIAL` from the PC")
    os_name = device.get("os") or "linux"
    if chip and chip["line"] == "rknn-toolkit":
        folder = {"RV1109": "linux-armhf-puma", "RV1126": "linux-armhf-puma", "RK1806": "linux-armhf"}.get(chip["name"], "linux-aarch64")
        if device.get("mini_driver"):
            folder += "-mini"
        ko = {"RV1109": "galcore_puma.ko", "RV1126": "galcore_puma.ko", "RK1806": "galcore_rk1806.ko"}.get(chip["name"], "galcore.ko")
        if chip["name"] == "RK3399PRO":
            return Fix(f"update the RK3399Pro NPU firmware to {version or 'your toolkit version'} (airockchip/RK3399Pro_npu; toolkit1.md §3.2)",
                       [f"# flash the NPU boot.img of the RK3399Pro_npu {version or ''} release as its README describes"])
        copy_tree = (f"sudo cp -r drivers/{folder}/* /" if device.get("transport") == "local" else f"{_adb(device)}push drivers/{folder}/* /")
        return Fix(f"install the {version or 'matching'} {what} from rknpu's drivers/{folder} (toolkit1.md §5.1, rknpu README), then reboot",
                   [_sdk_checkout("rockchip-linux/rknpu", version, tagged=False),
                    copy_tree, _push(device, f"drivers/npu_ko/{ko}", "/lib/modules/galcore.ko"),
                    _on_board(device, "sync", root=True), _reboot(device)])
    library = device.get("runtime_library") or (chip or {}).get("runtime_library") or "librknnrt.so"
    runtime_paths = ((chip or {}).get("runtime_paths") or {}).get(os_name) or ["/usr/lib/" + library]
    server_paths = ((chip or {}).get("server_paths") or {}).get(os_name) or ["/usr/bin/rknn_server"]
    note = ""
    if version and try_parse(version) and public(version) > public(NEWEST_PUBLIC_RUNTIME):
        note = f" (no public {version} runtime exists — toolkit2.md §7 — so the newest published, {NEWEST_PUBLIC_RUNTIME}, is used)"
        version = NEWEST_PUBLIC_RUNTIME
    sub = "aarch64" if arch in ("aarch64", "arm64") else "armhf"
    if version and try_parse(version) and public(version) < public("1.6.0"):
        # Before 1.6.0 the runtime lived in rockchip-linux/rknpu2, one folder per chip (toolkit2.md §1.3).
        chip_dir = {"RK3566": "RK356X", "RK3568": "RK356X", "RV1103": "RV1106", "RV1106": "RV1106"}.get((chip or {}).get("name", ""), (chip or {}).get("name", "RK3588"))
        checkout = _sdk_checkout("rockchip-linux/rknpu2", version, tagged=False)
        base = f"runtime/{chip_dir}/{'Android' if os_name == 'android' else 'Linux'}"
        src_lib = f"{base}/librknn_api/{'arm64-v8a' if os_name == 'android' else sub}/{library}"
        src_srv = f"{base}/rknn_server/{'arm64' if os_name == 'android' else sub}/{'vendor/bin' if os_name == 'android' else 'usr/bin'}/rknn_server"
    else:
        checkout = _sdk_checkout("airockchip/rknn-toolkit2", version, tagged=True)
        if library == "librknnmrt.so":
            src_lib, src_srv = "rknpu2/runtime/Linux/librknn_api/armhf-uclibc/librknnmrt.so", "rknpu2/runtime/Linux/rknn_server/armhf-uclibc/usr/bin/rknn_server"
        elif os_name == "android":
            abi = "arm64-v8a" if arch in ("aarch64", "arm64") or "64" in arch else "armeabi-v7a"
            src_lib = f"rknpu2/runtime/Android/librknn_api/{abi}/librknnrt.so"
            src_srv = f"rknpu2/runtime/Android/rknn_server/{'arm64' if abi == 'arm64-v8a' else 'arm'}/rknn_server"
        else:
            src_lib, src_srv = f"rknpu2/runtime/Linux/librknn_api/{sub}/librknnrt.so", f"rknpu2/runtime/Linux/rknn_server/{sub}/usr/bin/rknn_server"
    if os_name == "android":
        restart = _on_board(device, "killall rknn_server; /vendor/bin/rknn_server &", root=True)
    elif library == "librknnmrt.so":
        restart = _on_board(device, f"killall rknn_server; {server_paths[0]} &", root=True)
    else:
        restart = _on_board(device, "restart_rknn.sh", root=True)
    commands = [checkout]
    if os_name == "android" and device.get("transport") != "local":
        commands += [f"{_adb(device)}root", f"{_adb(device)}remount"]
    commands += [_push(device, src_lib, runtime_paths[0]), _push(device, src_srv, server_paths[0]),
                 _on_board(device, f"chmod +x {server_paths[0]}", root=True), restart]
    return Fix(f"install rknn_server and {library} {version or '(the release matching your toolkit)'} together{note} "
               "(toolkit2.md §1.3 paths; rknn_server_proxy.md), then restart rknn_server", commands)


def _check_server(device: dict, chip, host_toolkit, matrix):
    server = device.get("rknn_server")
    title = "rknn_server"
    how = _how(device, "rknn_server")
    runtime = device.get("librknn_runtime")
    line = (chip or {}).get("line") or (LINE_OF[host_toolkit[0]] if host_toolkit else None)
    fix = _push_fix(device, chip, "rknn_server and runtime", target_version(device, host_toolkit))
    if not server:
        if device.get("mini_driver"):
            yield Check("device.rknn_server", title, SKIPPED, component="rknn_server", how=how,
                        message="mini driver boards ship no rknn_server (toolkit1.md §5.1): no connected debugging")
            return
        lite_only = host_toolkit is not None and host_toolkit[0] in ("rknn-toolkit-lite", "rknn-toolkit-lite2")
        status = SKIPPED if lite_only else (UNKNOWN if "not found" not in _why_missing(device, "rknn_server") else FAIL)
        yield Check("device.rknn_server", title, status, component="rknn_server", how=how,
                    observed=None, expected="rknn_server installed and matching the toolkit",
                    source="seed §1.7.2 (RKNN_ERR_DEVICE_UNAVAILABLE: rknn_server not started or missing)",
                    message=("not needed on the board for toolkit-lite" if lite_only else
                             (f"rknn_server is missing ({_why_missing(device, 'rknn_server')}): the PC toolkit cannot run models on this board (RKNN_ERR_DEVICE_UNAVAILABLE)"
                              if status == FAIL else f"the rknn_server version was not observed ({_why_missing(device, 'rknn_server')}); the PC toolkit needs a running rknn_server")),
                    fix=None if lite_only else fix)
        return
    if try_parse(server) is None:
        yield Check("device.rknn_server", title, UNKNOWN, component="rknn_server", observed=server, how=how,
                    message=f"the rknn_server version {server!r} is in a format this tool does not know", evidence=_raw(device, "rknn_server"))
        return
    if device.get("rknn_server_running") is False:
        yield Check("device.rknn_server.running", "rknn_server running", FAIL, component="rknn_server", observed="not running",
                    how=_how(device, "rknn_server_running"), expected="running",
                    source="seed §1.7.2 (rknn_server must be running for connected-board mode); toolkit1.md §3.2 (start_rknn.sh)",
                    message="rknn_server is installed but not running: the PC toolkit gets RKNN_ERR_DEVICE_UNAVAILABLE",
                    fix=Fix("start it", [_on_board(device, f"restart_rknn.sh || (nohup {_server_path(device, chip)} >/dev/null 2>&1 &)", root=True)]))
    # The server and the runtime must be the same release (both lines' vendor rule).
    if runtime and try_parse(runtime) is not None and public(server) != public(runtime):
        older_server = public(server) < public(runtime)
        yield Check("device.rknn_server.vs_runtime", "rknn_server vs runtime", FAIL, component="rknn_server",
                    observed=f"rknn_server {server}, runtime {runtime}", how=f"{how}; {_how(device, 'librknn_runtime')}",
                    expected="the same version", source=QS_CONSISTENT if line == "rknn-toolkit2" else TS_CONSISTENT,
                    message=f"rknn_server {server} and the runtime library {runtime} are from different releases"
                            + (" (server older: expect `msg_ioctl_ack fail` / RKNN VERSION UNMATCH)" if older_server else ""),
                    evidence=_raw(device, "rknn_server") + _raw(device, "librknn_runtime"),
                    fix=_push_fix(device, chip, "rknn_server and runtime", target_version(device, host_toolkit)))
    chip_minimum = (chip or {}).get("min_rknn_server")
    if chip_minimum and public(server) < public(chip_minimum):
        yield Check("device.rknn_server.chip_minimum", f"rknn_server on {chip['name']}", WARN, component="rknn_server", observed=server, how=how,
                    expected=f">= {chip_minimum} on {chip['name']}", rule=f"{chip.get('_file', '')} [[chip]] {chip['name']} min_rknn_server",
                    source="toolkit2.md §3.1 (rknn_server_proxy.md §2.2: rknn_server >= 2.1.0 recommended on RV1103/RV1106/RV1103B)",
                    message=f"rknn_server {server} on {chip['name']}: the vendor recommends {chip_minimum} or newer on this chip (memory handling on small boards)",
                    evidence=_raw(device, "rknn_server"), fix=_push_fix(device, chip, "rknn_server and runtime", chip_minimum))
    if host_toolkit is None:
        yield Check("device.rknn_server", title, OK, component="rknn_server", observed=server, how=how, evidence=_raw(device, "rknn_server"),
                    message=f"rknn_server {server} (no toolkit on the host to compare with)")
        return
    package, version = host_toolkit
    if package in ("rknn-toolkit-lite", "rknn-toolkit-lite2"):
        yield Check("device.rknn_server", title, OK, component="rknn_server", observed=server, how=how, message=f"rknn_server {server} (not used by {package})")
        return
    rows = _stack_rows(matrix, host_toolkit, "rknn_server")
    if (yield from _judge_rows(device, rows, "rknn_server", server, how, title, "device.rknn_server", fix)):
        return
    if rows:
        yield Check("device.rknn_server", title, OK, component="rknn_server", observed=server, how=how,
                    expected="; ".join(r.get("specifier") or "/".join(r.get("accepted", [])) for r in rows),
                    source="; ".join(sorted({r.get("source", "") for r in rows})), evidence=_raw(device, "rknn_server"),
                    message=f"rknn_server {server} fits {package} {version}")
        return
    # No explicit row: the vendor rule is "the same version as the toolkit".
    same = public(server).release[:2] == public(version).release[:2]
    older = public(server) < public(version)
    status = OK if same and not older else (FAIL if older else WARN)
    yield Check("device.rknn_server", title, status, component="rknn_server", observed=server, how=how, expected=f"{version} (same release as {package})",
                source=QS_CONSISTENT if LINE_OF[package] == "rknn-toolkit2" else TS_CONSISTENT, evidence=_raw(device, "rknn_server"),
                message=(f"rknn_server {server} fits {package} {version}" if status == OK else
                         f"rknn_server {server} is {'older' if older else 'newer'} than {package} {version}"
                         + ("; the toolkit refuses it ('rknn_server version is too old') or fails in rknn_init" if older else "; usually works, same release recommended")),
                fix=None if status == OK else fix)


def _server_path(device: dict, chip) -> str:
    paths = ((chip or {}).get("server_paths") or {}).get(device.get("os") or "linux") or ["/usr/bin/rknn_server"]
    return paths[0]


def _check_runtime(device: dict, chip, host_toolkit, matrix):
    runtime = device.get("librknn_runtime")
    line = (chip or {}).get("line") or (LINE_OF[host_toolkit[0]] if host_toolkit else None)
    library = (device.get("runtime_library") or (chip or {}).get("runtime_library")
               or {"rknn-toolkit": "librknn_runtime.so", "rknn-toolkit2": "librknnrt.so"}.get(line or "", "runtime library"))
    how = _how(device, "librknn_runtime")
    title = f"{library}"
    fix = _push_fix(device, chip, library, target_version(device, host_toolkit))
    if not runtime:
        status = FAIL if "not found" in _why_missing(device, "librknn_runtime") else UNKNOWN
        yield Check("device.runtime", title, status, component=library, how=how, expected=f"{library} installed",
                    source="toolkit2.md §0 / toolkit1.md §3.3 (board paths)",
                    message=f"{library}: {_why_missing(device, 'librknn_runtime')}", fix=fix)
        return
    if try_parse(runtime) is None:
        yield Check("device.runtime", title, UNKNOWN, component=library, observed=runtime, how=how, evidence=_raw(device, "librknn_runtime"),
                    message=f"the runtime version {runtime!r} is in a format this tool does not know")
        return
    copies = device.get("runtime_copies") or []
    if len({c.get("version") for c in copies}) > 1:
        listing = [f"{c.get('version') or '?'} at {c.get('path')}" for c in copies]
        yield Check("device.runtime.copies", "Runtime library copies", WARN, component=library, observed=listing,
                    how="strings on every runtime path of the board", expected="one runtime version on the board",
                    source="toolkit2.md §3.1 (rknn_server_proxy.md Q5: a same-named library left in /usr/lib must be deleted); issue #350 (/usr/lib64 copy)",
                    message=f"the board has {len(copies)} different copies of the runtime ({'; '.join(listing)}); which one an app loads depends on its library path",
                    fix=Fix("keep one copy (the one rknn_server and rknn-toolkit-lite2 load) and remove or replace the others",
                            [_on_board(device, f"rm {c.get('path')}", root=True) + "  # after checking nothing else needs it" for c in copies[1:]]))
    if host_toolkit is None:
        yield Check("device.runtime", title, OK, component=library, observed=runtime, how=how, evidence=_raw(device, "librknn_runtime"),
                    message=f"{library} {runtime} (no toolkit on the host to compare with)")
        return
    package, version = host_toolkit
    component = "librknn_runtime" if LINE_OF[package] == "rknn-toolkit" else ("librknnmrt" if library == "librknnmrt.so" else "librknnrt")
    rows = _stack_rows(matrix, host_toolkit, component) or (_stack_rows(matrix, host_toolkit, "librknnrt") if component == "librknnmrt" else [])
    if (yield from _judge_rows(device, rows, library, runtime, how, title, "device.runtime", fix)):
        return
    older = public(runtime) < public(version)
    same_minor = public(runtime).release[:2] == public(version).release[:2]
    if LINE_OF[package] == "rknn-toolkit":
        status = OK if same_minor and not older else (FAIL if older else WARN)
        src = TS_CONSISTENT
    else:
        status = OK if not older else WARN
        src = QS_CONSISTENT + "; toolkit2.md §3.2 (runtime older than the model's toolkit → 'RKNN Model version … not match with rknn runtime version', unsupported ops)"
    yield Check("device.runtime", title, status, component=library, observed=runtime, how=how, expected=f">= {version} (same release as {package})",
                source=src, evidence=_raw(device, "librknn_runtime"),
                message=(f"{library} {runtime} fits {package} {version}" if status == OK else
                         f"{library} {runtime} is {'older' if older else 'newer'} than {package} {version}"),
                fix=None if status == OK else fix)


def _check_driver(device: dict, chip, host_toolkit, matrix):
    driver = device.get("npu_driver")
    # galcore versions have four or more parts (6.4.6.5.351518), rknpu three (0.9.6)
    shape = ("galcore" if driver.count(".") >= 3 else "rknpu") if driver else None
    kind = device.get("npu_driver_kind") or (chip or {}).get("driver") or shape or "NPU driver"
    how = _how(device, "npu_driver")
    title = f"NPU driver ({kind})"
    if not driver:
        missing = _why_missing(device, "npu_driver")
        status = FAIL if device.get("npu_driver_absent") else UNKNOWN
        commands = [_on_board(device, "dmesg | grep -i -E 'galcore|rknpu'"), _on_board(device, "cat /sys/kernel/debug/rknpu/version")]
        yield Check("device.driver", title, status, component=kind, how=how, expected="a loaded NPU driver",
                    source="toolkit2.md §3.1 (Quick Start 1.6.0 §3.4.1: no version shown → third-party firmware without the NPU driver; CONFIG_ROCKCHIP_RKNPU=y)",
                    message=f"NPU driver version not found ({missing})" + ("; the board's kernel has no NPU driver loaded" if status == FAIL else ""),
                    fix=Fix("run the commands below as root on the board; if nothing prints, flash a firmware with the NPU driver (rknpu: enable CONFIG_ROCKCHIP_RKNPU; galcore: insmod /lib/modules/galcore.ko)", commands))
        return
    # A version in no known shape (rknpu 0.9.6; galcore 6.4.6.5.351518) is unknown, never judged.
    if not re.fullmatch(r"\d+\.\d+\.\d+(?:\.[0-9a-z]+)*", driver) or (kind == "rknpu" and try_parse(driver) is None):
        yield Check("device.driver", title, UNKNOWN, component=kind, observed=driver, how=how, evidence=_raw(device, "npu_driver"),
                    message=f"the NPU driver version {driver!r} is in a format this tool does not know; cannot compare")
        return
    if host_toolkit is None and kind != "rknpu":
        yield Check("device.driver", title, OK, component=kind, observed=driver, how=how, evidence=_raw(device, "npu_driver"),
                    message=f"{kind} {driver} (no toolkit on the host to compare with)")
        return
    rows = _stack_rows(matrix, host_toolkit, "npu_driver") if host_toolkit else []
    fix = Fix("the NPU driver is part of the firmware: flash a firmware whose driver matches (toolkit2.md §3.1: 'Upgrade by burning new firmware')"
              if kind == "rknpu" else "push the matching galcore.ko (see the runtime fix) and reboot",
              [] if kind == "rknpu" else [_push(device, "drivers/npu_ko/galcore.ko", "/lib/modules/galcore.ko"), _reboot(device)])
    if (yield from _judge_rows(device, rows, kind, driver, how, title, "device.driver", fix)):
        return
    if kind == "rknpu" and try_parse(driver) is not None and not rows:
        ok = matches(driver, ">=0.9.2")
        yield Check("device.driver", title, OK if ok else WARN, component=kind, observed=driver, how=how, expected=">= 0.9.2 (recommended)",
                    source="toolkit2.md §3.1 (Quick Start 1.6.0 §3.4.1: 'It is recommended that RKNPU2 driver version >= 0.9.2')",
                    evidence=_raw(device, "npu_driver"), message=f"rknpu driver {driver}" + ("" if ok else ": older than the recommended 0.9.2"),
                    fix=None if ok else fix)
        return
    yield Check("device.driver", title, OK, component=kind, observed=driver, how=how, evidence=_raw(device, "npu_driver"),
                expected="; ".join(r.get("specifier") or " or ".join(r.get("accepted", [])) for r in rows) or None,
                source="; ".join(sorted({r.get("source", "") for r in rows})), message=f"{kind} {driver}")


def _check_galcore_user(device: dict, chip):
    """libGAL.so (user space) and galcore.ko (kernel) must come from the same driver release:
    rknpu's README names `HAL user version` ≠ `HAL kernel version` as the sign they were not
    updated together (toolkit1.md §3.3)."""
    from rknn_envcheck.probes.board_parse import galcore_key

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
                source="toolkit1.md §3.3 (rknpu README: `HAL user version` / `HAL kernel version` differ when the user-space driver and the .ko were not updated together)",
                message="the NPU user-space driver (libGAL.so) and the kernel module (galcore.ko) are from different releases: rknn_init fails",
                evidence=_raw(device, "galcore_user") + _raw(device, "npu_driver"),
                fix=_push_fix(device, chip, "driver", target_version(device, None)))


def _check_mini(device: dict, chip, host_toolkit):
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
                source="toolkit1.md §5.1 (rknpu drivers/README: mini driver only runs pre-compiled models; TS-1.7.5 §8.8 item 9: no online debugging)",
                message="mini driver: only pre-compiled models load (else RKNN_ERR_MODEL_INVALID / -14), and the PC toolkit cannot debug on this board",
                fix=Fix("for connected debugging push the full driver (drivers/linux-armhf-puma or linux-aarch64, not *-mini); for deployment build with pre_compile=True",
                        [_push(device, f"drivers/{'linux-armhf-puma' if chip['name'] in ('RV1109', 'RV1126') else 'linux-aarch64'}/*", "/")]))


def _check_board_python(device: dict, chip, matrix):
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
                        source="toolkit2.md §0 (generation split)", message=f"{package} cannot drive {chip['name']}",
                        fix=Fix("install the lite package of the right line on the board", [_on_board(device, f"python3 -m pip install {chip['line'].replace('rknn-toolkit', 'rknn-toolkit-lite')}")]))
            continue
        runtime = device.get("librknn_runtime")
        if runtime and try_parse(runtime) and try_parse(version):
            older = public(runtime) < public(version)
            yield Check(f"device.lite.{package}", f"{package} on the board", WARN if older else OK, component=package,
                        observed=f"{package} {version}, runtime {runtime}", how=_how(device, "python"), expected=f"runtime >= {version}",
                        source=QS_CONSISTENT, message=(f"{package} {version} is newer than the board's runtime {runtime}" if older else f"{package} {version} with runtime {runtime}"),
                        fix=_push_fix(device, chip, "runtime", public(version).base_version) if older else None)
        numpy = packages.get("numpy")
        if line == "rknn-toolkit2" and numpy and try_parse(numpy) and parse_version(numpy).major >= 2:
            yield Check("device.lite.numpy", "numpy on the board", WARN, component="numpy", observed=f"numpy {numpy}", how=_how(device, "python"),
                        expected="numpy<=1.26.4", source="toolkit2.md §2.4 (numpy 2 breaks modules built for NumPy 1.x)",
                        message="numpy 2 on the board: modules compiled for NumPy 1.x may crash",
                        fix=Fix("install numpy 1.x on the board", [_on_board(device, "python3 -m pip install 'numpy<=1.26.4'")]))
