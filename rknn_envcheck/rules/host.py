"""Host rules: the PC's (or board's) Python environment against the installed toolkit's needs.

Pure functions: host facts + matrix → Checks. Each check says what was observed and how, what
the matrix expects and from which source, and the exact fix. This module judges the interpreter,
the toolkit and its wheel and orders the rest: installed packages (rules/host_packages.py), USB and
processes (rules/host_machine.py) and the pitfall engine (rules/host_pitfalls.py).
"""
from __future__ import annotations

from rknn_envcheck.records import replace

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix, run_guarded
from rknn_envcheck.rules.toolkit import (
    LINE_OF,
    canonical_name,
    host_platform,
    install_commands,
    installed_rknn,
    installed_toolkit,
    parse_toolkit_option,
    python_minor,
    wheel_rows,
)
from rknn_envcheck.shellcmd import cmd
from rknn_envcheck.versions import release_numbers, try_parse
from rknn_envcheck.rules.host_common import how_package, pip_argv, python_unknown_fix, python_version_shown
from rknn_envcheck.rules.host_machine import check_processes, check_usb
from rknn_envcheck.rules.host_packages import (
    FRAMEWORK_DISTS,
    check_broken_metadata,
    check_duplicates,
    check_frameworks,
    check_install_target,
    check_requirements,
    check_top_level,
)
from rknn_envcheck.rules.host_pitfalls import check_pitfalls, pitfall_applies

__all__ = ["FRAMEWORK_DISTS", "SUBJECT", "judge_host", "pitfall_applies", "resolve_toolkit"]

SUBJECT = "host"
# Why the Python X.Y matters: RKNN toolkit wheels are published per CPython version.
PYTHON_SOURCE = "PyPI wheel tags (cpXY) of each release"
RELEASES_SOURCE = "PyPI release history; AR tags (the releases the matrix lists)"


def resolve_toolkit(facts: dict, matrix, toolkit: str | None) -> tuple[tuple[str, str] | None, bool]:
    """(package, version) to judge for, and whether it is planned (--toolkit) rather than installed."""
    if toolkit is not None:
        return parse_toolkit_option(toolkit, matrix), True
    return installed_toolkit(facts.get("host") or {}), False


def judge_host(facts: dict, matrix, toolkit: str | None = None) -> list[Check]:
    host = facts.get("host") or {}
    target, planned = resolve_toolkit(facts, matrix, toolkit)
    checks: list[Check] = []
    rules = [
        ("host.python", "Python interpreter", lambda: check_python(host)),
        ("host.toolkit", "RKNN toolkit", lambda: check_toolkit(host, matrix, target, planned, _attached_chips(facts, matrix))),
        ("host.wheel", "Wheel for this Python and platform", lambda: check_wheel(host, matrix, target, planned)),
        ("host.frameworks", "Framework versions", lambda: check_frameworks(host, matrix, target)),
        ("host.requirements", "Toolkit requirements", lambda: check_requirements(host, matrix, target, planned)),
        ("host.duplicates", "Packages installed twice", lambda: check_duplicates(host)),
        ("host.install-target", "pip install target", lambda: check_install_target(host, target)),
        ("host.metadata", "Installed metadata", lambda: check_broken_metadata(host)),
        ("host.top-level", "Modules shadowed on sys.path", lambda: check_top_level(host)),
        ("host.usb", "Rockchip USB devices", lambda: check_usb(host, matrix, facts)),
        ("host.processes", "Processes that interfere", lambda: check_processes(host, matrix)),
        ("host.pitfalls", "Known pitfalls", lambda: check_pitfalls(host, matrix, target)),
    ]
    for check_id, title, func in rules:
        checks.extend(run_guarded(check_id, title, SUBJECT, func))
    from rknn_envcheck.rules.host_env import one_environment

    return one_environment(_one_pip_install(_drop_requirement_twins(checks), host), pip_argv(host))


