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

# subcommand name -> module under rknn_envcheck.commands exposing add_arguments(parser) and run(args) -> int
COMMANDS = {
    "host": "Inspect a Python environment (this one, or --python PATH).",
    "device": "Inspect boards over ADB (--id SERIAL, --all), an emulated board, or this board (--local).",
    "check": "Judge a saved facts file (check --facts FILE.json).",
    "resolve": "Which toolkit and framework versions fit a board, a Python and a platform.",
    "constraints": "Write a pip/uv constraints file for a toolkit version.",
    "udev": "Check, and with --install write, the Rockchip USB udev rules.",
    "model": "Will this .rknn model load on that board?",
    "explain": "Turn an RKNN error log into a diagnosis and the fix.",
    "emulator": "Emulated boards: list profiles, serve them over ADB, run a demo.",
    "doctor": "Host + USB + every board on one screen (the default command).",
}
MODULE_NAMES = {"doctor": "doctor"}


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad flags already; make the message name the tool and the fix."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\nRun `{self.prog} --help` for the options.\n")
        raise SystemExit(2)


def add_output_options(parser: argparse.ArgumentParser, facts: bool = True) -> None:
    """Options every judging command shares: output format, verbosity, strictness, facts export."""
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json", help="print the report as JSON")
    fmt.add_argument("--format", choices=["text", "json", "markdown"], default="text", help="report format (default text)")
    parser.set_defaults(format="text")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every fact, how it was obtained, and per-check time")
    parser.add_argument("--strict", action="store_true", help="warnings also make the exit code 1")
    parser.add_argument("--matrix", metavar="DIR", help="use the matrix files in DIR instead of the shipped set")
    if facts:
        parser.add_argument("--save-facts", metavar="FILE", help="also write the gathered facts to FILE for `check --facts`")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rknn-envcheck",
        description="Checks whether this PC's RKNN toolkit, its Python environment and its Rockchip NPU boards fit together.",
    )
    parser.add_argument("--version", action="version", version=f"rknn-envcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, help_text in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(_module=MODULE_NAMES.get(name, name))
    return parser


def _load(module_name: str):
    return importlib.import_module(f"rknn_envcheck.commands.{module_name}")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # No subcommand (or only global-looking flags) means the doctor.
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["doctor", *argv]
    name = argv[0]
    if name not in COMMANDS and not name.startswith("-"):
        sys.stderr.write(f"rknn-envcheck: error: unknown command {name!r}; choose from {', '.join(COMMANDS)}\n")
        return 2
    parser = build_parser()
    if name in COMMANDS:
        # Only the chosen command's module is imported and asked for its options.
        sub_parser = parser._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
        _load(MODULE_NAMES.get(name, name)).add_arguments(sub_parser)
    args = parser.parse_args(argv)
    try:
        return int(_load(args._module).run(args))
    except UsageError as exc:
        sys.stderr.write(f"rknn-envcheck: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("rknn-envcheck: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
