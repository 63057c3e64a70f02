"""`rknn-envcheck` with no subcommand: host + USB + every board, concurrently, on one screen."""
from __future__ import annotations


def add_arguments(parser) -> None:
    from rknn_envcheck.cli import add_output_options
    from rknn_envcheck.board_options import add_board_arguments

    add_board_arguments(parser, single=False)
    parser.add_argument("--python", metavar="PATH", help="inspect this interpreter instead of the one running rknn-envcheck")
    parser.add_argument("--toolkit", metavar="V", help="judge for this toolkit (e.g. rknn-toolkit2==2.3.2) instead of the installed one")
    parser.add_argument("--model", metavar="FILE", action="append", help="also preflight this .rknn model against every board (repeatable)")
    parser.add_argument("--no-boards", action="store_true", help="check the host only")
    add_output_options(parser)


def run(args) -> int:
    from concurrent.futures import ThreadPoolExecutor

    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.facts import new_facts
    from rknn_envcheck.gather import gather_boards, ntb_devices
    from rknn_envcheck.probes.host import gather_host

    matrix = load_matrix_for(args)
    facts = new_facts()
    if not (args.no_boards or args.emulate):
        # Import adbutils before the threads start: it is pure CPU, and under the GIL it would only
        # slow the host gathering down; the board thread then mostly waits on sockets.
        from rknn_envcheck.boards.adb import load_adbutils

        load_adbutils()
    with ThreadPoolExecutor(max_workers=3) as pool:
        host_future = pool.submit(gather_host, args.python, max(args.timeout, 5.0), matrix=matrix)
        adb_info: dict = {}
        boards_future = None if args.no_boards else pool.submit(gather_boards, args, matrix, adb_info=adb_info)
        ntb_future = None if (args.no_boards or args.emulate) else pool.submit(ntb_devices, min(args.timeout, 3.0))
        host = host_future.result()
        devices, connection_checks = _boards_or_crash(boards_future)
        ntb, ntb_binary, ntb_error = ntb_future.result() if ntb_future else ([], None, None)
    facts["host"] = host
    facts["devices"] = devices + ntb
    if adb_info:
        facts["adb"] = adb_info  # the adb server was asked: lets the USB-vs-adb rule judge "not listed"
    report = evaluate(facts, matrix, command="doctor", toolkit=args.toolkit)
    report.compact = True
    connection = list(connection_checks)
    if not args.no_boards:
        if ntb_error:
            from rknn_envcheck.report import UNKNOWN, Check

            connection.append(Check("connection.ntb", "NTB boards", UNKNOWN, subject="connection", component="npu_transfer_proxy",
                                    observed=ntb_error, how=f"{ntb_binary} devices", message=ntb_error))
    if connection or "connection" in report.subjects:
        report.subjects.pop("connection", None)
        report.subjects = {"host": report.subjects.pop("host", "Host"), "connection": "Connection (adb, USB, NTB)", **report.subjects}
        report.checks.extend(connection)
    for model in args.model or []:
        _preflight(report, model, facts["devices"], matrix)
    return emit(report, args)


def _boards_or_crash(future):
    """A bug while gathering boards becomes a `crashed` row; the host part of the report stands."""
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.report import CRASHED, Check

    if future is None:
        return [], []
    try:
        return future.result()
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001
        return [], [Check("connection.boards", "Boards", CRASHED, subject="connection", component="rknn-envcheck",
                          message=f"listing or inspecting the boards failed ({type(exc).__name__}: {exc}); this is a bug in rknn-envcheck, please report it")]


def _preflight(report, path, devices, matrix) -> None:
    """Each --model against every inspected board (or, with none, what a board would need)."""
    from rknn_envcheck.model import preflight

    boards = [d for d in devices if d.get("state") == "device" and not d.get("probe_error")] or [None]
    for device in boards:
        subject = f"model:{path}" + (f"@{device.get('serial')}" if device else "")
        report.subjects[subject] = f"Model {path}" + (f" on board {device.get('serial')}" if device else " (no board: minimum board versions)")
        for check in preflight(path, device, matrix):
            check.subject = subject
            report.add(check)
