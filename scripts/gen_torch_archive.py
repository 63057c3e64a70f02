#!/usr/bin/env python3
"""Write matrices/torch_archive.toml: which PyTorch archive file-format versions each torch release
writes and reads, from the torch source at each release.

    # from a pytorch git clone (tags v1.1.0 ... v2.9.0):
    python3 scripts/gen_torch_archive.py --pytorch-git ~/src/pytorch/.git > matrices/torch_archive.toml
    # or from the released wheels (each wheel ships the same headers and torch/version.py names
    # the commit it was built from): download one wheel per minor release, keep the two headers
    python3 scripts/gen_torch_archive.py --download /tmp/torch-headers
    python3 scripts/gen_torch_archive.py --headers /tmp/torch-headers > matrices/torch_archive.toml

The constants come from caffe2/serialize/versions.h (torch >= 1.6) or
caffe2/serialize/inline_container.h (1.1 - 1.5): kMin/kMaxSupportedFileFormatVersion (what
PyTorchStreamReader accepts), kProducedFileFormatVersion and kMinProducedFileFormatVersion (what
the writer puts in the version record). `#if ENABLE_UPGRADERS` branches are
taken as the `#define` in the same file says (the wheels are built that way). A release whose
header names "./data/version" writes the version record there from file-format version 6 on.
One wheel per minor release is read: patch releases share the minor's serialization constants
(docs/decisions.md).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import zipfile

# (torch release read, pip --python-version its wheel exists for)
RELEASES = [("1.0.0", "37"), ("1.1.0", "37"), ("1.2.0", "37"), ("1.3.0", "37"), ("1.4.0", "37"), ("1.5.0", "37"), ("1.6.0", "37"),
            ("1.7.0", "37"), ("1.8.0", "37"), ("1.9.0", "37"), ("1.10.0", "37"), ("1.11.0", "38"), ("1.12.0", "38"), ("1.13.0", "38"),
            ("2.0.0", "38"), ("2.1.0", "38"), ("2.2.0", "38"), ("2.3.0", "38"), ("2.4.0", "38"), ("2.5.0", "310"), ("2.6.0", "310"),
            ("2.7.0", "310"), ("2.8.0", "310"), ("2.9.0", "310")]
PLATFORMS = ["manylinux2014_aarch64", "manylinux_2_28_aarch64", "macosx_10_9_x86_64", "macosx_10_7_x86_64", "macosx_11_0_arm64",
             "macosx_10_13_x86_64"]
HEADERS = ("caffe2/serialize/versions.h", "caffe2/serialize/inline_container.h")
CONSTANTS = {"kMinSupportedFileFormatVersion": "min_readable", "kMaxSupportedFileFormatVersion": "max_readable",
             "kProducedFileFormatVersion": "produced", "kMinProducedFileFormatVersion": "min_produced"}
# Not read: kFileFormatVersion of 1.1/1.2 ("Writer-specific constants", 2 while the same reader accepts at most 1): what it
# governs is not said in the header, so no `produced` value is claimed for those releases.


def constants(text: str) -> dict:
    """The file-format constants of one header, following `#define X true|false` / `#if X` / `#else` / `#endif`."""
    defines: dict = {}
    active = [True]
    out: dict = {}
    for line in text.splitlines():
        stripped = line.strip()
        define = re.match(r"#define\s+(\w+)\s+(true|false|1|0)\b", stripped)
        if define and all(active):
            defines[define.group(1)] = define.group(2) in ("true", "1")
        elif stripped.startswith("#if"):
            name = stripped.split()[1] if len(stripped.split()) > 1 else ""
            active.append(bool(defines.get(name, False)))
        elif stripped.startswith("#else"):
            active[-1] = not active[-1]
        elif stripped.startswith("#endif") and len(active) > 1:
            active.pop()
        elif all(active):
            found = re.match(r"constexpr\s+uint64_t\s+(\w+)\s*=\s*(0x[0-9A-Fa-f]+|\d+)L?\s*;", stripped)
            if found and found.group(1) in CONSTANTS:
                out[CONSTANTS[found.group(1)]] = int(found.group(2), 0)
    if "./data/version" in text or ".data/version" in text:
        out["data_version_member"] = True
    return out


def row(release: str, texts: dict, source: str) -> list:
    values: dict = {}
    for name in HEADERS:  # versions.h wins over inline_container.h where both define a constant
        if name in texts:
            for key, value in constants(texts[name]).items():
                values.setdefault(key, value)
    if "max_readable" not in values:
        return [f"# torch {release}: no caffe2/serialize file-format constants found ({', '.join(texts) or 'neither header is in it'}); no row", ""]
    series = ".".join(release.split(".")[:2])
    out = ["[[torch_archive]]", f'torch = "{series}"', f'release = "{release}"']
    for key in ("min_readable", "max_readable", "produced", "min_produced"):
        if key in values:
            out.append(f"{key} = {values[key]}")
    out.append(f"data_version_member = {'true' if values.get('data_version_member') else 'false'}")
    out += [f'source = "{source}"', ""]
    return out


def from_git(gitdir: str) -> list:
    out = []
    for release, _ in RELEASES:
        texts = {}
        for path in HEADERS:
            done = subprocess.run(["git", "--git-dir", gitdir, "show", f"v{release}:{path}"], capture_output=True, text=True)
            if done.returncode == 0:
                texts[path] = done.stdout
        cited = "; ".join(f"github:pytorch/pytorch@v{release} {p}" for p in texts if constants(texts[p]))
        out += row(release, texts, cited)
    return out


def from_headers(directory: str) -> list:
    out = []
    for release, _ in RELEASES:
        folder = os.path.join(directory, release)
        if not os.path.isdir(folder):
            out += [f"# torch {release}: not downloaded", ""]
            continue
        texts = {}
        for path in HEADERS:
            name = os.path.join(folder, os.path.basename(path))
            if os.path.exists(name):
                with open(name, encoding="utf-8") as handle:
                    texts[path] = handle.read()
        with open(os.path.join(folder, "version.py"), encoding="utf-8") as handle:
            commit = re.search(r"git_version\s*=\s*'([0-9a-f]{40})'", handle.read())
        with open(os.path.join(folder, "wheel.txt"), encoding="utf-8") as handle:
            wheel = handle.read().strip()
        used = [p for p in texts if constants(texts[p])]
        cited = [f"github:pytorch/pytorch@v{release} {p}" for p in used]  # the release tag the wheel was built from
        cited += [f"PyPI:{wheel} torch/include/{p} (v{release}; torch/version.py git_version {commit.group(1)[:10] if commit else '?'})"
                  for p in used]
        out += row(release, texts, "; ".join(cited))
    return out


def download(directory: str) -> None:
    """One wheel per minor release into a temporary folder; keep the headers and version.py; delete the wheel."""
    for release, python in RELEASES:
        folder = os.path.join(directory, release)
        if os.path.exists(os.path.join(folder, "wheel.txt")):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            argv = [sys.executable, "-m", "pip", "download", f"torch=={release}", "--no-deps", "--only-binary=:all:",
                    "--python-version", python, "-d", tmp, "-q"]
            for platform in PLATFORMS:
                argv += ["--platform", platform]
            if subprocess.run(argv).returncode != 0:
                print(f"torch {release}: no wheel", file=sys.stderr)
                continue
            wheel = next(name for name in os.listdir(tmp) if name.endswith(".whl"))
            os.makedirs(folder, exist_ok=True)
            with zipfile.ZipFile(os.path.join(tmp, wheel)) as archive:
                for name in archive.namelist():
                    if name.endswith(HEADERS) or name == "torch/version.py":
                        with open(os.path.join(folder, os.path.basename(name)), "wb") as handle:
                            handle.write(archive.read(name))
            with open(os.path.join(folder, "wheel.txt"), "w", encoding="utf-8") as handle:
                handle.write(wheel + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--pytorch-git", help="a pytorch git directory with the release tags")
    group.add_argument("--headers", help="a folder written by --download")
    group.add_argument("--download", help="download one torch wheel per minor release and keep its headers here")
    args = parser.parse_args()
    if args.download:
        download(args.download)
        return 0
    out = ["# PyTorch zip archives: file-format versions each torch release writes and reads (rknn-envcheck model FILE.pt).",
           "# Generated by scripts/gen_torch_archive.py from caffe2/serialize/{versions,inline_container}.h of each release;",
           "# do not edit by hand. `torch` is the minor series the row stands for (patch releases share its constants).", ""]
    out += from_git(args.pytorch_git) if args.pytorch_git else from_headers(args.headers)
    sys.stdout.write("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