def _attached_chips(facts: dict, matrix) -> list[str]:
    """The matrix names of the chips of the boards in the facts (for `resolve --chip`)."""
    names = []
    for device in facts.get("devices") or []:
        chip = matrix.chip(device.get("chip")) if isinstance(device, dict) and isinstance(device.get("chip"), str) else None
        if chip and chip["name"] not in names:
            names.append(chip["name"])
    return names


def _single_install(check: Check, pip: tuple) -> str | None:
    """The one requirement a fix installs with the judged interpreter's pip, else None."""
    commands = check.fix.commands if check.fix else []
    if len(commands) != 1 or not hasattr(commands[0], "argv"):
        return None
    argv = tuple(commands[0].argv)
    if argv[:len(pip) + 1] != pip + ("install",) or len(argv) != len(pip) + 2 or argv[-1].startswith("-"):
        return None
    return argv[-1]


def _one_pip_install(checks: list[Check], host: dict) -> list[Check]:
    """Several failing requirements of one environment are fixed by one pip command: pip resolves
    them together, while one install at a time can undo an earlier pin (torch pulls a numpy 2 after
    `pip install 'numpy<=1.26.4'`). Every such row gets the same fix (the renderer shows it once and
    "the same as for … above" after); each row's message still names its own requirement."""
    pip = tuple(pip_argv(host))
    mergeable = [(i, spec) for i, c in enumerate(checks)
                 if c.status == FAIL and (c.id.startswith("host.requirement.") or c.id.startswith("pitfall."))
                 for spec in [_single_install(c, pip)] if spec]
    if len(mergeable) < 2:
        return checks
    specs: list[str] = []
    for _i, spec in mergeable:
        if spec not in specs:
            specs.append(spec)
    if not _meet(specs):
        return checks  # the rows' ranges of one distribution do not meet: each keeps its own fix
    names = ", ".join(dict.fromkeys(checks[i].component for i, _s in mergeable))
    fix = Fix(f"install what is missing or out of range ({names}) in one pip command, so pip resolves them together "
              "(one at a time, a later install can undo an earlier pin)", [cmd(*pip, "install", *specs)])
    for i, _spec in mergeable:
        checks[i] = replace(checks[i], fix=fix)
    return checks


def _meet(requirements: list[str]) -> bool:
    """Do the ranges pip would get for each distribution in one command leave some version?"""
    from rknn_envcheck.versions import satisfiable, split_requirement

    by_name: dict = {}
    for text in requirements:
        try:
            name, spec = split_requirement(text)
        except ValueError:
            continue
        by_name[canonical_name(name)] = by_name.get(canonical_name(name), spec) & spec
    return all(satisfiable(spec) for spec in by_name.values())


def _drop_requirement_twins(checks: list[Check]) -> list[Check]:
    """A pitfall that fires on a distribution says more than the plain pin mismatch on the same
    distribution (numpy 2 with toolkit2: the pitfall names the crash); show the problem once."""
    order = {WARN: 1, FAIL: 2}
    pitfalls: dict[str, int] = {}
    for c in checks:
        if c.id.startswith("pitfall.") and c.status in order:
            pitfalls[c.component] = max(pitfalls.get(c.component, 0), order[c.status])
    checks = [c for c in checks
              if not (c.id.startswith("host.requirement.") and c.status in order and pitfalls.get(c.component, 0) >= order[c.status])]
    # One distribution judged by the vendor's framework table and by the wheel's own Requires-Dist
    # is one thing: when Requires-Dist fails it (pip enforces it, and it names the declaring line)
    # that finding speaks, and the table row goes whatever it said, `ok` included (an `ok` next to
    # a `fail` about the same onnx contradicts itself).
    violated = {c.component for c in checks if c.id.startswith("host.requirement.") and c.status == FAIL}
    return [c for c in checks if not (c.id.startswith("host.framework.") and c.component in violated)]


