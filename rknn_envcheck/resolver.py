"""The resolver: the rules run backwards. From what is fixed (a toolkit, or a board's chip and
runtime; the host's Python and platform) to the toolkit releases that fit, the recommended one,
the framework versions that go with it, and for every rejected candidate the reason."""
from __future__ import annotations

import platform as _platform
import sys
from dataclasses import dataclass, field

from rknn_envcheck.errors import UsageError
from rknn_envcheck.rules.toolkit import LINE_OF, canonical_name, framework_rows, requirement_rows, wheel_rows
from rknn_envcheck.versions import parse_version, public, try_parse

FRAMEWORKS = ("tensorflow", "torch", "onnx", "mxnet", "keras")
KIND_PRIORITY = {"requires-dist": 0, "requirements-file": 1, "user-guide": 2}


@dataclass
class Candidate:
    package: str
    version: str
    fits: bool = True
    reasons: list[str] = field(default_factory=list)
    wheel_source: str = ""
    frameworks: list[dict] = field(default_factory=list)


def default_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def default_platform() -> str:
    from rknn_envcheck.rules.toolkit import host_platform

    os_name = {"Linux": "linux", "Darwin": "darwin", "Windows": "windows"}.get(_platform.system(), _platform.system().lower())
    return host_platform({"os": os_name, "arch": _platform.machine()}) or "linux_x86_64"


def check_python(text: str) -> str:
    parts = text.split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise UsageError(f"--python {text!r}: give the Python version as X.Y, e.g. 3.8")
    return text


def check_platform(text: str) -> str:
    from rknn_envcheck.matrix import PLATFORMS

    if text not in PLATFORMS:
        raise UsageError(f"--platform {text!r}: expected one of {', '.join(PLATFORMS)}")
    return text


def _chip_targets(matrix, package: str, chip: dict) -> str | None:
    """The first toolkit release whose models run on the chip (None: none does).

    Toolkit v1 got `target_platform` in 1.3.2; before it every model was built for the default
    rk1808 and ran on the whole LION family (RK1806/RK1808/RK3399Pro, UG-1.7.5 §7.2), so for those
    chips the first release counts, not the parameter's `since`."""
    names = {chip["name"].lower(), *(a.lower() for a in chip.get("aliases", []))}
    rows = [r for r in matrix.rows("target_platform", package) if r["name"].lower() in names]
    if not rows:
        return None
    if package == "rknn-toolkit" and any(r.get("family") == "LION" for r in rows):
        releases = matrix.releases(package)
        return min(releases, key=parse_version) if releases else None
    return min((r["since"] for r in rows), key=parse_version)


def candidates_for(matrix, *, toolkit=None, chip_name=None, runtime=None, python=None, platform=None) -> tuple[list[Candidate], dict]:
    python = check_python(python) if python else default_python()
    platform = check_platform(platform) if platform else default_platform()
    inputs = {"python": python, "platform": platform}
    chip = None
    if chip_name:
        chip = matrix.chip(chip_name)
        if chip is None:
            known = ", ".join(sorted(r["name"] for r in matrix.rows("chip")))
            raise UsageError(f"--chip {chip_name!r} is not a known chip; known: {known}")
        inputs["chip"] = chip["name"]
    if runtime:
        if try_parse(runtime) is None:
            raise UsageError(f"--runtime {runtime!r} is not a version (the board's librknnrt / librknn_runtime version, e.g. 1.5.2)")
        inputs["runtime"] = runtime
    if toolkit:
        from rknn_envcheck.rules.toolkit import parse_toolkit_option

        package, version = parse_toolkit_option(toolkit, matrix)
        inputs["toolkit"] = f"{package}=={version}"
        pool = [(package, version)]
    else:
        package = chip["line"] if chip else "rknn-toolkit2"
        pool = [(package, v) for v in matrix.releases(package)]
    out = []
    for package, version in pool:
        cand = Candidate(package, version)
        _judge_candidate(matrix, cand, chip, runtime, python, platform)
        out.append(cand)
    out.sort(key=lambda c: parse_version(c.version), reverse=True)
    return out, inputs


