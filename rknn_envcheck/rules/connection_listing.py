"""Verdicts on what the adb server and npu_transfer_proxy listed (facts["adb"], facts["ntb"]).

These were made while gathering before; as rules over the recorded listing, `check --facts`
replays the doctor's connection rows exactly.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, Check, Fix
from rknn_envcheck.rules import connection_sources as src
from rknn_envcheck.shellcmd import cmd, tool_cmd

SUBJECT = "connection"


def _check(id_, title, status, component, **fields) -> Check:
    return Check(id_, title, status, subject=SUBJECT, component=component, **fields)


def judge_adb_listing(facts: dict) -> list[Check]:
    adb = facts.get("adb")
    if not adb:
        return []
    endpoint = adb.get("endpoint", "?")
    where = f"{endpoint} ({adb['endpoint_how']})" if adb.get("endpoint_how") else endpoint
    reason = adb.get("reason") or ""
    if adb.get("error"):
        host, _, port = endpoint.rpartition(":")
        return [_check("connection.adb-server", "adb server", UNKNOWN, "adb", observed=adb["error"], how=f"TCP connect to {where}",
                       message=f"no board could be listed: {adb['error']}",
                       fix=Fix("start an adb server, or point at one", [cmd("adb", "-P", port or "5037", "start-server"),
                                                                        tool_cmd(facts, "--adb-host", host or "127.0.0.1", "--adb-port", port or "5037")]))]
    if "listed" not in adb:
        # The doctor's start policy kept it from starting a server nobody needs (issue 17 §5).
        return [_check("connection.adb-server", "adb server", SKIPPED, "adb", observed=f"no adb server at {endpoint}",
                       how="TCP connect; USB devices (host.usb)", expected="a server only when a board may be listed",
                       message=f"{reason or 'no Rockchip USB device; adb server not started'}",
                       fix=Fix("a network board, or a board adb can see that USB does not show: start the server and run again",
                               [cmd("adb", "start-server"), tool_cmd(facts)]))]
    version = f" 1.0.{adb['server_version']}" if adb.get("server_version") else ""
    started = f"; {reason}" if adb.get("started") else ""
    checks = [_check("connection.adb-server", "adb server", OK, "adb", observed=f"adb server{version} at {where}",
                     how="host:devices-l" + (", host:version" if version else ""),
                     message=f"adb server{version} at {endpoint} answers ({adb['listed']} board(s) listed){started}")]
    devices = facts.get("devices") or []
    listed = {d.get("serial") for d in devices if d.get("transport") == "adb"}
    wanted = adb.get("wanted") or []
    for serial in [w for w in wanted if w not in listed]:
        fix_commands = [cmd("adb", "devices", "-l")] + ([cmd("adb", "connect", serial)] if ":" in serial else [tool_cmd(facts, "udev")])
        checks.append(_check("connection.board", f"Board {serial}", FAIL, "adb", observed="not listed",
                             how=f"adb devices -l at {where}", expected=f"{serial} listed by the adb server", source=src.SEED_ITEM_2,
                             message=f"the adb server does not list {serial}",
                             fix=Fix("check the serial with `adb devices -l`; for a network board connect it first; "
                                     "for a USB board replug the cable (and see `rknn-envcheck udev`)", fix_commands)))
    if not wanted and adb["listed"] == 0 and not any(d.get("transport") == "ntb" for d in devices):
        checks.append(_check("connection.boards", "Boards", OK, "adb", observed="no board", how=f"adb devices -l at {where}",
                             message="no board is connected (the adb server lists none); host checks only"))
    return checks


def judge_ntb_listing(facts: dict) -> list[Check]:
    ntb = facts.get("ntb") or {}
    if not ntb.get("error"):
        return []
    return [_check("connection.ntb", "NTB boards", UNKNOWN, "npu_transfer_proxy", observed=ntb["error"], how=ntb.get("how", ""),
                   message=ntb["error"], fix=Fix("run the proxy's own listing", [cmd(ntb.get("binary") or "npu_transfer_proxy", "devices")]))]