def check_python(host: dict):
    python = host.get("python") or {}
    version = python.get("version")
    if python_minor(host) is None:
        # Missing, or not a version (`3.x`): every row that needs the Python says unknown, none guesses.
        yield Check("host.python", "Python interpreter", UNKNOWN, component="python", observed=python_version_shown(host),
                    how=f"host.python.version (sys.version_info in {python.get('executable') or 'the judged interpreter'})",
                    expected="a Python version such as 3.11.7 (the toolkit wheels are built per Python X.Y)", source=PYTHON_SOURCE,
                    message=f"the Python version is {'not observed' if not version else f'{version!r}, which is not a version'}: "
                            "which toolkit wheels fit cannot be told",
                    fix=python_unknown_fix(host))
        return
    details = [f"{python.get('implementation', 'CPython')} {version}"]
    if python.get("bits"):
        details.append(f"{python['bits']}-bit")
    if host.get("os") and host.get("arch"):
        details.append(f"{host['os']} {host['arch']}")
    if python.get("in_venv"):
        details.append("venv")
    if python.get("in_conda"):
        details.append("conda env")
    status = OK
    message = ", ".join(details)
    fix = None
    if python.get("bits") == 32:
        status = FAIL
        message += ": RKNN toolkits ship 64-bit wheels only"
        fix = Fix("install a 64-bit Python (every RKNN-Toolkit and RKNN-Toolkit2 wheel is built for x86_64, aarch64 or amd64)")
    yield Check("host.python", "Python interpreter", status, component="python", observed=version,
                how=python.get("executable", ""), message=message, fix=fix)


def check_toolkit(host: dict, matrix, target, planned: bool, chips: list[str] | None = None):
    found = installed_rknn(host)
    full = [(p, v) for p, v in found if p in ("rknn-toolkit", "rknn-toolkit2")]
    if len(full) > 1:
        names = ", ".join(f"{p} {v}" for p, v in full)
        yield Check("host.toolkit.conflict", "RKNN toolkit", FAIL, component="rknn-toolkit", observed=names,
                    how=how_package(host, full[0][0]),
                    expected="one toolkit line per environment", source="AR README.md : 'RKNN-Toolkit2 is not compatible with RKNN-Toolkit'",
                    message=f"{names} are installed together; both install the python package `rknn`, so one overwrites the other",
                    fix=Fix("keep one line per virtual environment", [cmd(*pip_argv(host), "uninstall", "-y", full[0][0] if target and target[0] != full[0][0] else full[1][0])]))
    if target is None:
        exe = (host.get("python") or {}).get("executable")
        python_flag = ["--python", str(exe)] if exe else []
        suggestion = _toolkit_for_this_python(host, matrix)
        commands = ([cmd("rknn-envcheck", "host", *python_flag, "--toolkit", f"rknn-toolkit2=={suggestion}")] if suggestion else []) + \
                   _resolve_commands(host, matrix, chips)
        yield Check("host.toolkit", "RKNN toolkit", UNKNOWN, component="rknn-toolkit", observed="none installed",
                    how="installed distribution metadata", expected="rknn-toolkit, rknn-toolkit2, rknn-toolkit-lite or rknn-toolkit-lite2",
                    source=RELEASES_SOURCE,
                    message="no RKNN toolkit is installed in this Python, so its framework and version needs cannot be checked"
                            + ("" if suggestion or not python_minor(host) else f"; no rknn-toolkit2 release has a wheel for Python {python_minor(host)} on {host_platform(host)}"),
                    fix=Fix("install the toolkit for your chip (RK1808/RK3399Pro/RV1109/RV1126: rknn-toolkit; RK3566/RK3568/RK3588/RV1106/…: rknn-toolkit2), "
                            "or judge for a toolkit you are about to install (resolve names the releases that fit your board)", commands))
        return
    package, version = target
    how = "--toolkit (planned install)" if planned else how_package(host, package)
    if try_parse(version) is None:
        # The release to reinstall is the one resolve would pick for this Python and platform (a
        # published board runtime included), not merely the newest in the matrix.
        release = _toolkit_for_this_python(host, matrix, package)
        exe = (host.get("python") or {}).get("executable")
        commands = ([cmd(*pip_argv(host), "install", "--force-reinstall", f"{package}=={release}")] if release else
                    _resolve_commands(host, matrix, chips or []))
        yield Check("host.toolkit", "RKNN toolkit", UNKNOWN, component=package, observed=f"{package} {version!r}", how=how,
                    expected=f"a released {package} version (PEP 440)", source=RELEASES_SOURCE,
                    message=f"the {'planned' if planned else 'installed'} {package}'s version string {version!r} does not parse; cannot compare it with matrix {matrix.version}",
                    fix=Fix(f"reinstall a released {package}" + (f" ({release}: the newest with a wheel for Python {python_minor(host)} on {host_platform(host)}"
                                                                   " and a published board runtime)" if release else ""), commands))
        return
    if not matrix.is_release(package, version):
        yield Check("host.toolkit", "RKNN toolkit", UNKNOWN, component=package, observed=f"{package} {version}", how=how,
                    expected=f"a release listed in matrix {matrix.version}", source=RELEASES_SOURCE,
                    message=f"{package} {version} is not in matrix {matrix.version} ({matrix.date}); its needs are unknown",
                    fix=Fix("update rknn-envcheck, or pass --matrix DIR with a matrix that lists this release"))
        return
    yield Check("host.toolkit", "RKNN toolkit", OK, component=package, observed=f"{package} {version}", how=how,
                message=f"{package} {version}{' (planned)' if planned else ''}; drives {'RKNPU1 chips (RK1808/RK1806/RK3399Pro/RV1109/RV1126)' if LINE_OF[package] == 'rknn-toolkit' else 'RKNPU2 chips (RK3562/RK3566/RK3568/RK3576/RK3588/RV1103/RV1106/…)'}")


