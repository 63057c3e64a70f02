"""pip refused a wheel (`X.whl is not a supported wheel on this platform`): say exactly why.

The wheel's file name carries its tags (PEP 427: name-version[-build]-python-abi-platform.whl).
They are compared with the Python the log shows (a `Python 3.10.12` line, a pip path such as
`python3.10/site-packages`, `pip … (python 3.10)`), else the observed host's Python, and with the
host's OS/architecture when the facts have them. The matrix's [[wheel]] rows of that release
then name the file that fits, or say that the release has none for this Python/platform.

A small parser, not packaging.utils.parse_wheel_filename: the vendor's own names are not PEP 440
(`rknn_toolkit2-1.4.0_22dcfef4-cp36-cp36m-linux_x86_64.whl`), which packaging rejects.
"""
from __future__ import annotations

import re
from pathlib import Path

from rknn_envcheck.records import dataclass

WHEEL_MESSAGE_ID = "pip_unsupported_wheel"
_CP_TAG = re.compile(r"^cp(\d)(\d+)$")
_MACOS = re.compile(r"^macosx_(\d+)_(\d+)_(\w+)$")
_MANYLINUX = re.compile(r"^(?:manylinux_\d+_\d+|manylinux\d+|musllinux_\d+_\d+)_(\w+)$")


@dataclass
class WheelName:
    file: str
    distribution: str
    version: str
    pythons: list[str]      # "3.8", … from cpXY tags; "any" for py3/py2.py3
    abis: list[str]
    platforms: list[str]    # raw platform tags

    @property
    def systems(self) -> list[tuple[str, str, str | None]]:
        """(os, arch, minimum macOS) for each platform tag; os "any" for a pure wheel."""
        out = []
        for tag in self.platforms:
            out.append(platform_of_tag(tag))
        return out


def platform_of_tag(tag: str) -> tuple[str, str, str | None]:
    if tag == "any":
        return ("any", "any", None)
    mac = _MACOS.match(tag)
    if mac:
        arch = {"arm64": "aarch64", "intel": "x86_64"}.get(mac.group(3), mac.group(3))
        return ("darwin", arch, f"{mac.group(1)}.{mac.group(2)}")
    many = _MANYLINUX.match(tag)
    if many:
        return ("linux", many.group(1), None)
    if tag.startswith("linux_"):
        return ("linux", tag[len("linux_"):], None)
    if tag.startswith("win"):
        return ("windows", {"win_amd64": "x86_64", "win32": "x86", "win_arm64": "aarch64"}.get(tag, tag), None)
    return ("?", tag, None)


def parse_wheel_name(file_name: str) -> WheelName | None:
    """The tags of a wheel file name, or None when it is not one."""
    name = file_name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if not name.endswith(".whl"):
        return None
    parts = name[:-4].split("-")
    if len(parts) not in (5, 6):
        return None
    python_tags, abi_tags, platform_tags = parts[-3], parts[-2], parts[-1]
    pythons = []
    for tag in python_tags.split("."):
        cp = _CP_TAG.match(tag)
        if cp:
            pythons.append(f"{cp.group(1)}.{cp.group(2)}")
        elif tag in ("py3", "py2.py3", "py2", "py30"):
            pythons.append("any")
    return WheelName(name, parts[0], parts[1], pythons, abi_tags.split("."), platform_tags.split("."))


def _minor(version: str | None) -> str | None:
    if not version:
        return None
    bits = str(version).split(".")
    return ".".join(bits[:2]) if len(bits) >= 2 and bits[0].isdigit() and bits[1].isdigit() else None


def _host_system(facts: dict) -> tuple[str | None, str | None]:
    host = facts.get("host") or {}
    os_name = (host.get("os") or "").lower() or None
    arch = (host.get("arch") or "").lower() or None
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}.get(arch, arch) if arch else None
    log = facts.get("log") or {}
    return os_name or log.get("host_os"), arch or log.get("host_arch")


def _python_tags(minor: str) -> str:
    major, rest = minor.split(".", 1)
    abi = f"cp{major}{rest}" + ("m" if major == "3" and int(rest) < 8 else "")
    return f"cp{major}{rest}-{abi}"


def _package(distribution: str) -> str:
    return distribution.replace("_", "-").lower()


def fitting_wheel(wheel: WheelName, python: str | None, os_name: str | None, arch: str | None, matrix) -> tuple[str | None, str]:
    """(file name that fits, why) from the release's [[wheel]] rows; (None, why) when none does."""
    if matrix is None or python is None:
        return None, ""
    from rknn_envcheck.rules.toolkit import wheel_rows

    package = _package(wheel.distribution)
    public = re.split(r"[_+]", wheel.version, 1)[0]
    try:
        rows = wheel_rows(matrix, package, public)
    except Exception:  # an unknown package or version: the matrix has nothing to say
        rows = []
    if not rows:
        return None, ""
    offered = []
    for row in rows:
        r_os, r_arch, _ = platform_of_tag(row.get("platform", ""))
        pythons = row.get("python") or []
        offered.append(f"Python {', '.join(pythons)} on {row.get('platform')}")
        if python in pythons and (arch is None or r_arch == arch) and (os_name is None or r_os == os_name):
            same_platform = any(platform_of_tag(p)[:2] == (r_os, r_arch) for p in wheel.platforms)
            platform_tag = ".".join(wheel.platforms) if same_platform else row.get("platform")
            stem = "-".join([wheel.distribution, wheel.version])
            return f"{stem}-{_python_tags(python)}-{platform_tag}.whl", ""
    where = f" on {os_name or '?'} {arch or '?'}" if (os_name or arch) else ""
    return None, f"{package} {public} has no wheel for Python {python}{where}; its wheels: {'; '.join(offered)}"


