"""`rknn-envcheck host [--python PATH] [--toolkit V]`: inspect one Python environment and judge it."""
from __future__ import annotations


def add_arguments(parser) -> None:
    from rknn_envcheck.cli import add_output_options

    parser.add_argument("--python", metavar="PATH",
                        help="inspect this interpreter (a venv's bin/python, a conda env, python3.6) instead of the one running "
                             "rknn-envcheck; nothing is installed into it")
    parser.add_argument("--toolkit", metavar="V",
                        help="judge for a toolkit you are about to install, e.g. rknn-toolkit2==2.3.2 or rknn-toolkit 1.7.5")
    parser.add_argument("--timeout", metavar="SECONDS", type=float, default=10.0,
                        help="give up on the --python interpreter after this long (default 10)")
    add_output_options(parser)


def run(args) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.probes.host import start_gather_host

    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g}: must be a positive number of seconds")
    # Start the probe interpreter and the USB/process scans first; load the matrix and the rules
    # while they run (the other interpreter uses the other core).
    gathering = start_gather_host(args.python, timeout=args.timeout, matrix=lambda: load_matrix_for(args))
    matrix = load_matrix_for(args)
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.facts import new_facts

    facts = new_facts()
    del facts["devices"]  # this command looks at no board; absent = not checked
    facts["host"] = gathering.result()
    # evaluate() runs rules.host.judge_host, exactly as `check --facts` will on the saved facts.
    report = evaluate(facts, matrix, command="host", toolkit=args.toolkit, devices=False)
    for problem in facts["host"].get("probe_errors") or []:
        report.notes.append(f"could not read part of the environment ({problem.get('section')}): {problem.get('problem')}")
    return emit(report, args)
