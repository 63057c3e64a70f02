"""Device rules: a board's rknn_server, runtime library and NPU driver against each other and
against the host's toolkit (the seed's Table "版本对应关系", toolkit1.md §3.1, toolkit2.md §3.1–3.2).

Pure: one device-facts dict + the host toolkit + matrix → Checks for subject "device:<serial>".
"""
from __future__ import annotations

import re

from rknn_envcheck.fixplan import BOARD_ARCHES, BoardPlan, on_board, on_board_script, plan_for
from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN, Check, Fix, run_guarded
from rknn_envcheck.rules.toolkit import LINE_OF
from rknn_envcheck.rules.device_board import _check_board_python, _check_galcore_user, _check_mini, _check_state
from rknn_envcheck.rules.device_common import QS_CONSISTENT, TS_CONSISTENT, _how, _raw, _why_missing, how_read
from rknn_envcheck.rules.device_unknown import CHIPS_SOURCE, _FIELD_OF, not_listed as _not_listed, unreadable as _unreadable
from rknn_envcheck.shellcmd import cmd, sh_format, tool_cmd
from rknn_envcheck.versions import in_versions, matches, public, try_parse



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


def _probe_retry(device: dict, facts: dict | None) -> list:
    serial = str(device.get("serial", "SERIAL"))
    if device.get("transport") == "emulated":
        return [tool_cmd(facts, "device", "--emulate", serial.split(":", 1)[-1], "--timeout", "15")]
    if device.get("transport") == "local":
        return [tool_cmd(facts, "device", "--local", "--timeout", "15")]
    return [on_board(device, "echo", "alive"), tool_cmd(facts, "device", "--id", serial, "--timeout", "15")]


def judge_device(device: dict, host_toolkit, matrix, facts: dict | None = None, plan: BoardPlan | None = None) -> list[Check]:
    """`facts`: the whole report's facts (the tool's own command, logs and models the board's
    install plan must satisfy); None = this board alone. `plan`: that plan, when the caller made it."""
    subject = subject_of(device)
    state = device.get("state", "device")
    if state != "device":
        checks = run_guarded("device.state", "Board connection", subject, lambda: _check_state(device, facts))
        for check in checks:
            check.subject = subject
        return checks
    if device.get("probe_error"):
        return [Check("device.probe", "Board inspection", UNKNOWN, subject=subject, component="adb",
                      observed=device["probe_error"], how=_how(device, "probe"),
                      message=f"the board did not answer the inspection completely ({device['probe_error']}); its versions are unknown",
                      fix=Fix("check the cable / network and that the board is not hung, then re-run", _probe_retry(device, facts)))]
    chip = matrix.chip(device.get("chip"))
    arch = (device.get("arch") or "").lower()
    if device.get("transport") == "local" and chip is None and arch and not arch.startswith(BOARD_ARCHES):
        # `--local` on a PC: one clear answer instead of a list of missing board files.
        return [Check("device.local", "This machine as a board", FAIL, subject=subject, component="chip", observed=f"{arch}, no Rockchip device tree",
                      how=f"{_how(device, 'arch')}; /proc/device-tree/compatible", expected="a Rockchip NPU board (aarch64/armv7l with an RKNN chip)",
                      source="AR rknn-toolkit-lite2/packages/ rknn-toolkit-lite2 runs on the board, aarch64 Linux only",
                      message=f"this machine ({arch}) is not a Rockchip NPU board, so there is nothing to inspect locally",
                      fix=Fix("run `--local` on the board itself, or inspect boards from this PC over adb",
                              [tool_cmd(facts, "device", "--all"), tool_cmd(facts, note="the doctor: this PC and every board")]))]
    # One install plan per board for the whole report: every row below that installs shows it.
    plan = plan if plan is not None else plan_for(facts, device, host_toolkit, matrix)
    checks: list[Check] = []
    for check_id, title, func in (
        ("device.chip", "Chip and toolkit line", lambda: _check_chip(device, chip, host_toolkit, [c["name"] for c in matrix.rows("chip")])),
        ("device.rknn_server", "rknn_server", lambda: _check_server(device, chip, host_toolkit, matrix, plan)),
        ("device.runtime", "NPU runtime library", lambda: _check_runtime(device, chip, host_toolkit, matrix, plan)),
        ("device.driver", "NPU kernel driver", lambda: _check_driver(device, chip, host_toolkit, matrix, plan)),
        ("device.mini_driver", "Mini driver", lambda: _check_mini(device, chip, host_toolkit, plan)),
        ("device.galcore_user", "galcore user space vs kernel", lambda: _check_galcore_user(device, chip, plan)),
        ("device.lite", "Toolkit-lite on the board", lambda: _check_board_python(device, chip, matrix, plan)),
    ):
        checks.extend(run_guarded(check_id, title, subject, func))
    for check in checks:
        check.subject = subject
    return checks


