"""Vendor version strings → comparable versions.

Rockchip writes versions several ways: PEP 440 (`2.3.2`, `2.0.0b0`), a PEP 440 local part
(`1.5.2+b642f30c`), a non-PEP 440 hash suffix (`1.4.0-22dcfef4`, wheel `1.4.0_22dcfef4`), a `v`
prefix (`v1.3.2`), four parts (`0.9.7.1`). Galcore driver versions (`6.4.6.5.351518`,
`6.4.3.p2.336687`) are not versions in this sense and are compared as exact strings elsewhere.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from packaging.version import Version

# The one parser for vendor version strings (the board's rknn_server/runtime, wheels' metadata,
# models' headers, logs). The spellings vendors use are recognised by the regexes below without
# importing `packaging` (~10 ms: a third of the model preflight's budget); packaging.version is
# imported only to validate anything else, and packaging.specifiers only where a specifier is
# needed (it pulls in packaging.tags, subprocess, platform and logging, ~25 ms).

# `1.7.5`, `2.0.0b0`, `1.6.0+81f21f4d`, `1.4.0-22dcfef4`: always valid PEP 440 once rewritten.
_COMMON = re.compile(r"^(?P<release>\d+(?:\.\d+)+)(?P<pre>(?:a|b|rc)\d+)?(?:\+(?P<local>[0-9a-z]+(?:\.[0-9a-z]+)*)|[-_](?P<hash>[0-9a-f]{6,40}))?$")
# The release numbers inside a longer text (`librknn_runtime version 1.7.5 (…)`).
_RELEASE_IN = re.compile(r"(?<![\d.])[vV]?(\d+\.\d+(?:\.\d+)?)")
# The version at the start of a longer text (`1.6.2-source_code`).
_LEADING = re.compile(r"^[vV]?(\d+(?:\.\d+)+(?:(?:a|b|rc)\d+)?)")

# `1.4.0-22dcfef4` / `1.4.0_22dcfef4`: a git hash glued on with - or _ (toolkit2 1.1–1.4 wheels).
_HASH_SUFFIX = re.compile(r"^(?P<base>\d+(?:\.\d+)+(?:(?:a|b|rc)\d+)?)[-_](?P<hash>[0-9a-f]{6,40})$", re.I)
# `1.6.0-rc` / `1.6.0-rc1` / `1.7.5-beta`: pre-release words with a dash.
_DASH_PRE = re.compile(r"^(?P<base>\d+(?:\.\d+)+)-(?P<pre>rc|beta|b|alpha|a)(?P<num>\d*)$", re.I)


def normalize(text: str) -> str:
    """Return the PEP 440 spelling of a vendor version string, or raise ValueError naming it."""
    if not isinstance(text, str):
        raise ValueError(f"version must be a string, got {type(text).__name__}")
    raw = text.strip()
    if not raw:
        raise ValueError("empty version string")
    candidate = raw[1:] if raw[:1] in ("v", "V") and raw[1:2].isdigit() else raw
    common = _COMMON.match(candidate)
    if common:
        release, pre, local, githash = common.group("release", "pre", "local", "hash")
        return release + (pre or "") + (f"+{local or githash}" if (local or githash) else "")
    match = _HASH_SUFFIX.match(candidate)
    if match:
        candidate = f"{match.group('base')}+{match.group('hash').lower()}"
    match = _DASH_PRE.match(candidate)
    if match:
        pre = {"beta": "b", "alpha": "a"}.get(match.group("pre").lower(), match.group("pre").lower())
        candidate = f"{match.group('base')}{pre}{match.group('num') or '0'}"
    from packaging.version import InvalidVersion, Version

    try:
        Version(candidate)
    except InvalidVersion:
        raise ValueError(f"{raw!r} is not a version (expected something like 1.7.5, 2.3.2, 2.0.0b0 or 1.4.0-22dcfef4)") from None
    return candidate


_NAME_SEPARATORS = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """PEP 503 normalisation: `rknn_toolkit2` and `RKNN-Toolkit2` are the same distribution."""
    return _NAME_SEPARATORS.sub("-", name).lower()


@lru_cache(maxsize=4096)
def parse_version(text: str) -> Version:
    """Parse a vendor version string; raise ValueError with the offending text."""
    from packaging.version import Version

    return Version(normalize(text))


@lru_cache(maxsize=4096)
def public(text: str) -> Version:
    """The version without its local part: `1.5.2+b642f30c` and `1.5.2` compare equal.
    Cached: every board compares the same few matrix versions (2,000 boards: 300,000 calls)."""
    from packaging.version import Version

    return Version(parse_version(text).public)


def leading_version(text: str) -> str | None:
    """The normalised version a text starts with (`1.6.2-source_code` → 1.6.2), else None."""
    try:
        return normalize(text)
    except (ValueError, TypeError):
        pass
    match = _LEADING.match(text.strip()) if isinstance(text, str) else None
    if not match:
        return None
    try:
        return normalize(match.group(1))
    except ValueError:
        return None


def release_numbers(text) -> tuple | None:
    """(major, minor, patch) of the first version inside `text`, zero-filled; no packaging import.
    For rules where only the release matters (pre-release and local parts ignored)."""
    if not text:
        return None
    match = _RELEASE_IN.search(str(text))
    if not match:
        return None
    return (tuple(int(x) for x in match.group(1).split(".")) + (0, 0))[:3]


def try_parse(text) -> Version | None:
    try:
        return parse_version(text)
    except (ValueError, TypeError):
        return None


@lru_cache(maxsize=1024)
def specifier(text: str):
    """A packaging SpecifierSet, or ValueError naming the text."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise ValueError(f"{text!r} is not a version specifier (expected e.g. '>=1.10.0,<=1.13.2')") from None


