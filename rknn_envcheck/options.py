"""Options every judging command shares (output format, verbosity, strictness, facts export).

Its own module so that commands/*.py need not import cli (which imports them back, lazily)."""
from __future__ import annotations

import argparse

# Every rendering of a Report (render/__init__.py dispatches on these names).
REPORT_FORMATS = ("text", "json", "markdown", "junit", "prometheus")


def add_output_options(parser: argparse.ArgumentParser, facts: bool = True) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", dest="format", action="store_const", const="json", help="print the report as JSON")
    fmt.add_argument("--format", choices=REPORT_FORMATS, default="text",
                     help="report format (default text; junit for CI servers, prometheus for node_exporter's textfile collector)")
    parser.set_defaults(format="text")
    parser.add_argument("-o", "--output", metavar="FILE", type=output_path,
                        help="write the report to FILE (atomically; a FIFO with a reader or a device is written through) instead of standard output")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every fact, how it was obtained, and per-check time")
    parser.add_argument("--strict", action="store_true", help="warnings also make the exit code 1")
    parser.add_argument("--matrix", metavar="DIR", help="use the matrix files in DIR instead of the shipped set")
    if facts:
        parser.add_argument("--save-facts", metavar="FILE", type=output_path, help="also write the gathered facts to FILE for `check --facts`")


MAX_TIMEOUT_S = 600.0  # ten minutes: longer is a typo (or `inf`), and time.monotonic() + it must stay finite


def seconds(maximum: float = MAX_TIMEOUT_S):
    """The argparse type of every --timeout-like option: a finite number of seconds, > 0 and at most
    `maximum`. `inf` (OverflowError in a deadline), `nan` (every comparison false: a wait that never
    ends) and 0 are refused while parsing, exit 2 with the option named."""

    def parse(text: str) -> float:
        import math

        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not a number of seconds") from None
        if not math.isfinite(value) or not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(f"{text[:40]!r}: give a number of seconds greater than 0 and at most {maximum:g}")
        return value

    parse.__name__ = "seconds"
    return parse


def output_path(text: str) -> str:
    """The argparse type of -o/--output and --save-facts: '' is no file name (it used to mean
    standard output, silently); '-' is standard output."""
    if text == "":
        raise argparse.ArgumentTypeError("empty file name; name a file, or '-' for standard output")
    return text