def _check_chip(device: dict, chip, host_toolkit, chip_names=()):
    observed = device.get("chip")
    known = ", ".join(chip_names)
    if not observed:
        yield Check("device.chip", "Chip and toolkit line", UNKNOWN, component="chip", observed=None, how=how_read(device, "chip"),
                    expected=f"one of the RKNN chips ({known})", source=CHIPS_SOURCE,
                    message=f"the board's chip could not be identified ({_why_missing(device, 'chip')})", evidence=_raw(device, "chip"),
                    fix=Fix("check what the board reports", [on_board(device, "cat", "/proc/device-tree/compatible")]))
        return
    if chip is None:
        yield Check("device.chip", "Chip and toolkit line", UNKNOWN, component="chip", observed=observed, how=how_read(device, "chip"),
                    expected=f"one of the RKNN chips ({known})", source=CHIPS_SOURCE,
                    message=f"chip {observed} is not in the matrix: no RKNN NPU known for it", evidence=_raw(device, "chip"),
                    fix=Fix("check what the board reports (a misread chip is the tool's bug; a new chip needs a newer rknn-envcheck matrix)",
                            [on_board(device, "cat", "/proc/device-tree/compatible")]))
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
                    how=_how(device, "chip"), expected=expected, source=chip.get("source", "") or "AR README.md generation split",
                    message=f"{chip['name']} is driven by {line}, but the host has {package}: the two lines are not compatible",
                    fix=Fix(f"install {line} in a separate environment for this board",
                            [cmd("python3", "-m", "venv", f"~/{line}-venv"), cmd(f"~/{line}-venv/bin/pip", "install", line)]))
        return
    yield Check("device.chip", "Chip and toolkit line", OK, component="chip", observed=chip["name"], how=_how(device, "chip"), expected=expected,
                source=chip.get("source", ""), message=f"{chip['name']} fits {package}")


def _stack_rows(matrix, host_toolkit, component: str) -> list[dict]:
    """The board_stack rows that judge `component` for the host's toolkit. For a release the
    matrix does not list (a newer wheel, `--toolkit rknn-toolkit2==2.6.0`) only the hard rows
    that speak for every later release (`versions = ">=2.2.0"`, level fail: the refusal compiled
    into the toolkit) apply; the per-release advice rows say nothing about it."""
    if host_toolkit is None:
        return []
    package, version = host_toolkit
    line_package = "rknn-toolkit" if LINE_OF[package] == "rknn-toolkit" else "rknn-toolkit2"
    rows = [r for r in matrix.rows("board_stack", package) if r["component"] == component]
    if not rows and package != line_package:
        rows = [r for r in matrix.rows("board_stack", line_package) if r["component"] == component]
    rows = [r for r in rows if in_versions(version, r["versions"])]
    if not _listed(matrix, host_toolkit):
        rows = [r for r in rows if r.get("level") == "fail" and isinstance(r["versions"], str)]
    return rows


def _listed(matrix, host_toolkit) -> bool:
    return host_toolkit is not None and matrix.is_release(*host_toolkit)


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
        row = undecided[0]
        yield _unreadable(device, check_id, title, component_label, value, how, row.get("specifier") or " or ".join(row.get("accepted", [])),
                          row.get("source", ""), _FIELD_OF.get(check_id, check_id.split(".")[-1]))
        return True
    return False


