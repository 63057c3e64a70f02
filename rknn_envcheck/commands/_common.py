"""What every judging command does at the end: render, optionally save facts, pick the exit code."""
from __future__ import annotations

import sys


def emit(report, args) -> int:
    from rknn_envcheck.render import render

    fmt = getattr(args, "format", None) or "text"
    save = getattr(args, "save_facts", None)
    if save:
        from rknn_envcheck.facts import save_facts

        if report.facts is None:
            sys.stderr.write("rknn-envcheck: note: this command gathered no facts; nothing written to --save-facts\n")
        else:
            save_facts(report.facts, save)
            if fmt == "text":
                report.notes.append(f"facts saved to {save} (replay with: rknn-envcheck check --facts {save})")
    strict = getattr(args, "strict", False)
    text = render(report, fmt, getattr(args, "verbose", False), strict)
    output = getattr(args, "output", None)
    if output:
        from rknn_envcheck.safeio import write_text

        write_text(output, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    return report.exit_code(strict)


def load_matrix_for(args):
    from rknn_envcheck.matrix import load_matrix

    return load_matrix(getattr(args, "matrix", None))
