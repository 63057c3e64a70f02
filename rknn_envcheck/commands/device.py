"""`rknn-envcheck device --id SERIAL | --all | --emulate PROFILE | --local`: boards only."""
from __future__ import annotations


def add_arguments(parser) -> None:
    from rknn_envcheck.options import add_output_options
    from rknn_envcheck.board_options import add_board_arguments

    add_board_arguments(parser, single=True)
    parser.add_argument("--toolkit", metavar="V", help="judge for this toolkit (e.g. rknn-toolkit2==2.3.2) instead of the one installed on this host")
    add_output_options(parser)


def run(args) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.pipeline import BoardsSource, ThisToolkitSource, gather

    if not (args.id or args.all or args.emulate or args.local):
        raise UsageError("say which board: --id SERIAL, --all, --emulate PROFILE or --local")
    if args.sysroot and not args.local:
        raise UsageError("--sysroot goes with --local")
    matrix = load_matrix_for(args)
    # The adb listing goes to facts["adb"] (judged by evaluate); without --toolkit boards are
    # judged for the toolkit of the Python running this tool (metadata only, no import).
    sources = [BoardsSource(args, matrix)]
    if args.toolkit is None and not args.local:
        sources.append(ThisToolkitSource())
    facts, _ = gather(sources)
    toolkit = args.toolkit
    if toolkit is None and (facts.get("host") or {}).get("packages"):
        from rknn_envcheck.versions import try_parse

        package, version = next(iter(facts["host"]["packages"].items()))
        if try_parse(version) is not None:  # else evaluate() notes it and judges the boards on their own
            toolkit = f"{package}=={version}"
    report = evaluate(facts, matrix, command="device", toolkit=toolkit, host=False)
    if "connection" in report.subjects:
        report.subjects.pop("connection")
        report.subjects = {"connection": "Connection", **report.subjects}
        connection = [c for c in report.checks if c.subject == "connection"]
        report.checks[:] = connection + [c for c in report.checks if c.subject != "connection"]
    if toolkit:
        report.notes.append(f"boards judged for {toolkit}")
    else:
        report.notes.append("no RKNN toolkit in this Python and no --toolkit: boards are checked for internal consistency only")
    return emit(report, args)