def explain_wheel(file_name: str, facts: dict, matrix=None) -> dict | None:
    """{'observed', 'expected', 'message', 'fix', 'commands'} for one refused wheel, or None."""
    from rknn_envcheck.shellcmd import cmd

    wheel = parse_wheel_name(file_name)
    if wheel is None:
        return None
    log = facts.get("log") or {}
    log_python = _minor(log.get("python_version"))
    host_python = _minor(((facts.get("host") or {}).get("python") or {}).get("version"))
    python = log_python or host_python
    python_how = (log.get("how") or {}).get("python_version") if log_python else ("observed host" if host_python else "")
    os_name, arch = _host_system(facts)
    systems = wheel.systems
    reasons = []
    if python and wheel.pythons and "any" not in wheel.pythons and python not in wheel.pythons:
        reasons.append(f"it is built for Python {', '.join(wheel.pythons)}, the Python here is {python} ({python_how})")
    if os_name and not any(s[0] in (os_name, "any") for s in systems):
        reasons.append(f"it is built for {', '.join(sorted({s[0] for s in systems}))}, this host runs {os_name}")
    elif arch and not any(s[1] in (arch, "any") for s in systems):
        reasons.append(f"it is built for {', '.join(sorted({s[1] for s in systems}))} CPUs, this host is {arch}")
    mac_min = [s[2] for s in systems if s[2]]
    macos = log.get("macos_version") or ((facts.get("host") or {}).get("os_version") if os_name == "darwin" else None)
    if mac_min and macos:
        from rknn_envcheck.versions import try_parse

        have, need = try_parse(str(macos)), try_parse(min(mac_min, key=lambda v: try_parse(v) or v))
        if have is not None and need is not None and have < need:
            reasons.append(f"it needs macOS ≥ {min(mac_min)}, this Mac runs {macos}")
    tags = f"Python {', '.join(wheel.pythons) or '?'}, platform {'.'.join(wheel.platforms)}"
    observed = f"{wheel.file}: {tags}"
    commands = []
    fit, why_not = fitting_wheel(wheel, python, os_name, arch, matrix)
    if not python:
        message = (f"pip refused {wheel.file} ({tags}); the log does not show which Python ran pip, so the exact mismatch "
                   "cannot be named: compare the cpXY tag with `python3 --version` and the platform with `uname -m`")
        commands = [cmd("python3", "--version"), cmd("python3", "-m", "pip", "debug", "--verbose")]
        return {"observed": observed, "expected": "a wheel whose tags pip lists as compatible", "message": message,
                "fix": "Install the wheel whose cpXY tag is the Python that runs pip and whose platform tag is this machine's.",
                "commands": commands}
    if not reasons:
        reasons.append(f"its tags fit Python {python}{' on ' + os_name if os_name else ''}{' ' + arch if arch else ''}: "
                       "pip probably belongs to another interpreter than the one the log shows, or the machine's "
                       "architecture/OS is not what the file needs")
    message = f"pip refused {wheel.file}: " + "; ".join(reasons) + "."
    if fit:
        fix = f"Install the wheel of the same release that fits: {fit}."
        commands = [cmd(f"python{python}", "-m", "pip", "install", f"./{fit}")]
    elif why_not:
        fix = (f"{why_not}. Use a Python the release has a wheel for (a venv with that Python), or a release that has "
               "one for this Python; toolkit2 converts models only on x86_64 Linux (on an arm64 board use rknn-toolkit-lite2 "
               "or toolkit2 ≥ 2.0 arm64 wheels).")
        commands = [cmd("rknn-envcheck", "resolve")]
    else:
        fix = f"Install the {wheel.distribution} wheel tagged {_python_tags(python)} for this machine's platform."
        commands = [cmd(f"python{python}", "-m", "pip", "debug", "--verbose")]
    expected = f"a wheel tagged {_python_tags(python)}" + (f" for {os_name} {arch}" if os_name and arch else "")
    return {"observed": observed, "expected": expected, "message": message, "fix": fix, "commands": commands}


def refine_wheel_checks(checks: list, result, facts: dict, messages) -> None:
    """Replace the generic text of the refused-wheel check by the exact mismatch (in place)."""
    finding = result.findings.get(WHEEL_MESSAGE_ID)
    if finding is None:
        return
    wheel_file = finding.first.groups.get("wheel")
    if not wheel_file:
        return
    matrix = None
    try:
        from rknn_envcheck.matrix import load_matrix

        matrix = load_matrix(str(Path(messages.path).parent))
    except Exception:  # a --matrix DIR without wheel rows: the tag comparison alone still helps
        matrix = None
    answer = explain_wheel(wheel_file, facts, matrix)
    if answer is None:
        return
    from rknn_envcheck.report import Fix

    for check in checks:
        if check.id == f"log.{WHEEL_MESSAGE_ID}":
            check.observed = answer["observed"]
            check.expected = answer["expected"]
            check.message = answer["message"] + ("\n" + check.message if check.message else "")
            check.fix = Fix(answer["fix"], answer["commands"] + [c for c in (check.fix.commands if check.fix else []) if c not in answer["commands"]])