def _check_server(device: dict, chip, host_toolkit, matrix, plan: BoardPlan):
    server = device.get("rknn_server")
    title = "rknn_server"
    how = how_read(device, "rknn_server")
    runtime = device.get("librknn_runtime")
    line = (chip or {}).get("line") or (LINE_OF[host_toolkit[0]] if host_toolkit else None)
    fix = plan.install_fix()
    if not server:
        if device.get("mini_driver"):
            yield Check("device.rknn_server", title, SKIPPED, component="rknn_server", how=how,
                        message="mini driver boards ship no rknn_server (RKNN API User Guide 1.7.5 §5.1.2): no connected debugging")
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
        yield _unreadable(device, "device.rknn_server", title, "rknn_server", server, how, "a version such as 1.5.2 or 2.3.2",
                          QS_CONSISTENT if line != "rknn-toolkit" else TS_CONSISTENT, "rknn_server")
        return
    if device.get("rknn_server_running") is False:
        yield Check("device.rknn_server.running", "rknn_server running", FAIL, component="rknn_server", observed="not running",
                    how=_how(device, "rknn_server_running"), expected="running",
                    source="seed §1.7.2 (rknn_server must be running for connected-board mode); NPU drivers/ start_rknn.sh",
                    message="rknn_server is installed but not running: the PC toolkit gets RKNN_ERR_DEVICE_UNAVAILABLE",
                    fix=Fix("start it", [on_board_script(device, sh_format("restart_rknn.sh || (nohup {} >/dev/null 2>&1 &)", _server_path(device, chip)), root=True)]))
    # The server and the runtime must be the same release (both lines' vendor rule).
    if runtime and try_parse(runtime) is not None and public(server) != public(runtime):
        older_server = public(server) < public(runtime)
        # warn per docs/checks.md's severity policy: QS §3.4.2 / TS-1.7.5 §2 ask for the same
        # versions ("you need to reinstall"), a remedy, not a refusal — the same grade as the
        # board_stack rows that judge this server against the toolkit in the next row.
        yield Check("device.rknn_server.vs_runtime", "rknn_server vs runtime", WARN, component="rknn_server",
                    observed=f"rknn_server {server}, runtime {runtime}", how=f"{how}; {_how(device, 'librknn_runtime')}",
                    expected="the same version", source=QS_CONSISTENT if line == "rknn-toolkit2" else TS_CONSISTENT,
                    message=f"rknn_server {server} and the runtime library {runtime} are from different releases"
                            + (" (server older: expect `msg_ioctl_ack fail` / RKNN VERSION UNMATCH)" if older_server else ""),
                    evidence=_raw(device, "rknn_server") + _raw(device, "librknn_runtime"),
                    fix=fix)
    chip_minimum = (chip or {}).get("min_rknn_server")
    if chip_minimum and public(server) < public(chip_minimum):
        yield Check("device.rknn_server.chip_minimum", f"rknn_server on {chip['name']}", WARN, component="rknn_server", observed=server, how=how,
                    expected=f">= {chip_minimum} on {chip['name']}", rule=f"{chip.get('_file', '')} [[chip]] {chip['name']} min_rknn_server",
                    source="rknn_server_proxy.md §2.2: rknn_server >= 2.1.0 recommended on RV1103/RV1106/RV1103B",
                    message=f"rknn_server {server} on {chip['name']}: the vendor recommends {chip_minimum} or newer on this chip (memory handling on small boards)",
                    evidence=_raw(device, "rknn_server"),
                    fix=plan.install_fix() if plan.release and public(plan.release) >= public(chip_minimum)
                    else plan.toolkit_first_fix(chip_minimum, f"the vendor recommends rknn_server >= {chip_minimum} on {chip['name']}"))
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
    if not _listed(matrix, host_toolkit):
        yield _not_listed(device, chip, host_toolkit, matrix, "rknn_server", server, how, title, "device.rknn_server", "rknn_server")
        return
    if rows:
        yield Check("device.rknn_server", title, OK, component="rknn_server", observed=server, how=how,
                    expected="; ".join(r.get("specifier") or "/".join(r.get("accepted", [])) for r in rows),
                    source="; ".join(sorted({r.get("source", "") for r in rows})), evidence=_raw(device, "rknn_server"),
                    message=f"rknn_server {server} fits {package} {version}")
        return
    # No explicit row: the vendor rule is "the same version as the toolkit", graded as the
    # runtime row below grades it (one severity for one fact): toolkit v1 (TS-1.7.5 §2: mismatched
    # versions fail in rknn_init) fails an older server; for toolkit2 the same-version rule is
    # advice (QS §3.4.2) — the refusal compiled into the toolkit (servers <= 1.2.0) is a
    # board_stack row of the matrix, and only that row fails.
    same = public(server).release[:2] == public(version).release[:2]
    older = public(server) < public(version)
    v1 = LINE_OF[package] == "rknn-toolkit"
    status = OK if same and not older else (FAIL if older and v1 else WARN)
    yield Check("device.rknn_server", title, status, component="rknn_server", observed=server, how=how, expected=f"{version} (same release as {package})",
                source=TS_CONSISTENT if v1 else QS_CONSISTENT, evidence=_raw(device, "rknn_server"),
                message=(f"rknn_server {server} fits {package} {version}" if status == OK else
                         f"rknn_server {server} is {'older' if older else 'newer'} than {package} {version}"
                         + ("; rknn_init fails with mismatched versions" if status == FAIL else "; the vendor asks for the same release")),
                fix=None if status == OK else fix)


