"""The installed toolkit judged by its own METADATA: the Requires-Dist closure.

pip installs a toolkit's Requires-Dist and pip refuses (or `pip check` reports) an environment
that violates it; an environment built with `--no-deps`, or changed afterwards, breaks at
`import rknn.api` or later. So for the installed toolkit every Requires-Dist line is read from
the facts (`host.requires_dist`, written by the probe), markers are evaluated for the judged
interpreter (`host.python.marker_env`), and the walk goes on through each installed dependency's
own Requires-Dist (torch's too). Extras are followed only where a requirement names them
(`foo[bar]` evaluates foo's `extra == "bar"` lines), as pip does.

Pure: facts in, Checks out. Lines are read by rules/markers.py (packaging's PEP 508 parser costs
12-30 ms to import, as much as the walk); packaging's parser is the fallback for what that
reader does not understand.
"""
from __future__ import annotations

from functools import lru_cache

from rknn_envcheck.records import dataclass
from rknn_envcheck.report import FAIL, OK, UNKNOWN, Check, Fix
from rknn_envcheck.rules.markers import Marker, split_line
from rknn_envcheck.rules.toolkit import canonical_name
from rknn_envcheck.shellcmd import cmd
from rknn_envcheck.versions import specifier, split_requirement, try_parse

TITLE = "Toolkit requirements (its METADATA Requires-Dist)"


def _source(declarers) -> str:
    """Citations of the declaring distributions' METADATA (matrices/documents.toml `PyPI:<name>==<version>`)."""
    seen: list = []
    for name, version in declarers:
        text = f"PyPI:{name}=={version} METADATA Requires-Dist"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen)


@dataclass(frozen=True)
class Requirement:
    """One Requires-Dist line, parsed."""

    line: str
    name: str  # canonical
    specifier: object  # packaging SpecifierSet
    extras: frozenset
    marker: object | None  # packaging Marker


@dataclass(frozen=True)
class Need:
    """A requirement that applies to the judged interpreter, and who declares it."""

    declarer: str
    declarer_version: str
    requirement: Requirement

    def said(self) -> str:
        who = f"{self.declarer} {self.declarer_version}" if str(self.declarer_version).strip() else self.declarer
        return f"{who} requires `{self.requirement.line}`"


def _is_plain(line: str) -> bool:
    return not any(ch in line for ch in ";[@(")


@lru_cache(maxsize=4096)
def parse_requirement(line: str) -> Requirement:
    """A Requires-Dist line, or ValueError naming it. Read by rules/markers.py; what that reader
    does not understand goes to packaging's own PEP 508 parser (imported only then)."""
    try:
        if _is_plain(line):
            name, spec = split_requirement(line)
            return Requirement(line, canonical_name(name), spec, frozenset(), None)
        name, extras, spec_text, marker_text = split_line(line)
        return Requirement(line, canonical_name(name), specifier(spec_text), extras, Marker(marker_text) if marker_text else None)
    except ValueError:  # markers.Unsupported included
        pass
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as Pep508

    try:
        req = Pep508(line)
    except InvalidRequirement as exc:
        raise ValueError(f"{line!r} is not a PEP 508 requirement: {exc}") from None
    return Requirement(line, canonical_name(req.name), req.specifier, frozenset(canonical_name(e) for e in req.extras), req.marker)


def _applies(req: Requirement, marker_env: dict | None, extra: str) -> bool | None:
    """Does the line apply for this interpreter (and this requested extra)? None: cannot tell."""
    if req.marker is None:
        return extra == ""  # a plain line is taken once, with the base requirements
    if marker_env is None and not isinstance(req.marker, Marker):
        return None  # packaging's Marker would fill the gaps from *this* interpreter, not the judged one
    env = dict(marker_env or {})
    env["extra"] = extra
    try:
        if isinstance(req.marker, Marker):
            return req.marker.decide(env)
        return bool(req.marker.evaluate(env))
    except Exception:  # a variable the facts lack (KeyError), packaging's UndefinedComparison and friends
        return None


@dataclass
class Closure:
    needs: list  # [Need] in walk order (the toolkit's own lines first)
    undecided: list  # [(declarer, line, why)]
    visited: list  # canonical names of installed distributions walked


