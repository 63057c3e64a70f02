"""`rknn-envcheck device --id SERIAL | --all | --emulate PROFILE | --local`: boards only."""
from __future__ import annotations


def add_arguments(parser) -> None:
    from rknn_envcheck.cli import add_output_options
    from rknn_envcheck.board_options import add_board_arguments

    add_board_arguments(parser, single=True)
    parser.add_argument("--toolkit", metavar="V", help="judge for this toolkit (e.g. rknn-toolkit2==2.3.2) instead of the one installed on this host")
    add_output_options(parser)


def run(args) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.facts import new_facts
    from rknn_envcheck.gather import gather_boards
    from rknn_envcheck.rules.toolkit import installed_toolkit

    if not (args.id or args.all or args.emulate or args.local):
        raise UsageError("say which board: --id SERIAL, --all, --emulate PROFILE or --local")
    if args.sysroot and not args.local:
        raise UsageError("--sysroot goes with --local")
    matrix = load_matrix_for(args)
    facts = new_facts()
    devices, connection_checks = gather_boards(args, matrix)
    facts["devices"] = devices
    toolkit = args.toolkit
    if toolkit is None and not args.local:
        # Judge against the toolkit of the Python running this tool (metadata only, no import).
        from rknn_envcheck.probes.host import probe_in_process

        host = probe_in_process()
        found = installed_toolkit(host)
        if found:
            toolkit = f"{found[0]}=={found[1]}"
            facts["host"] = {"packages": {found[0]: found[1]}}
    report = evaluate(facts, matrix, command="device", toolkit=toolkit, host=False)
    if connection_checks:
        report.subjects = {"connection": "Connection", **report.subjects}
        report.checks[:0] = connection_checks
    if toolkit:
        report.notes.append(f"boards judged for {toolkit}")
    else:
        report.notes.append("no RKNN toolkit in this Python and no --toolkit: boards are checked for internal consistency only")
    return emit(report, args)
