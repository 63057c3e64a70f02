"""The one writer for paths the user names (`-o`, `--save-facts`, constraints, udev rules files).

A path on the command line may be anything: a regular file, a symlink (possibly planted by
another user in /tmp), `/dev/stdout`, `/dev/null`, a FIFO a script reads from, a directory.
What happens to each:

- a regular file (or a new one) is replaced atomically: a temp file in the same directory,
  written, fsynced, renamed over the target, the directory fsynced. An existing file keeps its
  permission bits (and, as root, its owner); a new file gets the umask's mode (0666 & ~umask),
  unless the caller asks for a mode. The temp name `.NAME.rknn-envcheck-XXXXXXXX.tmp` starts
  with a dot and ends in `.tmp`, so it never matches the target's pattern (`*.rules`, `*.json`);
- a symlink is resolved and its target is written the same way, except a link that the kernel's
  `fs.protected_symlinks` would not follow either: one in a sticky world-writable directory
  (/tmp) owned neither by us nor by that directory's owner — refused;
- a character device, a FIFO or `-` is written through as a stream (opened without O_CREAT or
  O_TRUNC), never replaced: `/dev/null` stays a device, a FIFO stays a FIFO; a FIFO that no
  process has open for reading is refused (exit 2) instead of waiting for a reader forever;
- a directory, a block device or a socket is a usage error (exit 2, one line).

`create_exclusive` makes a new file (udev backups) with O_CREAT|O_EXCL|O_NOFOLLOW and retries on
a name clash, so a dangling symlink at the chosen name is never written through.

`read_regular_limited` is the matching reader for data files (matrices, profiles, rules files):
regular files only, opened O_NONBLOCK so a FIFO cannot hang the run, at most a given size.
Threat model and limits: docs/security.md.
"""
from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

from rknn_envcheck.errors import UsageError

TYPE_CHECKING = False  # annotations only: no `typing` import at run time (start-up time)
if TYPE_CHECKING:
    from typing import Callable

TEMP_TAG = ".rknn-envcheck-"
_MAX_LINK_HOPS = 40
_MAX_NAME_IN_TEMP = 120  # keeps the temp name under NAME_MAX (255) for any target name


def write_text(path, text: str, *, mode: int | None = None) -> None:
    """Write `text` (UTF-8) to the user-named `path` by the rules in this module's docstring."""
    write_bytes(path, text.encode("utf-8"), mode=mode, _text=text)


def write_bytes(path, data: bytes, *, mode: int | None = None, _text: str | None = None) -> None:
    shown = os.fspath(path)
    if shown == "-":
        _write_stdout(data, _text)
        return
    if shown == "":
        raise UsageError("output path is empty; name a file, or '-' for standard output")
    _check_link_chain(shown)
    try:
        final = os.stat(shown)  # follows links: what the data would end up in
    except FileNotFoundError:
        final = None
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {_reason(exc)}") from None
    if final is None:
        # New file, or a dangling link (the chain check passed): create the file it points to.
        _replace_atomically(Path(os.path.realpath(shown)), data, mode, shown, existing=None)
    elif stat.S_ISREG(final.st_mode):
        target = Path(os.path.realpath(shown))
        _replace_atomically(target, data, mode, shown, existing=final)
    elif stat.S_ISCHR(final.st_mode) or stat.S_ISFIFO(final.st_mode):
        _write_through(shown, data, fifo=stat.S_ISFIFO(final.st_mode))
    elif stat.S_ISDIR(final.st_mode):
        raise UsageError(f"cannot write {shown}: it is a directory; name a file inside it")
    else:
        kind = "a block device" if stat.S_ISBLK(final.st_mode) else "a socket" if stat.S_ISSOCK(final.st_mode) else "not a file"
        raise UsageError(f"cannot write {shown}: it is {kind}; name a regular file, a FIFO, a character device or '-'")


def create_exclusive(directory, name_for: Callable[[int], str], *, mode: int = 0o644,
                     attempts: int = 1000) -> tuple[int, Path]:
    """Create a new file in `directory` named name_for(0), name_for(1)… — the first that does not
    exist. O_EXCL|O_NOFOLLOW: an existing file *or symlink* (even a dangling one) at a name is a
    clash, never opened. Returns the open write descriptor and the path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for n in range(attempts):
        path = Path(directory) / name_for(n)
        try:
            return os.open(path, flags, mode), path
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, f"no free name after {attempts} attempts", str(Path(directory) / name_for(0)))


def copy_exclusive(source, directory, name_for: Callable[[int], str]) -> Path:
    """A backup copy of the regular file `source` under a new name (see create_exclusive); the
    copy keeps the source's permission bits and is fsynced."""
    src_fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(src_fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(source))
        fd, path = create_exclusive(directory, name_for, mode=0o600)
        try:
            while True:
                chunk = os.read(src_fd, 1 << 16)
                if not chunk:
                    break
                _write_all(fd, chunk)
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & 0o777)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            _unlink_quietly(path)
            raise
        os.close(fd)
        return path
    finally:
        os.close(src_fd)


def temp_name_prefix(name: str) -> str:
    return "." + name[:_MAX_NAME_IN_TEMP] + TEMP_TAG


