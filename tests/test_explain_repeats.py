"""Stage 2 of the explain scanner: the literal index and the memo of repeated lines must find
exactly what running every candidate regex on every line finds."""
from __future__ import annotations

import pytest

from rknn_envcheck.explain import scan as scan_module
from rknn_envcheck.explain.messages import load_messages
from rknn_envcheck.explain.scan import Scanner, _CandidateSet, scan_text


@pytest.fixture(scope="module")
def messages():
    return load_messages()


def _brute_force(candidates: _CandidateSet, text: str) -> list:
    out = []
    for message in candidates.messages:
        found = message.pattern.search(text)
        if found:
            out.append((message.id, tuple((k, v) for k, v in found.groupdict().items() if v is not None)))
    return out


def test_the_literal_index_never_drops_a_match(messages):
    """Every example and near miss of every message, against the candidate set of every needle
    set it could arrive with: the index's matches equal every regex run on the line."""
    scanner = Scanner(messages)
    lines = [line for m in messages.messages for line in (m.examples + m.near_misses)]
    assert len(lines) > 400
    needle_sets = [frozenset([n]) for n in scanner.by_needle] + [frozenset(scanner.by_needle)]
    checked = 0
    for needles in needle_sets:
        candidates = scanner._candidates(needles)
        for line in lines:
            got = [(m.id, groups) for m, groups in candidates.match(line)]
            assert got == _brute_force(candidates, line), (sorted(needles), line)
            checked += 1
    assert checked > 10_000


def _log(messages) -> str:
    examples = [m.examples[0] for m in messages.messages if m.examples][:60]
    repeated = [examples[i % len(examples)] for i in range(3000)]  # many repeats of few lines
    unique = [f"{line} #{i}" for i, line in enumerate(examples)]
    return "\n".join(repeated + unique + repeated[:500]) + "\n"


def _summary(result) -> dict:
    return {key: (f.count, [(h.line_no, h.text, h.groups) for h in f.hits]) for key, f in result.findings.items()}


def test_the_memo_of_repeated_lines_changes_no_finding(messages, monkeypatch):
    text = _log(messages)
    with_memo = _summary(scan_text(text, messages))
    monkeypatch.setattr(scan_module, "_MEMO_LINES", 1)  # cleared at every new line: no reuse
    without = _summary(scan_text(text, messages))
    assert with_memo == without
    assert sum(count for count, _ in with_memo.values()) >= 3500


def test_a_repeated_line_is_judged_once(messages):
    line = next(m.examples[0] for m in messages.messages if m.examples and "RKNN" in m.examples[0])
    scanner = Scanner(messages)
    calls = []
    original = _CandidateSet.match

    def counting(self, text):
        calls.append(text)
        return original(self, text)

    _CandidateSet.match = counting
    try:
        import io

        from rknn_envcheck.explain.decode import InputInfo

        result = scanner.scan(io.BytesIO((line + "\n").encode() * 5000), InputInfo(name="<repeats>"))
    finally:
        _CandidateSet.match = original
    assert len(set(calls)) == len(calls) == 1
    assert max(f.count for f in result.findings.values()) == 5000
