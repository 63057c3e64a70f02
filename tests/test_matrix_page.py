"""`rknn-envcheck matrix`: the page renders in a real browser (Debian's headless Chromium), a
screenshot is made, and key cells are read back from the DOM the browser built."""
from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from core_helpers import device, facts, run_cli, write_facts

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if IN_CI:
        pytest.fail("no Chromium (Debian package chromium; scripts/test installs it as root)")
    pytest.skip("Chromium is not installed (Debian package chromium)")


class _Cells(HTMLParser):
    """Rows of every table: [(row label, [cell texts], row classes, [cell classes])] per table."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append({"name": attrs.get("data-table", ""), "head": [], "rows": []})
        elif tag == "tr" and self.tables:
            self._row = {"cls": attrs.get("class") or "", "cells": [], "cell_cls": []}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._row["cell_cls"].append(attrs.get("class") or "")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row["cells"].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            table = self.tables[-1]
            (table["rows"] if table["head"] else table["head"]).append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _cell(tables, table_name: str, line_hint: str, row_label: str, column: str):
    for table in tables:
        if table["name"] != table_name:
            continue
        head = table["head"][0]["cells"]
        if column not in head:
            continue
        index = head.index(column)
        for row in table["rows"]:
            if row["cells"][0] == row_label:
                return row["cells"][index], row["cls"], row["cell_cls"][index]
    raise AssertionError(f"no cell {row_label!r} × {column!r} in table {table_name!r}")


def test_the_matrix_page_renders_in_chromium_with_your_environment_highlighted(tmp_path, capsys):
    chromium = _chromium()
    your_facts = facts({"rknn-toolkit2": "2.3.2", "onnx": "1.16.1"}, [device(chip="RK3588", rknn_server="1.5.2", librknn_runtime="1.5.2", npu_driver="0.8.2")],
                       python_version="3.11.7")
    facts_file = write_facts(tmp_path, your_facts)
    page = tmp_path / "matrix.html"
    code, out, err = run_cli(capsys, "matrix", "--format", "html", "--facts", str(facts_file), "-o", str(page))
    assert code == 0 and out == "" and page.stat().st_size > 10_000
    assert "<script" not in page.read_text() and "<link" not in page.read_text()  # self-contained, no script

    profile = tmp_path / "profile"
    shot = tmp_path / "matrix.png"
    proc = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,2000", f"--screenshot={shot}",
                           page.as_uri()], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = _Cells()
    parser.feed(dom.stdout)
    tables = parser.tables
    assert len(tables) == 8  # four tables per toolkit line

    text, row_cls, cell_cls = _cell(tables, "Wheels", "toolkit2", "rknn-toolkit2 2.3.2", "Python 3.11")
    assert "Linux x86_64" in text and "Linux aarch64" in text
    assert row_cls == "mine" and "mine" in cell_cls
    text, row_cls, _ = _cell(tables, "Wheels", "toolkit2", "rknn-toolkit2 2.2.1", "Python 3.8")
    assert "Linux x86_64" in text and row_cls == ""
    text, _, cell_cls = _cell(tables, "Board stack", "toolkit2", "rknn-toolkit2 2.3.2", "rknn_server")
    assert text.startswith(">=") and "your boards: 1.5.2" in text and "mine" in cell_cls
    text, _, _ = _cell(tables, "Frameworks", "toolkit1", "rknn-toolkit 1.7.5", "tensorflow")
    assert text  # the v1 framework table is there
    chip, row_cls, _ = _cell(tables, "Chips and target platforms", "toolkit2", "RK3588", "NPU")
    assert row_cls == "mine"
    assert "Your environment" in dom.stdout and "rknn-toolkit2 2.3.2" in dom.stdout


def test_every_cell_with_data_names_its_source_and_the_footnotes_resolve(tmp_path, capsys):
    page = tmp_path / "m.html"
    code, _, _ = run_cli(capsys, "matrix", "--format", "html", "--line", "toolkit2", "-o", str(page))
    html = page.read_text()
    assert code == 0 and "RKNN-Toolkit (v1)" not in html
    import re

    refs = set(re.findall(r'href="#src-(\d+)"', html))
    targets = set(re.findall(r'id="src-(\d+)"', html))
    assert refs and refs == targets


def test_text_and_markdown_formats(capsys):
    code, out, _ = run_cli(capsys, "matrix", "--line", "toolkit1")
    assert code == 0 and "rknn-toolkit 1.7.5" in out and "rknn-toolkit2" not in out
    code, out, _ = run_cli(capsys, "matrix", "--format", "markdown")
    assert code == 0 and out.startswith("# RKNN compatibility matrix") and "[^1]:" in out


def test_hostile_facts_values_are_escaped_in_the_page(tmp_path, capsys):
    hostile = facts({"rknn-toolkit2": "2.3.2"}, [device(serial="<script>alert(1)</script>\x1b[2J", chip="RK3588")])
    facts_file = write_facts(tmp_path, hostile)
    code, out, _ = run_cli(capsys, "matrix", "--format", "html", "--facts", str(facts_file))
    assert code == 0 and "<script>" not in out and "&lt;script&gt;" in out and "\x1b" not in out
