"""Board probe: ONE batched, read-only shell command gathers a board's whole NPU stack.

The batch is a list of sections `echo @@S:name; <command>; echo @@R:$?` and ends with
`echo @@END`. adbutils' shell() silently returns partial output when a board drops mid-command
(adb-emulation.md §4), so a reply without the end marker is incomplete and the board is
`unknown`, never judged on half an answer. Serials and outputs never reach a host shell.
"""
from __future__ import annotations

import re
import time

from rknn_envcheck.boards.base import BoardError, BoardSession
from rknn_envcheck.probes import board_parse as P

END_MARKER = "@@END"
_SECTION = re.compile(r"@@S:(?P<name>[^\n]+)\n(?P<body>.*?)@@R:(?P<rc>\d+)\n?", re.S)

V1_SERVER_PATHS = ["/usr/bin/rknn_server"]
V1_RUNTIME_PATHS = ["/usr/lib/librknn_runtime.so", "/usr/lib64/librknn_runtime.so"]
V2_RUNTIME_PATHS = ["/usr/lib/librknnrt.so", "/usr/lib64/librknnrt.so", "/vendor/lib64/librknnrt.so", "/vendor/lib/librknnrt.so",
                    "/oem/usr/lib/librknnmrt.so", "/usr/lib/librknnmrt.so"]
V2_SERVER_PATHS = ["/usr/bin/rknn_server", "/vendor/bin/rknn_server", "/oem/usr/bin/rknn_server"]
# Mini driver detection (toolkit1.md §5.1, inferred from the rknpu file lists): mini has libVSC_Lite.so, no libVSC.so.
MINI_MARKERS = ["/usr/lib/libVSC_Lite.so", "/usr/lib/libVSC.so", "/usr/lib/libOpenCL.so"]
SITE_GLOBS = ["/usr/lib/python3*/*-packages", "/usr/local/lib/python3*/*-packages", "/root/.local/lib/python3*/site-packages",
              "/home/*/.local/lib/python3*/site-packages"]
VERSION_GREP = "build[:@]|version"
GREP_A_PATTERN = "lib[a-z_]+ version:? [^)]*[)]|[0-9]+[.][0-9]+[.][0-9]+ [(][0-9a-f]+ build[:@][^)]*[)]"


def _paths(matrix, key: str, defaults: list[str]) -> list[str]:
    found: list[str] = []
    for path in defaults:
        if path not in found:
            found.append(path)
    if matrix is not None:
        for row in matrix.rows("chip"):
            for paths in (row.get(key) or {}).values():
                for path in paths:
                    if path not in found:
                        found.append(path)
    return found


def build_batch(matrix=None, root: str = "") -> list[tuple[str, str]]:
    """The probe's sections. `root` prefixes every path (a board's root filesystem copied to a
    directory, for `device --local --sysroot`); kernel queries then read files under it.

    The whole batch must stay under 4 KiB: legacy Linux adbd (A_VERSION_MIN) accepts service
    strings of at most MAX_PAYLOAD_V1 = 4096 bytes (adb-emulation.md §1)."""
    r = root.rstrip("/")
    binaries = _paths(matrix, "server_paths", V1_SERVER_PATHS + V2_SERVER_PATHS) + _paths(matrix, "runtime_paths", V1_RUNTIME_PATHS + V2_RUNTIME_PATHS)
    sections: list[tuple[str, str]] = [
        ("tools", "command -v strings dmesg pidof getprop python3"),
        ("uname", f"cat {r}/.rknn-envcheck/uname" if r else "uname -s -r -m"),
        ("compatible", f"cat {r}/proc/device-tree/compatible"),
        ("getprop", f"cat {r}/.rknn-envcheck/getprop" if r else "getprop ro.board.platform; getprop ro.build.version.sdk"),
    ]
    # The vendor's own query (`strings FILE | grep build`); the error of a missing file passes the
    # filter too, so "missing" and "no version line" are told apart.
    for path in binaries:
        sections.append((f"file:{path}", f"strings {r}{path} 2>&1 | grep -m 20 -E '{VERSION_GREP}|No such'"))
    # Boards whose busybox has no `strings`: one grep -a -o over every candidate instead.
    sections.append(("grep-a", "command -v strings >/dev/null || grep -a -o -E '" + GREP_A_PATTERN + "' "
                     + " ".join(r + p for p in binaries)))
    sections += [
        ("rknpu:debugfs", f"cat {r}/sys/kernel/debug/rknpu/version"),
        ("rknpu:procfs", f"cat {r}/proc/rknpu/version"),
        ("rknpu:module", f"cat {r}/sys/module/rknpu/version"),
        ("dmesg", f"grep -i -E 'galcore|rknpu' {r}/.rknn-envcheck/dmesg" if r else "dmesg 2>&1 | grep -i -E 'galcore|rknpu|klogctl|not permitted' | head -n 40"),
        ("mini", "ls " + " ".join(r + p for p in MINI_MARKERS)),
        # galcore user-space driver version (toolkit1.md §3.3: `$VERSION$6.4.6:351518$` in every libGAL.so)
        ("libgal", f"strings {r}/usr/lib/libGAL.so 2>&1 | grep -m 3 -E 'VERSION|No such'"),
        ("running", f"cat {r}/.rknn-envcheck/pidof-rknn_server" if r else "pidof rknn_server"),
        ("python", f"cat {r}/.rknn-envcheck/python-version" if r else "python3 --version 2>&1"),
        ("site", "grep -h -E '^(Name|Version):' " + " ".join(f"{r}{g}/*.dist-info/METADATA" for g in SITE_GLOBS)),
    ]
    return sections


