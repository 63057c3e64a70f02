"""The one TOML loader: matrices, known messages, emulator profiles, citations.

tomllib on Python 3.11+, its backport tomli below (a dependency there). Files are read bounded
(regular files only, at most MAX_TOML_BYTES; rknn_envcheck.safeio.read_regular_limited), and
every failure is a one-line UsageError naming the file. The parsed matrix set is cached by
rknn_envcheck.matrix (marshal, content-hashed); explain's grep fast path
(rknn_envcheck.explain.grepscan) reads its needles without TOML on purpose, for start-up time.
"""
from __future__ import annotations

import sys

from rknn_envcheck.errors import UsageError

MAX_TOML_BYTES = 4 * 1024 * 1024  # the whole shipped matrix set is ~0.4 MB


def toml_module():
    # Imported only when needed: parsing TOML is the slow path (the matrix cache skips it).
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.9/3.10 only
        import tomli as tomllib
    return tomllib


def parse_toml(data, what: str) -> dict:
    """`data` (bytes or str) parsed, or UsageError "`what` is not valid TOML: …"."""
    tomllib = toml_module()
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{what} is not valid TOML: {exc}") from None


def read_toml(path, what: str, limit: int = MAX_TOML_BYTES) -> dict:
    from rknn_envcheck.safeio import read_regular_limited

    return parse_toml(read_regular_limited(path, limit, what), f"{what} {path}")