def _judge_candidate(matrix, cand: Candidate, chip, runtime, python, platform) -> None:
    package, version = cand.package, cand.version
    if not matrix.is_release(package, version):
        cand.fits = False
        cand.reasons.append(f"{package} {version} is not a release in matrix {matrix.version}")
        return
    rows = wheel_rows(matrix, package, version)
    offered = {(r["platform"], py) for r in rows for py in r["python"]}
    if (platform, python) in offered:
        cand.wheel_source = "; ".join(sorted({r.get("source", "") for r in rows if platform == r["platform"]}))
    else:
        here = sorted({py for plat, py in offered if plat == platform}, key=lambda v: tuple(map(int, v.split("."))))
        cand.fits = False
        if here:
            cand.reasons.append(f"{package} {version} has no wheel for Python {python} on {platform} (only Python {', '.join(here)})")
        elif offered:
            cand.reasons.append(f"{package} {version} has no wheel for {platform} (only {', '.join(sorted({p for p, _ in offered}))})")
        else:
            cand.reasons.append(f"matrix {matrix.version} lists no wheels for {package} {version}")
    if chip is not None:
        if LINE_OF[package] != chip["line"]:
            cand.fits = False
            cand.reasons.append(f"{chip['name']} needs {chip['line']}, not {package}")
        else:
            since = _chip_targets(matrix, package, chip)
            if since is None:
                cand.fits = False
                cand.reasons.append(f"no {package} release accepts target_platform {chip['name'].lower()}")
            elif parse_version(version) < parse_version(since):
                cand.fits = False
                cand.reasons.append(f"{chip['name'].lower()} is a valid target_platform only from {package} {since}")
    if runtime is not None:
        line = LINE_OF[package]
        if line == "rknn-toolkit":
            if public(runtime).release[:3] != public(version).release[:3]:
                cand.fits = False
                cand.reasons.append(f"the board's librknn_runtime {runtime} is a different release (toolkit1.md §3.1: use the same version of RKNN Toolkit and RKNPU)")
        elif public(version) > public(runtime):
            cand.fits = False
            cand.reasons.append(f"newer than the board's runtime {runtime}: models it builds may not load there (toolkit2.md §3.2: runtime >= toolkit)")
    for row in framework_rows(matrix, package, version):
        cand.frameworks.append({"framework": row["framework"], "supported": row["supported"], "specifier": row.get("specifier", ""),
                                "detail": row.get("detail", ""), "source": row.get("source", "")})


def recommend(cands: list[Candidate], matrix) -> Candidate | None:
    fitting = [c for c in cands if c.fits]
    if not fitting:
        return None
    on_pypi = {(r["package"], r["version"]) for r in matrix.rows("release") if r.get("on_pypi")}
    # A release whose board runtime was never published cannot meet the vendor's "same version
    # on PC and board" rule (toolkit2.md §3.1), so it is recommended only when nothing else fits.
    no_runtime = {(r["package"], r["version"]) for r in matrix.rows("release") if r.get("runtime_published") is False}
    stable = [c for c in fitting if not parse_version(c.version).is_prerelease]
    matchable = [c for c in stable if (c.package, c.version) not in no_runtime]
    for pool in ([c for c in matchable if (c.package, c.version) in on_pypi], matchable, stable, fitting):
        if pool:
            return max(pool, key=lambda c: parse_version(c.version))
    return None


# ---- constraints -------------------------------------------------------------------------------

def constraint_lines(matrix, package: str, version: str, python: str, platform: str) -> list[tuple[str, str]]:
    """(requirement, source comment) per distribution.

    Per distribution the strongest evidence wins: what the wheel's metadata makes pip enforce,
    then the vendor's requirements file, then the user guide; the deep-learning frameworks follow
    versions.framework_range (the supported-version table, unless the requirements contradict it).
    """
    from packaging.specifiers import SpecifierSet

    from rknn_envcheck.versions import MatrixRequirement, framework_range

    by_dist: dict[str, list[tuple[int, MatrixRequirement, dict]]] = {}
    for row in requirement_rows(matrix, package, version, python, platform):
        req = MatrixRequirement(row["requirement"])
        by_dist.setdefault(canonical_name(req.name), []).append((KIND_PRIORITY[row["kind"]], req, row))
    lines: list[tuple[str, str]] = []
    if "+" not in version and "-" not in version and "_" not in version:
        lines.append((f"{package}=={version}", "the toolkit itself"))
    frameworks = {row["framework"]: row for row in framework_rows(matrix, package, version)}
    for framework, row in sorted(frameworks.items()):
        if framework not in FRAMEWORKS or not row.get("supported") or not row.get("specifier"):
            continue
        pins = [r.specifier for p, r, _row in by_dist.pop(framework, []) if p < KIND_PRIORITY["user-guide"]]
        spec, why = framework_range(row["specifier"], pins)
        note = f"; vendor requirements pin {', '.join(sorted({str(p) for p in pins}))}" if pins else ""
        lines.append((f"{framework}{spec}", f"{why}: {row.get('source', '')}{note}"))
    for dist, items in sorted(by_dist.items()):
        best = min(p for p, _r, _row in items)
        chosen = [(r, row) for p, r, row in items if p == best]
        spec = SpecifierSet()
        for req, _row in chosen:
            spec &= req.specifier
        name = chosen[0][0].name
        sources = sorted({row.get("source", "") for _r, row in chosen})
        kind = chosen[0][1]["kind"]
        lines.append((f"{name}{spec}", f"{kind}: {'; '.join(sources)}"))
    return lines


def render_constraints(matrix, package: str, version: str, python: str, platform: str, written: str) -> str:
    header = [
        f"# Constraints for {package}=={version} on Python {python}, {platform}",
        f"# written by rknn-envcheck from matrix {matrix.version} ({matrix.date}) on {written}",
        "# use: pip install -c THIS_FILE PACKAGES   or   uv pip install -c THIS_FILE PACKAGES",
        "# A constraint only limits versions; it installs nothing by itself.",
    ]
    if any(c in version for c in "+-_"):
        header.append(f"# {package} {version} has a non-PEP 440 / local version: install its wheel file directly (pip >= 24.1 refuses the name==version form)")
    body = [f"{req:<40} # {comment}" for req, comment in constraint_lines(matrix, package, version, python, platform)]
    return "\n".join(header + body) + "\n"
