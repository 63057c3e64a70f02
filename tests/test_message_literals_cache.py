"""The required literals of the known messages are cached beside the matrix, and only trusted when
the cache is ours and has the right shape: what a run uses always equals what it would derive."""
from __future__ import annotations

import marshal
import os

from rknn_envcheck.explain import messages as M
from rknn_envcheck.regex_text import required_literal, required_literals


def _fresh(monkeypatch, cache):
    monkeypatch.setenv("RKNN_ENVCHECK_CACHE", str(cache))
    M.load_messages.cache_clear()
    return M.load_messages(None)


def test_cached_literals_equal_the_derived_ones(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = _fresh(monkeypatch, cache)  # derives and writes
    written = {p.name for p in cache.iterdir()}
    second = _fresh(monkeypatch, cache)  # reads
    assert {p.name for p in cache.iterdir()} == written
    for a, b in zip(first.messages, second.messages):
        assert (a._literal, a._literals) == (b._literal, b._literals) != (False, False)
        assert b._literal == required_literal(b.pattern_text)
        expected = (b._literal,) if b._literal is not None else required_literals(b.pattern_text)
        assert b._literals == expected, b.id
    M.load_messages.cache_clear()


def test_a_cache_of_the_wrong_shape_is_not_used(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    found = _fresh(monkeypatch, cache)
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    # rewrite every cache file that holds the literals with a poisoned payload of the right digest
    poisoned = 0
    for path in cache.iterdir():
        digest, payload = marshal.loads(path.read_bytes())
        if isinstance(payload, list) and payload and isinstance(payload[0], tuple):
            path.write_bytes(marshal.dumps((digest, [("X", ("",))] * len(payload))))
            os.chmod(path, 0o600)
            poisoned += 1
    assert poisoned == 1, sorted(before)
    again = _fresh(monkeypatch, cache)
    for a, b in zip(found.messages, again.messages):
        assert (b._literal, b._literals) in ((a._literal, a._literals), (False, False)), b.id
    M.load_messages.cache_clear()
