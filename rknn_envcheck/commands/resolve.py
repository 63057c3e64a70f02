"""`rknn-envcheck resolve`: which toolkit versions fit, which one to use, and why the rest do not."""
from __future__ import annotations

import sys

# Not a Report (no checks): its own renderings, in render/resolve.py.
RESOLVE_FORMATS = ("text", "json", "markdown")


def add_arguments(parser) -> None:
    parser.add_argument("--toolkit", metavar="V", help="judge this toolkit release (e.g. rknn-toolkit2==2.3.2)")
    parser.add_argument("--chip", metavar="C", help="the board's chip (e.g. RK3588, RV1126)")
    parser.add_argument("--runtime", metavar="V", help="the board's runtime version (librknnrt / librknn_runtime)")
    parser.add_argument("--python", metavar="X.Y", help="the Python you will use (default: this one)")
    parser.add_argument("--platform", metavar="P", help="linux_x86_64, linux_aarch64, linux_armv7l, win_amd64 or macosx_x86_64 (default: this machine)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json")
    fmt.add_argument("--format", choices=RESOLVE_FORMATS, default="text")
    parser.add_argument("--matrix", metavar="DIR")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every rejected release")


def run(args) -> int:
    from rknn_envcheck.commands._common import load_matrix_for
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.render.resolve import render_resolution
    from rknn_envcheck.resolver import candidates_for, recommend, vendor_wheel_note

    if args.runtime and not args.chip:
        raise UsageError("--runtime needs --chip (the runtime version means different things on RKNPU1 and RKNPU2 boards)")
    matrix = load_matrix_for(args)
    cands, inputs = candidates_for(matrix, toolkit=args.toolkit, chip_name=args.chip, runtime=args.runtime, python=args.python, platform=args.platform)
    best = recommend(cands, matrix)
    result = {
        "schema": "rknn-envcheck/resolve/1", "matrix": {"version": matrix.version, "date": matrix.date}, "inputs": inputs,
        "recommended": None if best is None else {"package": best.package, "version": best.version, "frameworks": best.frameworks,
                                                  "install_from": best.install_from, "vendor_files": best.vendor_files,
                                                  "vendor_downloads": best.vendor_downloads, "pypi_alternatives": best.pypi_alternatives,
                                                  "install_note": vendor_wheel_note(best, inputs["python"], inputs["platform"]) if best.install_from == "vendor" else "",
                                                  "constraints_command": f"rknn-envcheck constraints --toolkit {best.package}=={best.version} --python {inputs['python']} --platform {inputs['platform']} -o constraints.txt"},
        "fitting": [f"{c.package}=={c.version}" for c in cands if c.fits],
        # the fitting releases other than the recommended one; a newer one says why it is not recommended
        "also_fit": [{"candidate": f"{c.package}=={c.version}", "install_from": c.install_from, "not_recommended": c.not_recommended}
                     for c in cands if c.fits and c is not best],
        "rejected": [{"candidate": f"{c.package}=={c.version}", "reasons": c.reasons} for c in cands if not c.fits],
    }
    if best is None:
        from rknn_envcheck.resolver_ways import ways_out
        from rknn_envcheck.shellcmd import cmd

        # A dead end names the one-step changes after which a release fits (each verified).
        result["ways_out"] = [{"change": w["change"], "fits": w["fits"], "command": cmd(*w["argv"]).display()}
                              for w in ways_out(matrix, toolkit=args.toolkit, chip_name=inputs.get("chip"), runtime=inputs.get("runtime"),
                                                python=inputs["python"], platform=inputs["platform"])]
    sys.stdout.write(render_resolution(result, args.format, args.verbose))
    return 0 if best else 1