def _check_link_chain(shown: str) -> None:
    """Refuse what fs.protected_symlinks refuses: following a link that sits in a sticky,
    world-writable directory and is owned neither by us nor by the directory's owner."""
    path = os.path.abspath(shown)
    euid = os.geteuid() if hasattr(os, "geteuid") else None
    for _ in range(_MAX_LINK_HOPS):
        try:
            st = os.lstat(path)
        except OSError:
            return  # a dangling end (or a /proc magic link target): nothing more to follow
        if not stat.S_ISLNK(st.st_mode):
            return
        parent = os.path.dirname(path)
        try:
            dst = os.stat(parent)
        except OSError:
            return
        sticky_shared = dst.st_mode & stat.S_ISVTX and dst.st_mode & stat.S_IWOTH
        if euid is not None and sticky_shared and st.st_uid not in (euid, dst.st_uid):
            raise UsageError(f"refusing to write through {path}: it is a symlink owned by uid {st.st_uid} in the "
                             f"shared sticky directory {parent} (another user could point it anywhere); "
                             "remove it or name the real file")
        try:
            path = os.path.normpath(os.path.join(parent, os.readlink(path)))
        except OSError:
            return
    raise UsageError(f"cannot write {shown}: too many levels of symbolic links")


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _replace_atomically(target: Path, data: bytes, mode: int | None, shown: str, existing) -> None:
    directory = target.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {shown}: directory {directory} does not exist")
    if existing is not None:
        if not os.access(target, os.W_OK):
            # `>` in a shell would fail here too: replacing the name must not get around it.
            raise UsageError(f"cannot write {shown}: permission denied (the file is read-only for this user)")
        file_mode = stat.S_IMODE(existing.st_mode) & 0o777 if mode is None else mode
    else:
        file_mode = (0o666 & ~_current_umask()) if mode is None else mode
    import tempfile  # here, not at the top: it costs start-up time to readers of this module

    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_name_prefix(target.name), suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: cannot create a temporary file in {directory} "
                         f"to replace it atomically: {_reason(exc)}") from None
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, file_mode)
            if existing is not None and hasattr(os, "geteuid") and os.geteuid() == 0:
                os.fchown(fd, existing.st_uid, existing.st_gid)  # root keeps the owner it replaces
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise UsageError(f"cannot write {shown}: {_reason(exc)}") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    _fsync_dir(directory)


def _write_through(shown: str, data: bytes, fifo: bool = False) -> None:
    """A character device or FIFO: open it as it is (no create, no truncate) and stream.

    A FIFO is opened O_NONBLOCK: a plain open() of a FIFO nobody reads blocks forever, while a
    non-blocking one fails at once with ENXIO — refused, exit 2 — and a FIFO with a reader
    opens; the writes after that block as usual (the reader sets the pace)."""
    # Non-blocking for a character device too: a FIFO swapped in after the stat must not hang us either.
    flags = os.O_WRONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(shown, flags)
    except OSError as exc:
        if fifo and exc.errno == errno.ENXIO:
            raise UsageError(f"cannot write {shown}: it is a FIFO with no reader (nothing has it open for reading); "
                             "start the reader first, or name a regular file") from None
        raise UsageError(f"cannot write {shown}: {_reason(exc)}") from None
    try:
        kind = os.fstat(fd).st_mode
        if not (stat.S_ISCHR(kind) or stat.S_ISFIFO(kind)):
            # Swapped between stat and open: we did not create or truncate it; write nothing.
            raise UsageError(f"cannot write {shown}: it changed while being opened; run again")
        if flags & getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # only the open had to be non-blocking
        _write_all(fd, data)
    except OSError as exc:
        raise UsageError(f"cannot write {shown}: {_reason(exc)}") from None
    finally:
        os.close(fd)


def _write_stdout(data: bytes, text: str | None) -> None:
    stream = sys.stdout
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:
        stream.write(text if text is not None else data.decode("utf-8", errors="replace"))
        stream.flush()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _unlink_quietly(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _reason(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}{f' ({name})' if name else ''}"


def read_regular_limited(path, limit: int, what: str) -> bytes:
    """Read a regular file of at most `limit` bytes. A FIFO, device or directory is refused
    before anything blocks (opened O_NONBLOCK, checked with fstat); a file that is or grows
    larger than the limit is refused after reading at most limit + 1 bytes. Errors are one-line
    UsageErrors naming `what` (e.g. "matrix file") and the path."""
    shown = os.fspath(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(shown, flags)
    except FileNotFoundError:
        raise UsageError(f"{what} {shown} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {shown}: {_reason(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "not a regular file"
            raise UsageError(f"{what} {shown} is {kind}; expected a regular file")
        if st.st_size > limit:
            raise UsageError(f"{what} {shown} is {st.st_size} bytes; the limit is {limit} bytes ({limit >> 20} MiB)")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise UsageError(f"{what} {shown} grew past the limit of {limit} bytes ({limit >> 20} MiB) while being read")
        return b"".join(chunks)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {shown}: {_reason(exc)}") from None
    finally:
        os.close(fd)
