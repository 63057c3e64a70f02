"""The resolver: the rules run backwards. From what is fixed (a toolkit, or a board's chip and
runtime; the host's Python and platform) to the toolkit releases that fit, the recommended one,
the framework versions that go with it, and for every rejected candidate the reason."""
from __future__ import annotations

import platform as _platform
import sys
from rknn_envcheck.records import dataclass, field

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
    # Where the wheel for the judged Python/platform comes from: "pypi", or "vendor" (only the
    # vendor's repository has it: pip cannot resolve `package==version` for this Python).
    install_from: str = ""
    vendor_files: list[str] = field(default_factory=list)      # exact wheel file names
    vendor_downloads: list[str] = field(default_factory=list)  # where to get them
    pypi_alternatives: list[str] = field(default_factory=list)  # same-series releases PyPI has for this Python
    not_recommended: str = ""  # why a fitting release newer than the recommended one is not it


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
        cand.wheel_source = "; ".join(sorted({_cited(matrix, r.get("source", "")) for r in rows if platform == r["platform"]}))
        _install_source(matrix, cand, rows, python, platform)
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
                cand.reasons.append(f"the board's librknn_runtime {runtime} is a different release (RKNN-Toolkit Troubleshooting Guide 1.7.5 §2: use the same version of RKNN Toolkit and RKNPU)")
        elif public(version) > public(runtime):
            cand.fits = False
            cand.reasons.append(f"newer than the board's runtime {runtime}: models it builds may not load there (RKNPU Quick Start RKNN SDK 1.6.0 §3.4.2: runtime >= toolkit)")
    for row in framework_rows(matrix, package, version):
        cand.frameworks.append({"framework": row["framework"], "supported": row["supported"], "specifier": row.get("specifier", ""),
                                "detail": row.get("detail", ""), "source": row.get("source", "")})


def _python_tag(python: str) -> str:
    return "-cp" + python.replace(".", "") + "-"


def _install_source(matrix, cand: Candidate, rows: list[dict], python: str, platform: str) -> None:
    """PyPI or the vendor's file, per wheel row: a release on PyPI may still lack this Python's
    build there (rknn-toolkit2 2.2.0: no cp38 on PyPI, the vendor's tree has it, PyPI's cp38 is 2.2.1).
    A row without `on_pypi` (hand-written toolkit v1 rows) takes the release's."""
    from rknn_envcheck.rules.toolkit import on_pypi

    release_on_pypi = on_pypi(matrix, cand.package, cand.version)
    here = [r for r in rows if r["platform"] == platform and python in r["python"]]
    if any(r.get("on_pypi", release_on_pypi) for r in here):
        cand.install_from = "pypi"
        return
    cand.install_from = "vendor"
    tag = _python_tag(python)
    for row in here:
        for index, name in enumerate(row.get("files") or []):
            if tag in name:
                cand.vendor_files.append(name)
                downloads = row.get("download") or []
                if index < len(downloads):
                    cand.vendor_downloads.append(downloads[index])
    series = public(cand.version).release[:2]
    for other in matrix.releases(cand.package):
        if other == cand.version or public(other).release[:2] != series:
            continue
        others = [r for r in wheel_rows(matrix, cand.package, other) if r["platform"] == platform and python in r["python"]]
        if any(r.get("on_pypi", on_pypi(matrix, cand.package, other)) for r in others):
            cand.pypi_alternatives.append(other)


def vendor_wheel_note(cand: Candidate, python: str, platform: str) -> str:
    """One sentence: this release is not on PyPI for this Python/platform, and what to do instead."""
    from rknn_envcheck.rules.toolkit import RELEASE_PAGES

    text = f"{cand.package} {cand.version} has no wheel for Python {python} on {platform} on PyPI: install the vendor's wheel"
    if cand.vendor_files:
        text += f" {cand.vendor_files[0]}"
    text += f" from {cand.vendor_downloads[0] if cand.vendor_downloads else RELEASE_PAGES.get(cand.package, 'the vendor')}"
    if cand.pypi_alternatives:
        text += f" (PyPI's build of this series for Python {python}: {', '.join(f'{cand.package}=={v}' for v in cand.pypi_alternatives)})"
    return text


