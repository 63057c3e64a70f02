"""`rknn-envcheck matrix [--line toolkit1|toolkit2] [--format text|markdown|html] [-o FILE] [--facts F]`:
the whole compatibility matrix to look at, with the user's own environment highlighted."""
from __future__ import annotations

import sys

MATRIX_FORMATS = ("text", "markdown", "html")


def add_arguments(parser) -> None:
    from rknn_envcheck.options import output_path

    parser.add_argument("--line", choices=["toolkit1", "toolkit2"], help="only this toolkit line (default both)")
    parser.add_argument("--format", choices=MATRIX_FORMATS, default="text", help="text (default), markdown, or one self-contained HTML page")
    parser.add_argument("-o", "--output", metavar="FILE", type=output_path, help="write to FILE instead of standard output")
    parser.add_argument("--facts", metavar="FILE", help="highlight the toolkit, Python and boards of this facts file (--save-facts)")
    parser.add_argument("--matrix", metavar="DIR", help="use the matrix files in DIR instead of the shipped set")


def run(args) -> int:
    from rknn_envcheck.commands._common import load_matrix_for
    from rknn_envcheck.matrix_view import build_view
    from rknn_envcheck.render.matrix_page import render_matrix

    facts = None
    if args.facts:
        from rknn_envcheck.facts import load_facts

        facts = load_facts(args.facts)
    matrix = load_matrix_for(args)
    text = render_matrix(build_view(matrix, facts, args.line), matrix, args.format, facts)
    if args.output:
        from rknn_envcheck.safeio import write_text

        write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return 0
