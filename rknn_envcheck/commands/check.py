"""`rknn-envcheck check --facts FILE.json`: judge saved facts (a user's bug report, a CI artefact)
with the rules and matrices of this machine — no host, board or network access."""
from __future__ import annotations


def add_arguments(parser) -> None:
    from rknn_envcheck.options import add_output_options

    parser.add_argument("--facts", metavar="FILE", required=True, help="facts JSON written by --save-facts (schema: docs/facts.md)")
    parser.add_argument("--toolkit", metavar="V", help="judge for this toolkit instead of the one in the facts (e.g. rknn-toolkit2==2.3.2)")
    add_output_options(parser, facts=False)


def run(args) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.pipeline import FactsFileSource, gather

    facts, _ = gather([FactsFileSource(args.facts)], facts={})
    matrix = load_matrix_for(args)
    report = evaluate(facts, matrix, command=f"check --facts {args.facts}", toolkit=args.toolkit)
    if not (facts.get("host") or facts.get("devices")):
        report.notes.append("the facts file has neither host facts nor devices: nothing to judge")
        report.if_nothing_judged = ("save facts that hold something to judge: rknn-envcheck host --save-facts FILE "
                                    "(this PC) or rknn-envcheck device --all --save-facts FILE (the boards), then check that file")
    return emit(report, args)
