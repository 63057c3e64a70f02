"""Loading and validating the matrix set (matrices/*.toml; schema in docs/matrices.md).

Every file in the directory is read and its tables merged, so `--matrix DIR` can replace the
shipped set wholesale and a new vendor release is a data change. A malformed row is refused
with file, table, row number and field — the matrices are input like any other.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rknn_envcheck.errors import UsageError
from rknn_envcheck.matrix_cache import _content_digest, _read_files
from rknn_envcheck.matrix_cache import cache_dir as _cache_dir
from rknn_envcheck.matrix_cache import read_cache as _read_cache
from rknn_envcheck.matrix_cache import write_cache as _write_cache



from rknn_envcheck.tomlfile import toml_module as _toml  # noqa: E402,F401  (the one TOML loader; old name kept for callers)

PACKAGES = ("rknn-toolkit", "rknn-toolkit-lite", "rknn-toolkit2", "rknn-toolkit-lite2")
PLATFORMS = ("linux_x86_64", "linux_aarch64", "linux_armv7l", "macosx_x86_64", "win_amd64")
COMPONENTS = ("rknn_server", "librknn_runtime", "librknnrt", "librknnmrt", "npu_driver")
LEVELS = ("fail", "warn", "info")
PITFALL_WHEN_KEYS = {"dist", "specifier", "dist_missing", "needs", "os", "arch", "python", "env_set", "env_unset", "gcc", "always"}

# table -> {field: (required, kind)}; kind is a type, a tuple of types, or a validator name.
_STR, _LIST, _BOOL, _INT, _DICT = str, list, bool, int, dict
SCHEMA = {
    "release": {"package": (True, "package"), "version": (True, "version"), "date": (False, _STR), "on_pypi": (False, _BOOL),
                "runtime_published": (False, _BOOL)},
    "wheel": {"package": (True, "package"), "versions": (True, "versions"), "platform": (True, "platform"), "python": (True, "pythons"),
              "on_pypi": (False, _BOOL), "files": (False, _LIST), "download": (False, _LIST)},
    "framework": {"package": (True, "package"), "versions": (True, "versions"), "framework": (True, _STR), "supported": (True, _BOOL),
                  "specifier": (True, "specifier"), "detail": (False, _STR), "level": (False, ("fail", "warn"))},
    "requirement": {"package": (True, "package"), "versions": (True, "versions"), "requirement": (True, "requirement"),
                    "python": (False, "pythons"), "platform": (False, "platforms"), "kind": (True, ("requires-dist", "requirements-file", "user-guide"))},
    "board_stack": {"package": (True, "package"), "versions": (True, "versions"), "component": (True, COMPONENTS),
                    "specifier": (False, "specifier"), "accepted": (False, _LIST), "level": (True, ("fail", "warn"))},
    "target_platform": {"package": (True, "package"), "name": (True, _STR), "since": (True, "version"), "family": (False, _STR)},
    "chip": {"name": (True, _STR), "line": (True, ("rknn-toolkit", "rknn-toolkit2")), "npu": (False, _STR), "aliases": (False, _LIST),
             "compatible": (True, _LIST), "runtime_library": (True, ("librknn_runtime.so", "librknnrt.so", "librknnmrt.so")),
             "runtime_paths": (True, _DICT), "server_paths": (False, _DICT), "driver": (True, ("galcore", "rknpu")), "npu_node": (False, _STR),
             "min_rknn_server": (False, "version"), "shares_models_with": (False, _LIST), "rknpu_driver_folder": (False, _STR),
             "rknpu_kernel_module": (False, _STR), "rknpu2_runtime_folder": (False, _STR)},
    "model_format": {"package": (True, "package"), "format": (True, _INT), "produced_by": (True, "versions"), "min_runtime": (True, _STR),
                     "header_size": (True, _INT)},
    "pitfall": {"id": (True, _STR), "title": (True, _STR), "package": (False, "package"), "versions": (False, "versions"),
                "when": (True, "when"), "level": (True, LEVELS), "message": (True, _STR), "fix": (True, _STR), "commands": (False, _LIST)},
    "tf_graphdef": {"tensorflow": (True, "version"), "producer": (True, _INT), "min_consumer": (True, _INT), "min_producer": (True, _INT)},
    "arch_formats": {"package": (True, "package"), "arch": (True, _LIST), "since": (True, "version"), "formats": (True, _LIST), "fix": (True, _STR)},
    "usb_id": {"vid": (True, _STR), "pid": (True, _STR), "mode": (True, _STR), "meaning": (True, _STR)},
}
# Tables whose rows need no `source` (none today: every fact names where it comes from).
_NO_SOURCE: set[str] = set()


def _default_dir() -> Path:
    installed = Path(__file__).resolve().parent / "matrices"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "matrices"  # source checkout / editable install


class Matrix:
    def __init__(self, directory: Path, tables: dict[str, list[dict]], meta: dict, sources: dict, extras: dict | None = None):
        self.directory = directory
        self.extras = extras or {}
        self.tables = tables
        self.meta = meta
        self.sources = sources
        self.version = str(meta.get("version", ""))
        self.date = str(meta.get("date", ""))
        self._chip_index: dict[str, dict] | None = None
        self._release_sets, self._by_package = {}, {}  # memo of is_release / rows(table, package)

    def rows(self, table: str, package: str | None = None) -> list[dict]:
        rows = self.tables.get(table, [])
        if package is None:
            return rows
        if table not in self._by_package:  # indexed once: rules ask per board (2,000 boards: 6,000 scans)
            self._by_package[table] = index = {}
            for row in rows:
                index.setdefault(row.get("package"), []).append(row)
        return list(self._by_package[table].get(package, ()))

    def releases(self, package: str) -> list[str]:
        return [r["version"] for r in self.rows("release", package)]

    def is_release(self, package: str, version: str) -> bool:
        from rknn_envcheck.versions import public, try_parse

        if try_parse(version) is None:
            return False
        if package not in self._release_sets:  # asked per board and row: built once
            self._release_sets[package] = {public(v) for v in self.releases(package) if try_parse(v) is not None}
        return public(version) in self._release_sets[package]

    def latest(self, package: str, stable_only: bool = True) -> str | None:
        from rknn_envcheck.versions import parse_version

        versions = [v for v in self.releases(package) if not (stable_only and parse_version(v).is_prerelease)]
        return max(versions, key=parse_version) if versions else None

    def _chips(self) -> dict[str, dict]:
        if self._chip_index is None:
            index = {}
            for row in self.rows("chip"):
                index[row["name"].lower()] = row
                for alias in row.get("aliases", []):
                    index.setdefault(alias.lower(), row)
            self._chip_index = index
        return self._chip_index

    def chip(self, name: str | None) -> dict | None:
        if not name:
            return None
        return self._chips().get(name.strip().lower())

    def chip_from_compatible(self, text: str | None) -> dict | None:
        """Map /proc/device-tree/compatible (NUL-separated, most specific first) to a chip row.

        The SoC entry (`rockchip,rk3588`) is matched exactly first, so a board string that merely
        contains another chip's name cannot win; then substrings, longest first (rk3588s before rk3588).
        """
        if not text:
            return None
        entries = [e.strip().lower() for e in text.replace("\x00", "\n").splitlines() if e.strip()]
        rows = self.rows("chip")
        for entry in reversed(entries):  # the last entry is the SoC itself
            for row in rows:
                if entry in (c.lower() for c in row.get("compatible", [])):
                    return row
        candidates = [(len(c), row) for row in rows for c in row.get("compatible", []) if any(c.lower() in e for e in entries)]
        return max(candidates, key=lambda item: item[0])[1] if candidates else None

    def model_formats(self, package: str | None = None) -> list[dict]:
        return self.rows("model_format", package)

    def usb_ids(self) -> list[dict]:
        return self.rows("usb_id")

    def source_title(self, key: str) -> str:
        return self.sources.get(key, key)


def _fail(path: Path, table: str, index: int, field: str, message: str):
    raise UsageError(f"matrix file {path}: [[{table}]] row {index + 1}: field '{field}' {message}")


def _validate_value(path, table, index, field, value, kind) -> None:
    from rknn_envcheck.versions import normalize, specifier

    if isinstance(kind, tuple) and all(isinstance(k, str) for k in kind):
        if value not in kind:
            _fail(path, table, index, field, f"is {value!r}; expected one of {', '.join(kind)}")
        return
    if kind == "package":
        if value not in PACKAGES:
            _fail(path, table, index, field, f"is {value!r}; expected one of {', '.join(PACKAGES)}")
    elif kind == "version":
        if not isinstance(value, str):
            _fail(path, table, index, field, "must be a version string")
        try:
            normalize(value)
        except ValueError as exc:
            _fail(path, table, index, field, str(exc))
    elif kind == "versions":
        if isinstance(value, str):
            try:
                specifier(value)
            except ValueError as exc:
                _fail(path, table, index, field, str(exc))
        elif isinstance(value, list) and value:
            for item in value:
                _validate_value(path, table, index, field, item, "version")
        else:
            _fail(path, table, index, field, "must be a non-empty list of versions or a specifier string")
    elif kind == "specifier":
        if not isinstance(value, str):
            _fail(path, table, index, field, "must be a specifier string")
        if value:
            try:
                specifier(value)
            except ValueError as exc:
                _fail(path, table, index, field, str(exc))
    elif kind == "requirement":
        from packaging.requirements import InvalidRequirement, Requirement

        try:
            req = Requirement(value)
        except (InvalidRequirement, TypeError) as exc:
            _fail(path, table, index, field, f"is not a PEP 508 requirement: {exc}")
        if req.extras or req.marker or req.url:
            _fail(path, table, index, field, "must be a plain 'name<spec>' requirement without extras, markers or URLs")
    elif kind in ("pythons",):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.count(".") == 1 for v in value):
            _fail(path, table, index, field, "must be a list of \"X.Y\" Python versions")
    elif kind == "platforms":
        values = value if isinstance(value, list) else [value]
        for item in values:
            if item not in PLATFORMS:
                _fail(path, table, index, field, f"has {item!r}; expected one of {', '.join(PLATFORMS)}")
    elif kind == "platform":
        if value not in PLATFORMS:
            _fail(path, table, index, field, f"is {value!r}; expected one of {', '.join(PLATFORMS)}")
    elif kind == "when":
        if not isinstance(value, dict) or not value:
            _fail(path, table, index, field, "must be a non-empty table of conditions")
        unknown = set(value) - PITFALL_WHEN_KEYS
        if unknown:
            _fail(path, table, index, field, f"has unknown condition(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(PITFALL_WHEN_KEYS))}")
        if "specifier" in value:
            _validate_value(path, table, index, f"{field}.specifier", value["specifier"], "specifier")
        if "python" in value:
            _validate_value(path, table, index, f"{field}.python", value["python"], "specifier")
        if "needs" in value:  # "setuptools<82": holds when that distribution is missing or outside the range
            _validate_value(path, table, index, f"{field}.needs", value["needs"], "requirement")
    elif isinstance(kind, type):
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            _fail(path, table, index, field, f"must be of type {kind.__name__}, got {type(value).__name__}")


def _validate_rows(path: Path, table: str, rows) -> list[dict]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise UsageError(f"matrix file {path}: '{table}' must be an array of tables ([[{table}]])")
    spec = SCHEMA[table]
    for index, row in enumerate(rows):
        for field, (required, kind) in spec.items():
            if field not in row:
                if required:
                    _fail(path, table, index, field, "is missing")
                continue
            _validate_value(path, table, index, field, row[field], kind)
        if table not in _NO_SOURCE and not str(row.get("source", "")).strip():
            _fail(path, table, index, "source", "is missing or empty: every matrix row names where its fact comes from")
        if table == "board_stack" and ("specifier" in row) == ("accepted" in row):
            _fail(path, table, index, "specifier", "exactly one of 'specifier' or 'accepted' must be given")
        row["_file"] = path.name
        row["_row"] = index + 1
    return rows


@lru_cache(maxsize=8)
def _load(directory: str) -> Matrix:
    root = Path(directory)
    if not root.is_dir():
        raise UsageError(f"matrix directory {root} does not exist or is not a directory")
    files = sorted(root.glob("*.toml"))
    if not files:
        raise UsageError(f"matrix directory {root} contains no *.toml files")
    contents = _read_files(files)
    digest = _content_digest(root, contents)
    cache_dir = _cache_dir()
    cached = _read_cache(cache_dir, digest)
    if isinstance(cached, tuple) and len(cached) == 4 and isinstance(cached[0], dict) and all(isinstance(v, bytes) for v in cached[0].values()):
        from rknn_envcheck.matrix_tables import LazyTables

        blobs, meta, sources, extras = cached
        return Matrix(root, LazyTables(blobs), meta, sources, extras)
    tables: dict[str, list[dict]] = {}
    meta: dict = {}
    sources: dict = {}
    extras: dict[str, dict] = {}
    from rknn_envcheck.tomlfile import parse_toml

    for path in files:
        data = parse_toml(contents[path], f"matrix file {path}")
        for key, value in data.items():
            if key == "matrix":
                meta.update(value)
            elif key == "sources":
                sources.update(value)
            elif key in SCHEMA:
                tables.setdefault(key, []).extend(_validate_rows(path, key, value))
            elif isinstance(value, dict):
                extras.setdefault(key, {}).update(value)  # settings tables of a data file (e.g. messages.toml [scan])
            elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
                tables.setdefault(key, []).extend(value)  # tables other readers validate (e.g. [[message]] for explain)
            else:
                raise UsageError(f"matrix file {path}: unknown table '{key}'; known tables: {', '.join(sorted(SCHEMA))} (docs/matrices.md)")
    if not meta.get("version") or not meta.get("date"):
        raise UsageError(f"matrix directory {root}: no [matrix] table with 'version' and 'date' (expected in matrix.toml)")
    import marshal

    _write_cache(cache_dir, digest, ({name: marshal.dumps(rows) for name, rows in tables.items()}, meta, sources, extras))
    return Matrix(root, tables, meta, sources, extras)


def load_matrix(directory=None) -> Matrix:
    return _load(str(Path(directory).resolve() if directory else _default_dir()))
