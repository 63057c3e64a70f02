"""The JSON Schema (rknn_envcheck/schemas/facts.schema.json) and docs/facts.md, generated from
the facts model (rknn_envcheck.facts_model), so the three cannot disagree.

    python -m rknn_envcheck.facts_schema          # rewrite both files
    python -m rknn_envcheck.facts_schema --check  # exit 1 when a committed file is stale

tests/test_facts_model.py fails when the committed files drift from what this prints. The schema
is for other tools and for tests; at run time the model itself is the validator (no jsonschema).
"""
from __future__ import annotations

import json
import sys
import typing
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from rknn_envcheck.facts_check import fields_of, is_typeddict, nullable_field, unwrap
from rknn_envcheck.facts_model import FACTS_SCHEMA, Facts
from rknn_envcheck.tomlfile import MAX_TOML_BYTES
from rknn_envcheck.inputlimits import MAX_DEPTH, MAX_FACTS_BYTES, MAX_INT, MAX_PROBE_BYTES, MAX_SHOWN, MAX_STRING

PACKAGE = Path(__file__).resolve().parent
SCHEMA_PATH = PACKAGE / "schemas" / "facts.schema.json"
DOC_PATH = PACKAGE.parent / "docs" / "facts.md"


def _schema_of(tp, defs: dict, nullable: bool = False) -> dict:
    base, docs, patterns = unwrap(tp)
    origin = get_origin(base)
    if base is Any:
        out: dict = {}
    elif origin is Union:
        options = [a for a in get_args(base) if a is not type(None)]
        out = {"anyOf": [_schema_of(a, defs) for a in options]}
        if len(options) < len(get_args(base)):
            nullable = True
    elif origin is typing.Literal:
        values = list(get_args(base))
        out = {"const": values[0]} if len(values) == 1 and not nullable else {"enum": values}
    elif origin is list:
        out = {"type": "array", "items": _schema_of(get_args(base)[0], defs)}
    elif origin is dict:
        out = {"type": "object", "additionalProperties": _schema_of(get_args(base)[1], defs)}
    elif is_typeddict(base):
        name = base.__name__
        if name not in defs:
            defs[name] = {}  # placeholder against recursion
            properties = {key: _schema_of(field, defs, nullable=nullable_field(field)) for key, field in fields_of(base).items()}
            definition = {"type": "object", "properties": properties}
            if base.__doc__ and base.__doc__ is not dict.__doc__ and not base.__doc__.startswith(name + "("):
                definition["description"] = " ".join(base.__doc__.split())
            defs[name] = definition
        out = {"$ref": f"#/$defs/{name}"}
    elif base is str:
        out = {"type": "string", "maxLength": MAX_STRING}
        if patterns:
            out["pattern"] = f"^(?:{patterns[0]})$"
    elif base is bool:
        out = {"type": "boolean"}
    elif base is int:
        out = {"type": "integer", "minimum": -MAX_INT, "maximum": MAX_INT}
    elif base is float:
        out = {"type": "number"}
    else:
        raise TypeError(f"the facts model uses a type the schema generator does not know: {base!r}")
    if nullable:
        if "enum" in out:
            out["enum"] = out["enum"] + [None]
        elif "type" in out and "$ref" not in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]} if "anyOf" not in out else {"anyOf": out["anyOf"] + [{"type": "null"}]}
    if docs:
        out["description"] = " ".join(docs)
    return out


