"""Command line entry point.

argparse, not a framework: the doctor must answer in well under a second, so start-up imports
only what the chosen command needs (each command module is imported lazily).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from rknn_envcheck import __version__
from rknn_envcheck.errors import UsageError
from rknn_envcheck.options import add_output_options  # noqa: F401  (kept for callers of the old place)

# subcommand name -> module under rknn_envcheck.commands exposing add_arguments(parser) and run(args) -> int
COMMANDS = {
    "host": "Inspect a Python environment (this one, or --python PATH).",
    "device": "Inspect boards over ADB (--id SERIAL, --all), an emulated board, or this board (--local).",
    "check": "Judge a saved facts file (check --facts FILE.json).",
    "resolve": "Which toolkit and framework versions fit a board, a Python and a platform.",
    "constraints": "Write a pip/uv constraints file for a toolkit version.",
    "udev": "Check, and with --install write, the Rockchip USB udev rules.",
    "model": "Will this model convert with this toolkit (ONNX, TFLite, TensorFlow, PyTorch, Caffe, Darknet, MXNet, Keras) or load on that board (.rknn)?",
    "explain": "Turn an RKNN error log into a diagnosis and the fix.",
    "emulator": "Emulated boards: list profiles, serve them over ADB, run a demo.",
    "merge": "One table over facts files and JSON reports from many hosts and boards.",
    "matrix": "The whole compatibility matrix as text, markdown or one HTML page (--facts: yours highlighted).",
    "doctor": "Host + USB + every board on one screen (the default command).",
}
MODULE_NAMES = {"doctor": "doctor"}


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad flags already; make the message name the tool and the fix."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {_error_text(message)}\nRun `{self.prog} --help` for the options.\n")
        raise SystemExit(2)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; with `only`, just that command's sub-parser (each costs ~0.7 ms to
    build, ~8 ms for all of them, and `main` has already checked the name: the others could only
    be listed by --help, which builds them all)."""
    parser = _Parser(
        prog="rknn-envcheck",
        description="Checks whether this PC's RKNN toolkit, its Python environment and its Rockchip NPU boards fit together.",
    )
    parser.add_argument("--version", action="version", version=f"rknn-envcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        if only is not None and name != only:
            continue
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(_module=MODULE_NAMES.get(name, name))
    return parser


def _load(module_name: str):
    return importlib.import_module(f"rknn_envcheck.commands.{module_name}")


def _degrade_encoding() -> None:
    """PYTHONIOENCODING=ascii, a C locale, a cp1252 console, a file name that is not UTF-8 (a lone
    surrogate): print what cannot be encoded as `\\u2014`-style escapes instead of ending the run
    with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def main(argv: list[str] | None = None) -> int:
    if sys.stdout is None or sys.stderr is None:  # `>&-` / `2>&-`: no traceback, the right exit code
        from rknn_envcheck.stdout_guard import stand_in_for_closed_streams

        stand_in_for_closed_streams()
    _degrade_encoding()
    argv = list(sys.argv[1:] if argv is None else argv)
    # No subcommand (or only global-looking flags) means the doctor.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["doctor", *argv]
    name = argv[0]
    if name not in COMMANDS and not name.startswith("-"):
        sys.stderr.write(f"rknn-envcheck: error: unknown command {name!r}; choose from {', '.join(COMMANDS)}\n")
        return 2
    parser = build_parser(name if name in COMMANDS else None)
    if name in COMMANDS:
        # Only the chosen command's module is imported and asked for its options.
        sub_parser = parser._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
        _load(MODULE_NAMES.get(name, name)).add_arguments(sub_parser)
    args = parser.parse_args(argv)
    from rknn_envcheck.stdout_guard import StdoutFailed, discard_stdout, guard_stdout, restore_stdout

    original_stdout = guard_stdout()  # a failing write to stdout: one line below, never a traceback
    try:
        code = int(_load(args._module).run(args))
        sys.stdout.flush()  # what print() left in the buffer fails here, not at interpreter exit
        return code
    except UsageError as exc:
        sys.stderr.write(f"rknn-envcheck: error: {_error_text(exc)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("rknn-envcheck: interrupted\n")
        return 130
    except (StdoutFailed, BrokenPipeError) as exc:
        discard_stdout(original_stdout)
        if isinstance(exc, BrokenPipeError) or exc.broken_pipe:
            return 0  # the reader went away (`| head`): the usual quiet end
        sys.stderr.write(f"rknn-envcheck: error: {_error_text(exc.describe())}\n")
        return 2
    finally:
        restore_stdout(original_stdout)


def console_main() -> None:
    """The `rknn-envcheck` console script and `python -m rknn_envcheck`: main(), then a quick exit.

    Why not `sys.exit(main())`: the interpreter's own shutdown (tearing down every module and
    object, ~10 ms for a bare `python -c pass`, 15-35 ms after a report) is pure overhead for a
    one-shot command, and `model`/`explain` are measured against `--version`/`grep` where that
    is a tenth of the budget (docs/decisions.md, "quick exit"). What shutdown must still do is
    done first: stdout/stderr are flushed (a failure there takes the normal path, which reports
    it), atexit handlers run (the emulator's private adb server is stopped by one), and with any
    other thread still alive the normal exit joins it instead.
    """
    try:
        code = main()
    except SystemExit as exc:  # --version, --help and argparse errors end here too
        code = exc.code
    if code is None:
        code = 0
    elif not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    _exit_now(code)


def _exit_now(code: int) -> None:
    import threading

    if _observed():
        raise SystemExit(code)
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    if threading.active_count() > 1:
        raise SystemExit(code)
    import atexit
    import os

    atexit._run_exitfuncs()
    os._exit(code)


def _observed() -> bool:
    """A profiler, tracer, debugger or coverage tool (`python -m cProfile -m rknn_envcheck`,
    `coverage run`, pdb) or `python -i`: each reports or takes over after the program's code
    returns, which os._exit would skip. 3.11 registers them with sys.setprofile/settrace, 3.12+
    (cProfile, coverage) with sys.monitoring tool ids 0-5."""
    if sys.flags.inspect or sys.gettrace() is not None or sys.getprofile() is not None:
        return True
    monitoring = getattr(sys, "monitoring", None)
    return monitoring is not None and any(monitoring.get_tool(tool) is not None for tool in range(6))


if __name__ == "__main__":
    console_main()


ERROR_MAX_CHARS = 2000


def _error_text(exc) -> str:
    """One line, escaped, bounded: an error quotes input (a path, a value, a log line), and neither
    a control character nor a 10 MB value may reach the terminal whole (values are cut to 200
    characters where they are quoted; this is the backstop for the whole line)."""
    from rknn_envcheck.render.common import clean

    text = clean(str(exc))
    if len(text) > ERROR_MAX_CHARS:
        text = text[: ERROR_MAX_CHARS - 40] + f"... ({len(text)} characters in all)"
    return text

