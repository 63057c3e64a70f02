"""A fix built from the toolkit's own Requires-Dist (matrices/wheels_*.toml [[requirement]] rows)
for a dependency error in a log, installed with the judged interpreter's pip."""
from __future__ import annotations

from rknn_envcheck.report import Check, Fix
from rknn_envcheck.shellcmd import Command


def _toolkit_and_python(facts: dict) -> tuple[str | None, str | None, str | None, str]:
    """(package, version, Python X.Y, python argv0) of the toolkit the log or --facts names."""
    host = facts.get("host") or {}
    packages = host.get("packages") or {}
    package = next((p for p in ("rknn-toolkit2", "rknn-toolkit") if packages.get(p)), None)
    python = host.get("python") or {}
    version = (python.get("version") or (facts.get("log") or {}).get("python_version") or "")
    xy = ".".join(str(version).split(".")[:2]) or None
    executable = python.get("executable") or "python3"
    return package, packages.get(package) if package else None, xy, executable


def protobuf_from_requires_dist(check: Check, facts: dict, matrix) -> None:
    """One protobuf fix: the range the installed toolkit's own Requires-Dist names (wheels matrix),
    installed with the judged interpreter's pip; without a known toolkit, ask pip which pin is broken."""
    from rknn_envcheck.rules.toolkit import host_platform, requirement_rows

    package, version, python, executable = _toolkit_and_python(facts)
    rows = []
    if package and version:
        version = str(version).split("+")[0].split("-")[0]
        rows = [r for r in requirement_rows(matrix, package, version, python, host_platform(facts.get("host") or {}))
                if r["requirement"].startswith("protobuf")]
    specs = sorted({r["requirement"] for r in rows})
    if len(specs) == 1:
        check.fix = Fix(f"install the protobuf {package} {version} requires ({specs[0]}, its Requires-Dist)",
                        [Command([executable, "-m", "pip", "install", specs[0]])])
        check.expected = f"{specs[0]} (Requires-Dist of {package} {version})"
        return
    check.fix = Fix("`pip check` names the protobuf range the installed toolkit requires (its Requires-Dist); install exactly that "
                    "range with the same interpreter (python3 -m pip install 'protobuf…')",
                    [Command([executable, "-m", "pip", "check"])])
