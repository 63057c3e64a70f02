"""Board profiles: load a TOML file describing a board as it is, validate every key, build a Profile.

A profile is data (rknn_envcheck/profiles/*.toml). Any mistake is refused with the file, the key
and the reason (UsageError -> exit 2), because a silently wrong profile would make tests lie.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, List, Optional

from rknn_envcheck.emulator.faults import Faults, parse_faults
from rknn_envcheck.errors import UsageError
from rknn_envcheck.records import dataclass, field

PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"

A_VERSION_MIN = 0x01000000
A_VERSION = 0x01000001
# Features the server implements; advertising any other (e.g. ls_v2, sendrecv_v2) can hang the host.
IMPLEMENTED_FEATURES = {"shell_v2", "cmd", "stat_v2", "abb", "abb_exec", "apex", "remount_shell", "fixed_push_mkdir"}
ADB_STATES = {"device", "recovery", "sideload", "bootloader", "rescue"}

_SCHEMA = {
    "meta": {"description": str, "source": str, "expect": str, "expect_status": str, "toolkit": str, "name": str},
    "board": {"chip": str, "os": str, "arch": str, "serial": str, "hostname": str, "user": str,
              "generation": str, "processes": list, "faults": list},
    "adbd": {"state": str, "protocol_version": int, "max_payload": int, "features": list, "crlf": bool,
             "banner_props": dict},
    "props": None,    # free-form str -> str (getprop)
    "kernel": {"release": str, "version": str, "machine": str, "dmesg": list, "modules": list},
    "files": None,    # path -> str | table
    "python": {"version": str, "executable": str, "site_packages": str, "packages": dict},
}
_REQUIRED = {"meta": ["description", "source", "expect", "expect_status", "toolkit"],
             "board": ["chip", "os", "arch"], "kernel": ["release"]}
_FILE_KEYS = {"text": str, "strings": list, "mode": (str, int), "size": int, "dir": bool}


@dataclass
class FileSpec:
    path: str
    kind: str                      # "text" | "binary" | "dir"
    data: bytes = b""
    strings: Optional[List[str]] = None
    mode: int = 0o644
    size: Optional[int] = None     # declared size (ls -l, stat); content is NUL-padded to it


@dataclass
class Process:
    pid: int
    name: str
    cmdline: str
    user: str = "root"


@dataclass
class Module:
    name: str
    size: int = 0
    used: int = 0


@dataclass
class Profile:
    name: str
    source_file: str
    meta: Dict[str, str]
    chip: str
    os: str
    arch: str
    serial: str
    hostname: str
    user: str
    state: str
    protocol_version: int
    max_payload: int
    features: List[str]
    crlf: bool
    banner_props: Dict[str, str]
    props: Dict[str, str]
    uname_release: str
    uname_version: str
    uname_machine: str
    dmesg: List[str]
    modules: List[Module]
    files: Dict[str, FileSpec]
    processes: List[Process]
    python_version: Optional[str] = None
    python_executable: Optional[str] = None
    faults: Faults = field(default_factory=Faults)

    @property
    def expect_status(self) -> str:
        return self.meta["expect_status"]

    def banner(self) -> bytes:
        """The CNXN payload adbd sends: `state::key=value;...;features=...;` (empty props -> legacy form)."""
        parts = [f"{k}={v};" for k, v in self.banner_props.items()]
        if self.features:
            parts.append("features=" + ",".join(self.features) + ";")
        return (self.state + "::" + "".join(parts)).encode()


def _fail(file: str, key: str, reason: str) -> UsageError:
    return UsageError(f"profile {file}: key {key}: {reason}")


def _load_toml(path: Path) -> dict:
    from rknn_envcheck.tomlfile import read_toml

    return read_toml(path, "profile")


def _check_types(file: str, data: dict) -> None:
    for table, value in data.items():
        if table not in _SCHEMA:
            raise _fail(file, f"[{table}]", f"unknown table; expected one of {', '.join('[' + t + ']' for t in _SCHEMA)}")
        if not isinstance(value, dict):
            raise _fail(file, table, "must be a table")
        keys = _SCHEMA[table]
        if keys is None:
            continue
        for key, item in value.items():
            if key not in keys:
                raise _fail(file, f"{table}.{key}", f"unknown key; expected one of {', '.join(keys)}")
            want = keys[key]
            if want is int and isinstance(item, bool) or not isinstance(item, want):
                raise _fail(file, f"{table}.{key}", f"must be a {want.__name__}, got {type(item).__name__} {item!r}")
    for table, required in _REQUIRED.items():
        for key in required:
            if key not in data.get(table, {}):
                raise _fail(file, f"{table}.{key}", "is required")


def _str_list(file: str, key: str, items: list) -> List[str]:
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise _fail(file, f"{key}[{i}]", f"must be a string, got {type(item).__name__}")
    return list(items)


_PRINTABLE = re.compile(r"^[\t\x20-\x7e]*$")


def binary_bytes(strings: List[str], size: Optional[int] = None) -> bytes:
    """An ELF-looking blob whose printable runs are exactly `strings` (so real `strings` finds them)."""
    blob = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8
    for s in strings:
        blob += s.encode("ascii") + b"\x00\x00"
    if size is not None and size > len(blob):
        blob += b"\x00" * (size - len(blob))
    return blob


def _file_spec(file: str, path: str, spec) -> FileSpec:
    key = f'files."{path}"'
    if not path.startswith("/"):
        raise _fail(file, key, "file paths must be absolute")
    if isinstance(spec, str):
        spec = {"text": spec}
    if not isinstance(spec, dict):
        raise _fail(file, key, "must be a string (text content) or a table with text/strings/dir")
    for k, v in spec.items():
        if k not in _FILE_KEYS:
            raise _fail(file, f"{key}.{k}", f"unknown key; expected one of {', '.join(_FILE_KEYS)}")
        if not isinstance(v, _FILE_KEYS[k]) or (k == "size" and isinstance(v, bool)):
            raise _fail(file, f"{key}.{k}", f"wrong type {type(v).__name__}")
    kinds = [k for k in ("text", "strings", "dir") if k in spec]
    if len(kinds) != 1:
        raise _fail(file, key, "needs exactly one of text, strings, dir")
    mode = spec.get("mode")
    if isinstance(mode, str):
        if not re.fullmatch(r"0?[0-7]{3,4}", mode):
            raise _fail(file, f"{key}.mode", f"must be octal like \"0755\", got {mode!r}")
        mode = int(mode, 8)
    if kinds[0] == "dir":
        return FileSpec(path, "dir", mode=mode if mode is not None else 0o755)
    if kinds[0] == "text":
        return FileSpec(path, "text", data=spec["text"].encode("utf-8"), mode=mode if mode is not None else 0o644,
                        size=spec.get("size"))
    strings = _str_list(file, f"{key}.strings", spec["strings"])
    for i, s in enumerate(strings):
        if len(s) < 4 or not _PRINTABLE.match(s):
            raise _fail(file, f"{key}.strings[{i}]", f"{s!r} would not be printed by `strings` (needs >= 4 printable ASCII characters, no newline)")
    return FileSpec(path, "binary", data=binary_bytes(strings), strings=strings,
                    mode=mode if mode is not None else 0o755, size=spec.get("size"))


def _processes(file: str, items: list) -> List[Process]:
    procs = [Process(1, "init", "/sbin/init", "root")]
    for i, item in enumerate(items):
        if isinstance(item, str):
            name, cmdline = item.rsplit("/", 1)[-1], item
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            name, cmdline = item["name"], str(item.get("cmdline", item["name"]))
        else:
            raise _fail(file, f"board.processes[{i}]", "must be a command line string or a table with name (and cmdline)")
        procs.append(Process(100 + 37 * i, name, cmdline, item.get("user", "root") if isinstance(item, dict) else "root"))
    return procs


def _modules(file: str, items: list) -> List[Module]:
    mods = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            mods.append(Module(item, 880640))
        elif isinstance(item, dict) and isinstance(item.get("name"), str):
            mods.append(Module(item["name"], int(item.get("size", 880640)), int(item.get("used", 0))))
        else:
            raise _fail(file, f"kernel.modules[{i}]", "must be a module name or a table with name, size, used")
    return mods


def _python_files(file: str, py: dict, files: Dict[str, FileSpec]) -> tuple:
    version = py.get("version")
    if not version or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise _fail(file, "python.version", f"must be a version like \"3.10.12\", got {version!r}")
    major_minor = ".".join(version.split(".")[:2])
    exe = py.get("executable", "/usr/bin/python3")
    site = py.get("site_packages", f"/usr/local/lib/python{major_minor}/dist-packages")
    files.setdefault(exe, FileSpec(exe, "binary", data=binary_bytes([f"python{major_minor}"]),
                                   strings=[f"python{major_minor}"], mode=0o755))
    files.setdefault(site, FileSpec(site, "dir", mode=0o755))
    for dist, dist_version in py.get("packages", {}).items():
        if not isinstance(dist_version, str):
            raise _fail(file, f"python.packages.{dist}", "version must be a string")
        norm = re.sub(r"[-_.]+", "_", dist)
        meta_path = f"{site}/{norm}-{dist_version}.dist-info/METADATA"
        text = f"Metadata-Version: 2.1\nName: {dist}\nVersion: {dist_version}\n"
        files.setdefault(meta_path, FileSpec(meta_path, "text", data=text.encode()))
    return version, exe


def profile_from_dict(data: dict, name: str, file: str = "<dict>") -> Profile:
    _check_types(file, data)
    meta, board = data["meta"], data["board"]
    if meta["expect_status"] not in ("ok", "warn", "fail", "unknown"):
        raise _fail(file, "meta.expect_status", f"must be ok, warn, fail (or unknown for a replayed board), got {meta['expect_status']!r}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+==\S+", meta["toolkit"]):
        raise _fail(file, "meta.toolkit", f"must look like \"rknn-toolkit2==2.3.2\", got {meta['toolkit']!r}")
    if board["os"] not in ("linux", "android"):
        raise _fail(file, "board.os", f"must be linux or android, got {board['os']!r}")
    adbd = data.get("adbd", {})
    state = adbd.get("state", "device")
    if state not in ADB_STATES:
        raise _fail(file, "adbd.state", f"must be one of {', '.join(sorted(ADB_STATES))}")
    version = adbd.get("protocol_version", A_VERSION)
    if version not in (A_VERSION_MIN, A_VERSION):
        raise _fail(file, "adbd.protocol_version", f"must be 0x01000000 or 0x01000001, got {version:#x}")
    max_payload = adbd.get("max_payload", 1024 * 1024)
    if not 1024 <= max_payload <= 1024 * 1024:
        raise _fail(file, "adbd.max_payload", f"must be between 1024 and 1048576, got {max_payload}")
    features = _str_list(file, "adbd.features", adbd.get("features", ["shell_v2", "cmd", "stat_v2"]))
    for feat in features:
        if feat not in IMPLEMENTED_FEATURES:
            raise _fail(file, "adbd.features", f"{feat!r} is not implemented by the emulator and advertising it can hang the adb client; implemented: {', '.join(sorted(IMPLEMENTED_FEATURES))}")
    props = data.get("props", {})
    if props and board["os"] != "android":
        raise _fail(file, "[props]", "getprop exists only on Android boards; remove [props] or set board.os = \"android\"")
    for k, v in props.items():
        if not isinstance(v, str):
            raise _fail(file, f'props."{k}"', "must be a string")
    chip = board["chip"]
    default_banner = {"ro.product.name": chip.lower(), "ro.product.model": chip, "ro.product.device": chip.lower()}
    banner_props = adbd.get("banner_props", {k: props.get(k, v) for k, v in default_banner.items()})
    files: Dict[str, FileSpec] = {}
    for path, spec in data.get("files", {}).items():
        files[path] = _file_spec(file, path, spec)
    kernel = data["kernel"]
    user = board.get("user", "root" if board["os"] == "linux" else "shell")
    python_version = python_exe = None
    if "python" in data:
        python_version, python_exe = _python_files(file, data["python"], files)
    faults = parse_faults(_str_list(file, "board.faults", board.get("faults", [])), where=f"profile {file}: key board.faults")
    return Profile(
        name=meta.get("name", name), source_file=file, meta=dict(meta), chip=chip, os=board["os"], arch=board["arch"],
        serial=board.get("serial", name), hostname=board.get("hostname", chip.lower()), user=user,
        state=state, protocol_version=version, max_payload=max_payload, features=features,
        crlf=bool(adbd.get("crlf", False)), banner_props={str(k): str(v) for k, v in banner_props.items()},
        props=dict(props), uname_release=kernel["release"],
        uname_version=kernel.get("version", "#1 SMP PREEMPT"), uname_machine=kernel.get("machine", board["arch"]),
        dmesg=_str_list(file, "kernel.dmesg", kernel.get("dmesg", [])),
        modules=_modules(file, kernel.get("modules", [])), files=files,
        processes=_processes(file, board.get("processes", [])),
        python_version=python_version, python_executable=python_exe, faults=faults,
    )


def load_profile(name_or_path: str) -> Profile:
    """A shipped profile by name (`rk1808-1.7.5`) or any profile file by path."""
    path = Path(name_or_path)
    if not (path.suffix == ".toml" or path.exists()):
        path = PROFILE_DIR / f"{name_or_path}.toml"
        if not path.exists():
            raise UsageError(f"no profile named {name_or_path!r}; run `rknn-envcheck emulator list` for the shipped ones, or pass a path to a .toml file")
    return profile_from_dict(_load_toml(path), path.stem, str(path))


def shipped_profiles() -> List[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml"))
