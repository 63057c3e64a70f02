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


def parse_toolkit_option(text: str, matrix, option: str = "--toolkit") -> tuple[str, str]:
    """`--toolkit` accepts `rknn-toolkit2==2.3.2`, `rknn-toolkit2 2.3.2` or a bare `2.3.2`.

    A bare version that exists in both lines (1.6.0 is a release of rknn-toolkit and of
    rknn-toolkit2) is refused rather than guessed: the two lines need different boards.
    `option` names where the text came from in errors (a facts file's `judged_for` field).
    """
    package, version = check_toolkit_text(text, option)
    if package is not None:
        return package, version
    raw = version
    candidates = [p for p in ("rknn-toolkit", "rknn-toolkit2") if matrix.is_release(p, raw)]
    if len(candidates) == 1:
        return candidates[0], raw
    if len(candidates) > 1:
        raise UsageError(f"{option} {raw}: both rknn-toolkit {raw} and rknn-toolkit2 {raw} exist; say which, e.g. rknn-toolkit2=={raw}")
    raise UsageError(f"{option} {raw}: no rknn-toolkit or rknn-toolkit2 release {raw} in matrix {matrix.version}; name the package (e.g. rknn-toolkit2=={raw}) to judge it anyway")


def check_toolkit_text(text: str, option: str = "--toolkit") -> tuple[str | None, str]:
    """The matrix-free half of parse_toolkit_option: (package, version) for `pkg==V` / `pkg V`,
    (None, V) for a bare version; UsageError naming `option` when it is neither."""
    from rknn_envcheck.inputlimits import cut
    from rknn_envcheck.versions import normalize

    raw = text.strip()
    shown = cut(repr(text), 120)
    if not raw:
        raise UsageError(f"{option} is empty: give a release, e.g. rknn-toolkit2==2.3.2")
    match = re.match(r"^\s*([A-Za-z][A-Za-z0-9_.-]*?)\s*(?:==|\s)\s*(\S+)\s*$", raw)
    if match:
        package = canonical_name(match.group(1))
        version = match.group(2)
        if package not in RKNN_PACKAGES:
            raise UsageError(f"{option} {shown}: unknown package {cut(repr(match.group(1)), 60)}; expected one of {', '.join(RKNN_PACKAGES)}")
        try:
            normalize(version)
        except ValueError as exc:
            raise UsageError(f"{option} {shown}: {exc}") from None
        return package, version
    try:
        normalize(raw)
    except ValueError as exc:
        raise UsageError(f"{option} {shown}: {exc}; or name the package, e.g. rknn-toolkit2==2.3.2") from None
    return None, raw


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


def pins_per_python(rows: list[dict]) -> dict[str, dict[str, list]]:
    """The [[requirement]] rows of a release whose pins differ by Python (toolkit2 2.3.2: onnx
    ==1.10.0 on cp36, >=1.16.1 on cp38+), as {distribution: {Python X.Y: [SpecifierSet]}}; a
    distribution pinned alike for every Python is left out. For a host whose Python is unknown
    these rows cannot be merged into one range (the merge is empty, or wrong for every Python)."""
    from rknn_envcheck.versions import MatrixRequirement

    by_dist: dict[str, list[tuple[list | None, object]]] = {}
    for row in rows:
        req = MatrixRequirement(row["requirement"])
        by_dist.setdefault(canonical_name(req.name), []).append((row.get("python") or None, req.specifier))
    out = {}
    for dist, items in by_dist.items():
        pythons = sorted({py for limit, _spec in items if limit for py in limit})
        if not pythons:
            continue
        per = {py: [spec for limit, spec in items if not limit or py in limit] for py in pythons}
        if len({tuple(sorted(str(s) for s in specs)) for specs in per.values()}) > 1:
            out[dist] = per
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
    """`3.11` from host.python.version `3.11.7`; None when missing or not a version (`3.x`, `3`):
    every rule that needs the Python then says `unknown` instead of judging a made-up `3.x`."""
    from rknn_envcheck.versions import try_parse

    python = host.get("python") if isinstance(host.get("python"), dict) else {}
    parsed = try_parse(python.get("version"))
    if parsed is None or len(parsed.release) < 2:
        return None
    return f"{parsed.release[0]}.{parsed.release[1]}"


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


def install_commands(matrix, package: str, version: str, pip: list[str], python: str | None = None, platform: str | None = None) -> list:
    """How to install one release (`pip`: the start of the pip argv): `pip install` when PyPI has
    it, else the vendor's wheel file — named for `python` ("3.8") and `platform` when both are
    known (CPython's ABI tag carries the `m` suffix up to 3.7), else the page to pick it from."""
    from rknn_envcheck.shellcmd import cmd

    if on_pypi(matrix, package, version):
        return [cmd(*pip, "install", f"{package}=={version}")]
    wheel, page = package.replace("-", "_"), RELEASE_PAGES.get(package, "the vendor")
    parts = python.split(".") if python else []
    if len(parts) == 2 and all(p.isdigit() for p in parts) and platform and platform.startswith(("linux_", "win_")):
        tag = "cp" + "".join(parts)
        abi = tag + ("m" if (int(parts[0]), int(parts[1])) <= (3, 7) else "")
        return [cmd(*pip, "install", f"./{wheel}-{version}-{tag}-{abi}-{platform}.whl",
                    note=f"{package} {version} is not on PyPI: download this file from {page}")]
    return [cmd(*pip, "install", f"./{wheel}-{version}-<python tag>-<abi tag>-<platform>.whl",
                note=f"{package} {version} is not on PyPI: pick the file for your Python and platform at {page}")]