def render_batch(sections: list[tuple[str, str]]) -> str:
    parts = [f"echo @@S:{name}; {command}; echo @@R:$?" for name, command in sections]
    parts.append(f"echo {END_MARKER}")
    return "; ".join(parts)


def _short_reason(message: str, command: str) -> str:
    """Transport errors may quote the whole ~3 KB batch; the user needs the reason, not the batch."""
    if command in message:
        message = message.replace(repr(command), "the probe").replace(command, "the probe")
    return message if len(message) <= 200 else message[:197] + "..."


def parse_batch(stdout: str) -> dict[str, tuple[str, int]] | None:
    """name → (body, exit status); None when the end marker is missing (truncated reply)."""
    text = stdout.replace("\r\n", "\n").replace("\r", "")
    if END_MARKER not in text:
        return None
    return {m.group("name").strip(): (m.group("body"), int(m.group("rc"))) for m in _SECTION.finditer(text)}


def gather_board(session: BoardSession, timeout: float = 5.0, matrix=None, root: str = "") -> dict:
    """Device facts for one board (facts schema `devices[]`), from one shell round trip."""
    if matrix is None:
        from rknn_envcheck.matrix import load_matrix

        matrix = load_matrix()
    device: dict = {"serial": session.serial, "state": "device", "transport": session.transport, "how": {}, "raw": {}, "errors": {}}
    sections = build_batch(matrix, root)
    command = render_batch(sections)
    started = time.perf_counter()
    try:
        result = session.shell(command, timeout)
    except BoardError as exc:
        device["how"]["probe"] = f"one batched shell command ({len(sections)} queries), timeout {timeout:g}s"
        if exc.kind in ("unauthorized", "offline"):
            device["state"] = exc.kind  # the same diagnosis as when adb lists the board in that state
            return device
        device["probe_error"] = f"{exc.kind}: {_short_reason(str(exc), command)}"
        return device
    device["probe_ms"] = round((time.perf_counter() - started) * 1000.0, 1)
    parsed = parse_batch(result.stdout)
    if parsed is None:
        tail = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
        device["probe_error"] = f"incomplete reply: the end marker is missing (the board dropped or truncated the answer; last line: {tail[0][:80]!r})"
        device["how"]["probe"] = "one batched shell command"
        return device
    interpret(device, parsed, matrix, root)
    return device


def _lines(body: str) -> list[str]:
    return [line for line in body.replace("\x00", "\n").splitlines() if line.strip()]