def walk(root: str, packages: dict, requires_dist: dict, marker_env: dict | None) -> Closure:
    """Every Requires-Dist line reachable from `root` that applies to the judged interpreter."""
    closure = Closure([], [], [])
    taken: set = set()  # (dist, line index) already accepted
    done: set = set()  # (dist, extra) already evaluated
    queue = [(root, "")]
    while queue:
        dist, extra = queue.pop(0)
        if (dist, extra) in done or dist not in packages:
            continue
        done.add((dist, extra))
        if extra == "":
            closure.visited.append(dist)
        for index, line in enumerate(requires_dist.get(dist) or ()):
            if (dist, index) in taken:
                continue
            try:
                req = parse_requirement(line)
            except ValueError as exc:
                if extra == "":
                    closure.undecided.append((dist, line, str(exc)))
                continue
            applies = _applies(req, marker_env, extra)
            if applies is None:
                if extra == "":
                    closure.undecided.append((dist, line, "its marker could not be evaluated (host.python.marker_env was not observed)"
                                              if marker_env is None else "its marker could not be evaluated"))
                continue
            if not applies:
                continue
            taken.add((dist, index))
            closure.needs.append(Need(dist, packages[dist], req))
            queue.append((req.name, ""))
            queue.extend((req.name, e) for e in sorted(req.extras))
    return closure


def _how(host: dict, needs: list, name: str, installed: bool) -> str:
    locations = host.get("package_locations") or {}
    declarers = []
    for need in needs:
        text = f"{need.declarer}'s METADATA" + (f" in {locations[need.declarer]}" if need.declarer in locations else "")
        if text not in declarers:
            declarers.append(text)
    seen = (f"{name}'s installed metadata" + (f" in {locations[name]}" if name in locations else "")) if installed \
        else f"no {name} *.dist-info/*.egg-info on sys.path"
    return f"Requires-Dist of {', '.join(declarers[:3])}; {seen}"


def _pip(host: dict, *args: str):
    exe = (host.get("python") or {}).get("executable") or "python3"
    return cmd(exe, "-m", "pip", *args)


def simplest(specifiers) -> str:
    """One specifier string for several ranges at once, the tightest bound of each side kept:
    `>=4.21.6,<=4.25.4` and `>=4.25.1` → `>=4.25.1,<=4.25.4` (exact and other clauses kept)."""
    lower = upper = None
    rest: list = []
    for spec_set in specifiers:
        for spec in spec_set:
            op = spec.operator
            version = try_parse(spec.version) if op in (">=", ">", "<=", "<") else None
            if version is None:
                if str(spec) not in rest:
                    rest.append(str(spec))
            elif op in (">=", ">"):
                if lower is None or version > lower[0] or (version == lower[0] and op == ">"):
                    lower = (version, str(spec))
            elif upper is None or version < upper[0] or (version == upper[0] and op == "<"):
                upper = (version, str(spec))
    return ",".join([b[1] for b in (lower, upper) if b] + rest)


def _combined(needs: list) -> str:
    """`name[extras]spec` satisfying every declarer at once (what the fix installs)."""
    extras: set = set()
    for need in needs:
        extras |= need.requirement.extras
    name = needs[0].requirement.name
    spec = simplest(n.requirement.specifier for n in needs)
    return f"{name}{'[' + ','.join(sorted(extras)) + ']' if extras else ''}{spec}"


def _install(host: dict, text: str, needs: list, *pip_flags: str) -> Fix:
    """The pip command that meets every declarer at once — or, when their ranges do not meet
    (`numpy<2` from one, `numpy>=2` from another), the reason no command can: a pin nothing
    satisfies would only make pip fail."""
    from rknn_envcheck.versions import satisfiable

    combined = _combined(needs)
    if satisfiable(simplest(n.requirement.specifier for n in needs)):
        return Fix(text, [_pip(host, "install", *pip_flags, combined)])
    name = needs[0].requirement.name
    return Fix(f"no {name} version satisfies every declarer ({'; '.join(f'{n.declarer}: {n.requirement.line}' for n in needs[:6])}): "
               f"upgrade or remove the declarer that disagrees with {needs[0].declarer}, then install {name} in its range")


def _others(needs: list) -> str:
    rest = needs[1:]
    if not rest:
        return ""
    return "; also " + "; ".join(n.said() for n in rest[:5]) + (f" and {len(rest) - 5} more" if len(rest) > 5 else "")


