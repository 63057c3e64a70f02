"""The known-messages data: every entry sourced, with a matching example and a near miss that must not match."""
from __future__ import annotations

import re

import pytest

from rknn_envcheck.explain.messages import load_messages, parse_messages
from rknn_envcheck.explain.scan import scan_text

MESSAGES = load_messages()
# the tests compile every pattern, which a normal run does not do
load_messages.cache_clear()


def _context_needed(message) -> bool:
    return all(n.startswith("after:") or n not in ("RKNN",) for n in message.needles) and any(n.startswith("after:") for n in message.needles)


@pytest.mark.parametrize("message", MESSAGES.messages, ids=lambda m: m.id)
def test_entry_is_complete(message):
    assert message.source.strip(), "every message names its source"
    assert message.examples, "at least one real matching line"
    assert message.near_misses, "at least one line that must not match"
    assert message.meaning.strip() and message.component.strip()
    if message.kind in ("error", "warning"):
        assert message.fix.strip(), "errors and warnings say the fix"
    re.compile(message.pattern_text)
    for cause in message.causes:
        assert cause["cause"] and "ruled_out_by" in cause


@pytest.mark.parametrize("message", MESSAGES.messages, ids=lambda m: m.id)
def test_examples_match_through_the_scanner(message):
    for example in message.examples:
        # the scanner only looks at lines with a needle; bare `API:`/`DRV:` lines follow `RKNN VERSION:`
        has_direct = any(not n.startswith("after:") and (n[1:] if n.startswith("^") else n) in example for n in message.needles)
        text = f"ordinary line\n{example}\n" if has_direct else f"ordinary line\nRKNN VERSION:\n{example}\n"
        result = scan_text(text, MESSAGES)
        assert message.id in result.findings, f"{message.id} does not recognise {example!r}"
        assert result.findings[message.id].first.line_no == (2 if has_direct else 3)


@pytest.mark.parametrize("message", MESSAGES.messages, ids=lambda m: m.id)
def test_near_misses_do_not_match(message):
    for near in message.near_misses:
        assert not message.pattern.search(near), f"{message.id} wrongly matches {near!r}"


@pytest.mark.parametrize("message", MESSAGES.messages, ids=lambda m: m.id)
def test_extracted_groups_exist(message):
    groups = set(message.pattern.groupindex)
    for field, group in message.extract.items():
        assert group in groups, f"{message.id}: extract {field} names group {group!r} the pattern lacks"


def test_ids_unique_and_needles_declared():
    ids = [m.id for m in MESSAGES.messages]
    assert len(ids) == len(set(ids))
    used = {n for m in MESSAGES.messages for n in m.needles if not n.startswith("after:")}
    assert used <= set(MESSAGES.needles)


def test_a_bad_entry_is_a_usage_error():
    from rknn_envcheck.errors import UsageError

    with pytest.raises(UsageError, match="lacks"):
        parse_messages({"scan": {"needles": ["RKNN"]}, "message": [{"id": "x"}]})
    entry = {"id": "x", "kind": "error", "needles": ["RKNN"], "pattern": "(", "component": "c", "meaning": "m",
             "source": "s", "examples": ["RKNN"], "near_misses": ["n"]}
    with pytest.raises(UsageError, match="does not compile"):
        parse_messages({"scan": {"needles": ["RKNN"]}, "message": [entry]}, validate=True)
    with pytest.raises(UsageError, match="not in \\[scan\\] needles"):
        parse_messages({"scan": {"needles": ["rknn"]}, "message": [dict(entry, pattern="x")]})


def test_every_reference_error_string_is_in_checks_doc():
    """docs/checks.md maps every message id (or says why the log alone cannot tell)."""
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    # messages_*.toml entries are catalogued in docs/explain.md ("Message families")
    doc = (docs / "checks.md").read_text(encoding="utf-8") + (docs / "explain.md").read_text(encoding="utf-8")
    for message in MESSAGES.messages:
        if message.kind in ("error", "warning"):
            assert f"`{message.id}`" in doc or f"`log.{message.id}`" in doc, f"{message.id} missing from docs/checks.md and docs/explain.md"