def _server_path(device: dict, chip) -> str:
    paths = ((chip or {}).get("server_paths") or {}).get(device.get("os") or "linux") or ["/usr/bin/rknn_server"]
    return paths[0]


def _check_runtime(device: dict, chip, host_toolkit, matrix, plan: BoardPlan):
    runtime = device.get("librknn_runtime")
    line = (chip or {}).get("line") or (LINE_OF[host_toolkit[0]] if host_toolkit else None)
    library = (device.get("runtime_library") or (chip or {}).get("runtime_library")
               or {"rknn-toolkit": "librknn_runtime.so", "rknn-toolkit2": "librknnrt.so"}.get(line or "", "runtime library"))
    how = how_read(device, "librknn_runtime")
    title = f"{library}"
    fix = plan.install_fix()
    if not runtime:
        status = FAIL if "not found" in _why_missing(device, "librknn_runtime") else UNKNOWN
        yield Check("device.runtime", title, status, component=library, how=how, expected=f"{library} installed",
                    source="AR README.md (board paths); TS-1.7.5 §8",
                    message=f"{library}: {_why_missing(device, 'librknn_runtime')}", fix=fix)
        return
    if try_parse(runtime) is None:
        yield _unreadable(device, "device.runtime", title, library, runtime, how, "a version such as 1.7.5 or 2.3.2",
                          QS_CONSISTENT if line != "rknn-toolkit" else TS_CONSISTENT, "librknn_runtime")
        return
    copies = device.get("runtime_copies") or []
    if len({c.get("version") for c in copies}) > 1:
        listing = [f"{c.get('version') or '?'} at {c.get('path')}" for c in copies]
        yield Check("device.runtime.copies", "Runtime library copies", WARN, component=library, observed=listing,
                    how="strings on every runtime path of the board", expected="one runtime version on the board",
                    source="rknn_server_proxy.md Q5: a same-named library left in /usr/lib must be deleted; TK#350 (issue #350 (/usr/lib64 copy))",
                    message=f"the board has {len(copies)} different copies of the runtime ({'; '.join(listing)}); which one an app loads depends on its library path",
                    fix=Fix("keep one copy (the one rknn_server and rknn-toolkit-lite2 load) and remove or replace the others",
                            [on_board(device, "rm", str(c.get("path")), root=True, note="after checking nothing else needs it") for c in copies[1:]]))
    if host_toolkit is None:
        yield Check("device.runtime", title, OK, component=library, observed=runtime, how=how, evidence=_raw(device, "librknn_runtime"),
                    message=f"{library} {runtime} (no toolkit on the host to compare with)")
        return
    package, version = host_toolkit
    component = "librknn_runtime" if LINE_OF[package] == "rknn-toolkit" else ("librknnmrt" if library == "librknnmrt.so" else "librknnrt")
    rows = _stack_rows(matrix, host_toolkit, component) or (_stack_rows(matrix, host_toolkit, "librknnrt") if component == "librknnmrt" else [])
    if (yield from _judge_rows(device, rows, library, runtime, how, title, "device.runtime", fix)):
        return
    if not _listed(matrix, host_toolkit):
        yield _not_listed(device, chip, host_toolkit, matrix, library, runtime, how, title, "device.runtime", "librknn_runtime")
        return
    older = public(runtime) < public(version)
    same_minor = public(runtime).release[:2] == public(version).release[:2]
    if LINE_OF[package] == "rknn-toolkit":
        status = OK if same_minor and not older else (FAIL if older else WARN)
        src = TS_CONSISTENT
    else:
        status = OK if not older else WARN
        src = QS_CONSISTENT + "; WHL-2.5.0 strings of librknnrt.so: runtime older than the model's toolkit → 'RKNN Model version … not match with rknn runtime version', unsupported ops"
    yield Check("device.runtime", title, status, component=library, observed=runtime, how=how, expected=f">= {version} (same release as {package})",
                source=src, evidence=_raw(device, "librknn_runtime"),
                message=(f"{library} {runtime} fits {package} {version}" if status == OK else
                         f"{library} {runtime} is {'older' if older else 'newer'} than {package} {version}"),
                fix=None if status == OK else fix)