def _resolve_commands(host: dict, matrix, chips: list[str]) -> list:
    """`resolve` for this host, with the chip of an attached board (none is invented) and a
    Python some release fits: when none fits this Python, a venv of the nearest one that does
    comes first. The resolve command is checked to recommend a release (never a dead end)."""
    from rknn_envcheck.resolver_ways import best_fit, pythons_offered, resolve_argv

    platform, pyver = host_platform(host), python_minor(host)
    if not platform or platform not in {r["platform"] for r in matrix.rows("wheel")}:
        return [cmd("rknn-envcheck", "resolve", *(["--chip", chips[0]] if chips else []))]
    chip = chips[0] if chips else None
    line = (matrix.chip(chip) or {}).get("line") if chip else "rknn-toolkit2"
    commands = []
    if pyver is None or best_fit(matrix, chip_name=chip, python=pyver, platform=platform) is None:
        offered = pythons_offered(matrix, (line,), platform)
        working = [p for p in offered if best_fit(matrix, chip_name=chip, python=p, platform=platform) is not None]
        if not working:
            return [cmd(*resolve_argv(chip_name=chip, platform=platform))]
        pyver = working[0]
        commands.append(cmd(f"python{pyver}", "-m", "venv", "~/rknn-venv", note=f"a Python {pyver} environment: {line} has wheels for it"))
    return commands + [cmd(*resolve_argv(chip_name=chip, python=pyver, platform=platform))]


def _toolkit_for_this_python(host: dict, matrix, package: str = "rknn-toolkit2") -> str | None:
    """The newest release of `package` with a wheel for this Python and platform whose board
    runtime was published (the example a user can really install and match on a board)."""
    from rknn_envcheck.versions import parse_version

    platform, pyver = host_platform(host), python_minor(host)
    no_runtime = {r["version"] for r in matrix.rows("release", package) if r.get("runtime_published") is False}
    fitting = [v for v in matrix.releases(package) if v not in no_runtime and not parse_version(v).is_prerelease
               and any(r["platform"] == platform and pyver in r["python"] for r in wheel_rows(matrix, package, v))]
    return max(fitting, key=parse_version) if fitting else None