def interpret(device: dict, sections: dict[str, tuple[str, int]], matrix, root: str = "") -> None:
    """Turn the batch's sections into facts; every value keeps its raw line and how it was read."""
    how, raw, errors = device["how"], device["raw"], device["errors"]
    tools_body, _ = sections.get("tools", ("", 1))
    tools = {line.rsplit("/", 1)[-1].strip() for line in _lines(tools_body)}
    if root:
        # A sysroot carries the kernel log and the process list as files (rknn-envcheck emulator
        # sysroot writes them); a plain copy of a root filesystem has neither: then unknown.
        if sections.get("dmesg", ("", 2))[1] != 2:
            tools.add("dmesg")
        if sections.get("running", ("", 1))[1] == 0:
            tools.add("pidof")
    device["tools"] = sorted(tools)

    uname_body, _ = sections.get("uname", ("", 1))
    uname = uname_body.split()
    if uname:
        device["arch"] = uname[-1]
        how["arch"] = "uname -m"
        if uname[0].lower() == "linux":
            device["kernel"] = uname[1] if len(uname) > 2 else None

    getprop_lines = [l.strip() for l in sections.get("getprop", ("", 1))[0].splitlines()]
    platform = getprop_lines[0] if getprop_lines else ""
    sdk = getprop_lines[1] if len(getprop_lines) > 1 else ""
    device["os"] = "android" if sdk.isdigit() else "linux"
    how["os"] = "getprop ro.build.version.sdk" + (f" = {sdk}" if sdk else " (empty: not Android)")

    compatible_body, _ = sections.get("compatible", ("", 1))
    chip_row = matrix.chip_from_compatible(compatible_body) if compatible_body.strip() else None
    if compatible_body.strip():
        device["device_tree_compatible"] = [entry for entry in compatible_body.replace("\x00", "\n").split() if entry]
        how["device_tree_compatible"] = "cat /proc/device-tree/compatible"
    if chip_row:
        device["chip"] = chip_row["name"]
        how["chip"] = "/proc/device-tree/compatible"
        raw["chip"] = compatible_body.replace("\x00", " ").strip()
    elif platform and matrix.chip(platform):
        device["chip"] = matrix.chip(platform)["name"]
        how["chip"] = "getprop ro.board.platform"
        raw["chip"] = platform
    else:
        raw_text = compatible_body.replace("\x00", " ").strip() or platform
        if raw_text:
            raw["chip"] = raw_text
        errors["chip"] = f"no known Rockchip NPU chip in {raw_text!r}" if raw_text else "no /proc/device-tree/compatible and no ro.board.platform"

    _interpret_binaries(device, sections, chip_row, tools)
    _interpret_driver(device, sections, chip_row, tools)
    _interpret_mini(device, sections, chip_row)
    _interpret_libgal(device, sections, chip_row)

    running_body, running_rc = sections.get("running", ("", 1))
    if "pidof" in tools:
        device["rknn_server_running"] = bool(running_body.strip())
        how["rknn_server_running"] = "pidof rknn_server"

    python_body, _ = sections.get("python", ("", 1))
    match = P.PYTHON_VERSION.search(python_body)
    if match:
        site_lines = _lines(sections.get("site", ("", 1))[0])
        device["python"] = {"version": match.group("version"), "packages": P.parse_metadata_pairs(site_lines)}
        how["python"] = "python3 --version; Name/Version of */site-packages/{rknn_toolkit_lite*,numpy-*}.dist-info/METADATA"


def _file_section(sections, path, tools) -> tuple[bool | None, list[str]]:
    """(exists, version lines) for a `file:` section. exists is None when it cannot be told."""
    body, _rc = sections.get(f"file:{path}", ("", 1))
    lines = _lines(body)
    if any("No such file" in line for line in lines):
        return False, []
    if "strings" not in tools:  # busybox without `strings`: use the grep -a section
        fallback = [l.split(":", 1)[1] for l in _lines(sections.get("grep-a", ("", 1))[0]) if l.startswith(path + ":")]
        return (True if fallback else None), fallback
    return True, lines


def _record(device: dict, field: str, path: str, version, line, tools) -> None:
    """Store a binary's version with how it was read and its raw line; no version: say why."""
    device["how"][field] = (f"strings {path} | grep -E '{VERSION_GREP}'" if "strings" in tools
                            else f"grep -a -o over {path} (the board has no `strings`)")
    device.setdefault("paths", {})[field] = path  # structured: replays and fixes need the path, not the `how` text
    if line:
        device["raw"][field] = line
    if version:
        device[field] = version
    else:
        device["errors"][field] = f"{path} exists but no known version line in it"


