"""`rknn-envcheck model FILE.rknn [--device SERIAL | --emulate PROFILE | --facts F.json]`.

Reads the model header (bounded, never the whole file), gets one board's facts from the chosen
source, and judges whether the model will load there. Without a board it lists what the board
needs. A file that is not a readable .rknn model ends the run with exit 2 (ModelFileError is a
UsageError).
"""
from __future__ import annotations

import argparse

from rknn_envcheck.errors import UsageError

DEFAULT_TIMEOUT = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rknn_envcheck.cli import add_output_options

    parser.add_argument("model", metavar="FILE.rknn", help="the .rknn model to check")
    board = parser.add_mutually_exclusive_group()
    board.add_argument("--device", metavar="SERIAL", help="judge against this board over ADB")
    board.add_argument("--emulate", metavar="PROFILE", help="judge against an emulated board (profile name or .toml path)")
    board.add_argument("--facts", metavar="F.json", help="judge against a board in a saved facts file")
    parser.add_argument("--id", metavar="SERIAL", help="with --facts: the board's serial (default: the first board in the file)")
    parser.add_argument("--toolkit", metavar="VERSION", help="note the host toolkit version you will convert with (shown, not judged)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S", help=f"per-board timeout in seconds (default {DEFAULT_TIMEOUT:g})")
    add_output_options(parser)


def _device_from_facts(path: str, serial: str | None) -> tuple[dict, dict]:
    from rknn_envcheck.facts import load_facts

    facts = load_facts(path)
    devices = facts.get("devices") or []
    if not devices:
        raise UsageError(f"facts file {path} has no boards in 'devices'; save one with `rknn-envcheck device --save-facts FILE`, or run `model` without --facts")
    if serial is None:
        return devices[0], facts
    for device in devices:
        if device.get("serial") == serial:
            return device, facts
    known = ", ".join(str(d.get("serial")) for d in devices)
    raise UsageError(f"facts file {path} has no board with serial {serial!r}; boards in it: {known}")


def _device_from_emulator(profile: str, timeout: float, matrix) -> dict:
    from rknn_envcheck.emulator.board import EmulatedBoard
    from rknn_envcheck.probes.board import gather_board

    return gather_board(EmulatedBoard(profile), timeout, matrix)


def _device_from_adb(serial: str, timeout: float, matrix) -> dict:
    from rknn_envcheck.boards import adb
    from rknn_envcheck.probes.board import gather_board

    ep = adb.endpoint()
    listing = adb.list_boards(ep, timeout)
    if listing.error:
        raise UsageError(f"cannot list boards: {listing.error}")
    for entry in listing.devices:
        if entry["serial"] != serial:
            continue
        if entry["state"] != "device":
            # unauthorized/offline: no versions can be read; the rules say so per check
            return {"serial": serial, "state": entry["state"], "transport": "adb", "how": {"state": f"adb devices -l ({ep.how})"}}
        session = adb.AdbSession(ep, serial, entry.get("transport_id"), timeout)
        return gather_board(session, timeout, matrix)
    attached = ", ".join(e["serial"] for e in listing.devices) or "none"
    raise UsageError(f"no board with serial {serial!r} is attached to the adb server at {ep.host}:{ep.port} (attached: {attached}); list them with `adb devices -l`")


def run(args) -> int:
    from rknn_envcheck.commands._common import emit
    from rknn_envcheck.facts import new_facts
    from rknn_envcheck.model.header import read_model_info
    from rknn_envcheck.commands._common import load_matrix_for
    from rknn_envcheck.report import Report, run_guarded
    from rknn_envcheck.rules.model import judge_model

    if args.id and not args.facts:
        raise UsageError("--id selects a board inside --facts FILE; with --device give the serial directly")
    if args.timeout <= 0:
        raise UsageError(f"--timeout must be a positive number of seconds, got {args.timeout:g}")
    info = read_model_info(args.model)  # ModelFileError → exit 2 with the reason
    matrix = load_matrix_for(args)

    facts = None
    device = None
    if args.facts:
        device, facts = _device_from_facts(args.facts, args.id)
    elif args.emulate:
        device = _device_from_emulator(args.emulate, args.timeout, matrix)
    elif args.device:
        device = _device_from_adb(args.device, args.timeout, matrix)
    if device is not None and facts is None:
        facts = new_facts()
        facts["devices"] = [device]

    report = Report(command="model", matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
    subject = f"model:{info.path}"
    heading = f"Model: {info.path} — {info.summary()}"
    if device is not None:
        heading += f" · board {device.get('serial') or '?'} ({device.get('chip') or 'chip unknown'}, runtime {device.get('librknn_runtime') or '?'})"
    report.subjects[subject] = heading
    report.extend(run_guarded("model", "Model preflight", subject, lambda: judge_model(info, device, matrix)))
    if device is None:
        report.notes.append("no board given: the checks list what a board needs; add --device SERIAL, --emulate PROFILE or --facts FILE to judge one")
    if args.toolkit:
        report.notes.append(f"host toolkit given with --toolkit: {args.toolkit} (the model was built by {info.toolkit_version_raw or 'an unknown toolkit version'})")
    return emit(report, args)
