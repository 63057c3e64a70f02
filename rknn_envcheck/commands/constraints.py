"""`rknn-envcheck constraints --toolkit V`: a constraints file for `pip install -c` / `uv pip install -c`."""
from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    from rknn_envcheck.options import output_path

    parser.add_argument("--toolkit", metavar="V", required=True, help="the toolkit release, e.g. rknn-toolkit2==2.3.2")
    parser.add_argument("--python", metavar="X.Y", help="the Python you will install into (default: this one)")
    parser.add_argument("--platform", metavar="P", help="linux_x86_64, linux_aarch64, linux_armv7l, win_amd64 or macosx_x86_64 (default: this machine)")
    parser.add_argument("-o", "--output", metavar="FILE", type=output_path, help="write to FILE (atomically) instead of standard output")
    parser.add_argument("--matrix", metavar="DIR")


def run(args) -> int:
    from datetime import datetime, timezone

    from rknn_envcheck.commands._common import load_matrix_for
    from rknn_envcheck.safeio import write_text
    from rknn_envcheck.resolver import candidates_for, install_argv, render_constraints, vendor_wheel_note
    from rknn_envcheck.shellcmd import cmd

    matrix = load_matrix_for(args)
    cands, inputs = candidates_for(matrix, toolkit=args.toolkit, python=args.python, platform=args.platform)
    cand = cands[0]
    if not cand.fits:
        sys.stderr.write(f"rknn-envcheck: {cand.package} {cand.version} does not fit: {'; '.join(cand.reasons)}\n"
                         f"  see: rknn-envcheck resolve --python {inputs['python']} --platform {inputs['platform']}\n")
        return 1
    written = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = render_constraints(matrix, cand.package, cand.version, inputs["python"], inputs["platform"], written, cand)
    if args.output:
        write_text(args.output, text)
        count = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        if cand.install_from == "vendor":
            sys.stderr.write(f"note: {vendor_wheel_note(cand, inputs['python'], inputs['platform'])}\n")
        use = cmd("pip", "install", "-c", args.output, *install_argv(cand, inputs["python"], inputs["platform"]))
        sys.stderr.write(f"wrote {args.output} ({count} constraints); use: {use.display()}\n")
    else:
        sys.stdout.write(text)
    return 0
