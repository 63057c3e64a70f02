"""The board's filesystem in memory, built from a profile (files, dirs, tools, /proc, /sys)."""
from __future__ import annotations

import fnmatch
import posixpath
from typing import Dict, List, Optional

from rknn_envcheck.emulator.profile import Profile, binary_bytes
from rknn_envcheck.records import dataclass

# 2023-07-18 10:49:14 UTC: a plausible firmware build time for ls -l / sync STAT
DEFAULT_MTIME = 1689677354

LINUX_PATH = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
ANDROID_PATH = ["/sbin", "/system/sbin", "/system/bin", "/system/xbin", "/odm/bin", "/vendor/bin", "/vendor/xbin"]

# Tools that exist as files on the board (busybox applets / toybox); the shell implements them.
TOOLS = ["cat", "strings", "grep", "dmesg", "uname", "ls", "head", "tail", "pidof", "ps", "sleep", "id",
         "lsmod", "which", "wc", "sh", "true", "false"]


@dataclass
class Node:
    kind: str              # "file" | "dir"
    data: bytes = b""
    mode: int = 0o644
    size: Optional[int] = None
    mtime: int = DEFAULT_MTIME

    @property
    def length(self) -> int:
        return self.size if self.size is not None else len(self.data)

    def content(self) -> bytes:
        if self.size is not None and self.size > len(self.data):
            return self.data + b"\x00" * (self.size - len(self.data))
        return self.data


class StorageFull(Exception):
    """A write would pass the board's storage limits (Limits.sync_file_bytes / board_storage_bytes / board_files)."""


class VirtualFS:
    def __init__(self) -> None:
        self.nodes: Dict[str, Node] = {"/": Node("dir", mode=0o755)}
        # After seal(): every node written since the profile was built, so a shell worker process
        # can rebuild the same tree (profile + changes); `generation` counts the changes.
        self.changes: Optional[Dict[str, Node]] = None
        self.journal: Optional[Dict[str, Node]] = None   # writes of the command being run (worker side)
        self.generation = 0
        self.limits = (0, 0, 0)                           # (file bytes, storage bytes, files); 0 = unlimited
        self.stored = 0

    def seal(self, file_bytes: int = 0, storage_bytes: int = 0, files: int = 0) -> "VirtualFS":
        """The profile's tree is complete: from now on writes are counted against the limits."""
        self.changes, self.limits = {}, (file_bytes, storage_bytes, files)
        return self

    def _record(self, path: str, node: Node) -> None:
        if self.changes is None:
            return
        file_bytes, storage_bytes, files = self.limits
        old = self.changes.get(path)
        grown = len(node.data) - (len(old.data) if old is not None else 0)
        if file_bytes and len(node.data) > file_bytes:
            raise StorageFull(f"file too large ({len(node.data)} bytes; the emulated board takes at most {file_bytes})")
        if storage_bytes and grown > 0 and self.stored + grown > storage_bytes:
            raise StorageFull(f"No space left on device (the emulated board stores at most {storage_bytes} written bytes)")
        if files and old is None and len(self.changes) >= files:
            raise StorageFull(f"No space left on device (the emulated board takes at most {files} new files)")
        self.stored += grown
        self.changes[path] = node
        self.generation += 1
        if self.journal is not None:
            self.journal[path] = node

    def apply(self, changes: Dict[str, Node]) -> None:
        """Take over nodes written elsewhere (by a shell worker, or shipped to one)."""
        for path, node in changes.items():
            self.nodes[path] = node
            if self.changes is not None:
                old = self.changes.get(path)
                self.stored += len(node.data) - (len(old.data) if old is not None else 0)
                self.changes[path] = node
        if changes:
            self.generation += 1

    @staticmethod
    def norm(path: str, cwd: str = "/") -> str:
        return posixpath.normpath(posixpath.join(cwd, path)).replace("//", "/")

    def mkdirs(self, path: str) -> None:
        path = self.norm(path)
        parts = [p for p in path.split("/") if p]
        cur = ""
        for part in parts:
            cur += "/" + part
            if cur not in self.nodes:
                node = Node("dir", mode=0o755)
                self._record(cur, node)
                self.nodes[cur] = node

    def write(self, path: str, data: bytes, mode: int = 0o644, size: Optional[int] = None, append: bool = False) -> None:
        path = self.norm(path)
        self.mkdirs(posixpath.dirname(path))
        old = self.nodes.get(path)
        if append and old is not None and old.kind == "file":
            data = old.content() + data
        node = Node("file", data=data, mode=mode, size=size)
        self._record(path, node)
        self.nodes[path] = node

    def remove(self, path: str) -> None:
        path = self.norm(path)
        for key in [k for k in self.nodes if k == path or k.startswith(path + "/")]:
            del self.nodes[key]

    def get(self, path: str, cwd: str = "/") -> Optional[Node]:
        return self.nodes.get(self.norm(path, cwd))

    def listdir(self, path: str) -> List[str]:
        path = self.norm(path)
        prefix = path.rstrip("/") + "/"
        return sorted({k[len(prefix):].split("/")[0] for k in self.nodes if k.startswith(prefix) and k != prefix})

    def glob(self, pattern: str, cwd: str = "/") -> List[str]:
        """Shell glob against the tree; returns [] when nothing matches (the caller keeps the word)."""
        absolute = pattern.startswith("/")
        parts = [p for p in pattern.split("/") if p]
        paths = ["/" if absolute else self.norm(cwd)]
        for part in parts:
            nxt = []
            for base in paths:
                node = self.nodes.get(base)
                if node is None or node.kind != "dir":
                    continue
                if any(c in part for c in "*?["):
                    names = [n for n in self.listdir(base) if fnmatch.fnmatchcase(n, part) and (part.startswith(".") or not n.startswith("."))]
                else:
                    names = [part] if self.norm(posixpath.join(base, part)) in self.nodes else []
                nxt.extend(self.norm(posixpath.join(base, n)) for n in names)
            paths = nxt
        if not absolute:
            root = self.norm(cwd).rstrip("/") + "/"
            paths = [p[len(root):] if p.startswith(root) else p for p in paths]
        return sorted(paths)


