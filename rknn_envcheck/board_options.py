"""The board-selection options every board-reading command shares (device, the doctor, model,
explain). A module of its own, importing nothing, so parsing options costs no start-up time."""
from __future__ import annotations


def add_board_arguments(parser, *, single: bool) -> None:
    from rknn_envcheck.options import seconds

    group = parser.add_argument_group("boards")
    if single:
        group.add_argument("--id", metavar="SERIAL", action="append", help="the board's adb serial (repeatable)")
        group.add_argument("--all", action="store_true", help="every board the adb server lists")
        group.add_argument("--local", action="store_true", help="inspect the board this tool runs on (lite / lite2 users)")
        group.add_argument("--sysroot", metavar="DIR", help="with --local: a directory laid out like the board's root filesystem")
    group.add_argument("--emulate", metavar="PROFILE", action="append", help="use an emulated board (see `rknn-envcheck emulator list`; repeatable)")
    group.add_argument("--fault", metavar="F", action="append", help="with --emulate: inject a fault (unauthorized, offline, hang, drop, slow=MS, garbage, truncated, missing-binary, dmesg-denied)")
    group.add_argument("--timeout", metavar="S", type=seconds(), default=5.0, help="per-board timeout in seconds (default 5)")
    group.add_argument("--adb-host", metavar="H", help="adb server host (default $ANDROID_ADB_SERVER_HOST or 127.0.0.1)")
    group.add_argument("--adb-port", metavar="N", type=int, help="adb server port (default $ANDROID_ADB_SERVER_PORT or 5037)")
    group.add_argument("--no-start-server", action="store_true", help="do not start an adb server when none is running")
