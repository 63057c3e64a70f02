"""Which RKNN toolkit a host has (or is about to have), and the host's wheel platform.

Shared by the host, device, model and resolve rules. Pure: facts in, answers out.
"""
from __future__ import annotations

import re

from rknn_envcheck.errors import UsageError

RKNN_PACKAGES = ("rknn-toolkit", "rknn-toolkit-lite", "rknn-toolkit2", "rknn-toolkit-lite2")
# The generation a package drives: v1 = RKNPU1 chips (galcore), v2 = RKNPU2 chips (rknpu).
LINE_OF = {"rknn-toolkit": "rknn-toolkit", "rknn-toolkit-lite": "rknn-toolkit", "rknn-toolkit2": "rknn-toolkit2", "rknn-toolkit-lite2": "rknn-toolkit2"}


from rknn_envcheck.versions import canonical_name  # noqa: E402,F401  (one home: probes use it too)


def installed_rknn(host: dict) -> list[tuple[str, str]]:
    packages = {canonical_name(k): v for k, v in (host.get("packages") or {}).items()}
    return [(name, packages[name]) for name in RKNN_PACKAGES if name in packages]


def installed_toolkit(host: dict) -> tuple[str, str] | None:
    """The RKNN package that drives this host: the full toolkit before the lite one."""
    found = installed_rknn(host)
    return found[0] if found else None


def parse_toolkit_option(text: str, matrix) -> tuple[str, str]:
    """`--toolkit` accepts `rknn-toolkit2==2.3.2`, `rknn-toolkit2 2.3.2` or a bare `2.3.2`.

    A bare version that exists in both lines (1.6.0 is a release of rknn-toolkit and of
    rknn-toolkit2) is refused rather than guessed: the two lines need different boards.
    """
    from rknn_envcheck.versions import normalize

    raw = text.strip()
    if not raw:
        raise UsageError("--toolkit is empty: give a release, e.g. --toolkit rknn-toolkit2==2.3.2")
    match = re.match(r"^\s*([A-Za-z][A-Za-z0-9_.-]*?)\s*(?:==|\s)\s*(\S+)\s*$", raw)
    if match:
        package = canonical_name(match.group(1))
        version = match.group(2)
        if package not in RKNN_PACKAGES:
            raise UsageError(f"--toolkit {text!r}: unknown package {match.group(1)!r}; expected one of {', '.join(RKNN_PACKAGES)}")
        try:
            normalize(version)
        except ValueError as exc:
            raise UsageError(f"--toolkit {text!r}: {exc}") from None
        return package, version
    try:
        normalize(raw)
    except ValueError as exc:
        raise UsageError(f"--toolkit {text!r}: {exc}; or name the package, e.g. rknn-toolkit2==2.3.2") from None
    candidates = [p for p in ("rknn-toolkit", "rknn-toolkit2") if matrix.is_release(p, raw)]
    if len(candidates) == 1:
        return candidates[0], raw
    if len(candidates) > 1:
        raise UsageError(f"--toolkit {raw}: both rknn-toolkit {raw} and rknn-toolkit2 {raw} exist; say which, e.g. --toolkit rknn-toolkit2=={raw}")
    raise UsageError(f"--toolkit {raw}: no rknn-toolkit or rknn-toolkit2 release {raw} in matrix {matrix.version}; name the package (e.g. rknn-toolkit2=={raw}) to judge it anyway")


def wheel_rows(matrix, package: str, version: str) -> list[dict]:
    """The [[wheel]] rows of one release."""
    from rknn_envcheck.versions import in_versions

    return [r for r in matrix.rows("wheel", package) if in_versions(version, r["versions"])]


def framework_rows(matrix, package: str, version: str) -> list[dict]:
    """The [[framework]] rows of one release (the lite packages have none: they run, not convert)."""
    from rknn_envcheck.versions import in_versions

    return [r for r in matrix.rows("framework", package) if in_versions(version, r["versions"])]


def requirement_rows(matrix, package: str, version: str, python: str | None, platform: str | None) -> list[dict]:
    """The [[requirement]] rows of one release for a Python X.Y and wheel platform; a row limited
    to some Pythons/platforms is kept when the host's is not known."""
    from rknn_envcheck.versions import in_versions

    out = []
    for row in matrix.rows("requirement", package):
        if not in_versions(version, row["versions"]):
            continue
        if row.get("python") and python and python not in row["python"]:
            continue
        platforms = row.get("platform")
        if platforms and platform and platform not in (platforms if isinstance(platforms, list) else [platforms]):
            continue
        out.append(row)
    return out


def host_platform(host: dict) -> str | None:
    """The wheel platform the host needs (`linux_x86_64`, `win_amd64`, …), from os + arch."""
    os_name = (host.get("os") or "").lower()
    arch = (host.get("arch") or "").lower()
    arch = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv8l": "armv7l", "armv7": "armv7l"}.get(arch, arch)
    if os_name == "linux" and arch in ("x86_64", "aarch64", "armv7l"):
        return f"linux_{arch}"
    if os_name == "darwin":
        return "macosx_x86_64" if arch == "x86_64" else f"macosx_{arch}"
    if os_name == "windows":
        return "win_amd64" if arch == "x86_64" else f"win_{arch}"
    if os_name and arch:
        return f"{os_name}_{arch}"
    return None


def python_minor(host: dict) -> str | None:
    version = (host.get("python") or {}).get("version")
    if not version:
        return None
    parts = str(version).split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else None


# Where a release's wheel comes from when it is not on PyPI (toolkit1.md §1.2; toolkit2.md §1.1).
RELEASE_PAGES = {
    "rknn-toolkit": "https://github.com/rockchip-linux/rknn-toolkit/releases",
    "rknn-toolkit-lite": "https://github.com/rockchip-linux/rknn-toolkit (rknn-toolkit-lite/packages/)",
    "rknn-toolkit2": "https://github.com/airockchip/rknn-toolkit2 (rknn-toolkit2/packages/)",
    "rknn-toolkit-lite2": "https://github.com/airockchip/rknn-toolkit2 (rknn-toolkit-lite2/packages/)",
}


def on_pypi(matrix, package: str, version: str) -> bool:
    """True only when the matrix says the release is on PyPI (no `on_pypi` = not known to be)."""
    from rknn_envcheck.versions import public, try_parse

    if try_parse(version) is None:
        return False
    wanted = public(version)
    return any(r.get("on_pypi") and public(r["version"]) == wanted for r in matrix.rows("release", package))


def install_commands(matrix, package: str, version: str, pip: list[str]) -> list:
    """How to install one release (`pip`: the start of the pip argv): `pip install` when PyPI has
    it, else the vendor's wheel file."""
    from rknn_envcheck.shellcmd import cmd

    if on_pypi(matrix, package, version):
        return [cmd(*pip, "install", f"{package}=={version}")]
    wheel = package.replace("-", "_")
    return [cmd(*pip, "install", f"./{wheel}-{version}-cpXY-cpXY-PLATFORM.whl",
                note=f"{package} {version} is not on PyPI: download the wheel for your Python and platform from {RELEASE_PAGES.get(package, 'the vendor')}")]
