"""Oracle: pip itself. In generated broken environments (a healthy rknn-toolkit2 2.3.2 closure with
dependencies removed or moved outside a declared range), every line `pip check` prints about the
toolkit's closure has a `fail` finding naming the same distribution, and every Requires-Dist
`fail` the closure check makes is one pip also reports. The setuptools case pip cannot see
(nothing declares setuptools) is found as well.
"""
from __future__ import annotations

import random
import re
import subprocess
import sys

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from rknn_envcheck.report import FAIL
from tests.test_deps_closure import HEALTHY_232, TOOLKIT_232, build_env, judge

SEEDS = range(6)
_MISSING = re.compile(r"^(?P<who>\S+) \S+ requires (?P<dist>[A-Za-z0-9][A-Za-z0-9._-]*)")
_CONFLICT = re.compile(r" but you have (?P<dist>[A-Za-z0-9][A-Za-z0-9._-]*) \S+\.$")


def _declared() -> dict:
    """dist -> [SpecifierSet] over every unconditional requirement line in the healthy closure."""
    lines = [l.split(":", 1)[1].strip() for l in TOOLKIT_232.read_text().splitlines() if l.startswith("Requires-Dist:")]
    for _version, requires in HEALTHY_232.values():
        lines += [r for r in requires if ";" not in r]
    out: dict = {}
    for line in lines:
        req = Requirement(line)
        out.setdefault(canonicalize_name(req.name), []).append(req.specifier)
    return out


def _violating_version(specs) -> str | None:
    """A version outside one of `specs`, made from its own bound (None: nothing to violate)."""
    for spec_set in specs:
        for spec in spec_set:
            parts = spec.version.split(".")
            if spec.operator in ("<=", "<"):
                return f"{int(parts[0]) + 1}.0.0"
            if spec.operator in (">=", ">"):
                return "0.0.1"
            if spec.operator == "==":
                return f"{spec.version}.post1"
    return None


def broken_deps(seed: int) -> dict:
    """One to three mutations of the healthy set: remove a dependency, or move it out of range."""
    rng = random.Random(seed)
    declared = _declared()
    deps = dict(HEALTHY_232)
    names = sorted(n for n in deps if canonicalize_name(n) in declared)
    for name in rng.sample(names, rng.randint(1, 3)):
        bad = _violating_version(declared[canonicalize_name(name)])
        if bad is None or rng.random() < 0.4:
            deps.pop(name)
        else:
            deps[name] = (bad, deps[name][1])
    return deps


def start_pip_check(python: str) -> subprocess.Popen:
    """`pip --python ENV check` (the real pip), started so several environments run at once."""
    return subprocess.Popen([sys.executable, "-m", "pip", "--python", python, "check"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pip_check_dists(proc: subprocess.Popen) -> list[tuple[str, str]]:
    """(declarer, required dist) for every line pip check printed."""
    stdout, _stderr = proc.communicate(timeout=180)
    out = []
    for line in stdout.splitlines():
        missing, conflict = _MISSING.match(line), _CONFLICT.search(line)
        if "which is not installed" in line and missing:
            out.append((canonicalize_name(missing.group("who")), canonicalize_name(missing.group("dist"))))
        elif conflict:
            out.append((canonicalize_name(line.split()[0]), canonicalize_name(conflict.group("dist"))))
        elif line.strip() and not line.startswith("No broken requirements"):
            raise AssertionError(f"unparsed pip check line: {line!r}")
    return out


def test_every_pip_check_line_has_a_fail_naming_the_same_distribution(tmp_path):
    pythons = {seed: build_env(tmp_path / f"env{seed}", TOOLKIT_232, broken_deps(seed)) for seed in SEEDS}
    running = {seed: start_pip_check(python) for seed, python in pythons.items()}
    seen_lines = 0
    for seed, python in pythons.items():
        reported = pip_check_dists(running[seed])
        assert reported, f"seed {seed}: the mutation broke nothing pip sees"
        seen_lines += len(reported)
        checks = judge(python)
        failed = {c.component for c in checks if c.status == FAIL}
        for declarer, dist in reported:
            assert dist in failed, (seed, declarer, dist, sorted(failed))
        # and the other way: no Requires-Dist fail that pip does not confirm
        pip_dists = {dist for _declarer, dist in reported}
        for c in checks:
            if c.id.startswith("host.requirement.") and c.status == FAIL:
                assert c.component in pip_dists, (seed, c.id, c.message)
    assert seen_lines >= len(SEEDS)


def test_setuptools_cases_pip_misses_are_found(tmp_path):
    deps = dict(HEALTHY_232)
    deps["setuptools"] = ("84.2.1", [])
    python = build_env(tmp_path / "env", TOOLKIT_232, deps)
    assert pip_check_dists(start_pip_check(python)) == []
    fails = [c for c in judge(python) if c.status == FAIL]
    assert [c.id for c in fails] == ["pitfall.toolkit2-needs-pkg-resources"]