def check_wheel(host: dict, matrix, target, planned: bool):
    if target is None or not matrix.is_release(*target):
        return
    package, version = target
    platform = host_platform(host)
    pyver = python_minor(host)
    rows = wheel_rows(matrix, package, version)
    src = "; ".join(sorted({r.get("source", "") for r in rows if r.get("source")})) or PYTHON_SOURCE
    if not platform or not pyver:
        missing = " and ".join(x for x, v in (("the OS/arch", platform), (f"the Python version ({python_version_shown(host)})", pyver)) if not v)
        by_platform: dict = {}
        for r in rows:
            if not platform or r["platform"] == platform:
                by_platform.setdefault(r["platform"], set()).update(r["python"])
        wanted = [f"Python {', '.join(sorted(pys, key=release_numbers))} on {plat}" for plat, pys in sorted(by_platform.items())]
        fix = python_unknown_fix(host) if not pyver else Fix("judge the host again (the probe records os and arch)", [cmd("rknn-envcheck", "host")])
        yield Check("host.wheel", "Wheel for this Python and platform", UNKNOWN, component=package,
                    observed={"platform": platform, "python": host.get("python", {}).get("version") if isinstance(host.get("python"), dict) else None},
                    how="host.python.version, host.os, host.arch", expected="; ".join(wanted) or f"a wheel of {package} {version}", source=src,
                    message=f"{missing} of the host {'is' if ' and ' not in missing else 'are'} not known, so whether {package} {version} has a wheel for it cannot be told",
                    fix=fix)
        return
    if not rows:
        yield Check("host.wheel", "Wheel for this Python and platform", UNKNOWN, component=package,
                    message=f"matrix {matrix.version} lists no wheels for {package} {version}", observed=f"{platform}, Python {pyver}")
        return
    offered = {(r["platform"], py): r for r in rows for py in r["python"]}
    observed = f"Python {pyver} on {platform}"
    if (platform, pyver) in offered:
        row = offered[(platform, pyver)]
        yield Check("host.wheel", "Wheel for this Python and platform", OK, component=package, observed=observed,
                    how="host.python.version, host.os, host.arch", expected=f"{platform}: Python {', '.join(row['python'])}",
                    source=row.get("source", ""), message=f"{package} {version} has a wheel for {observed}")
        return
    pythons_here = sorted({py for (plat, py) in offered if plat == platform}, key=release_numbers)
    platforms = sorted({plat for (plat, _py) in offered})
    if pythons_here:
        expected = f"Python {', '.join(pythons_here)} on {platform}"
        fix = Fix(f"create an environment with Python {pythons_here[-1]} and install there",
                  [cmd(f"python{pythons_here[-1]}", "-m", "venv", "~/rknn-venv")]
                  + install_commands(matrix, package, version, ["~/rknn-venv/bin/python", "-m", "pip"], pythons_here[-1], platform))
    else:
        expected = f"one of the platforms {', '.join(platforms)}"
        fix = Fix(f"{package} {version} does not run on {platform}; use a supported machine or another release",
                  [cmd("rknn-envcheck", "resolve", "--toolkit", f"{package}=={version}")])
    status = FAIL if planned else WARN
    note = "pip will refuse to install it" if planned else "it is installed anyway (a rebuilt or renamed wheel?); expect import errors"
    yield Check("host.wheel", "Wheel for this Python and platform", status, component=package, observed=observed,
                how="host.python.version, host.os, host.arch", expected=expected, source=src,
                message=f"{package} {version} has no wheel for {observed}: {note}", fix=fix)
