"""The matrix cache's tables, each decoded on first use (rknn_envcheck.matrix writes one marshal
blob per table into its cache file)."""
from __future__ import annotations

from collections.abc import Mapping


class LazyTables(Mapping):
    """Table name → rows from the cache, each table unmarshaled on first use. A command reads a
    few tables: `model` never needs the ~300 [[message]] rows nor the ~230 KB of [[requirement]]
    pins, which were ~9 ms of its ~15 ms cache load (docs/decisions.md). The cache file is the one
    trusted, digest-checked file as before; only its decoding is deferred."""

    def __init__(self, blobs: dict):
        self._blobs = blobs
        self._decoded: dict = {}

    def __getitem__(self, name: str):
        rows = self._decoded.get(name)
        if rows is None:
            import marshal

            rows = self._decoded[name] = marshal.loads(self._blobs[name])  # KeyError: no such table
        return rows

    def __iter__(self):
        return iter(self._blobs)

    def __len__(self) -> int:
        return len(self._blobs)
