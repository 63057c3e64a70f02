"""The pitfall engine: matrices/pitfalls.toml [[pitfall]] rows matched against the host facts.

A row's `when` table names the bad case (a distribution in a range, an environment variable set,
gcc missing, …); each condition is True, False or None (the fact was not observed → `unknown`).
Pure functions: host facts + matrix → Checks (split out of rules/host.py, issue 13).
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, SKIPPED, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules.toolkit import canonical_name
from rknn_envcheck.shellcmd import cmd, from_data
from rknn_envcheck.versions import MatrixRequirement, in_versions, matches, public, try_parse
from rknn_envcheck.rules.host_common import how_package, installed_packages, pip_argv


def _condition_holds(key: str, value, host: dict, packages: dict) -> bool | None:
    """True/False, or None when the fact needed to decide was not observed."""
    if key == "always":
        return bool(value)
    if key == "os":
        return None if not host.get("os") else host["os"] in value
    if key == "arch":
        return None if not host.get("arch") else host["arch"].lower() in [a.lower() for a in value]
    if key == "python":
        pyver = (host.get("python") or {}).get("version")
        # `3.x` in a facts file is as good as missing: the row is undecided, never a crash.
        return None if try_parse(pyver) is None else matches(pyver, value)
    if key == "env_set":
        if "env" not in host:
            return None
        return value in (host.get("env") or {})
    if key == "env_unset":
        if "env" not in host:
            return None
        return value not in (host.get("env") or {})
    if key == "gcc":
        return None if "gcc" not in host else bool(host["gcc"]) == bool(value)
    if key == "dist_missing":
        return canonical_name(value) not in packages
    if key == "needs":
        req = MatrixRequirement(value)
        installed = packages.get(canonical_name(req.name))
        if installed is None:
            return True if "packages" in host else None  # missing does not satisfy it; no package list: cannot tell
        return None if try_parse(installed) is None else not req.specifier.contains(public(installed), prereleases=True)
    return None


def pitfall_applies(row: dict, host: dict, target, matrix=None) -> bool | None:
    """Does a [[pitfall]] row apply to this host? None = a needed fact is missing.

    A row about a toolkit (`package`) speaks for the releases the matrix knows: for a version that
    does not parse, or (given the matrix) a release it does not list (`--toolkit rknn-toolkit2==9.9`,
    a newer wheel), whether the row holds is unknown, never a fail."""
    if row.get("package") and (target is None or target[0] != row["package"]):
        return False
    environment = _environment_matches(row, host)
    if environment is False or not row.get("package"):
        return environment
    if try_parse(target[1]) is None:
        return None  # the toolkit's version does not parse: cannot tell
    if matrix is not None and not matrix.is_release(*target):
        return None  # a release the matrix does not list: its needs are unknown
    if row.get("versions") and not in_versions(target[1], row["versions"]):
        return False
    return environment


def _environment_matches(row: dict, host: dict) -> bool | None:
    """The row's `when` against the host facts (the toolkit release aside)."""
    packages = installed_packages(host)
    when = row["when"]
    undecided = False
    if "dist" in when:
        installed = packages.get(canonical_name(when["dist"]))
        if installed is None or try_parse(installed) is None:
            return False
        if when.get("specifier") and not matches(installed, when["specifier"]):
            return False
    for key, value in when.items():
        if key in ("dist", "specifier"):
            continue
        verdict = _condition_holds(key, value, host, packages)
        if verdict is False:
            return False
        if verdict is None:
            undecided = True
    return None if undecided else True


def check_pitfalls(host: dict, matrix, target):
    for row in matrix.rows("pitfall"):
        applies = pitfall_applies(row, host, target, matrix)
        if applies is False:
            continue
        level = row["level"]
        if applies is None:
            if level == "info":
                continue
            yield Check(f"pitfall.{row['id']}", row["title"], UNKNOWN, component=_pitfall_component(row), source=row.get("source", ""), how=_how_for(row, host, target),
                        message=f"could not tell whether this applies ({_why_undecided(row, host, target, matrix)}): {row['message']}",
                        expected=_expected_for(row["when"]), rule=f"{row.get('_file', 'pitfalls.toml')} [[pitfall]] {row['id']}", fix=Fix(row["fix"], _this_pip(host, row.get("commands", []))))
            continue
        status = {"fail": FAIL, "warn": WARN, "info": SKIPPED}[level]
        yield Check(f"pitfall.{row['id']}", row["title"], status, component=_pitfall_component(row), source=row.get("source", ""), observed=_observed_for(row, host),
                    how=_how_for(row, host, target),
                    expected=_expected_for(row["when"]), rule=f"{row.get('_file', 'pitfalls.toml')} [[pitfall]] {row['id']}", message=row["message"] + (" (advice)" if level == "info" else ""),
                    fix=Fix(row["fix"], _this_pip(host, row.get("commands", []))))


