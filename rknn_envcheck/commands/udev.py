"""`rknn-envcheck udev [--install [--dry-run]] [--mode uaccess|group|world] [--group G] [--root DIR]`."""
from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    from rknn_envcheck.options import add_output_options

    parser.add_argument("--install", action="store_true", help="write the rules file (needs root), reload udev, re-check")
    parser.add_argument("--dry-run", action="store_true", help="with --install: print the file and commands, change nothing")
    parser.add_argument("--mode", choices=["uaccess", "group", "world"], default="uaccess",
                        help='uaccess (default): seat user ACL + GROUP with 0660; group: GROUP with 0660; world: the vendor\'s MODE="0666"')
    parser.add_argument("--group", default="plugdev", help="group for --mode uaccess|group (default plugdev)")
    parser.add_argument("--root", default="/", metavar="DIR", help="treat DIR as / (etc/udev, sys, dev under it); for tests and images")
    add_output_options(parser, facts=False)


def _load_matrix(args, notes: list[str]):
    """The matrix, or None: the rule is vendor-wide and needs none; the ids only label devices and comments."""
    from rknn_envcheck.errors import UsageError

    try:
        from rknn_envcheck.matrix import load_matrix

        return load_matrix(getattr(args, "matrix", None))
    except UsageError:
        if getattr(args, "matrix", None):
            raise
        notes.append("the shipped matrix did not load; using the USB ids of the board's start_usb.sh (rockchip-linux/rknpu): 0006 adb, 1808 ntb")
    except ImportError as exc:
        # udev must work where only the standard library is importable (run as another user by
        # sudo/setpriv, whose interpreter may not see this install's dependencies): the rule
        # covers vendor 2207 whatever the matrix says; the matrix only names the modes.
        notes.append(f"the matrix could not be loaded ({exc}); using the USB ids of the board's start_usb.sh (rockchip-linux/rknpu): 0006 adb, 1808 ntb")
    return None


def run(args) -> int:
    from pathlib import Path

    from rknn_envcheck.commands._common import emit
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.report import Report
    from rknn_envcheck.udev.render_rule import check_group_name

    if args.dry_run and not args.install:
        raise UsageError("--dry-run only applies to --install (try: rknn-envcheck udev --install --dry-run)")
    if args.mode != "world":
        check_group_name(args.group)
    root = Path(args.root)
    if not root.is_dir():
        raise UsageError(f"--root {args.root}: not a directory")
    notes: list[str] = []
    matrix = _load_matrix(args, notes)
    usb_ids = list(matrix.usb_ids()) if matrix is not None else []
    report = Report(command="udev", subjects={"udev": "udev rules and access to Rockchip USB devices (vendor 2207)"}, notes=notes)
    if matrix is not None:
        report.matrix_version, report.matrix_date = matrix.version, matrix.date

    fmt = args.format or "text"  # --json and --format share a dest; neither given leaves None
    install_code = 0
    if args.install:
        from rknn_envcheck.udev.install import install

        outcome = install(root=root, mode=args.mode, group=args.group, usb_ids=usb_ids, dry_run=args.dry_run,
                          matrix=getattr(args, "matrix", None))
        install_code = outcome.exit_code
        if fmt == "text":
            stream = sys.stderr if outcome.exit_code == 2 and outcome.action == "refused" else sys.stdout
            from rknn_envcheck.render.common import clean

            # Lines quote sysfs attributes, udevadm's stderr and rules files under --root: outside text.
            stream.write("\n".join(clean(line) for line in outcome.lines) + "\n")
            stream.flush()
        else:
            report.notes.extend(line for line in outcome.lines if line.strip())
        if outcome.action == "dry-run" and not install_code:
            install_code = _predicted_exit_code(args, root, usb_ids, outcome, report if fmt != "text" else None)
        if outcome.action in ("dry-run", "refused", "not-linux") and fmt == "text":
            return install_code
        if outcome.action in ("dry-run", "refused", "not-linux"):
            sys.stdout.write(_render_notes_only(report, args))
            return install_code
        if fmt == "text":
            sys.stdout.write("\n")

    from rknn_envcheck.report import run_guarded
    from rknn_envcheck.udev.status import build_checks

    report.extend(run_guarded("udev.rules", "udev rules for Rockchip USB", "udev",
                              lambda: build_checks(root, args.group, usb_ids)))
    code = emit(report, args)
    return install_code or code


def _predicted_exit_code(args, root, usb_ids, outcome, report) -> int:
    """The exit code the real `--install` would end with: its re-check, judged on the rules as
    they would be with the planned file written, answered as root (the dry run shows a sudo line)
    unless this user can write the rules directory itself (then the install runs as this user)."""
    import os
    from pathlib import Path

    from rknn_envcheck.inputlimits import cut
    from rknn_envcheck.report import Report, run_guarded
    from rknn_envcheck.udev.status import build_checks

    planned = {Path(outcome.target): outcome.planned_text} if outcome.planned_text is not None else None
    as_root = None if os.access(Path(outcome.target).parent, os.W_OK) else True
    predicted = Report(command="udev", checks=run_guarded(
        "udev.rules", "udev rules for Rockchip USB", "udev",
        lambda: build_checks(root, args.group, usb_ids, planned=planned, as_root=as_root)))
    code = predicted.exit_code(getattr(args, "strict", False))
    problems = [c for c in predicted.checks if c.status not in ("ok", "skipped")]
    line = (f"After it, the re-check would report {len(problems)} problem(s): "
            + "; ".join(f"[{c.status}] {c.title}: {cut(c.message, 200)}" for c in problems) + f" (exit code {code})") if problems else \
        f"After it, the re-check would report no problem (exit code {code})."
    if report is None:
        sys.stdout.write(line + "\n")
    else:
        # JSON & co.: the predicted checks themselves, so the report's exit_code is the process's
        report.notes.append(line + "; the checks below are that prediction, nothing was changed")
        report.extend(predicted.checks)
    return code


def _render_notes_only(report, args) -> str:
    from rknn_envcheck.render import render

    return render(report, args.format or "text", args.verbose, getattr(args, "strict", False))
