"""Load only the matrix tables the model preflight uses (`[[chip]]`, `[[model_format]]`, `[matrix]`).

Parsing and validating the whole matrix set (~300 KB of TOML) costs ~100 ms, four times the
interpreter start-up; the preflight needs two small tables of it (issue 8: at most 2x
`rknn-envcheck --version`). Each file is cut at its top-level table headers and only the wanted
blocks are parsed and validated with the same rules as `rknn_envcheck.matrix`. Anything this
cutter cannot handle (a parse error in the cut text) falls back to the full loader, which then
reports the problem with its usual precision.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

WANTED = ("chip", "model_format")
_HEADER = re.compile(r"^\[\[?\s*([A-Za-z0-9_-]+)(?:\.[A-Za-z0-9_.-]+)?\s*\]\]?\s*(?:#.*)?$")


def _wanted_text(text: str) -> str:
    keep, out = True, []
    for line in text.splitlines(keepends=True):
        match = _HEADER.match(line)
        if match:
            keep = match.group(1) in WANTED or match.group(1) == "matrix"
        if keep:
            out.append(line)
    return "".join(out)


@lru_cache(maxsize=8)
def _load(directory: str | None):
    from rknn_envcheck import matrix as full

    root = Path(directory) if directory else full._default_dir()
    if not root.is_dir():
        return full.load_matrix(directory)
    tables: dict[str, list[dict]] = {}
    meta: dict = {}
    for path in sorted(root.glob("*.toml")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return full.load_matrix(directory)
        # Top-level keys before the first table would be lost by the cut; such a file is unusual
        # enough to leave to the full loader.
        try:
            data = full.tomllib.loads(_wanted_text(text))
        except full.tomllib.TOMLDecodeError:
            return full.load_matrix(directory)
        for key, value in data.items():
            if key == "matrix":
                meta.update(value)
            elif key in WANTED:
                tables.setdefault(key, []).extend(_validate_rows(full, path, key, value))
            else:
                return full.load_matrix(directory)
    if not meta.get("version") or not meta.get("date"):
        return full.load_matrix(directory)  # raises the usual "no [matrix] table" error
    return full.Matrix(root, tables, meta, {})


def load_model_matrix(directory=None):
    """A Matrix holding the chip and model_format tables (plus version/date) of `directory`."""
    return _load(str(Path(directory).resolve()) if directory else None)


def _validate_rows(full, path: Path, table: str, rows) -> list[dict]:
    """The full loader's schema (rknn_envcheck.matrix.SCHEMA) minus the PEP 440 parsing of
    version fields: its validator imports `packaging` (~15 ms, a third of the preflight's budget)
    and the preflight never reads those fields (`produced_by`); every other command validates
    them in full."""
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise full.UsageError(f"matrix file {path}: '{table}' must be an array of tables ([[{table}]])")
    for index, row in enumerate(rows):
        for name, (required, kind) in full.SCHEMA[table].items():
            if name not in row:
                if required:
                    full._fail(path, table, index, name, "is missing")
                continue
            value = row[name]
            if kind == "package":
                kind = full.PACKAGES
            if isinstance(kind, tuple):
                if value not in kind:
                    full._fail(path, table, index, name, f"is {value!r}; expected one of {', '.join(kind)}")
            elif isinstance(kind, type):
                if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                    full._fail(path, table, index, name, f"must be of type {kind.__name__}, got {type(value).__name__}")
            elif not ((isinstance(value, str) and value) or (isinstance(value, list) and value)):
                full._fail(path, table, index, name, "must be a non-empty version list or specifier string")
        if not str(row.get("source", "")).strip():
            full._fail(path, table, index, "source", "is missing or empty: every matrix row names where its fact comes from")
        row["_file"] = path.name
        row["_row"] = index + 1
    return rows