def _why_undecided(row: dict, host: dict, target, matrix) -> str:
    if row.get("package") and target and _environment_matches(row, host) is not None:
        if try_parse(target[1]) is None:
            return f"the {target[0]} version {target[1]!r} does not parse"
        return f"{target[0]} {target[1]} is not a release in matrix {matrix.version}, so its needs are unknown"
    return "a needed fact was not observed"


def _expected_for(when: dict) -> str:
    """A pitfall's `when` describes the bad case; say what a good environment looks like instead."""
    parts = []
    if "dist" in when:
        parts.append(_outside(canonical_name(when["dist"]), when["specifier"]) if when.get("specifier") else f"{canonical_name(when['dist'])} not installed")
    if "dist_missing" in when:
        parts.append(f"{canonical_name(when['dist_missing'])} installed")
    if "needs" in when:
        parts.append(f"{when['needs']} installed")
    if "env_unset" in when:
        parts.append(f"{when['env_unset']} set")
    if "env_set" in when:
        parts.append(f"{when['env_set']} not set")
    if "gcc" in when:
        parts.append("gcc on PATH" if not when["gcc"] else "no gcc needed")
    if "python" in when:
        parts.append(f"Python outside {when['python']}")
    if "os" in when or "arch" in when:
        where = " ".join(str(x) for x in (when.get("os") or []) + (when.get("arch") or []))
        parts.append(f"not on {where}")
    return "; ".join(parts) or "see the advice"


_COMPLEMENT = {">=": "<", ">": "<=", "<": ">=", "<=": ">", "==": "!=", "!=": "=="}


def _outside(name: str, spec_text: str) -> str:
    """The good range as a requirement: the bad case `numpy>=2` → `numpy<2`; a compound range
    has no one-specifier complement and is said in words."""
    from rknn_envcheck.versions import specifier

    items = list(specifier(spec_text))
    if len(items) == 1 and items[0].operator in _COMPLEMENT and not items[0].version.endswith(".*"):
        return f"{name}{_COMPLEMENT[items[0].operator]}{items[0].version}"
    return f"{name} outside {spec_text}"


def _this_pip(host: dict, commands) -> list:
    """Pitfall data says `pip install …`; run it with the judged interpreter's pip, not whatever
    `pip` is first on PATH (that is how packages land in the wrong environment)."""
    out = []
    for item in commands:
        command = from_data(item)
        out.append(cmd(*pip_argv(host), *command.argv[1:], note=command.note) if command.argv[0] == "pip" else command)
    return out


def _pitfall_component(row: dict) -> str:
    when = row["when"]
    needs = MatrixRequirement(when["needs"]).name if "needs" in when else None
    return canonical_name(when.get("dist") or when.get("dist_missing") or needs or row.get("package") or "python")


def _how_for(row: dict, host: dict, target) -> str:
    """Where each fact the row's `when` looks at was read (the host probe's own `how` notes)."""
    when = row["when"]
    notes = host.get("how") if isinstance(host.get("how"), dict) else {}
    parts = []
    for key in ("dist", "dist_missing", "needs"):
        if key in when:
            name = canonical_name(MatrixRequirement(when[key]).name if key == "needs" else when[key])
            parts.append(f"{name}: {how_package(host, name)}")
    if "env_set" in when or "env_unset" in when:
        parts.append(f"environment: {notes.get('env') or 'os.environ of the judged Python'}")
    if "gcc" in when:
        parts.append(f"gcc: {notes.get('gcc') or 'shutil.which(gcc) on PATH'}")
    if "python" in when:
        parts.append(f"Python: {notes.get('python.version') or 'sys.version_info of the judged Python'}")
    if "os" in when or "arch" in when:
        parts.append(f"os/arch: {notes.get('arch') or 'sys.platform, platform.machine()'}")
    if row.get("package") and target:
        parts.append(f"{target[0]}: {how_package(host, target[0])}")
    return "; ".join(parts) or "the host facts"


def _observed_for(row: dict, host: dict):
    when = row["when"]
    if "dist" in when:
        name = canonical_name(when["dist"])
        return f"{name} {installed_packages(host).get(name)}"
    if "needs" in when:
        name = canonical_name(MatrixRequirement(when["needs"]).name)
        installed = installed_packages(host).get(name)
        return f"{name} {installed}" if installed else f"{name} not installed"
    if "env_set" in when:
        return f"{when['env_set']}={(host.get('env') or {}).get(when['env_set'])}"
    if "gcc" in when:
        return f"gcc on PATH: {'yes' if host.get('gcc') else 'no'}"
    return {k: host.get(k) for k in ("os", "arch") if k in when} or None
