"""Host rules about the installed distributions: framework versions against the vendor's table,
the toolkit's pins (Requires-Dist / requirements files), duplicated or shadowed packages, broken
metadata and the pip install target.

Pure functions: host facts + matrix → Checks (split out of rules/host.py, issue 13).
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, SKIPPED, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules.toolkit import (
    canonical_name,
    host_platform,
    framework_rows,
    installed_toolkit,
    pins_per_python,
    python_minor,
    requirement_rows,
)
from rknn_envcheck.rules.requirements import closure_checks
from rknn_envcheck.shellcmd import cmd
from rknn_envcheck.versions import MatrixRequirement, matches, public, release_numbers, satisfiable, try_parse
from rknn_envcheck.rules.host_common import how_package, installed_packages, pip_argv, python_unknown_fix, python_version_shown

# A framework row names the PyPI distribution; these distributions provide the same framework.
FRAMEWORK_DISTS = {
    "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tf-nightly"),
    "torch": ("torch",),
    "onnx": ("onnx",),
    "mxnet": ("mxnet", "mxnet-mkl", "mxnet-cu101", "mxnet-cu102", "mxnet-cu110", "mxnet-cu112"),
    "keras": ("keras",),
}


def check_frameworks(host: dict, matrix, target):
    if target is None or not matrix.is_release(*target):
        return
    package, version = target
    rows = framework_rows(matrix, package, version)
    packages = installed_packages(host)
    pins: dict[str, list] = {}
    pin_rows = [r for r in requirement_rows(matrix, package, version, python_minor(host), host_platform(host)) if r["kind"] != "user-guide"]
    for row in pin_rows:
        req = MatrixRequirement(row["requirement"])
        pins.setdefault(canonical_name(req.name), []).append(req.specifier)
    # Python unknown: pins that differ per Python are not merged into one (empty or wrong) range.
    per_python = pins_per_python(pin_rows) if python_minor(host) is None else {}
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
            how = how_package(host, dist)
            if not row.get("supported", True):
                yield Check(f"host.framework.{dist}", title, WARN, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=f"not supported by {package} {version}", source=row.get("source", ""),
                            message=f"{package} {version} cannot load {framework} models; {dist} {installed} is installed but unused by the toolkit",
                            fix=Fix(f"convert through ONNX, or use a toolkit release that supports {framework}", [cmd("rknn-envcheck", "resolve", "--toolkit", f"{package}=={version}")]))
                continue
            spec = row.get("specifier", "")
            if not spec:
                continue
            from rknn_envcheck.versions import framework_range

            if dist in per_python:
                ranges = "; ".join(f"Python {py}: {dist}{framework_range(spec, specs)[0]}" for py, specs in sorted(per_python[dist].items(), key=lambda kv: release_numbers(kv[0])))
                yield Check(f"host.framework.{dist}", title, UNKNOWN, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=ranges, source=row.get("source", ""), rule="the vendor's framework table narrowed by its requirements, per Python",
                            message=f"the range of {dist} {package} {version} supports depends on the Python version ({python_version_shown(host)}), "
                                    "so it cannot be told whether {0} {1} fits".format(dist, installed),
                            fix=python_unknown_fix(host))
                continue
            spec, why = framework_range(spec, pins.get(dist, []))
            if try_parse(installed) is None:
                yield Check(f"host.framework.{dist}", title, UNKNOWN, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=spec, source=row.get("source", ""), message=f"version {installed!r} of {dist} does not parse",
                            fix=Fix(f"reinstall a released {dist}", [cmd(*pip_argv(host), "install", "--force-reinstall", f"{dist}{spec}")])
                            if satisfiable(spec) else Fix(f"reinstall a released {dist}", [cmd(*pip_argv(host), "install", "--force-reinstall", dist)]))
                continue
            if matches(installed, spec):
                yield Check(f"host.framework.{dist}", title, OK, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=f"{dist}{spec}{detail}", source=row.get("source", ""), rule=why,
                            message=f"{dist} {installed} is in the supported range {spec}")
            else:
                # Severity policy (docs/checks.md): the vendor's framework table only recommends; a row
                # is `fail` only where a hard limit was shown (matrix `level`). Requires-Dist violations
                # are the requirement check's `fail`.
                hard = row.get("level", "warn") == "fail"
                yield Check(f"host.framework.{dist}", title, FAIL if hard else WARN, component=dist, observed=f"{dist} {installed}", how=how,
                            expected=f"{dist}{spec}{detail}", source=row.get("source", ""), rule=why,
                            message=f"{dist} {installed} is outside the range {package} {version} supports ({spec}); "
                                    + ("model loading may fail or give wrong results" if hard else "the vendor's table recommends this range; the wheel does not enforce it"),
                            fix=Fix(f"install a supported {dist}", [cmd(*pip_argv(host), "install", f"{dist}{spec}")]) if satisfiable(spec) else
                            Fix(f"no {dist} version satisfies {spec} (the vendor's documents disagree); choose a toolkit release with a consistent range",
                                [cmd("rknn-envcheck", "resolve", "--toolkit", f"{package}=={version}")]))
    if rows and not seen:
        yield Check("host.frameworks", "Framework versions", SKIPPED, component=package,
                    message="no deep-learning framework (tensorflow, torch, onnx, mxnet, keras) is installed; nothing to compare")


def _judged_by_its_metadata(host: dict, target, planned: bool) -> bool:
    """The toolkit to judge is the installed one (also when --toolkit names the installed release)."""
    if not planned:
        return True
    installed = installed_toolkit(host)
    return bool(installed and installed[0] == target[0] and try_parse(installed[1]) is not None
                and try_parse(target[1]) is not None and public(installed[1]) == public(target[1]))


def check_requirements(host: dict, matrix, target, planned: bool):
    if target is None:
        return
    package, version = target
    # An installed toolkit is judged by its own METADATA (rules/requirements.py); the matrix's
    # Requires-Dist rows then only serve a release that is not installed, and a distribution the
    # closure already reported is not reported again from a vendor requirements-file row.
    by_metadata = _judged_by_its_metadata(host, target, planned)
    closure = closure_checks(host, package, version) if by_metadata else []
    yield from closure
    said = {c.component for c in closure if c.status != OK}
    metadata_read = by_metadata and "requires_dist" in host
    if not matrix.is_release(*target):
        return
    rows = [r for r in requirement_rows(matrix, package, version, python_minor(host), host_platform(host))
            if not (metadata_read and r["kind"] == "requires-dist")]
    packages = installed_packages(host)
    by_dist: dict[str, list[tuple[dict, MatrixRequirement]]] = {}
    # The frameworks are judged by the vendor's supported-version table (_check_frameworks); a
    # requirements-file pin such as torch==1.5.1 is one choice inside that range, not the range.
    framework_dists = {d for dists in FRAMEWORK_DISTS.values() for d in dists} | {"tensorflow-gpu", "torchvision"}
    for row in rows:
        req = MatrixRequirement(row["requirement"])
        name = canonical_name(req.name)
        if name in said or ((name in framework_dists or name.startswith("mxnet-")) and row["kind"] != "requires-dist"):
            continue
        by_dist.setdefault(name, []).append((row, req))
    per_python = pins_per_python(rows) if python_minor(host) is None else {}
    for dist, items in sorted(by_dist.items()):
        installed = packages.get(dist)
        if installed is not None and dist in per_python:
            # Python unknown and pins that differ per Python: one merged pin would be wrong (or empty).
            yield Check(f"host.requirement.{dist}", f"{dist} (needed by {package} {version})", UNKNOWN, component=dist, observed=f"{dist} {installed}",
                        how=how_package(host, dist),
                        expected="; ".join(f"Python {py}: {dist}{','.join(sorted(str(x) for x in specs))}" for py, specs in
                                           sorted(per_python[dist].items(), key=lambda kv: release_numbers(kv[0]))),
                        source="; ".join(sorted({r.get('source', '') for r, _q in items} - {""})),
                        message=f"what {package} {version} needs of {dist} depends on the Python version ({python_version_shown(host)})",
                        fix=python_unknown_fix(host))
            continue
        if installed is None:
            # Not a finding from matrix rows (issue 12): for a planned release pip installs it;
            # for an installed toolkit only its own METADATA can say what is missing, and facts
            # without Requires-Dist (a hand-written list, an older probe) make the closure check
            # `unknown` above — an absent name there is not observed as absent.
            continue
        if try_parse(installed) is None:
            yield Check(f"host.requirement.{dist}", f"{dist} (needed by {package} {version})", UNKNOWN, component=dist, observed=f"{dist} {installed}",
                        how=how_package(host, dist), expected="; ".join(sorted({str(q) for _r, q in items})),
                        source="; ".join(sorted({r.get('source', '') for r, _q in items} - {""})),
                        message=f"installed version {installed!r} of {dist} does not parse",
                        fix=Fix(f"reinstall a released {dist}", [cmd(*pip_argv(host), "install", "--force-reinstall", f"{dist}{','.join(sorted({str(q.specifier) for _r, q in items}))}")]))
            continue
        failing = [(r, q) for r, q in items if not q.specifier.contains(installed, prereleases=True)]
        if not failing:
            row, req = items[0]
            yield Check(f"host.requirement.{dist}", f"{dist} (needed by {package} {version})", OK, component=dist, observed=f"{dist} {installed}",
                        how=how_package(host, dist), expected="; ".join(sorted({str(q) for _r, q in items})),
                        source="; ".join(sorted({r.get('source', '') for r, _q in items})), message=f"{dist} {installed} fits")
            continue
        hard = [(r, q) for r, q in failing if r["kind"] == "requires-dist"]
        status = FAIL if hard else WARN
        row, req = (hard or failing)[0]
        kind_text = {"requires-dist": "the wheel requires", "requirements-file": "the vendor's requirements file pins",
                     "user-guide": "the vendor's user guide lists"}[row["kind"]]
        yield Check(f"host.requirement.{dist}", f"{dist} (needed by {package} {version})", status, component=dist, observed=f"{dist} {installed}",
                    how=how_package(host, dist), expected="; ".join(sorted({str(q) for _r, q in failing})),
                    source="; ".join(sorted({r.get('source', '') for r, _q in failing})),
                    message=f"{kind_text} {req}, but {dist} {installed} is installed",
                    fix=Fix(f"install the version {package} {version} was built against", [cmd(*pip_argv(host), "install", str(req))]))


def check_duplicates(host: dict):
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
        commands = [cmd(*pip_argv(host), "uninstall", "-y", name, note="repeat until none is left"),
                    cmd(*pip_argv(host), "install", f"{name}=={dup['locations'][0].get('version', '')}")]
        user_site = "/.local/" in str(dup.get("locations"))
        yield Check(f"host.duplicate.{name}", f"{name} installed twice", status, component=name, observed=places,
                    how="every sys.path entry's *.dist-info/*.egg-info", expected="one copy on sys.path",
                    source="seed §1.1.1 ('undefined symbol: PyFPE_jbuf' — an unclean Python environment, numpy installed in two paths)",
                    message=f"{name} is installed {len(places)} times ({'; '.join(places)}); the first one on sys.path ({first}) wins and can load the other's compiled parts",
                    fix=Fix(f"remove every copy of {name}, then install one"
                            + (" (one copy is in the user site, ~/.local: remove it with PYTHONNOUSERSITE unset, e.g. `pip uninstall --user`)" if user_site else ""),
                            commands))


def check_install_target(host: dict, toolkit=None):
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
                        [cmd(*pip_argv(host), "install", "--user", package), cmd(str(python.get("executable") or "python3"), "-m", "venv", "~/rknn-venv"),
                         cmd("~/rknn-venv/bin/pip", "install", package)]))


def check_broken_metadata(host: dict):
    for item in host.get("broken_metadata") or []:
        yield Check("host.metadata", "Installed metadata", WARN, observed=item.get("path"), how="reading the distribution metadata",
                    message=f"broken metadata: {item.get('problem')}; pip and this check cannot see that distribution's version",
                    fix=Fix("reinstall or remove the broken distribution", [cmd("rm", "-r", str(item.get("path")), note="after checking what it is")]))


def check_top_level(host: dict):
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
                    fix=Fix("remove the copy you do not want (or the PYTHONPATH entry that adds it)", [cmd("python3", "-c", f"import importlib; print(importlib.import_module({name!r}).__file__)")]))