def _interpret_binaries(device, sections, chip_row, tools) -> None:
    errors = device["errors"]
    os_name = device.get("os", "linux")
    preferred_server = ((chip_row or {}).get("server_paths") or {}).get(os_name) or []
    server_paths = preferred_server + [n[5:] for n in sections if n.startswith("file:") and n.endswith("rknn_server") and n[5:] not in preferred_server]
    for path in server_paths:
        exists, lines = _file_section(sections, path, tools)
        if not exists:
            continue
        version, line = P.parse_rknn_server(lines)
        _record(device, "rknn_server", path, version, line, tools)
        break
    else:
        errors["rknn_server"] = ("the board has no `strings` and grep -a found no rknn_server version" if "strings" not in tools
                                 else "not found at " + ", ".join(server_paths[:3]))

    library = (chip_row or {}).get("runtime_library")
    preferred = ((chip_row or {}).get("runtime_paths") or {}).get(os_name) or []
    candidates = preferred + [n[5:] for n in sections if n.startswith("file:") and "rknn" in n and n.endswith(".so") and n[5:] not in preferred]
    if library:
        candidates = [p for p in candidates if p.endswith(library)] + [p for p in candidates if not p.endswith(library)]
    found = []
    for path in candidates:
        exists, lines = _file_section(sections, path, tools)
        if exists:
            found.append((path, lines))
    if not found:
        if "strings" not in tools:
            errors["librknn_runtime"] = "the board has no `strings` and grep -a found no runtime version"
        else:
            errors["librknn_runtime"] = "not found at " + ", ".join((preferred or candidates)[:4])
        return
    path, lines = found[0]
    version, line, lib_name = P.parse_runtime(lines)
    device["runtime_library"] = lib_name or path.rsplit("/", 1)[-1]
    device["runtime_path"] = path
    _record(device, "librknn_runtime", path, version, line, tools)
    if len(found) > 1:
        # A second copy in another library path is a classic cause of "works in one app, not in another".
        device["runtime_copies"] = [{"path": p, "version": P.parse_runtime(l)[0]} for p, l in found]


def _interpret_driver(device, sections, chip_row, tools) -> None:
    how, raw, errors = device["how"], device["raw"], device["errors"]
    dmesg_body, dmesg_rc = sections.get("dmesg", ("", 1))
    dmesg_lines = _lines(dmesg_body)
    denied = any("not permitted" in l or "klogctl" in l for l in dmesg_lines)
    driver_kind = (chip_row or {}).get("driver")
    version, line = P.parse_galcore(dmesg_lines)
    if version and driver_kind != "rknpu":
        device["npu_driver"], device["npu_driver_kind"] = version, "galcore"
        how["npu_driver"], raw["npu_driver"] = "dmesg | grep -i galcore", line
        return
    sources = {"debugfs": sections.get("rknpu:debugfs", ("", 1))[0], "procfs": sections.get("rknpu:procfs", ("", 1))[0],
               "module": sections.get("rknpu:module", ("", 1))[0], "dmesg": dmesg_body}
    version, line, source = P.parse_rknpu(sources)
    if version:
        device["npu_driver"], device["npu_driver_kind"] = version, "rknpu"
        how["npu_driver"] = {"debugfs": "cat /sys/kernel/debug/rknpu/version", "procfs": "cat /proc/rknpu/version",
                             "module": "cat /sys/module/rknpu/version", "dmesg": "dmesg | grep -i rknpu"}[source]
        raw["npu_driver"] = line
        return
    device["npu_driver_kind"] = driver_kind or None
    if denied:
        errors["npu_driver"] = "dmesg is not permitted for this user (dmesg_restrict) and no rknpu version node was readable; run as root"
    elif "dmesg" not in tools and not dmesg_lines:
        errors["npu_driver"] = "no dmesg on the board and no rknpu version node"
    elif dmesg_lines:
        raw["npu_driver"] = dmesg_lines[0].strip()
        errors["npu_driver"] = "driver lines found but in no known format"
    else:
        # dmesg answered and said nothing about galcore/rknpu; no node either: no driver loaded.
        errors["npu_driver"] = "no galcore/rknpu line in dmesg and no rknpu version node"
        device["npu_driver_absent"] = True


def _interpret_libgal(device, sections, chip_row) -> None:
    if chip_row and chip_row.get("line") != "rknn-toolkit":
        return
    lines = _lines(sections.get("libgal", ("", 1))[0])
    match, line = P.first_match(P.LIBGAL_VERSION, lines)
    if match:
        device["galcore_user"] = f"{match.group('version')}:{match.group('build')}"
        device["how"]["galcore_user"] = "strings /usr/lib/libGAL.so | grep VERSION"
        device["raw"]["galcore_user"] = line.strip()


def _interpret_mini(device, sections, chip_row) -> None:
    if chip_row and chip_row.get("line") != "rknn-toolkit":
        return
    listed = set(_lines(sections.get("mini", ("", 1))[0]))
    has_lite = any(l.endswith("libVSC_Lite.so") for l in listed)
    has_full = any(l.endswith("libVSC.so") or l.endswith("libOpenCL.so") for l in listed)
    if has_lite or has_full:
        device["mini_driver"] = has_lite and not has_full
        device["how"]["mini_driver"] = "ls /usr/lib/libVSC_Lite.so /usr/lib/libVSC.so /usr/lib/libOpenCL.so (mini ships only libVSC_Lite.so)"
