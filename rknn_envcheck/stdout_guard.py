"""Standard output that fails (a full disk: `> /dev/full`; a closed pipe: `| head -1`) ends the run
with one line, never a traceback — for every command, whatever it writes with (print, sys.stdout,
sys.stdout.buffer).

cli.main wraps sys.stdout for the run: a write or flush that raises OSError raises
StdoutFailed instead, so the entry point can tell "the report could not be written" apart from
any other OSError (which stays a bug, with its traceback)."""
from __future__ import annotations

import os
import sys


class StdoutFailed(Exception):
    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error

    @property
    def broken_pipe(self) -> bool:
        return isinstance(self.error, BrokenPipeError)

    def describe(self) -> str:
        import errno

        name = errno.errorcode.get(self.error.errno or 0, "")
        reason = f"{self.error.strerror or self.error}{f' ({name})' if name else ''}"
        return f"cannot write to standard output: {reason}; the report is incomplete (write it to a file with -o FILE)"


class _Guarded:
    """Delegates everything to the wrapped stream; write/flush turn OSError into StdoutFailed."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, data):
        try:
            return self._stream.write(data)
        except OSError as exc:
            raise StdoutFailed(exc) from exc

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as exc:
            raise StdoutFailed(exc) from exc

    @property
    def buffer(self):
        buffer = getattr(self._stream, "buffer", None)
        return None if buffer is None else _Guarded(buffer)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def guard_stdout():
    """Wrap sys.stdout; returns the original (restore it with restore_stdout)."""
    original = sys.stdout
    if original is not None and not isinstance(original, _Guarded):
        sys.stdout = _Guarded(original)
    return original


def restore_stdout(original) -> None:
    sys.stdout = original


def discard_stdout(original) -> None:
    """After a failed write the stream still holds unwritten bytes, and the interpreter's final
    flush would fail again ("Exception ignored ... BrokenPipeError"): point descriptor 1 at
    /dev/null (the recipe of Python's signal documentation) so that flush succeeds silently."""
    try:
        fd = original.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real descriptor (a test's capture buffer): nothing is flushed at exit
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


class ClosedStdout:
    """Stands in for sys.stdout when the caller closed descriptor 1 (`>&-`, a daemon started
    without stdio): Python then sets sys.stdout to None, and every print or write would end in an
    AttributeError traceback. Here a write fails with EBADF, as a write to the closed descriptor
    would, so the run ends as for `> /dev/full` (one line, exit 2). flush has nothing to write and
    succeeds: the interpreter's final flush must not fail again."""

    encoding = "utf-8"
    errors = "backslashreplace"

    def write(self, data):
        import errno

        raise OSError(errno.EBADF, "standard output is closed (Bad file descriptor)")

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    @property
    def buffer(self) -> ClosedStdout:
        return self

    def fileno(self) -> int:
        import errno

        raise OSError(errno.EBADF, "standard output is closed")

    def isatty(self) -> bool:
        return False


def stand_in_for_closed_streams() -> None:
    """sys.stdout / sys.stderr are None when the caller closed descriptor 1 / 2. Standard output
    becomes ClosedStdout; standard error becomes os.devnull (an error line has nowhere to go, and
    the exit code must still be the one for that error, not 1 from an AttributeError)."""
    if sys.stdout is None:
        sys.stdout = ClosedStdout()
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives until the process ends