def _check_driver(device: dict, chip, host_toolkit, matrix, plan: BoardPlan):
    driver = device.get("npu_driver")
    # galcore versions have four or more parts (6.4.6.5.351518), rknpu three (0.9.6)
    shape = ("galcore" if driver.count(".") >= 3 else "rknpu") if driver else None
    kind = device.get("npu_driver_kind") or (chip or {}).get("driver") or shape or "NPU driver"
    how = how_read(device, "npu_driver")
    title = "NPU driver" if kind == "NPU driver" else f"NPU driver ({kind})"
    if not driver:
        missing = _why_missing(device, "npu_driver")
        status = FAIL if device.get("npu_driver_absent") else UNKNOWN
        commands = [on_board_script(device, 'dmesg | grep -i -E "galcore|rknpu"'), on_board(device, "cat", "/sys/kernel/debug/rknpu/version")]
        yield Check("device.driver", title, status, component=kind, how=how, expected="a loaded NPU driver",
                    source="QS-1.6.0 §3.4 Quick Start 1.6.0 §3.4.1: no version shown → third-party firmware without the NPU driver, CONFIG_ROCKCHIP_RKNPU=y",
                    message=f"NPU driver version not found ({missing})" + ("; the board's kernel has no NPU driver loaded" if status == FAIL else ""),
                    fix=Fix("run the commands below as root on the board; if nothing prints, flash a firmware with the NPU driver (rknpu: enable CONFIG_ROCKCHIP_RKNPU; galcore: insmod /lib/modules/galcore.ko)", commands))
        return
    # A version in no known shape (rknpu 0.9.6; galcore 6.4.6.5.351518) is unknown, never judged.
    if not re.fullmatch(r"\d+\.\d+\.\d+(?:\.[0-9a-z]+)*", driver) or (kind == "rknpu" and try_parse(driver) is None):
        yield _unreadable(device, "device.driver", title, kind, driver, how, "rknpu 0.9.6 or galcore 6.4.6.5.351518 style versions",
                          "QS-1.6.0 §3.4.1 (rknpu versions); TS-1.7.5 §2 (galcore versions)", "npu_driver")
        return
    if host_toolkit is None and kind != "rknpu":
        yield Check("device.driver", title, OK, component=kind, observed=driver, how=how, evidence=_raw(device, "npu_driver"),
                    message=f"{kind} {driver} (no toolkit on the host to compare with)")
        return
    rows = _stack_rows(matrix, host_toolkit, "npu_driver") if host_toolkit else []
    # galcore comes with the user-space driver of the same rknpu release: the board's one install plan.
    fix = (Fix("the NPU driver is part of the firmware: flash a firmware whose driver matches (airockchip/rknn_model_zoo FAQ §1.1: 'Upgrade by burning new firmware')")
           if kind == "rknpu" else plan.install_fix())
    if (yield from _judge_rows(device, rows, kind, driver, how, title, "device.driver", fix)):
        return
    if host_toolkit is not None and kind != "rknpu" and not _listed(matrix, host_toolkit):
        yield _not_listed(device, chip, host_toolkit, matrix, kind, driver, how, title, "device.driver", "npu_driver")
        return
    if kind == "rknpu" and try_parse(driver) is not None and not rows:
        ok = matches(driver, ">=0.9.2")
        yield Check("device.driver", title, OK if ok else WARN, component=kind, observed=driver, how=how, expected=">= 0.9.2 (recommended)",
                    source="QS-1.6.0 §3.4 Quick Start 1.6.0 §3.4.1: 'It is recommended that RKNPU2 driver version >= 0.9.2'",
                    evidence=_raw(device, "npu_driver"), message=f"rknpu driver {driver}" + ("" if ok else ": older than the recommended 0.9.2"),
                    fix=None if ok else fix)
        return
    yield Check("device.driver", title, OK, component=kind, observed=driver, how=how, evidence=_raw(device, "npu_driver"),
                expected="; ".join(r.get("specifier") or " or ".join(r.get("accepted", [])) for r in rows) or None,
                source="; ".join(sorted({r.get("source", "") for r in rows})), message=f"{kind} {driver}")


