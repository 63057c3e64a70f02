"""`rknn-envcheck host [--python PATH | --all-pythons] [--toolkit V]`: inspect one Python environment
(the user's: the active venv or conda environment, else python3 on PATH — see probes/pythons.py)
and judge it; --all-pythons judges every environment on the machine that holds a toolkit."""
from __future__ import annotations


def add_arguments(parser) -> None:
    from rknn_envcheck.options import add_output_options, seconds

    parser.add_argument("--python", metavar="PATH",
                        help="inspect this interpreter (a venv's bin/python, a conda env, python3.6); without it the active "
                             "virtual or conda environment is inspected, else python3 on PATH; nothing is installed into it")
    parser.add_argument("--all-pythons", action="store_true",
                        help="inspect every Python on this machine that has an RKNN toolkit (or its frameworks) installed: "
                             "PATH, pyenv, conda, ~/.virtualenvs, pipenv, poetry, ./.venv, ./venv")
    parser.add_argument("--toolkit", metavar="V",
                        help="judge for a toolkit you are about to install, e.g. rknn-toolkit2==2.3.2 or rknn-toolkit 1.7.5")
    parser.add_argument("--timeout", metavar="SECONDS", type=seconds(), default=10.0,
                        help="give up on the --python interpreter after this long (default 10)")
    add_output_options(parser)


def run(args) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.pipeline import HostSource, gather

    if getattr(args, "all_pythons", False):
        from rknn_envcheck.commands.host_all import run_all_pythons

        return run_all_pythons(args)
    # Start the probe interpreter and the USB/process scans first; load the matrix and the rules
    # while they run (the other interpreter uses the other core).
    host = HostSource(args.python, args.timeout, matrix=lambda: load_matrix_for(args))
    host.start()
    matrix = load_matrix_for(args)
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.facts import FACTS_SCHEMA

    # this command looks at no board: no "devices" key (absent = not checked)
    facts, _ = gather([host], facts={"schema": FACTS_SCHEMA})
    # evaluate() runs rules.host.judge_host, exactly as `check --facts` will on the saved facts.
    report = evaluate(facts, matrix, command="host", toolkit=args.toolkit, devices=False)
    for problem in facts["host"].get("probe_errors") or []:
        report.notes.append(f"could not read part of the environment ({problem.get('section')}): {problem.get('problem')}")
    return emit(report, args)
