"""Facts: plain JSON data of what was observed, saved with --save-facts and replayed with
`check --facts`. Any field may be missing: missing means "could not check", never "ok".

The shape is described once, by the TypedDicts of rknn_envcheck.facts_model; this module loads
(bounded, validated), saves and reads facts through that model. Rules read facts as the plain
dicts they are; `observation(obj, field)` gives one fact with how it was observed, the exact text
it was parsed from and why it is missing — the four views a facts/1 file keeps in parallel maps.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from rknn_envcheck.errors import UsageError
from rknn_envcheck.facts_model import FACTS_SCHEMA, SUPPORTED_SCHEMAS  # noqa: F401  (re-exported)
from rknn_envcheck.inputlimits import MAX_FACTS_BYTES, MAX_STRING, cut
from rknn_envcheck.records import dataclass

DEVICE_STATES = ("device", "unauthorized", "offline", "no permissions", "recovery", "bootloader", "sideload", "rescue", "host", "unknown")
TRANSPORTS = ("adb", "ntb", "local", "emulated")
OSES = ("linux", "windows", "darwin")


def new_facts() -> dict:
    """Empty facts of a live run, with how to run this tool again (fix lines name it)."""
    from rknn_envcheck.probes.own_command import own_command

    return {"schema": FACTS_SCHEMA, "host": {}, "devices": [], "tool": own_command()}


@dataclass(frozen=True)
class Observation:
    """One fact: its value (None = not observed), how it was observed, the exact text it was
    parsed from, and why it could not be observed."""

    value: Any = None
    how: Optional[str] = None
    raw: Optional[str] = None
    error: Optional[str] = None

    @property
    def observed(self) -> bool:
        return self.value is not None

    @property
    def version(self):
        """The value as a packaging Version (parsed once, cached), or None when it does not parse:
        the raw string stays in `value` and a rule judges it unknown."""
        from rknn_envcheck.versions import try_parse

        return try_parse(self.value) if isinstance(self.value, str) else None


def _text_in(mapping, key: str) -> Optional[str]:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else None


def observation(obj: Optional[dict], field: str) -> Observation:
    """`field` of a host or device dict as an Observation (a missing object = nothing observed)."""
    if not isinstance(obj, dict):
        return Observation()
    error = _text_in(obj.get("errors"), field) or _text_in(obj, f"{field}_error")
    return Observation(obj.get(field), _text_in(obj.get("how"), field), _text_in(obj.get("raw"), field), error)


def validate_facts(data, source: str = "facts") -> dict:
    """Check `data` against the facts model and the limits; return it unchanged.
    Raise UsageError (exit 2) with one line naming the path of the first problem."""
    from rknn_envcheck.facts_check import check_unique_serials, validate
    from rknn_envcheck.facts_model import Facts

    if not isinstance(data, dict):
        raise UsageError(f"{source}: the top level must be a JSON object with 'schema', 'host' and 'devices'")
    schema = data.get("schema")
    if schema is None:
        raise UsageError(f"{source}: missing 'schema' (expected {FACTS_SCHEMA!r}); see docs/facts.md")
    if schema not in SUPPORTED_SCHEMAS:
        raise UsageError(f"{source}: schema {cut(repr(schema))} is not supported by this rknn-envcheck (supported: {', '.join(SUPPORTED_SCHEMAS)}); "
                         "upgrade rknn-envcheck or re-save the facts")
    validate(data, Facts, source)
    check_unique_serials(data, source)
    judged_for = data.get("judged_for")
    if isinstance(judged_for, str):
        from rknn_envcheck.rules.toolkit import check_toolkit_text

        # replayed as if given with --toolkit: an error must name this file's field, not the flag
        check_toolkit_text(judged_for, f"{source}: its 'judged_for' field")
    return data


def parse_facts(text: str, source: str) -> dict:
    from rknn_envcheck.inputlimits import loads

    return validate_facts(loads(text, source), source)


def load_facts(path) -> dict:
    from rknn_envcheck.inputlimits import decode, read_regular_file

    source = f"facts file {cut(str(path), 200)}"
    data = read_regular_file(path, "facts file", MAX_FACTS_BYTES)
    return parse_facts(decode(data, source), source)


def atomic_write_text(path, text: str) -> None:
    """Kept for old callers: the one writer for user-named paths is rknn_envcheck.safeio."""
    from rknn_envcheck.safeio import write_text

    write_text(path, text)


def _text_within_limits(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # os.environ and file names carry undecodable bytes as lone surrogates
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= MAX_STRING else text[: MAX_STRING - 1] + "…"


def within_limits(value):
    """What the tool writes stays within what it reads back: over-long strings are cut."""
    if isinstance(value, str):
        return _text_within_limits(value)
    if isinstance(value, dict):
        return {within_limits(str(k)): within_limits(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [within_limits(v) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return within_limits(str(value))


def facts_json(facts: dict) -> str:
    """The text --save-facts writes: bounded, and validated by the same code that reads it."""
    bounded = within_limits(facts)
    validate_facts(bounded, "facts to save (a bug in rknn-envcheck: please report it)")
    return json.dumps(bounded, indent=2, sort_keys=True, allow_nan=False) + "\n"


def save_facts(facts: dict, path) -> None:
    atomic_write_text(path, facts_json(facts))