def json_schema() -> dict:
    defs: dict = {}
    root = _schema_of(Facts, defs)
    name = root["$ref"].rsplit("/", 1)[-1]
    top = defs.pop(name)
    top["properties"]["schema"] = {"const": FACTS_SCHEMA, "description": "the facts format; other ids are refused"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": FACTS_SCHEMA,
        "title": "rknn-envcheck facts",
        "description": "What rknn-envcheck observed. Every field may be missing: missing means 'could not check', never 'ok'. "
                       "Generated from rknn_envcheck/facts_model.py; see docs/facts.md.",
        "type": "object",
        "required": ["schema"],
        "properties": top["properties"],
        "$defs": dict(sorted(defs.items())),
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ docs/facts.md

def _type_text(tp) -> str:
    base, _docs, patterns = unwrap(tp)
    origin = get_origin(base)
    if origin is Union:
        options = [a for a in get_args(base) if a is not type(None)]
        text = " or ".join(_type_text(a) for a in options)
        return text + (" or null" if len(options) < len(get_args(base)) else "")
    if origin is typing.Literal:
        return " / ".join(f"`{v}`" for v in get_args(base))
    if origin is list:
        return f"list of {_type_text(get_args(base)[0])}"
    if origin is dict:
        return f"object of {_type_text(get_args(base)[1])}"
    if is_typeddict(base):
        return "object"
    if base is Any:
        return "any"
    if patterns:
        return f"string `{patterns[0]}`"
    return {str: "string", int: "integer", float: "number", bool: "bool"}[base]


def field_rows(tp=Facts, prefix: str = "") -> list[tuple[str, str, str]]:
    """(path, type, meaning) for every field the model names, parents before children."""
    rows = []
    for key, field in fields_of(tp).items():
        path = f"{prefix}.{key}" if prefix else key
        base, docs, _patterns = unwrap(field)
        rows.append((path, _type_text(field), " ".join(docs)))
        rows += _children(base, path)
    return rows


def _children(base, path: str) -> list:
    origin = get_origin(base)
    if origin is Union:
        return [row for a in get_args(base) if a is not type(None) for row in _children(unwrap(a)[0], path)]
    if origin is list:
        return _children(unwrap(get_args(base)[0])[0], path + "[]")
    if origin is dict:
        return _children(unwrap(get_args(base)[1])[0], path + "{}")
    if is_typeddict(base):
        return field_rows(base, path)
    return []


_INTRO = f"""# Facts files (`--save-facts`, `check --facts`)

<!-- Generated from rknn_envcheck/facts_model.py by `python -m rknn_envcheck.facts_schema`; do not edit by hand. -->

Facts are what rknn-envcheck observed, as plain JSON, with *how* each value was observed next to
it. A facts file can be saved anywhere (`rknn-envcheck --save-facts f.json`, `host --save-facts`,
`device --all --save-facts`) and judged anywhere else (`rknn-envcheck check --facts f.json`), so a
maintainer reproduces a user's diagnosis without the user's hardware. `rknn-envcheck emulator
from-facts f.json` even turns a saved board into an emulated one.

Schema id `{FACTS_SCHEMA}`; the JSON Schema is `rknn_envcheck/schemas/facts.schema.json`.
A file with another schema id is refused (exit 2) naming the supported one. Both this page and the
JSON Schema are generated from the typed model in `rknn_envcheck/facts_model.py`, which is also
what validates every facts file and the `--python` probe's output.

**Any field may be missing. Missing means "could not check" — the corresponding check reports
`unknown`, never `ok`.** A scalar field (string, number, bool, enum) may also be `null`, which
means the same. Keys not listed here are kept as they are (a newer rknn-envcheck may add facts);
a known key with the wrong type is refused with one line naming its path (exit 2).

For a board (and the host), one fact is four parallel views: the value (`devices[].rknn_server`),
how it was observed (`devices[].how.rknn_server`: command or path), the exact text it was parsed
from (`devices[].raw.rknn_server`) and, when it is missing, why (`devices[].errors.rknn_server`).
Rules read them together through `rknn_envcheck.facts.observation(device, "rknn_server")`.
Version strings are kept exactly as the vendor printed them; a string that does not parse as a
version is judged `unknown`, never guessed.

## Limits

What rknn-envcheck reads from outside is bounded; anything beyond is refused with exit 2 and one
line that names the file and the path (values quoted in messages are cut to {MAX_SHOWN} characters).

| what | limit |
|---|---|
| facts file | UTF-8, a leading byte-order mark allowed (Notepad, PowerShell 5 `Out-File`); a `judged_for` that is not a toolkit release is refused naming the file and the field; a regular file of at most {MAX_FACTS_BYTES // (1024 * 1024)} MiB; a FIFO, device or socket is refused before it is read (checked with `stat`, and again with `fstat` after opening it non-blocking), so `check --facts /dev/zero` ends at once |
| `--python` probe output | at most {MAX_PROBE_BYTES // (1024 * 1024)} MiB on standard output (read in chunks; the interpreter is stopped past the limit), then validated by the same model as a facts file |
| JSON nesting | at most {MAX_DEPTH} levels |
| integers | within ±{MAX_INT} (a 5000-digit integer is refused before Python parses it) |
| numbers | finite: `NaN`, `Infinity` and `-Infinity` are refused (Python's json accepts them and would write invalid JSON back) |
| strings and keys | at most {MAX_STRING // 1024} KiB ({MAX_STRING} characters); no lone UTF-16 surrogates (`"\\ud800"`) |
| TOML data (`--matrix DIR` files, emulator profiles, known messages) | regular files of at most {MAX_TOML_BYTES // (1024 * 1024)} MiB each (`rknn_envcheck/tomlfile.py`) |

What `--save-facts` writes always stays within these limits (an over-long string is cut, an
undecodable byte from the environment is written as a `\\udcXX` escape), so every saved file loads
back. The probe's output gets the same repair before it is validated.

## Fields

`a[]` is an item of list `a`; `a{{}}` is a value of object `a` (its keys are names: distribution
names, field names).

| path | type | meaning |
|---|---|---|
"""

_OUTRO = """
## Example

`examples/facts-rk3588-mismatch.json`: a toolkit2 2.3.2 PC with numpy 2 (observed by `host --save-facts`
in a venv holding the wheel's own METADATA and its dependencies: `scripts/make_example_facts.py`),
and an RK3588 board with rknn_server/librknnrt 1.5.2 and rknpu 0.8.2.
`rknn-envcheck check --facts examples/facts-rk3588-mismatch.json` fails the numpy 2 pitfall and
warns about the board stack with the exact `adb push` commands.
"""


def doc_text() -> str:
    rows = [f"| `{path}` | {kind} | {meaning.replace('|', '/')} |" for path, kind, meaning in field_rows()]
    return _INTRO + "\n".join(rows) + "\n" + _OUTRO


def generated() -> dict:
    return {SCHEMA_PATH: schema_text(), DOC_PATH: doc_text()}


def main(argv: list[str]) -> int:
    stale = []
    for path, text in generated().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if "--check" not in argv:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if '--check' in argv else 'rewrote'}: {path}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
