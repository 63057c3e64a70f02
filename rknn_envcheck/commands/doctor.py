"""`rknn-envcheck` with no subcommand: host + USB + every board, concurrently, on one screen."""
from __future__ import annotations


def add_arguments(parser) -> None:
    from rknn_envcheck.options import add_output_options
    from rknn_envcheck.board_options import add_board_arguments

    add_board_arguments(parser, single=False)
    parser.add_argument("--python", metavar="PATH", help="inspect this interpreter; without it the active virtual or conda environment is inspected, else python3 on PATH")
    parser.add_argument("--toolkit", metavar="V", help="judge for this toolkit (e.g. rknn-toolkit2==2.3.2) instead of the installed one")
    parser.add_argument("--model", metavar="FILE", action="extend", nargs="+",
                        help="also preflight these models against every board: .rknn, or source models against the toolkit "
                             "(repeatable; a Caffe/Darknet/MXNet structure file and its weights file are one model)")
    parser.add_argument("--no-boards", action="store_true", help="check the host only")
    add_output_options(parser)


def run(args) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.pipeline import START_IF_USB, BoardsSource, HostSource, NtbSource, OtherPythonsSource, gather

    matrix = load_matrix_for(args)
    want_adb = not (args.no_boards or args.emulate)
    sources = [HostSource(args.python, max(args.timeout, 5.0), matrix=matrix)]
    if not args.no_boards:
        sources.append(BoardsSource(args, matrix, start_policy=START_IF_USB))  # a crash: a `crashed` row, the host stands
    if want_adb:
        sources.append(NtbSource(min(args.timeout, 3.0)))
    sources.append(OtherPythonsSource())  # "the toolkit is in another Python": one line, from folder names
    facts, crashed = gather(sources)
    models = _read_models(args.model or [])
    source_models = [m for m in models if not hasattr(m, "line")]  # ONNX/PyTorch/Keras: judged against the toolkit
    models = [m for m in models if hasattr(m, "line")]
    if models:
        from rknn_envcheck.rules.model_needs import model_fact

        # headers are facts: each board's one install plan covers what the models need
        facts["models"] = [model_fact(info) for info in models]
    report = evaluate(facts, matrix, command="doctor", toolkit=args.toolkit)
    report.compact = True
    if crashed or "connection" in report.subjects:
        report.subjects.pop("connection", None)
        report.subjects = {"host": report.subjects.pop("host", "Host"), "connection": "Connection (adb, USB, NTB)", **report.subjects}
        report.checks.extend(crashed)
    for info in models:
        _preflight(report, info, facts, matrix, args.toolkit)
    for source in source_models:
        _source_preflight(report, source, facts, matrix, args.toolkit)
    return emit(report, args)


def _source_preflight(report, source, facts, matrix, toolkit) -> None:
    """A source model (ONNX/PyTorch/Keras) against the judged toolkit and every inspected board."""
    from rknn_envcheck.evaluate import host_toolkit
    from rknn_envcheck.rules.source_model import judge_source_model

    toolkit = facts.get("judged_for") if toolkit is None else toolkit
    target = host_toolkit(facts, matrix, toolkit)
    how = f"--toolkit {toolkit}" if toolkit else "installed toolkit in the judged Python"
    packages = dict((facts.get("host") or {}).get("packages") or {})
    boards = [d for d in facts["devices"] if d.get("state") == "device" and not d.get("probe_error")] or [None]
    for device in boards:
        subject = f"model:{source.path}" + (f"@{device.get('serial')}" if device else "")
        report.subjects[subject] = f"Model {source.path} — {source.summary()}"
        for check in judge_source_model(source, tuple(target) if target else None, how, packages, device, matrix, host=facts.get("host")):
            check.subject = subject
            report.add(check)


def _read_models(paths) -> list:
    """The headers of the --model files (ModelFileError: exit 2 before anything is judged)."""
    from rknn_envcheck.commands.model import read_models

    return read_models(paths)


def _preflight(report, info, facts, matrix, toolkit) -> None:
    """Each --model against every inspected board (or, with none, what a board would need)."""
    from rknn_envcheck.evaluate import host_toolkit
    from rknn_envcheck.fixplan import board_toolkit, plan_for
    from rknn_envcheck.rules.model import judge_model

    path = info.path
    toolkit = facts.get("judged_for") if toolkit is None else toolkit
    target = host_toolkit(facts, matrix, toolkit)
    boards = [d for d in facts["devices"] if d.get("state") == "device" and not d.get("probe_error")] or [None]
    for device in boards:
        subject = f"model:{path}" + (f"@{device.get('serial')}" if device else "")
        report.subjects[subject] = f"Model {path}" + (f" on board {device.get('serial')}" if device else " (no board: minimum board versions)")
        plan = plan_for(facts, device, board_toolkit(device, target, bool(toolkit)), matrix) if device is not None else None
        for check in judge_model(info, device, matrix, plan):
            check.subject = subject
            report.add(check)

