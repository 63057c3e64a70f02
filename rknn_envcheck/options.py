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
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE (atomically; a FIFO or device is written through) instead of standard output")
    parser.add_argument("-v", "--verbose", action="store_true", help="show every fact, how it was obtained, and per-check time")
    parser.add_argument("--strict", action="store_true", help="warnings also make the exit code 1")
    parser.add_argument("--matrix", metavar="DIR", help="use the matrix files in DIR instead of the shipped set")
    if facts:
        parser.add_argument("--save-facts", metavar="FILE", help="also write the gathered facts to FILE for `check --facts`")