def recommend(cands: list[Candidate], matrix) -> Candidate | None:
    """The newest fitting release that is stable, has a published board runtime and installs from
    PyPI for the judged Python/platform — relaxing those in that order when nothing meets them.
    Every fitting release newer than the one chosen gets its `not_recommended` reason."""
    fitting = [c for c in cands if c.fits]
    if not fitting:
        return None
    # A release whose board runtime was never published cannot meet the vendor's "same version
    # on PC and board" rule (toolkit2.md §3.1), so it is recommended only when nothing else fits.
    no_runtime = {(r["package"], public(r["version"])) for r in matrix.rows("release") if r.get("runtime_published") is False}

    def why_not(c: Candidate) -> str:
        reasons = []
        if parse_version(c.version).is_prerelease:
            reasons.append("a pre-release")
        if (c.package, public(c.version)) in no_runtime:
            reasons.append(f"Rockchip published no board runtime / rknn_server {public(c.version)}, so the board cannot run the same version "
                           f"(matrix [[release]] runtime_published = false; no rknpu2 runtime of that release in airockchip/rknn-toolkit2)")
        if c.install_from == "vendor":
            reasons.append("not on PyPI for this Python and platform (only the vendor's wheel file)")
        return "; ".join(reasons)

    best = None
    for strict in (3, 2, 1, 0):
        pool = [c for c in fitting if not why_not(c)] if strict == 3 else \
               [c for c in fitting if not parse_version(c.version).is_prerelease and (c.package, public(c.version)) not in no_runtime] if strict == 2 else \
               [c for c in fitting if not parse_version(c.version).is_prerelease] if strict == 1 else fitting
        if pool:
            best = max(pool, key=lambda c: parse_version(c.version))
            break
    for c in fitting:
        if c is not best and parse_version(c.version) > parse_version(best.version):
            c.not_recommended = why_not(c) or "not preferred"
    return best


# ---- constraints -------------------------------------------------------------------------------

_LOWER, _UPPER = (">=", ">"), ("<=", "<")


def simplify_specifier(spec) -> str:
    """The same set of versions, written short: the tightest lower and upper bound, an exact pin
    alone when it satisfies the rest (`>=1.16.1,<=1.17.0`, not `<=1.17.0,>=1.16.1,>=1.7.0`).
    A contradictory set is kept whole, so pip's refusal names every part."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import InvalidVersion, Version

    spec = SpecifierSet(str(spec))
    lower = upper = None
    exact, others = [], []
    for item in spec:
        try:
            version = Version(item.version)
        except InvalidVersion:  # wildcards (==1.14.*) and arbitrary equality: kept as written
            others.append(str(item))
            continue
        if item.operator in _LOWER:
            inclusive = item.operator == ">="
            if lower is None or version > lower[0] or (version == lower[0] and not inclusive):
                lower = (version, inclusive, str(item))
        elif item.operator in _UPPER:
            inclusive = item.operator == "<="
            if upper is None or version < upper[0] or (version == upper[0] and not inclusive):
                upper = (version, inclusive, str(item))
        elif item.operator == "==":
            exact.append(item)
        else:
            others.append(str(item))
    if exact:
        pins = {Version(e.version) for e in exact}
        if len(pins) == 1 and spec.contains(exact[0].version, prereleases=True):
            return str(exact[0])
        return ",".join(sorted(str(x) for x in spec))
    if lower and upper and (lower[0] > upper[0] or (lower[0] == upper[0] and not (lower[1] and upper[1]))):
        return ",".join(sorted(str(x) for x in spec))
    kept = [b[2] for b in (lower, upper) if b]
    # != and ~= only where they still exclude something inside the bounds
    bounds = SpecifierSet(",".join(kept))
    for other in sorted(set(others)):
        if not other.startswith("!=") or bounds.contains(other[2:], prereleases=True):
            kept.append(other)
    return ",".join(kept)


def _cited(matrix, source: str) -> str:
    """A row's source as the documents a user can open (title, version, section, URL)."""
    from rknn_envcheck.citations import Registry

    registry = getattr(matrix, "_registry", None)
    if registry is None:
        registry = Registry.from_matrix(matrix)
        try:
            matrix._registry = registry
        except AttributeError:
            pass
    return registry.text(source) if source else ""


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
        note = f"; vendor requirements pin {', '.join(sorted({simplify_specifier(p) for p in pins}))}" if pins else ""
        lines.append((f"{framework}{simplify_specifier(spec)}", f"{why}: {_cited(matrix, row.get('source', ''))}{note}"))
    for dist, items in sorted(by_dist.items()):
        best = min(p for p, _r, _row in items)
        chosen = [(r, row) for p, r, row in items if p == best]
        spec = SpecifierSet()
        for req, _row in chosen:
            spec &= req.specifier
        name = chosen[0][0].name
        sources = sorted({_cited(matrix, row.get("source", "")) for _r, row in chosen})
        kind = chosen[0][1]["kind"]
        lines.append((f"{name}{simplify_specifier(spec)}", f"{kind}: {'; '.join(sources)}"))
    lines += _pitfall_needs(matrix, package, version, {canonical_name(line.split("<")[0].split(">")[0].split("=")[0].split("!")[0]) for line, _c in lines})
    return lines


