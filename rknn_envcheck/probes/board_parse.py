"""Parsers for what a board prints about its NPU stack, per the exact vendor formats
(toolkit1.md §3.2–3.3, toolkit2.md §1.3, §3.3). Each returns (version, raw line) or (None, raw)
when a line is there but in no known format — a format we do not know is `unknown` with the raw
line shown, never a guessed version.
"""
from __future__ import annotations

import re

from rknn_envcheck.versions import galcore_key  # noqa: F401  (re-exported: callers read it here)

# rknn_server ≥ 1.5.2 (toolkit2): `rknn_server version: 2.3.2 (1842325 build@2025-03-30T09:54:34)`
SERVER_V2 = re.compile(r"rknn_server version:\s*(?P<version>\d+\.\d+\.\d+(?:b\d+)?)\s*\((?P<hash>[0-9a-f]*)\s*build@(?P<built>[0-9T:\-]+)\)")
# rknn_server toolkit v1 and toolkit2 ≤ 1.5.0: `1.7.5 (bb79b30 build: 2023-07-18 10:49:14)`; 1.6+ bare lines use `build@`.
SERVER_BARE = re.compile(r"^(?P<version>\d+\.\d+\.\d+(?:b\d+)?) \((?P<hash>[0-9a-f]{7}) build(?::\s*|@)(?P<built>[0-9][0-9T:\- ]+)\)$")
# librknn_runtime (v1): `librknn_runtime version 1.7.5 (ccb93f1 build: 2023-07-18 10:48:49 base: 1131)`
RUNTIME_V1 = re.compile(r"librknn_runtime version (?P<version>\S+) \((?P<hash>[0-9a-f]{7}) build: (?P<built>[0-9-]+ [0-9:]+) base: (?P<base>\d+)\)")
# librknnrt / librknnmrt (v2): `librknnrt version: 2.3.2 (429f97ae6b@2025-04-09T09:09:27)`
RUNTIME_V2 = re.compile(r"lib(?P<lib>rknnrt|rknnmrt) version: (?P<version>\d+\.\d+\.\d+(?:b\d+)?) \((?P<hash>[0-9a-f]*)@(?P<built>[0-9T:\-]+)\)")
# rknpu: `RKNPU driver: v0.9.6` (debugfs/procfs), bare `0.9.6` (/sys/module/rknpu/version)
RKNPU_NODE = re.compile(r"RKNPU driver:\s*v(?P<version>\d+\.\d+\.\d+)")
RKNPU_BARE = re.compile(r"^(?P<version>\d+\.\d+\.\d+)$")
# dmesg: `[drm] Initialized rknpu 0.9.6 20240322 for fdab0000.npu on minor 1` (date optional on new kernels)
RKNPU_DMESG_DRM = re.compile(r"Initialized rknpu (?P<version>\d+\.\d+\.\d+)(?: (?P<date>\d{8}))? for (?P<node>\S+)")
# dmesg, DMA_HEAP build: `RKNPU fdab0000.npu: RKNPU: Initialized RKNPU driver: v0.9.8 for 20240828`
RKNPU_DMESG_HEAP = re.compile(r"Initialized RKNPU driver: v(?P<version>\d+\.\d+\.\d+)")
# galcore: `Galcore version 6.4.6.5.351518` (older modules drop a field: `6.4.0.227915`; NXP-style `6.4.3.p2.336687`)
GALCORE = re.compile(r"Galcore version (?P<version>\d+\.\d+\.\d+(?:\.[0-9a-z]+)*)", re.I)
# libGAL.so (galcore user space): `$VERSION$6.4.6:351518$` (toolkit1.md §3.3; every libGAL from 2019 on)
LIBGAL_VERSION = re.compile(r"\$VERSION\$(?P<version>\d+\.\d+\.\d+):(?P<build>\d+)\$")
PYTHON_VERSION = re.compile(r"Python (?P<version>\d+\.\d+(?:\.\d+)?\S*)")


def first_match(pattern: re.Pattern, lines: list[str]):
    for line in lines:
        match = pattern.search(line)
        if match:
            return match, line
    return None, None


def parse_rknn_server(lines: list[str]) -> tuple[str | None, str | None]:
    match, line = first_match(SERVER_V2, lines)
    if match:
        return match.group("version"), line
    for candidate in lines:
        match = SERVER_BARE.match(candidate.strip())
        if match:
            return match.group("version"), candidate.strip()
    return None, (lines[0].strip() if lines else None)


def parse_runtime(lines: list[str]) -> tuple[str | None, str | None, str | None]:
    """(version, raw line, library name) for librknn_runtime / librknnrt / librknnmrt."""
    match, line = first_match(RUNTIME_V2, lines)
    if match:
        return match.group("version"), line.strip(), f"lib{match.group('lib')}.so"
    match, line = first_match(RUNTIME_V1, lines)
    if match:
        return match.group("version"), line.strip(), "librknn_runtime.so"
    interesting = [l.strip() for l in lines if "version" in l.lower()]
    return None, (interesting[0] if interesting else None), None


def parse_rknpu(text_by_source: dict[str, str]) -> tuple[str | None, str | None, str | None]:
    """(version, raw, source) from the rknpu nodes, then dmesg."""
    for source, text in text_by_source.items():
        lines = [l for l in text.splitlines() if l.strip()]
        if source == "dmesg":
            for pattern in (RKNPU_DMESG_DRM, RKNPU_DMESG_HEAP):
                match, line = first_match(pattern, lines)
                if match:
                    return match.group("version"), line.strip(), source
            continue
        match, line = first_match(RKNPU_NODE, lines)
        if match:
            return match.group("version"), line.strip(), source
        for line in lines:
            bare = RKNPU_BARE.match(line.strip())
            if bare:
                return bare.group("version"), line.strip(), source
    return None, None, None


def parse_galcore(lines: list[str]) -> tuple[str | None, str | None]:
    match, line = first_match(GALCORE, lines)
    if match:
        return match.group("version"), line.strip()
    return None, None


def parse_metadata_pairs(lines: list[str]) -> dict[str, str]:
    """`Name: x` / `Version: y` pairs as `grep -h -E '^(Name|Version):' */METADATA` prints them."""
    from rknn_envcheck.versions import canonical_name

    packages: dict[str, str] = {}
    name = None
    for line in lines:
        if line.startswith("Name:"):
            name = canonical_name(line.split(":", 1)[1].strip())
        elif line.startswith("Version:") and name:
            packages.setdefault(name, line.split(":", 1)[1].strip())
            name = None
    return packages


