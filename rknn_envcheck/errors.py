"""Errors that end a run with a clear message instead of a traceback."""


class UsageError(Exception):
    """Bad flag, unreadable or malformed input file: the run ends with exit code 2.

    The message must name what is wrong (file, key, field) and what was expected.
    """

    exit_code = 2