def _pitfall_needs(matrix, package: str, version: str, pinned: set) -> list[tuple[str, str]]:
    """A pitfall that needs a distribution in a range the wheels do not declare (`when.needs`,
    e.g. setuptools<82 for the releases whose RKNN() imports pkg_resources) is a constraint too:
    pip would otherwise resolve a setuptools without pkg_resources (torch pulls in a new one)."""
    from rknn_envcheck.versions import MatrixRequirement, in_versions

    out = []
    for row in matrix.rows("pitfall", package):
        needs = (row.get("when") or {}).get("needs")
        if not needs or (row.get("versions") and not in_versions(version, row["versions"])):
            continue
        req = MatrixRequirement(needs)
        if canonical_name(req.name) in pinned:
            continue
        out.append((f"{req.name}{simplify_specifier(str(req.specifier))}", f"pitfall '{row['id']}': {row.get('title', '')}"))
    return out


def install_argv(cand: Candidate, python: str = "", platform: str = "") -> list[str]:
    """What `pip install -c THIS_FILE` installs: the release from PyPI, or the vendor's wheel file
    (downloaded beside the constraints file) where PyPI has no build for this Python/platform.
    Without a recorded file name (hand-written toolkit v1 rows) the PEP 427 name is spelled out."""
    if cand.install_from == "vendor":
        name = cand.vendor_files[0] if cand.vendor_files else ""
        if not name:
            tag = "cp" + python.replace(".", "") if python else "cpXY"
            abi = tag + ("m" if python and tuple(map(int, python.split("."))) < (3, 8) else "")
            name = f"{cand.package.replace('-', '_')}-{cand.version}-{tag}-{abi}-{platform or 'PLATFORM'}.whl"
        return [f"./{name}"]
    return [f"{cand.package}=={cand.version}"]


def render_constraints(matrix, package: str, version: str, python: str, platform: str, written: str, cand: Candidate | None = None) -> str:
    from rknn_envcheck.shellcmd import cmd

    if cand is None:
        cand = Candidate(package, version)
        _judge_candidate(matrix, cand, None, None, python, platform)
    use = cmd("pip", "install", "-c", "THIS_FILE", *install_argv(cand, python, platform))
    header = [
        f"# Constraints for {package}=={version} on Python {python}, {platform}",
        f"# written by rknn-envcheck from matrix {matrix.version} ({matrix.date}) on {written}",
    ]
    if cand.install_from == "vendor":
        header.append(f"# {vendor_wheel_note(cand, python, platform)}")
        if cand.vendor_downloads:
            header.append(f"# get: {cmd('curl', '-fLO', cand.vendor_downloads[0]).display()}")
    header += [
        f"# use: {use.display()}   (or: uv {use.display()})",
        "# A constraint only limits versions; it installs nothing by itself.",
    ]
    if any(c in version for c in "+-_"):
        header.append(f"# {package} {version} has a non-PEP 440 / local version: install its wheel file directly (pip >= 24.1 refuses the name==version form)")
    body = [f"{req:<40} # {comment}" for req, comment in constraint_lines(matrix, package, version, python, platform)]
    return "\n".join(header + body) + "\n"
