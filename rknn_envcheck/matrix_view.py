"""The compatibility matrix as people look it up: for each toolkit line, release × Python wheels,
release × framework, release × board stack, target platforms and chips — each cell with the
sources it comes from, and, given facts, the user's own toolkit, Python and boards marked.

Pure: matrix (+ facts) in, tables out; render/matrix_page.py draws them as text, markdown or HTML.
"""
from __future__ import annotations

from rknn_envcheck.records import dataclass, field

from rknn_envcheck.versions import in_versions, parse_version, try_parse

LINES = {
    "toolkit1": ("rknn-toolkit", "rknn-toolkit-lite"),
    "toolkit2": ("rknn-toolkit2", "rknn-toolkit-lite2"),
}
LINE_TITLES = {"toolkit1": "RKNN-Toolkit (v1): RK1808, RK1806, RK3399Pro, RV1109, RV1126",
               "toolkit2": "RKNN-Toolkit2: RK3562, RK3566, RK3568, RK3576, RK3588, RV1103, RV1106, …"}
_PLATFORM_SHORT = {"linux_x86_64": "Linux x86_64", "linux_aarch64": "Linux aarch64", "linux_armv7l": "Linux armv7l",
                   "win_amd64": "Windows", "macosx_x86_64": "macOS x86_64", "macosx_arm64": "macOS arm64"}


@dataclass
class Cell:
    text: str = ""
    sources: list[str] = field(default_factory=list)
    mine: bool = False  # the user's own environment (from --facts)
    note: str = ""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell], bool]]  # (row label, cells, row is the user's)
    column_mine: list[bool] = field(default_factory=list)


@dataclass
class LineView:
    key: str
    title: str
    tables: list[Table]


@dataclass
class Yours:
    """What the facts say about the user's environment, for highlighting."""

    toolkit: tuple[str, str] | None = None
    python: str | None = None
    platform: str | None = None
    frameworks: dict[str, str] = field(default_factory=dict)
    boards: list[dict] = field(default_factory=list)


def yours_from_facts(facts: dict | None) -> Yours:
    from rknn_envcheck.rules.toolkit import host_platform, installed_toolkit, python_minor

    if not facts:
        return Yours()
    host = facts.get("host") if isinstance(facts.get("host"), dict) else {}
    packages = host.get("packages") if isinstance(host.get("packages"), dict) else {}
    boards = [d for d in facts.get("devices") or [] if isinstance(d, dict)]
    return Yours(toolkit=installed_toolkit(host), python=python_minor(host), platform=host_platform(host),
                 frameworks={k: v for k, v in packages.items() if isinstance(v, str)}, boards=boards)


def _sort_versions(versions) -> list[str]:
    return sorted(set(versions), key=lambda v: (try_parse(v) is None, try_parse(v) or parse_version("0")))


def _releases(matrix, packages) -> list[tuple[str, str]]:
    out = []
    for package in packages:
        out += [(package, v) for v in _sort_versions(matrix.releases(package))]
    return out


def _is_yours(yours: Yours, package: str, version: str) -> bool:
    if not yours.toolkit or yours.toolkit[0] != package:
        return False
    # A facts file may hold any string (`2.3.2 beta`): a version that does not parse is nobody's row.
    mine, row = try_parse(yours.toolkit[1]), try_parse(version)
    return mine is not None and row is not None and mine.public == row.public


def _wheel_table(matrix, packages, yours: Yours) -> Table:
    wheels = [r for r in matrix.rows("wheel") if r.get("package") in packages]
    pythons = _sort_versions(p for r in wheels for p in r.get("python", []))
    rows = []
    for package, version in _releases(matrix, packages):
        cells = []
        for python in pythons:
            hits = [r for r in wheels if r["package"] == package and in_versions(version, r["versions"]) and python in r.get("python", [])]
            platforms = sorted({_PLATFORM_SHORT.get(r["platform"], r["platform"]) for r in hits})
            mine = _is_yours(yours, package, version) and python == yours.python
            cells.append(Cell(", ".join(platforms), sorted({r.get("source", "") for r in hits} - {""}), mine))
        rows.append((f"{package} {version}", cells, _is_yours(yours, package, version)))
    return Table("Wheels: release × Python (platforms with a published wheel)", [f"Python {p}" for p in pythons], rows,
                 [p == yours.python for p in pythons])