_SIMPLE_CLAUSE = re.compile(r"\s*(>=|<=|==|!=)\s*([0-9]+(?:\.[0-9]+)*)\s*")


@lru_cache(maxsize=1024)
def _simple_clauses(spec_text: str) -> tuple | None:
    """((operator, Version), …) when the specifier is only >=, <=, ==, != clauses on plain
    releases (most matrix rows), else None. For these PEP 440 is plain Version comparison, so
    they are judged without packaging.specifiers, whose import (packaging.tags, subprocess,
    logging: ~25-35 ms) was the largest single import of `explain` and `model`. Any other
    clause (<, >, ~=, wildcards, pre-release bounds) goes to packaging (tests compare both)."""
    from packaging.version import Version

    clauses = []
    for part in spec_text.split(","):
        match = _SIMPLE_CLAUSE.fullmatch(part)
        if match is None:
            return None
        clauses.append((match.group(1), Version(match.group(2))))
    return tuple(clauses)


def matches(version_text: str, spec_text: str) -> bool:
    """Does a vendor version fall in a specifier? Pre-releases count (2.0.0b0 is a real release)."""
    version = public(version_text)
    clauses = _simple_clauses(spec_text)
    if clauses is None:
        return specifier(spec_text).contains(version, prereleases=True)
    for operator, bound in clauses:
        if operator == ">=":
            ok = version >= bound
        elif operator == "<=":
            ok = version <= bound
        elif operator == "==":
            ok = version == bound
        else:
            ok = version != bound
        if not ok:
            return False
    return True


def in_versions(version_text: str, versions) -> bool:
    """`versions` is a matrix field: a list of exact versions or a specifier string."""
    if isinstance(versions, str):
        return matches(version_text, versions)
    wanted = public(version_text)
    return any(public(v) == wanted for v in versions)


def major_minor(text: str) -> tuple[int, int]:
    release = parse_version(text).release
    return (release[0], release[1] if len(release) > 1 else 0)


_REQUIREMENT = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<spec>.*?)\s*$")


@lru_cache(maxsize=2048)
def split_requirement(text: str) -> tuple:
    """`numpy<=1.26.4` → ("numpy", SpecifierSet("<=1.26.4")).

    Matrix requirements are validated as plain PEP 508 `name<spec>` (no extras, markers or URLs)
    when the matrix is loaded, so this cheap split is exact for them and spares every run the
    import and regex compilation of packaging.requirements.
    """
    match = _REQUIREMENT.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a requirement like 'numpy<=1.26.4'")
    return match.group("name"), specifier(match.group("spec"))


class MatrixRequirement:
    """A `[[requirement]]` row's requirement: name + specifier, printed as the vendor wrote it."""

    def __init__(self, text: str):
        self.text = text.strip()
        self.name, self.specifier = split_requirement(self.text)

    def __str__(self) -> str:
        return self.text


def framework_range(table_spec: str, pins: list) -> tuple[str, str]:
    """The range to hold a framework to, from the vendor's framework table and its requirement pins.

    The table is the supported range; a pin inside it is one choice, not the range (toolkit v1
    1.7.5: table TensorFlow >=1.10.0,<=2.2.0, requirements file tensorflow==1.14.0). A range pin
    narrows it. An exact pin outside the table means the vendor's own documents disagree (toolkit2
    1.5.2 on Python 3.8: table ONNX <=1.10.0, requirements onnx==1.14.0); then what the vendor's
    requirements install wins, since that is what the toolkit is built and tested with.
    Returns (specifier, why)."""
    table = specifier(table_spec)
    spec = table
    why = "the vendor's framework table"
    for pin in pins:
        exact = [s.version for s in pin if s.operator == "=="]
        if exact and not all(table.contains(v, prereleases=True) for v in exact):
            return str(pin), "the vendor's requirements file (it disagrees with the framework table; the pin is what the toolkit is built with)"
        if not exact:
            spec &= pin
            why = "the vendor's framework table narrowed by its requirements"
    return str(spec), why


# The one galcore version comparison (the board rule, the log diagnosis and the board parser use it).
def galcore_key(version: str) -> tuple[str, str] | None:
    """(major.minor.patch, build) of a galcore version, to compare kernel and user space:
    `6.4.6.5.351518` → ("6.4.6", "351518"); `6.4.0.227915` → ("6.4.0", "227915");
    libGAL's `6.4.6:351518` → ("6.4.6", "351518")."""
    if ":" in version:
        mmp, _, build = version.partition(":")
        return (mmp, build) if build.isdigit() else None
    parts = version.split(".")
    if len(parts) < 4 or not parts[-1].isdigit():
        return None
    return ".".join(parts[:3]), parts[-1]


def satisfiable(spec_text) -> bool:
    """Can any version satisfy a specifier (`>=1.16.1,<=1.11.0` cannot)? A fix must never pin an
    empty range. The versions that decide it are the bounds themselves and a point just above
    each (`1.11.0.0.1`), plus 0: a set of intervals is empty iff none of these is inside it."""
    spec = specifier(str(spec_text)) if not hasattr(spec_text, "contains") else spec_text
    from packaging.version import InvalidVersion, Version

    candidates = {Version("0")}
    for item in spec:
        base = item.version.rstrip(".*")
        try:
            bound = Version(base)
        except InvalidVersion:
            return True  # `===` arbitrary strings: pip decides
        candidates.update({bound, Version(f"{bound.base_version}.0.0.1"), Version(bound.base_version)})
        if len(bound.release) > 1:  # `~=1.4` / `<2`: a point inside the series below the bound
            candidates.add(Version(".".join(str(x) for x in bound.release[:-1]) + ".0"))
    return any(spec.contains(v, prereleases=True) for v in candidates)
