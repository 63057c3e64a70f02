"""Host rules: the PC's (or board's) Python environment against the installed toolkit's needs.

Pure functions: host facts + matrix → Checks. Each check says what was observed and how, what
the matrix expects and from which source, and the exact fix.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN, Check, Fix, run_guarded
from rknn_envcheck.rules.toolkit import (
    LINE_OF,
    canonical_name,
    host_platform,
    framework_rows,
    install_commands,
    installed_rknn,
    installed_toolkit,
    parse_toolkit_option,
    python_minor,
    requirement_rows,
    wheel_rows,
)
from rknn_envcheck.versions import MatrixRequirement, in_versions, matches, try_parse

SUBJECT = "host"
# A framework row names the PyPI distribution; these distributions provide the same framework.
FRAMEWORK_DISTS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly"),
    "torch": ("torch",),
    "onnx": ("onnx",),
    "mxnet": ("mxnet", "mxnet-mkl", "mxnet-cu101", "mxnet-cu102", "mxnet-cu110", "mxnet-cu112"),
    "keras": ("keras",),
}


def _packages(host: dict) -> dict[str, str]:
    return {canonical_name(k): v for k, v in (host.get("packages") or {}).items()}


def _how_package(host: dict, name: str) -> str:
    location = (host.get("package_locations") or {}).get(name)
    return f"installed metadata in {location}" if location else "installed distribution metadata"


def _pip(host: dict) -> str:
    exe = (host.get("python") or {}).get("executable")
    return f"{exe} -m pip" if exe else "python3 -m pip"


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
        ("host.python", "Python interpreter", lambda: _check_python(host)),
        ("host.toolkit", "RKNN toolkit", lambda: _check_toolkit(host, matrix, target, planned)),
        ("host.wheel", "Wheel for this Python and platform", lambda: _check_wheel(host, matrix, target, planned)),
        ("host.frameworks", "Framework versions", lambda: _check_frameworks(host, matrix, target)),
        ("host.requirements", "Toolkit requirements", lambda: _check_requirements(host, matrix, target, planned)),
        ("host.duplicates", "Packages installed twice", lambda: _check_duplicates(host)),
        ("host.install-target", "pip install target", lambda: _check_install_target(host, target)),
        ("host.metadata", "Installed metadata", lambda: _check_broken_metadata(host)),
        ("host.top-level", "Modules shadowed on sys.path", lambda: _check_top_level(host)),
        ("host.usb", "Rockchip USB devices", lambda: _check_usb(host, matrix)),
        ("host.processes", "Processes that interfere", lambda: _check_processes(host, matrix)),
        ("host.pitfalls", "Known pitfalls", lambda: _check_pitfalls(host, matrix, target)),
    ]
    for check_id, title, func in rules:
        checks.extend(run_guarded(check_id, title, SUBJECT, func))
    return _drop_requirement_twins(checks)


def _drop_requirement_twins(checks: list[Check]) -> list[Check]:
    """A pitfall that fires on a distribution says more than the plain pin mismatch on the same
    distribution (numpy 2 with toolkit2: the pitfall names the crash); show the problem once."""
    order = {WARN: 1, FAIL: 2}
    pitfalls = {c.component: order[c.status] for c in checks if c.id.startswith("pitfall.") and c.status in order}
    return [c for c in checks
            if not (c.id.startswith("host.requirement.") and c.status in order and pitfalls.get(c.component, 0) >= order[c.status])]


def _check_python(host: dict):
    python = host.get("python") or {}
    version = python.get("version")
    if not version:
        yield Check("host.python", "Python interpreter", UNKNOWN, component="python", message="the Python version was not observed",
                    fix=Fix("re-run `rknn-envcheck host` (or pass --python PATH) so the probe can read it"))
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
        fix = Fix("install a 64-bit Python (toolkit1.md §1.2, toolkit2.md §1.1: every wheel is x86_64/aarch64/amd64)")
    yield Check("host.python", "Python interpreter", status, component="python", observed=version,
                how=python.get("executable", ""), message=message, fix=fix)


def _check_toolkit(host: dict, matrix, target, planned: bool):
    found = installed_rknn(host)
    full = [(p, v) for p, v in found if p in ("rknn-toolkit", "rknn-toolkit2")]
    if len(full) > 1:
        names = ", ".join(f"{p} {v}" for p, v in full)
        yield Check("host.toolkit.conflict", "RKNN toolkit", FAIL, component="rknn-toolkit", observed=names,
                    how=_how_package(host, full[0][0]),
                    expected="one toolkit line per environment", source="toolkit2.md §0: 'RKNN-Toolkit2 is not compatible with RKNN-Toolkit'",
                    message=f"{names} are installed together; both install the python package `rknn`, so one overwrites the other",
                    fix=Fix("keep one line per virtual environment", [f"{_pip(host)} uninstall -y {full[0][0] if target and target[0] != full[0][0] else full[1][0]}"]))
    if target is None:
        exe = (host.get("python") or {}).get("executable")
        python_flag = f" --python {exe}" if exe else ""
        suggestion = _toolkit_for_this_python(host, matrix)
        commands = ([f"rknn-envcheck host{python_flag} --toolkit rknn-toolkit2=={suggestion}"] if suggestion else []) + \
                   [f"rknn-envcheck resolve --chip RK3588 --python {python_minor(host) or '3.X'}"]
        yield Check("host.toolkit", "RKNN toolkit", UNKNOWN, component="rknn-toolkit", observed="none installed",
                    how="installed distribution metadata", expected="rknn-toolkit, rknn-toolkit2, rknn-toolkit-lite or rknn-toolkit-lite2",
                    message="no RKNN toolkit is installed in this Python, so its framework and version needs cannot be checked"
                            + ("" if suggestion else f"; no rknn-toolkit2 release has a wheel for Python {python_minor(host)} on {host_platform(host)}"),
                    fix=Fix("install the toolkit for your chip (RK1808/RK3399Pro/RV1109/RV1126: rknn-toolkit; RK3566/RK3568/RK3588/RV1106/…: rknn-toolkit2), "
                            "or judge for a toolkit you are about to install (resolve names the releases that fit your board)", commands))
        return
    package, version = target
    how = "--toolkit (planned install)" if planned else _how_package(host, package)
    if try_parse(version) is None:
        yield Check("host.toolkit", "RKNN toolkit", UNKNOWN, component=package, observed=f"{package} {version}", how=how,
                    message=f"the version string {version!r} does not parse; cannot compare it with matrix {matrix.version}",
                    fix=Fix(f"reinstall a released {package}", [f"{_pip(host)} install --force-reinstall {package}=={matrix.latest(package) or 'VERSION'}"]))
        return
    if not matrix.is_release(package, version):
        yield Check("host.toolkit", "RKNN toolkit", UNKNOWN, component=package, observed=f"{package} {version}", how=how,
                    expected=f"a release listed in matrix {matrix.version}",
                    message=f"{package} {version} is not in matrix {matrix.version} ({matrix.date}); its needs are unknown",
                    fix=Fix("update rknn-envcheck, or pass --matrix DIR with a matrix that lists this release"))
        return
    yield Check("host.toolkit", "RKNN toolkit", OK, component=package, observed=f"{package} {version}", how=how,
                message=f"{package} {version}{' (planned)' if planned else ''}; drives {'RKNPU1 chips (RK1808/RK1806/RK3399Pro/RV1109/RV1126)' if LINE_OF[package] == 'rknn-toolkit' else 'RKNPU2 chips (RK3562/RK3566/RK3568/RK3576/RK3588/RV1103/RV1106/…)'}")


def _toolkit_for_this_python(host: dict, matrix) -> str | None:
    """The newest rknn-toolkit2 release with a wheel for this Python and platform whose board
    runtime was published (the example a user can really install and match on a board)."""
    from rknn_envcheck.versions import parse_version

    platform, pyver = host_platform(host), python_minor(host)
    no_runtime = {r["version"] for r in matrix.rows("release", "rknn-toolkit2") if r.get("runtime_published") is False}
    fitting = [v for v in matrix.releases("rknn-toolkit2") if v not in no_runtime and not parse_version(v).is_prerelease
               and any(r["platform"] == platform and pyver in r["python"] for r in wheel_rows(matrix, "rknn-toolkit2", v))]
    return max(fitting, key=parse_version) if fitting else None


def _check_wheel(host: dict, matrix, target, planned: bool):
    if target is None or not matrix.is_release(*target):
        return
    package, version = target
    platform = host_platform(host)
    pyver = python_minor(host)
    if not platform or not pyver:
        yield Check("host.wheel", "Wheel for this Python and platform", UNKNOWN, component=package,
                    message="the host's OS/arch or Python version was not observed", observed={"platform": platform, "python": pyver})
        return
    rows = wheel_rows(matrix, package, version)
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
    pythons_here = sorted({py for (plat, py) in offered if plat == platform}, key=lambda v: tuple(int(x) for x in v.split(".")))
    platforms = sorted({plat for (plat, _py) in offered})
    if pythons_here:
        expected = f"Python {', '.join(pythons_here)} on {platform}"
        fix = Fix(f"create an environment with Python {pythons_here[-1]} and install there",
                  [f"python{pythons_here[-1]} -m venv ~/rknn-venv"] + install_commands(matrix, package, version, "~/rknn-venv/bin/pip"))
    else:
        expected = f"one of the platforms {', '.join(platforms)}"
        fix = Fix(f"{package} {version} does not run on {platform}; use a supported machine or another release",
                  [f"rknn-envcheck resolve --toolkit {package}=={version}"])
    status = FAIL if planned else WARN
    note = "pip will refuse to install it" if planned else "it is installed anyway (a rebuilt or renamed wheel?); expect import errors"
    src = "; ".join(sorted({r.get("source", "") for r in rows if r.get("source")}))
    yield Check("host.wheel", "Wheel for this Python and platform", status, component=package, observed=observed,
                how="host.python.version, host.os, host.arch", expected=expected, source=src,
                message=f"{package} {version} has no wheel for {observed}: {note}", fix=fix)


def _check_frameworks(host: dict, matrix, target):
    if target is None or not matrix.is_release(*target):
        return
    package, version = target
    rows = framework_rows(matrix, package, version)
    packages = _packages(host)
    pins: dict[str, list] = {}
    for row in requirement_rows(matrix, package, version, python_minor(host), host_platform(host)):
        if row["kind"] != "user-guide":
            req = MatrixRequirement(row["requirement"])
            pins.setdefault(canonical_name(req.name), []).append(req.specifier)
    seen = False
    for row in rows:
        framework = row["framework"]
        for dist in FRAMEWORK_DISTS.get(framework, ()):
            if dist not in packages:
                continue
            seen = True
            installed = packages[dist]
            title = f"{dist} for {package} {version}"
            detail = f" ({row['detail']})" if row.get("detail") else ""
            how = _how_package(host, dist)
            if not row.get("supported", True):
                yield Check(f"host.framework.{dist}", title, WARN, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=f"not supported by {package} {version}", source=row.get("source", ""),
                            message=f"{package} {version} cannot load {framework} models; {dist} {installed} is installed but unused by the toolkit",
                            fix=Fix(f"convert through ONNX, or use a toolkit release that supports {framework}", [f"rknn-envcheck resolve --toolkit {package}=={version}"]))
                continue
            spec = row.get("specifier", "")
            if not spec:
                continue
            from rknn_envcheck.versions import framework_range

            spec, why = framework_range(spec, pins.get(dist, []))
            if try_parse(installed) is None:
                yield Check(f"host.framework.{dist}", title, UNKNOWN, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=spec, source=row.get("source", ""), message=f"version {installed!r} of {dist} does not parse")
                continue
            if matches(installed, spec):
                yield Check(f"host.framework.{dist}", title, OK, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=f"{dist}{spec}{detail}", source=row.get("source", ""), rule=why,
                            message=f"{dist} {installed} is in the supported range {spec}")
            else:
                yield Check(f"host.framework.{dist}", title, FAIL, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=f"{dist}{spec}{detail}", source=row.get("source", ""), rule=why,
                            message=f"{dist} {installed} is outside the range {package} {version} supports ({spec}); model loading may fail or give wrong results",
                            fix=Fix(f"install a supported {dist}", [f"{_pip(host)} install \"{dist}{spec}\""]))
    if rows and not seen:
        yield Check("host.frameworks", "Framework versions", SKIPPED, component=package,
                    message="no deep-learning framework (tensorflow, torch, onnx, mxnet, keras) is installed; nothing to compare")


def _check_requirements(host: dict, matrix, target, planned: bool):
    if target is None or not matrix.is_release(*target):
        return
    package, version = target
    rows = requirement_rows(matrix, package, version, python_minor(host), host_platform(host))
    packages = _packages(host)
    by_dist: dict[str, list[tuple[dict, MatrixRequirement]]] = {}
    # The frameworks are judged by the vendor's supported-version table (_check_frameworks); a
    # requirements-file pin such as torch==1.5.1 is one choice inside that range, not the range.
    framework_dists = {d for dists in FRAMEWORK_DISTS.values() for d in dists} | {"tensorflow-gpu", "torchvision"}
    for row in rows:
        req = MatrixRequirement(row["requirement"])
        name = canonical_name(req.name)
        if name in framework_dists or name.startswith("mxnet-"):
            continue
        by_dist.setdefault(name, []).append((row, req))
    for dist, items in sorted(by_dist.items()):
        installed = packages.get(dist)
        enforced = [(r, q) for r, q in items if r["kind"] == "requires-dist"]
        if installed is None:
            if enforced and not planned:
                row, req = enforced[0]
                yield Check(f"host.requirement.{dist}", f"{dist} (needed by {package} {version})", FAIL, component=dist, observed="not installed",
                            how="installed distribution metadata", expected=str(req), source=row.get("source", ""),
                            message=f"{package} {version} declares {req} but {dist} is not installed (installed with --no-deps?)",
                            fix=Fix(f"install {dist}", [f"{_pip(host)} install \"{req}\""]))
            continue
        if try_parse(installed) is None:
            yield Check(f"host.requirement.{dist}", f"{dist} (needed by {package} {version})", UNKNOWN, component=dist, observed=f"{dist} {installed}",
                        how=_how_package(host, dist), message=f"installed version {installed!r} of {dist} does not parse")
            continue
        failing = [(r, q) for r, q in items if not q.specifier.contains(installed, prereleases=True)]
        if not failing:
            row, req = items[0]
            yield Check(f"host.requirement.{dist}", f"{dist} (needed by {package} {version})", OK, component=dist, observed=f"{dist} {installed}",
                        how=_how_package(host, dist), expected="; ".join(sorted({str(q) for _r, q in items})),
                        source="; ".join(sorted({r.get('source', '') for r, _q in items})), message=f"{dist} {installed} fits")
            continue
        hard = [(r, q) for r, q in failing if r["kind"] == "requires-dist"]
        status = FAIL if hard else WARN
        row, req = (hard or failing)[0]
        kind_text = {"requires-dist": "the wheel requires", "requirements-file": "the vendor's requirements file pins",
                     "user-guide": "the vendor's user guide lists"}[row["kind"]]
        yield Check(f"host.requirement.{dist}", f"{dist} (needed by {package} {version})", status, component=dist, observed=f"{dist} {installed}",
                    how=_how_package(host, dist), expected="; ".join(sorted({str(q) for _r, q in failing})),
                    source="; ".join(sorted({r.get('source', '') for r, _q in failing})),
                    message=f"{kind_text} {req}, but {dist} {installed} is installed",
                    fix=Fix(f"install the version {package} {version} was built against", [f"{_pip(host)} install \"{req}\""]))


def _check_duplicates(host: dict):
    if "duplicates" not in host:
        yield Check("host.duplicates", "Packages installed twice", UNKNOWN, message="sys.path was not scanned for duplicated distributions")
        return
    duplicates = host.get("duplicates") or []
    if not duplicates:
        yield Check("host.duplicates", "Packages installed twice", OK, observed="none", how="every sys.path entry's *.dist-info/*.egg-info",
                    message="no distribution is installed on more than one sys.path entry")
        return
    for dup in duplicates:
        name = canonical_name(dup["name"])
        places = [f"{loc.get('version', '?')} in {loc.get('path', '?')}" for loc in dup.get("locations", [])]
        versions = {loc.get("version") for loc in dup.get("locations", [])}
        status = FAIL if name in ("numpy", "rknn-toolkit", "rknn-toolkit2", "rknn-toolkit-lite", "rknn-toolkit-lite2", "protobuf", "onnx") or len(versions) > 1 else WARN
        first = dup.get("locations", [{}])[0].get("path", "")
        commands = [f"{_pip(host)} uninstall -y {name}  # repeat until none is left", f"{_pip(host)} install {name}=={dup['locations'][0].get('version', '')}"]
        if "/.local/" in str(dup.get("locations")):
            commands.insert(0, f"# one copy is in the user site (~/.local): remove it with PYTHONNOUSERSITE unset, e.g. python3 -m pip uninstall --user {name}")
        yield Check(f"host.duplicate.{name}", f"{name} installed twice", status, component=name, observed=places,
                    how="every sys.path entry's *.dist-info/*.egg-info", expected="one copy on sys.path",
                    source="seed §1.1.1 ('undefined symbol: PyFPE_jbuf' — an unclean Python environment, numpy installed in two paths)",
                    message=f"{name} is installed {len(places)} times ({'; '.join(places)}); the first one on sys.path ({first}) wins and can load the other's compiled parts",
                    fix=Fix(f"remove every copy of {name}, then install one", commands))


def _check_install_target(host: dict, toolkit=None):
    target = host.get("install_target")
    if not target:
        return
    if target.get("writable"):
        yield Check("host.install-target", "pip install target", OK, observed=target.get("path"), how=target.get("how", ""),
                    message=f"pip can write to {target.get('path')}")
        return
    python = host.get("python") or {}
    package = toolkit[0] if toolkit else "rknn-toolkit2"
    yield Check("host.install-target", "pip install target", WARN, observed=f"{target.get('path')} (not writable)", how=target.get("how", ""),
                expected="a writable site-packages", source="seed §1.1.2 ('Permission Denied' when installing RKNN Toolkit on Toybrick)",
                message=f"pip would install into {target.get('path')}, which this user cannot write: `pip install` fails with Permission denied",
                fix=Fix("install into your user site or a virtual environment (not with sudo pip, which mixes system packages)",
                        [f"{_pip(host)} install --user {package}", f"{python.get('executable', 'python3')} -m venv ~/rknn-venv && ~/rknn-venv/bin/pip install {package}"]))


def _check_broken_metadata(host: dict):
    for item in host.get("broken_metadata") or []:
        yield Check("host.metadata", "Installed metadata", WARN, observed=item.get("path"), how="reading the distribution metadata",
                    message=f"broken metadata: {item.get('problem')}; pip and this check cannot see that distribution's version",
                    fix=Fix("reinstall or remove the broken distribution", [f"rm -r '{item.get('path')}'  # after checking what it is"]))


def _check_top_level(host: dict):
    """The same importable module from two sys.path entries without duplicated metadata (a copied
    package directory, a PYTHONPATH checkout): the first one shadows the other."""
    dists = {canonical_name(d["name"]) for d in host.get("duplicates") or []}
    for item in host.get("top_level_duplicates") or []:
        name = item.get("name") or item.get("module") or "?"
        if canonical_name(name) in dists:
            continue  # already reported with its versions
        paths = [p.get("path", p) if isinstance(p, dict) else p for p in item.get("locations") or item.get("paths") or []]
        yield Check(f"host.top-level.{name}", f"module {name} on several paths", WARN, component=name, observed=paths,
                    how="top-level module directories of every sys.path entry", expected="one copy on sys.path",
                    source="seed §1.1.1 (an unclean Python environment: the same module in two paths)",
                    message=f"`import {name}` finds {len(paths)} copies; the first ({paths[0] if paths else '?'}) shadows the rest",
                    fix=Fix("remove the copy you do not want (or the PYTHONPATH entry that adds it)", [f"python3 -c 'import {name}; print({name}.__file__)'"]))


def _usb_modes(matrix) -> dict:
    return {str(r.get("pid", "")).lower(): r for r in matrix.usb_ids()}


def _check_usb(host: dict, matrix):
    if host.get("usb_error"):
        yield Check("host.usb", "Rockchip USB devices", UNKNOWN, component="libusb", observed=host["usb_error"], how="pyusb",
                    expected="the USB bus readable", message="USB devices could not be listed (no usable libusb backend)",
                    fix=Fix("install libusb so Rockchip boards on USB can be seen", ["sudo apt-get install libusb-1.0-0"]))
        return
    if "usb" not in host:
        return
    rockchip = [u for u in host.get("usb") or [] if str(u.get("vid", "")).lower() == "2207"]
    if not rockchip:
        yield Check("host.usb", "Rockchip USB devices", OK, component="usb", observed="none", how="pyusb (vendor 0x2207)",
                    message="no Rockchip (2207) device on USB")
        return
    modes = _usb_modes(matrix)
    for dev in rockchip:
        pid = str(dev.get("pid", "")).lower()
        row = modes.get(pid) or modes.get("*") or {}
        mode = dev.get("mode") or row.get("mode") or "unknown"
        where = f"2207:{pid}" + (f" (bus {dev.get('bus')}, address {dev.get('address')})" if dev.get("bus") is not None else "")
        meaning = row.get("meaning") or "a Rockchip USB device"
        if dev.get("accessible") is False:
            from rknn_envcheck.udev import udev_fix_commands

            yield Check(f"host.usb.{pid}", f"USB {where}", FAIL, component="udev", observed=f"{mode}: not accessible to this user",
                        how="pyusb + access(2) on /dev/bus/usb", expected="read/write access", source="toolkit1.md §4.1 (TS-1.7.5 §8.6)",
                        message=f"{meaning}, but this user may not open it (adb shows such a board as 'no permissions')",
                        fix=Fix("install the Rockchip udev rule (read what it will do first), then replug", udev_fix_commands()))
        else:
            yield Check(f"host.usb.{pid}", f"USB {where}", OK, component="usb", observed=mode, how="pyusb", source=row.get("source", ""),
                        message=meaning)


# Process names that interfere, per the seed (§1.7.2) and toolkit1.md §4.3.
_SECURITY_SOFTWARE = "seed §1.7.2 (RKNN_ERR_DEVICE_UNAVAILABLE: security software such as 360 on Windows blocks the connection)"


def _check_processes(host: dict, matrix):
    if "processes" not in host:
        return
    names = [p.lower() for p in host.get("processes") or []]
    if any("npu_transfer_proxy" in n for n in names):
        yield Check("host.process.npu_transfer_proxy", "npu_transfer_proxy", OK, component="npu_transfer_proxy", observed="running",
                    how="process list", source="toolkit1.md §4.3",
                    message="npu_transfer_proxy is running (NTB mode: RK1808 compute sticks); boards in ADB mode must not be used at the same time")
    security = host.get("security_software") or []
    if security:
        yield Check("host.process.security", "Security software", WARN, component="security software", observed=security,
                    how="process list", expected="no USB-filtering security software while debugging", source=_SECURITY_SOFTWARE,
                    message=f"{', '.join(map(str, security))} running: the seed names such software as a cause of RKNN_ERR_DEVICE_UNAVAILABLE",
                    fix=Fix("exit it (or allow adb / npu_transfer_proxy in it) while using the board"))


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
        return None if not pyver else matches(pyver, value)
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
    return None


def pitfall_applies(row: dict, host: dict, target) -> bool | None:
    """Does a [[pitfall]] row apply to this host? None = a needed fact is missing."""
    if row.get("package"):
        if target is None or target[0] != row["package"]:
            return False
        if row.get("versions"):
            if try_parse(target[1]) is None:
                return None  # the toolkit's version does not parse: cannot tell
            if not in_versions(target[1], row["versions"]):
                return False
    packages = _packages(host)
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


def _check_pitfalls(host: dict, matrix, target):
    for row in matrix.rows("pitfall"):
        applies = pitfall_applies(row, host, target)
        if applies is False:
            continue
        level = row["level"]
        if applies is None:
            if level == "info":
                continue
            yield Check(f"pitfall.{row['id']}", row["title"], UNKNOWN, component=_pitfall_component(row), source=row.get("source", ""),
                        message=f"could not tell whether this applies (a needed fact was not observed): {row['message']}",
                        expected=_expected_for(row["when"]), rule=f"{row.get('_file', 'pitfalls.toml')} [[pitfall]] {row['id']}", fix=Fix(row["fix"], _this_pip(host, row.get("commands", []))))
            continue
        status = {"fail": FAIL, "warn": WARN, "info": SKIPPED}[level]
        yield Check(f"pitfall.{row['id']}", row["title"], status, component=_pitfall_component(row), source=row.get("source", ""), observed=_observed_for(row, host),
                    expected=_expected_for(row["when"]), rule=f"{row.get('_file', 'pitfalls.toml')} [[pitfall]] {row['id']}", message=row["message"] + (" (advice)" if level == "info" else ""),
                    fix=Fix(row["fix"], _this_pip(host, row.get("commands", []))))


def _expected_for(when: dict) -> str:
    """A pitfall's `when` describes the bad case; say what a good environment looks like instead."""
    parts = []
    if "dist" in when:
        parts.append(f"{canonical_name(when['dist'])} outside {when['specifier']}" if when.get("specifier") else f"{canonical_name(when['dist'])} not installed")
    if "dist_missing" in when:
        parts.append(f"{canonical_name(when['dist_missing'])} installed")
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


def _this_pip(host: dict, commands) -> list[str]:
    """Pitfall data says `pip install …`; run it with the judged interpreter's pip, not whatever
    `pip` is first on PATH (that is how packages land in the wrong environment)."""
    return [f"{_pip(host)} {c[4:]}" if c.startswith("pip ") else c for c in commands]


def _pitfall_component(row: dict) -> str:
    when = row["when"]
    return canonical_name(when.get("dist") or when.get("dist_missing") or row.get("package") or "python")


def _observed_for(row: dict, host: dict):
    when = row["when"]
    if "dist" in when:
        name = canonical_name(when["dist"])
        return f"{name} {_packages(host).get(name)}"
    if "env_set" in when:
        return f"{when['env_set']}={(host.get('env') or {}).get(when['env_set'])}"
    if "gcc" in when:
        return f"gcc on PATH: {'yes' if host.get('gcc') else 'no'}"
    return {k: host.get(k) for k in ("os", "arch") if k in when} or None