def proc_modules_text(profile: Profile) -> str:
    return "".join(f"{m.name} {m.size} {m.used} - Live 0x0000000000000000 (O)\n" for m in profile.modules)


def uname_all(profile: Profile) -> str:
    return f"Linux {profile.hostname} {profile.uname_release} {profile.uname_version} {profile.uname_machine} GNU/Linux"


def build_vfs(profile: Profile, missing_binaries=None) -> VirtualFS:
    """Everything a probe can look at: the profile's files plus the standard tree and the tools."""
    fs = VirtualFS()
    for d in ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/lib", "/etc", "/proc", "/sys", "/dev", "/tmp", "/root"):
        fs.mkdirs(d)
    tool_dir = "/system/bin" if profile.os == "android" else "/bin"
    for tool in TOOLS + (["getprop"] if profile.os == "android" else []):
        fs.write(f"{tool_dir}/{tool}", binary_bytes([] if profile.os == "android" else ["BusyBox v1.27.2"]), mode=0o755)
    fs.write("/dev/null", b"", mode=0o666)
    fs.write("/proc/version", f"Linux version {profile.uname_release} (builder@rockchip) {profile.uname_version}\n".encode(), mode=0o444)
    fs.write("/proc/modules", proc_modules_text(profile).encode(), mode=0o444)
    for spec in profile.files.values():
        if spec.kind == "dir":
            fs.mkdirs(spec.path)
            fs.nodes[fs.norm(spec.path)].mode = spec.mode
        else:
            fs.write(spec.path, spec.data, mode=spec.mode, size=spec.size)
    for missing in profile.faults.missing_binaries if missing_binaries is None else missing_binaries:
        if missing.startswith("/"):
            fs.remove(missing)
        else:
            for d in LINUX_PATH + ANDROID_PATH:
                fs.remove(f"{d}/{missing}")
    return fs.seal()