def closure_checks(host: dict, package: str, version: str) -> list[Check]:
    """Checks of the installed toolkit's Requires-Dist closure; [] when the facts cannot say.

    One `host.requirement.<dist>` fail per required distribution that is missing or whose
    installed version violates a line, naming every line and declarer; one `host.requirements`
    summary (ok, or unknown for lines that could not be evaluated)."""
    label = f"{package} {version}" if str(version).strip() else package  # an empty version string (broken metadata) reads as the name alone
    how = (host.get("how") or {}).get("requires_dist", "Requires-Dist of the installed distributions' METADATA")
    if "requires_dist" not in host:
        exe = (host.get("python") or {}).get("executable")
        observe = cmd("rknn-envcheck", "host", *(["--python", exe] if exe else []), "--save-facts", "facts.json")
        return [Check("host.requirements", TITLE, UNKNOWN, component=package, observed="not observed",
                      how="host.requires_dist is missing from the facts (saved by an older rknn-envcheck, or written by hand)",
                      expected=f"every Requires-Dist line of {label} and of what it needs met", source=_source([(package, version)]),
                      message=f"the facts do not hold the installed distributions' Requires-Dist, so whether {label}'s "
                              "dependencies are installed and in range was not checked",
                      fix=Fix("re-observe the environment with this rknn-envcheck (it reads every METADATA's Requires-Dist)", [observe]))]
    packages = {canonical_name(k): v for k, v in (host.get("packages") or {}).items()}
    requires = {canonical_name(k): v for k, v in (host.get("requires_dist") or {}).items()}
    marker_env = (host.get("python") or {}).get("marker_env")
    closure = walk(package, packages, requires, marker_env if isinstance(marker_env, dict) else None)
    by_name: dict[str, list] = {}
    for need in closure.needs:
        by_name.setdefault(need.requirement.name, []).append(need)
    checks: list[Check] = []
    for name, needs in by_name.items():
        installed = packages.get(name)
        title = f"{name} (needed by {label})"
        if installed is None:
            first = needs[0]
            checks.append(Check(
                f"host.requirement.{name}", title, FAIL, component=name, observed="not installed", how=_how(host, needs, name, False),
                expected="; ".join(f"`{n.requirement.line}` ({n.declarer})" for n in needs), source=_source((n.declarer, n.declarer_version) for n in needs),
                message=f"{first.said()} (its METADATA Requires-Dist); {name} is not installed{_others(needs)} — "
                        f"the import fails (installed with --no-deps, or uninstalled since?)",
                fix=_install(host, f"install {name} in the range every declarer accepts", needs)))
            continue
        version_of_dep = try_parse(installed)
        if version_of_dep is None:
            checks.append(Check(f"host.requirement.{name}", title, UNKNOWN, component=name, observed=f"{name} {installed}", how=_how(host, needs, name, True),
                                expected="; ".join(n.requirement.line for n in needs), source=_source((n.declarer, n.declarer_version) for n in needs),
                                message=f"the installed version {installed!r} of {name} does not parse, so `{needs[0].requirement.line}` cannot be compared",
                                fix=_install(host, f"reinstall a released {name}", needs, "--force-reinstall")))
            continue
        failing = [n for n in needs if not n.requirement.specifier.contains(version_of_dep, prereleases=True)]
        if failing:
            checks.append(Check(
                f"host.requirement.{name}", title, FAIL, component=name, observed=f"{name} {installed}", how=_how(host, failing, name, True),
                expected="; ".join(f"`{n.requirement.line}` ({n.declarer})" for n in failing), source=_source((n.declarer, n.declarer_version) for n in failing),
                message=f"{failing[0].said()} (its METADATA Requires-Dist); {name} {installed} is installed{_others(failing)} — "
                        "pip reports this conflict and the toolkit may fail to import or behave wrongly",
                fix=_install(host, f"install the {name} version every declarer accepts", needs)))
    problems = [c for c in checks if c.status != OK]
    python = (marker_env or {}).get("python_version") if isinstance(marker_env, dict) else None
    where = f" (markers evaluated for Python {python} on {marker_env.get('sys_platform')} {marker_env.get('platform_machine')})" if python else ""
    own = len(requires.get(package) or ())
    if closure.undecided:
        lines = "; ".join(f"{d}: `{line}` ({why})" for d, line, why in closure.undecided[:5])
        exe = (host.get("python") or {}).get("executable")
        checks.append(Check("host.requirements", TITLE, UNKNOWN, component=package, observed=f"{len(closure.undecided)} line(s) not evaluated",
                            how=how, source=_source([(package, version)]),
                            message=f"{len(closure.undecided)} Requires-Dist line(s) in {label}'s dependency closure could not be judged: {lines}",
                            fix=Fix("re-observe the environment with this rknn-envcheck (it records the interpreter's marker environment)",
                                    [cmd("rknn-envcheck", "host", *(["--python", exe] if exe else []), "--save-facts", "facts.json")])))
    elif not problems:
        checks.append(Check("host.requirements", TITLE, OK, component=package,
                            observed=f"{len(closure.needs)} requirement line(s) over {len(closure.visited)} distribution(s)", how=how,
                            expected=f"every Requires-Dist line of {label} ({own} of its own) and of what it needs met", source=_source([(package, version)]),
                            message=(f"{label} and the {len(closure.visited) - 1} installed distributions it needs declare "
                                     f"{len(closure.needs)} applicable requirement(s); all are installed and in range{where}"
                                     if own else f"{label}'s METADATA declares no Requires-Dist; pip installs nothing with it")))
    return checks
