#!/usr/bin/env python3
"""Regenerate matrices/tf_graphdef.toml: the GraphDef version numbers of each TensorFlow release.

A frozen GraphDef records `versions.producer` = TF_GRAPH_DEF_VERSION of the TensorFlow that wrote
it (and `versions.min_consumer`). That number lives in tensorflow/core/public/version.h, which
every tensorflow wheel ships under its include/ directory. For one wheel per minor release (its
first final release, X.Y.0 or X.Y.1; TF_GRAPH_DEF_VERSION is frozen at the branch cut, patch releases keep
it — measured on 1.15.0/1.15.5 and 2.4.0/2.4.4, docs/decisions.md) this
script reads that one header out of the remote wheel with HTTP range requests — the zip central
directory and one member, ~1.3 MB instead of a 100-400 MB wheel (RangeFile of
scripts/import_wheel_metadata.py) — and writes one [[tf_graphdef]] row per release.

    python scripts/gen_tf_graphdef_versions.py --save tests/data/tf_version_h    # network
    python scripts/gen_tf_graphdef_versions.py --offline tests/data/tf_version_h # stored headers

`--offline DIR` regenerates from headers stored by `--save DIR` (DIR/manifest.json names the
wheel and member each was read from), so a test checks the generator against real headers.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_wheel_metadata import RangeFile  # noqa: E402

PROJECT_JSON = "https://pypi.org/pypi/tensorflow/json"
# The toolkits' [[framework]] tensorflow rows start at 1.10.0 (toolkit v1); every later minor series on the
# index is read too, so a graph written by a TensorFlow newer than any toolkit allows is still dated.
FIRST_SERIES = "1.10"
MEMBER = re.compile(r"(^|/)include/tensorflow/core/public/version\.h$")
DEFINE = re.compile(r"^#define\s+(TF_GRAPH_DEF_VERSION(?:_MIN_CONSUMER|_MIN_PRODUCER)?)\s+(\d+)\b", re.M)
# A linux x86_64 wheel first (every release has one); any wheel ships the same header.
PREFERENCE = (re.compile(r"manylinux.*x86_64\.whl$"), re.compile(r"\.whl$"))


def graphdef_numbers(header: str) -> dict[str, int]:
    """{'producer', 'min_consumer', 'min_producer'} from the text of version.h."""
    found = dict(DEFINE.findall(header))
    names = {"producer": "TF_GRAPH_DEF_VERSION", "min_consumer": "TF_GRAPH_DEF_VERSION_MIN_CONSUMER",
             "min_producer": "TF_GRAPH_DEF_VERSION_MIN_PRODUCER"}
    missing = [macro for macro in names.values() if macro not in found]
    if missing:
        raise ValueError(f"version.h defines no {', '.join(missing)}")
    return {field: int(found[macro]) for field, macro in names.items()}


def pick_wheel(files: list[dict]) -> dict | None:
    wheels = [f for f in files if f.get("packagetype", "bdist_wheel") == "bdist_wheel" and not f.get("yanked")]
    for pattern in PREFERENCE:
        chosen = sorted((f for f in wheels if pattern.search(f["filename"])), key=lambda f: f["size"])
        if chosen:
            return chosen[0]
    return None


def first_release(releases: dict, series: str) -> str | None:
    """The lowest final X.Y.Z of a series that has a wheel (there is no tensorflow 1.13.0: 1.13.1 is the first)."""
    finals = [v for v, files in releases.items() if re.fullmatch(re.escape(series) + r"\.\d+", v) and pick_wheel(files)]
    return min(finals, key=lambda v: int(v.rsplit(".", 1)[1])) if finals else None


def series_on_index(releases: dict, first: str = FIRST_SERIES) -> list[str]:
    """Every minor series X.Y >= `first` with a final release that has a wheel, oldest first."""
    def key(series):
        return tuple(int(p) for p in series.split("."))

    found = {m.group(1) for v, files in releases.items() if (m := re.fullmatch(r"(\d+\.\d+)\.\d+", v)) and pick_wheel(files)}
    return sorted((s for s in found if key(s) >= key(first)), key=key)


def header_from_wheel(handle) -> tuple[str, str]:
    """(member path, text) of the one include/tensorflow/core/public/version.h of a wheel."""
    with zipfile.ZipFile(handle) as archive:
        names = [n for n in archive.namelist() if MEMBER.search(n)]
        if len(names) != 1:
            raise LookupError(f"expected one include/tensorflow/core/public/version.h, found {names or 'none'}")
        return names[0], archive.read(names[0]).decode("utf-8")


def fetch(releases: list[str] | None, save: Path | None, log) -> list[dict]:
    """One header per series of `releases` (None: every series on the index from FIRST_SERIES on)."""
    with urllib.request.urlopen(PROJECT_JSON, timeout=60) as response:
        project = json.load(response)
    if releases is None:
        releases = series_on_index(project["releases"])
        log(f"  tensorflow series on the index from {FIRST_SERIES}: {', '.join(releases)}")
    entries = []
    for series in releases:
        release = first_release(project["releases"], series)
        wheel = pick_wheel(project["releases"].get(release, [])) if release else None
        if wheel is None:
            log(f"  tensorflow {series}: no final release with a wheel on the index; skipped")
            continue
        url = urllib.parse.urljoin(PROJECT_JSON, wheel["url"])  # the index may answer with relative URLs
        remote = RangeFile(url, int(wheel["size"]))
        try:
            member, text = header_from_wheel(remote)
        except (LookupError, OSError, zipfile.BadZipFile, urllib.error.URLError) as exc:
            log(f"  tensorflow {release}: {wheel['filename']}: {exc}; skipped")
            continue
        log(f"  tensorflow {release}: {wheel['filename']} {member} ({len(remote.blocks) * RangeFile.BLOCK // 1024} KiB read of {wheel['size'] // 2**20} MiB)")
        entry = {"tensorflow": release, "wheel": wheel["filename"], "member": member, "file": f"tensorflow-{release}-version.h"}
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            (save / entry["file"]).write_text(text, encoding="utf-8")
        entries.append({**entry, "text": text})
    if save is not None:
        (save / "manifest.json").write_text(json.dumps([{k: v for k, v in e.items() if k != "text"} for e in entries], indent=1) + "\n")
    return entries


def stored(directory: Path) -> list[dict]:
    manifest = json.loads((directory / "manifest.json").read_text())
    return [{**entry, "text": (directory / entry["file"]).read_text(encoding="utf-8")} for entry in manifest]


def rows_of(entries: list[dict]) -> list[dict]:
    rows = [{"tensorflow": e["tensorflow"], **graphdef_numbers(e["text"]), "source": f"PyPI:{e['wheel']} {e['member']}"} for e in entries]
    return sorted(rows, key=lambda r: tuple(int(p) for p in r["tensorflow"].split(".")))


def render(rows: list[dict]) -> str:
    out = ["# GENERATED by scripts/gen_tf_graphdef_versions.py — do not edit; rerun it (--offline tests/data/tf_version_h).",
           "# TF_GRAPH_DEF_VERSION (producer), _MIN_CONSUMER and _MIN_PRODUCER of the first final release of each TensorFlow X.Y, read from",
           "# include/tensorflow/core/public/version.h inside its PyPI wheel. A GraphDef's versions.producer is the writer's",
           "# TF_GRAPH_DEF_VERSION; rules/source_tf.py maps it back to releases (docs/decisions.md).", ""]
    for row in rows:
        out += ["[[tf_graphdef]]", f'tensorflow = "{row["tensorflow"]}"', f"producer = {row['producer']}",
                f"min_consumer = {row['min_consumer']}", f"min_producer = {row['min_producer']}", f'source = "{row["source"]}"', ""]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", help=f"minor releases X.Y, comma-separated (default: every series on PyPI from {FIRST_SERIES} on)")
    parser.add_argument("--offline", type=Path, metavar="DIR", help="read headers stored by --save instead of the network")
    parser.add_argument("--save", type=Path, metavar="DIR", help="store each header read and a manifest.json in DIR")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "matrices" / "tf_graphdef.toml")
    args = parser.parse_args(argv)

    def log(text):
        print(text, file=sys.stderr)

    try:
        entries = stored(args.offline) if args.offline else fetch([r.strip() for r in args.releases.split(",") if r.strip()] if args.releases else None, args.save, log)
        rows = rows_of(entries)
    except (OSError, ValueError, KeyError) as exc:
        print(f"gen_tf_graphdef_versions: {exc}", file=sys.stderr)
        return 2
    args.output.write_text(render(rows), encoding="utf-8")
    log(f"wrote {len(rows)} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
