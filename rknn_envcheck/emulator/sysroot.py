"""Write a profile out as a directory tree, for `device --local --sysroot DIR` and for real tools.

Binaries become bytes whose printable runs are their strings (NUL-separated), so the real
`strings` finds exactly them; declared sizes become sparse files. What is not a file on a
board (kernel log, properties, uname, processes) goes to DIR/.rknn-envcheck/.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from rknn_envcheck.errors import UsageError
from rknn_envcheck.emulator.profile import Profile
from rknn_envcheck.emulator.vfs import proc_modules_text

META_DIR = ".rknn-envcheck"


def _write(root: Path, board_path: str, data: bytes, mode: int, size=None) -> None:
    target = root / board_path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as fh:
        fh.write(data)
        if size is not None and size > len(data):
            fh.truncate(size)  # sparse: the size a mini/full driver check may look at, no disk cost
    os.chmod(target, mode)


def _meta_files(profile: Profile) -> dict:
    running = [p for p in profile.processes if p.name == "rknn_server"]
    getprop = profile.props
    return {
        "dmesg": "".join(line + "\n" for line in profile.dmesg),
        "getprop.json": json.dumps(getprop, indent=1, sort_keys=True) + "\n",
        "uname.json": json.dumps({"sysname": "Linux", "nodename": profile.hostname, "release": profile.uname_release,
                                  "version": profile.uname_version, "machine": profile.uname_machine}, indent=1) + "\n",
        "processes.json": json.dumps([{"pid": p.pid, "name": p.name, "cmdline": p.cmdline, "user": p.user}
                                      for p in profile.processes], indent=1) + "\n",
        # plain-text forms of the same, in the shape of the commands the board probe runs
        "uname": f"Linux {profile.uname_release} {profile.uname_machine}\n",
        "getprop": "".join(getprop.get(k, "") + "\n" for k in ("ro.board.platform", "ro.build.version.sdk", "ro.product.model")) if getprop else "",
        "pidof-rknn_server": " ".join(str(p.pid) for p in reversed(running)) + ("\n" if running else ""),
        "python-version": f"Python {profile.python_version}\n" if profile.python_version else "",
        "profile.json": json.dumps({"profile": profile.name, "chip": profile.chip, "os": profile.os, "arch": profile.arch,
                                    "serial": profile.serial, "meta": profile.meta}, indent=1) + "\n",
    }


def materialize(profile: Profile, root) -> Path:
    """Create `root` (absent or empty) holding the board's files; all-or-nothing."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise UsageError(f"sysroot {root}: exists and is not an empty directory; choose a new path (nothing was written)")
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        for spec in profile.files.values():
            if spec.kind == "dir":
                (staging / spec.path.lstrip("/")).mkdir(parents=True, exist_ok=True)
            else:
                _write(staging, spec.path, spec.data, spec.mode, spec.size)
        _write(staging, "/proc/modules", proc_modules_text(profile).encode(), 0o444)
        _write(staging, "/proc/version", f"Linux version {profile.uname_release} (builder@rockchip) {profile.uname_version}\n".encode(), 0o444)
        for name, text in _meta_files(profile).items():
            _write(staging, f"/{META_DIR}/{name}", text.encode(), 0o644)
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root
