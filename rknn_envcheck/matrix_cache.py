"""The matrix cache: the parsed matrix set marshaled under ~/.cache/rknn-envcheck, keyed by a
digest of the files' bytes, trusted only when the file and every directory above it are ours.

Each distinct matrix set (a release, a `--matrix DIR`, an edited checkout) writes its own file;
writes keep the newest `KEEP_FILES` and delete older ones of our own naming, so the directory
cannot grow without bound (a session of tests and edits left ~300 files, 195 MB).
"""
from __future__ import annotations

import os
from pathlib import Path

from rknn_envcheck.errors import UsageError

KEEP_FILES = 16
_PREFIX, _SUFFIX = "matrix-", ".marshal"

_CACHE_FORMAT = 4  # bump when the cached tuple changes shape (4: each table marshaled by itself, see matrix_tables.py)


def _read_files(files: list[Path]) -> dict[Path, bytes]:
    """Every file's bytes, read once (hashed for the cache key, parsed on a miss): regular files
    of at most tomlfile.MAX_TOML_BYTES each, so a FIFO or /dev/zero named *.toml cannot hang or
    exhaust a run."""
    from rknn_envcheck.safeio import read_regular_limited
    from rknn_envcheck.tomlfile import MAX_TOML_BYTES

    return {path: read_regular_limited(path, MAX_TOML_BYTES, "matrix file") for path in files}


def content_key(parts) -> str:
    """The cache key of some bytes: BLAKE2b-160 of `parts` in order, hex. `_blake2` is imported
    directly because `hashlib` costs ~3 ms to import."""
    try:
        from _blake2 import blake2b
    except ImportError:  # pragma: no cover - a Python built without the builtin module
        from hashlib import blake2b
    digest = blake2b(digest_size=20)
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def _content_digest(root: Path, contents: dict[Path, bytes]) -> str:
    """The key of every matrix file's bytes (name-separated): the cache matches the files' content,
    not their sizes and mtimes, which a copy or an editor can keep while changing the text.
    Reading and hashing the ~400 KB shipped set costs ~1 ms (docs/security.md)."""
    from rknn_envcheck import __version__

    def parts():
        yield f"{__version__}/cache-format-{_CACHE_FORMAT}/{root.resolve()}\n".encode()
        for path, data in contents.items():
            yield f"{path.name}\0{len(data)}\0".encode()
            yield data

    return content_key(parts())


def cache_dir() -> Path | None:
    base = os.environ.get("RKNN_ENVCHECK_CACHE")
    if base is None:
        base = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rknn-envcheck")
    if base in ("", "0", "off") or not os.path.isabs(base):
        return None
    return Path(base)


def _trusted_dir(directory: Path) -> bool:
    """Could only this user (or root) have put files here? The directory itself must be ours and
    writable by nobody else; every ancestor must belong to us or root and be writable by nobody
    else unless sticky (/tmp). As root that means a HOME root does not own (sudo -E, su -m) is
    never trusted: the user could have planted a cache there."""
    import stat

    euid = os.geteuid()
    try:
        st = os.lstat(directory)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != euid or st.st_mode & 0o022:
        return False
    for parent in Path(os.path.realpath(directory)).parents:
        try:
            pst = os.stat(parent)
        except OSError:
            return False
        if pst.st_uid not in (euid, 0) or (pst.st_mode & 0o022 and not pst.st_mode & stat.S_ISVTX):
            return False
    return True


def read_cache(cache_dir: Path | None, digest: str):
    """The cached payload when its file is ours, writable by nobody else, in a trusted directory,
    and records the same content digest; else None (the TOML is parsed again)."""
    import marshal
    import stat

    if cache_dir is None or not hasattr(os, "geteuid") or not _trusted_dir(cache_dir):
        return None
    try:
        fd = os.open(cache_dir / f"{_PREFIX}{digest}{_SUFFIX}", os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022 or st.st_size > _CACHE_MAX_BYTES:
            return None
        with os.fdopen(os.dup(fd), "rb") as handle:
            payload = marshal.loads(handle.read(_CACHE_MAX_BYTES + 1))
    except (OSError, EOFError, ValueError, TypeError):
        return None
    finally:
        os.close(fd)
    if isinstance(payload, tuple) and len(payload) == 2 and payload[0] == digest:
        return payload[1]
    return None


_CACHE_MAX_BYTES = 64 << 20


def write_cache(cache_dir: Path | None, digest: str, payload) -> None:
    import marshal

    if cache_dir is None or not hasattr(os, "geteuid"):
        return
    try:
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _trusted_dir(cache_dir):
            return  # never write where we would not read (e.g. root in a user's HOME)
        from rknn_envcheck.safeio import write_bytes

        write_bytes(cache_dir / f"{_PREFIX}{digest}{_SUFFIX}", marshal.dumps((digest, payload)), mode=0o600)
        prune(cache_dir, KEEP_FILES)
    except (OSError, ValueError, UsageError):
        pass  # a read-only home only costs speed


def prune(cache_dir: Path, keep: int) -> list[str]:
    """Delete all but the `keep` newest cache files: only regular files of ours named
    matrix-<hex>.marshal (lstat: a symlink or anything else in the directory is left alone).
    Returns the names removed."""
    import stat

    found = []
    with os.scandir(cache_dir) as entries:
        for entry in entries:
            name = entry.name
            # matrix-<hex digest>.marshal, and earlier releases' matrix-<hex>-<n>.marshal
            stem = name[len(_PREFIX):-len(_SUFFIX)] if name.startswith(_PREFIX) and name.endswith(_SUFFIX) else ""
            if not stem or stem.strip("0123456789abcdef-"):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
                found.append((st.st_mtime_ns, name))
    removed = []
    for _, name in sorted(found, reverse=True)[keep:]:
        try:
            os.unlink(cache_dir / name)
            removed.append(name)
        except OSError:
            pass  # another run removed it first
    return removed