def _framework_table(matrix, packages, yours: Yours) -> Table:
    frameworks = [r for r in matrix.rows("framework") if r.get("package") in packages]
    names = sorted({r["framework"] for r in frameworks})
    rows = []
    for package, version in _releases(matrix, packages):
        cells = []
        for name in names:
            hits = [r for r in frameworks if r["package"] == package and r["framework"] == name and in_versions(version, r["versions"])]
            text = "; ".join(("not supported" if r.get("supported") is False else (r.get("specifier") or "supported")) for r in hits)
            mine = _is_yours(yours, package, version) and name in yours.frameworks
            note = f"installed: {yours.frameworks[name]}" if mine else ""
            cells.append(Cell(text, sorted({r.get("source", "") for r in hits} - {""}), mine, note))
        if any(c.text for c in cells):
            rows.append((f"{package} {version}", cells, _is_yours(yours, package, version)))
    return Table("Frameworks: release × framework (versions the vendor supports for conversion)", names, rows,
                 [n in yours.frameworks for n in names])


def _stack_value(row: dict) -> str:
    """A board-stack row holds a specifier, or the exact version strings a driver may print."""
    if row.get("specifier"):
        return str(row["specifier"])
    return " or ".join(str(v) for v in row.get("accepted", [])) or "?"


def _board_table(matrix, packages, yours: Yours) -> Table:
    stack = [r for r in matrix.rows("board_stack") if r.get("package") in packages]
    components = [c for c in ("rknn_server", "librknn_runtime", "librknnrt", "librknnmrt", "npu_driver") if any(r["component"] == c for r in stack)]
    board_versions = {}
    for board in yours.boards:
        for component in components:
            value = board.get("librknn_runtime") if component in ("librknnrt", "librknnmrt") else board.get(component)
            if isinstance(value, str) and value:
                board_versions.setdefault(component, []).append(value)
    rows = []
    for package, version in _releases(matrix, packages):
        cells = []
        for component in components:
            hits = [r for r in stack if r["package"] == package and r["component"] == component and in_versions(version, r["versions"])]
            text = "; ".join(f"{_stack_value(r)}{' (recommended)' if r.get('level') == 'warn' else ''}" for r in hits)
            observed = board_versions.get(component, [])
            mine = _is_yours(yours, package, version) and bool(observed)
            cells.append(Cell(text, sorted({r.get("source", "") for r in hits} - {""}), mine,
                              f"your boards: {', '.join(observed)}" if mine else ""))
        if any(c.text for c in cells):
            rows.append((f"{package} {version}", cells, _is_yours(yours, package, version)))
    return Table("Board stack: release × rknn_server / runtime / NPU driver on the board", components, rows,
                 [bool(board_versions.get(c)) for c in components])


def _chip_table(matrix, line_package: str, yours: Yours) -> Table:
    chips = [r for r in matrix.rows("chip") if r.get("line") == line_package]
    targets = [r for r in matrix.rows("target_platform") if r.get("package") == line_package]
    your_chips = {str(b.get("chip", "")).lower() for b in yours.boards}
    rows = []
    for chip in chips:
        target = [t for t in targets if t["name"].lower() == chip["name"].lower()]
        cells = [Cell(chip.get("npu", ""), [chip.get("source", "")]),
                 Cell(chip.get("driver", ""), [chip.get("source", "")]),
                 Cell(chip.get("runtime_library", ""), [chip.get("source", "")]),
                 Cell(", ".join(f"target_platform '{t['name']}' since {t.get('since', '?')}" for t in target),
                      sorted({t.get("source", "") for t in target} - {""}))]
        mine = chip["name"].lower() in your_chips
        for cell in cells:
            cell.mine = mine
        rows.append((chip["name"], cells, mine))
    return Table("Chips and target platforms", ["NPU", "driver", "runtime library", "target platform"], rows, [False] * 4)


def build_view(matrix, facts: dict | None = None, line: str | None = None) -> list[LineView]:
    yours = yours_from_facts(facts)
    views = []
    for key, packages in LINES.items():
        if line and key != line:
            continue
        views.append(LineView(key, LINE_TITLES[key], [
            _wheel_table(matrix, packages, yours),
            _framework_table(matrix, packages, yours),
            _board_table(matrix, packages, yours),
            _chip_table(matrix, packages[0], yours),
        ]))
    return views
