"""`rknn-envcheck model FILE [FILE…] [--device SERIAL | --emulate PROFILE | --facts F.json]`.

Reads each model's header (bounded, never the whole file), gets one board's facts from the chosen
source, and judges whether each model will load there: a `.rknn` against the board, a source model
against the converting toolkit (commands/model_source.py). A structure file given with its
weights file (.prototxt + .caffemodel, .cfg + .weights, -symbol.json + .params) is one model
(model/pairs.py). One report, one subject per model. Without a board it lists what the board
needs. A file that is not a readable model ends the run with exit 2 (ModelFileError is a
UsageError) before anything is judged.
"""
from __future__ import annotations

import argparse

from rknn_envcheck.errors import UsageError

DEFAULT_TIMEOUT = 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from rknn_envcheck.options import add_output_options, seconds

    parser.add_argument("model", metavar="FILE", nargs="+",
                        help="the models to check: .rknn, or source models (ONNX, TFLite, TensorFlow, PyTorch, Keras, Caffe .prototxt + "
                             ".caffemodel, Darknet .cfg + .weights, MXNet -symbol.json + .params) to judge against the converting toolkit")
    parser.add_argument("--python", metavar="PATH", help="source models: judge against the toolkit installed in this Python (default: this one)")
    board = parser.add_mutually_exclusive_group()
    board.add_argument("--device", metavar="SERIAL", help="judge against this board over ADB")
    board.add_argument("--emulate", metavar="PROFILE", help="judge against an emulated board (profile name or .toml path)")
    board.add_argument("--facts", metavar="F.json", help="judge against a board in a saved facts file")
    parser.add_argument("--id", metavar="SERIAL", help="with --facts: the board's serial (default: the first board in the file)")
    parser.add_argument("--toolkit", metavar="VERSION", help="the toolkit you will convert with, e.g. rknn-toolkit2==2.3.2 (judged for source models, shown for .rknn)")
    parser.add_argument("--timeout", type=seconds(), default=DEFAULT_TIMEOUT, metavar="S", help=f"per-board timeout in seconds (default {DEFAULT_TIMEOUT:g})")
    add_output_options(parser)


def _board(args, matrix, need_board: bool = True) -> tuple[dict | None, dict | None]:
    """(the board, the facts it is in): from --facts (one board of the file), --emulate or
    --device, through the same facts sources and board selection as `device` and the doctor.
    need_board=False (source models only): a facts file without boards gives (None, its facts)."""
    from rknn_envcheck.pipeline import BoardsSource, FactsFileSource, gather

    if args.facts:
        facts, _ = gather([FactsFileSource(args.facts)], facts={})
        if not need_board and not facts.get("devices") and not args.id:
            return None, facts
        return _pick(facts, args.id, f"facts file {args.facts}", "save one with `rknn-envcheck device --save-facts FILE`, or run `model` without --facts"), facts
    if not (args.emulate or args.device):
        return None, None
    board_args = argparse.Namespace(emulate=[args.emulate] if args.emulate else None, id=[args.device] if args.device else None,
                                    timeout=args.timeout)
    facts, _ = gather([BoardsSource(board_args, matrix)])
    listing = facts.get("adb") or {}
    if listing.get("error"):
        raise UsageError(f"cannot list boards: {listing['error']}")
    where = f"the adb server at {listing.get('endpoint')}" if listing else "the emulator"
    return _pick(facts, args.device, where, "list them with `adb devices -l`"), facts


def _pick(facts: dict, serial: str | None, where: str, hint: str) -> dict:
    devices = facts.get("devices") or []
    if not devices:
        raise UsageError(f"{where} has no boards" + (f" (no board with serial {serial!r})" if serial else "") + f"; {hint}")
    if serial is None:
        return devices[0]
    for device in devices:
        if device.get("serial") == serial:
            return device
    known = ", ".join(str(d.get("serial")) for d in devices)
    raise UsageError(f"{where} has no board with serial {serial!r}; boards in it: {known}")


def _read_rknn(path):
    from rknn_envcheck.model.header import ModelFileError, read_model_info
    from rknn_envcheck.model.source import FORMATS_TRIED

    try:
        return read_model_info(path)
    except ModelFileError as exc:
        raise ModelFileError(f"{exc} (formats tried: {FORMATS_TRIED})") from None


def read_models(paths) -> list:
    """Each file read by content (exit 2 on the first unreadable one), the two-file formats paired."""
    from rknn_envcheck.model.pairs import pair_models
    from rknn_envcheck.model.source import read_source_model

    unique = dict.fromkeys(paths)  # a file named twice is one model
    return pair_models([read_source_model(path) or _read_rknn(path) for path in unique])


def run(args) -> int:
    if args.id and not args.facts:
        raise UsageError("--id selects a board inside --facts FILE; with --device give the serial directly")
    models = read_models(args.model)  # ModelFileError → exit 2 with the reason
    if all(hasattr(m, "role") for m in models):
        from rknn_envcheck.commands.model_source import run_sources

        return run_sources(args, models, _board)
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.report import Report, run_guarded
    from rknn_envcheck.rules.model import judge_model

    rknn_models = [m for m in models if not hasattr(m, "role")]
    matrix = load_matrix_for(args)

    device, facts = _board(args, matrix)
    # The header is a fact read here, before the rules (rules are pure): the board's install plan
    # then covers what the model needs, the same plan `device` and `explain` give for this board.
    plan = None
    if device is not None:
        from rknn_envcheck.evaluate import host_toolkit
        from rknn_envcheck.fixplan import board_toolkit, plan_for
        from rknn_envcheck.rules.model_needs import model_fact

        facts = dict(facts, models=[model_fact(info) for info in rknn_models])
        # judged for the toolkit `check --facts` would judge this board for (the facts' host/judged_for)
        judged_for = facts.get("judged_for")
        plan = plan_for(facts, device, board_toolkit(device, host_toolkit(facts, matrix, judged_for), bool(judged_for)), matrix)

    report = Report(command="model", matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
    if len(rknn_models) < len(models):  # source models in the same run: judged against the converting toolkit
        from rknn_envcheck.commands.model_source import add_source_models

        add_source_models(report, args, [m for m in models if hasattr(m, "role")], matrix, device, facts)
    for info in rknn_models:
        subject = f"model:{info.path}"
        heading = f"Model: {info.path} — {info.summary()}"
        if device is not None:
            heading += f" · board {device.get('serial') or '?'} ({device.get('chip') or 'chip unknown'}, runtime {device.get('librknn_runtime') or '?'})"
        report.subjects[subject] = heading
        report.extend(run_guarded("model", "Model preflight", subject, lambda info=info: judge_model(info, device, matrix, plan)))
    if plan is not None and device.get("state", "device") == "device" and not device.get("probe_error"):
        report.plans[f"device:{device.get('serial', '?')}"] = plan.as_dict()
    if device is None:
        report.notes.append("no board given: the checks list what a board needs; add --device SERIAL, --emulate PROFILE or --facts FILE to judge one")
    if args.toolkit:
        built = ", ".join(info.toolkit_version_raw or "an unknown toolkit version" for info in rknn_models)
        report.notes.append(f"host toolkit given with --toolkit: {args.toolkit} (the model was built by {built})")
    return emit(report, args)
