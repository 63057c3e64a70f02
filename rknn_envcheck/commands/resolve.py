"""`rknn-envcheck resolve`: which toolkit versions fit, which one to use, and why the rest do not."""
from __future__ import annotations

import json
import sys


def add_arguments(parser) -> None:
    parser.add_argument("--toolkit", metavar="V", help="judge this toolkit release (e.g. rknn-toolkit2==2.3.2)")
    parser.add_argument("--chip", metavar="C", help="the board's chip (e.g. RK3588, RV1126)")
    parser.add_argument("--runtime", metavar="V", help="the board's runtime version (librknnrt / librknn_runtime)")
    parser.add_argument("--python", metavar="X.Y", help="the Python you will use (default: this one)")
    parser.add_argument("--platform", metavar="P", help="linux_x86_64, linux_aarch64, linux_armv7l, win_amd64 or macosx_x86_64 (default: this machine)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json")
    fmt.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    parser.add_argument("--matrix", metavar="DIR")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every rejected release")


def run(args) -> int:
    from rknn_envcheck.commands._common import load_matrix_for
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.resolver import candidates_for, recommend

    if args.runtime and not args.chip:
        raise UsageError("--runtime needs --chip (the runtime version means different things on RKNPU1 and RKNPU2 boards)")
    matrix = load_matrix_for(args)
    cands, inputs = candidates_for(matrix, toolkit=args.toolkit, chip_name=args.chip, runtime=args.runtime, python=args.python, platform=args.platform)
    best = recommend(cands, matrix)
    result = {
        "schema": "rknn-envcheck/resolve/1", "matrix": {"version": matrix.version, "date": matrix.date}, "inputs": inputs,
        "recommended": None if best is None else {"package": best.package, "version": best.version, "frameworks": best.frameworks,
                                                  "constraints_command": f"rknn-envcheck constraints --toolkit {best.package}=={best.version} --python {inputs['python']} --platform {inputs['platform']} -o constraints.txt"},
        "fitting": [f"{c.package}=={c.version}" for c in cands if c.fits],
        "rejected": [{"candidate": f"{c.package}=={c.version}", "reasons": c.reasons} for c in cands if not c.fits],
    }
    if args.format == "json":
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(_text(result, args.verbose, markdown=args.format == "markdown"))
    return 0 if best else 1


def _text(result: dict, verbose: bool, markdown: bool) -> str:
    inputs = ", ".join(f"{k} {v}" for k, v in result["inputs"].items())
    bullet = "- " if markdown else "  "
    out = [f"{'## ' if markdown else ''}rknn-envcheck resolve · {inputs} · matrix {result['matrix']['version']} ({result['matrix']['date']})", ""]
    best = result["recommended"]
    if best:
        out.append(f"Recommended: {best['package']}=={best['version']}")
        for fw in best["frameworks"]:
            if fw["supported"] and (fw["specifier"] or fw["detail"]):
                out.append(f"{bullet}{fw['framework']}: {fw['specifier'] or ''} {('(' + fw['detail'] + ')') if fw['detail'] else ''}".rstrip())
            elif not fw["supported"]:
                out.append(f"{bullet}{fw['framework']}: not supported")
        out.append(f"{bullet}pin everything: {best['constraints_command']}")
        out.append("")
        out.append(f"Also fit: {', '.join(result['fitting'][1:6]) or 'none'}" + (" …" if len(result["fitting"]) > 6 else ""))
    else:
        out.append("No toolkit release fits these inputs.")
    rejected = result["rejected"]
    if rejected:
        out.append("")
        out.append(f"Rejected ({len(rejected)}):")
        for item in rejected if verbose or not best else rejected[:8]:
            out.append(f"{bullet}{item['candidate']}: {'; '.join(item['reasons'])}")
        if best and not verbose and len(rejected) > 8:
            out.append(f"{bullet}… {len(rejected) - 8} more (-v lists all)")
    return "\n".join(out) + "\n"
