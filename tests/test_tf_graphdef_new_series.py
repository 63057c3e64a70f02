"""GraphDefs written by the TensorFlow series after 2.14 (2.15 … the newest on PyPI): dated by the
[[tf_graphdef]] rows read from their real wheels' version.h (tests/data/tf_version_h), and judged
against the TensorFlow the toolkit reads them with."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from core_helpers import run_cli, write_facts
from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.rules.tf_graphdef import reader_verdict, row_of_release, writers_of
from tf_protos import conv_graph

pytest.importorskip("google.protobuf")  # tests/tf_protos.py serialises with the real protobuf runtime

HEADERS = Path(__file__).parent / "data" / "tf_version_h"
NEW_SERIES = ("2.15", "2.16", "2.17", "2.18", "2.19", "2.20", "2.21")


def manifest() -> list[dict]:
    return json.loads((HEADERS / "manifest.json").read_text())


def producer_of(series: str) -> int:
    """TF_GRAPH_DEF_VERSION from the stored header of the series' first final release (not from the matrix)."""
    import re

    entry = [e for e in manifest() if e["tensorflow"].rsplit(".", 1)[0] == series][0]
    text = (HEADERS / entry["file"]).read_text()
    return int(re.search(r"^#define\s+TF_GRAPH_DEF_VERSION\s+(\d+)", text, re.M).group(1))


def judge_pb(capsys, tmp_path, producer: int, *argv) -> dict:
    path = tmp_path / f"g{producer}.pb"
    path.write_bytes(conv_graph(producer=producer).SerializeToString())
    code, out, _ = run_cli(capsys, "model", str(path), "--json", *argv)
    return [c for c in json.loads(out)["checks"] if c["id"] == "source.tf_version"][0]


def test_every_minor_series_from_1_10_to_the_newest_stored_has_one_row():
    rows = load_matrix().rows("tf_graphdef")
    have = [tuple(int(p) for p in r["tensorflow"].split(".")[:2]) for r in rows]
    newest = max(have)
    expected = [(1, m) for m in range(10, 16)] + [(2, m) for m in range(0, newest[1] + 1)]
    assert have == expected, "a minor series is missing from matrices/tf_graphdef.toml"
    assert {s for s in NEW_SERIES} <= {f"{a}.{b}" for a, b in have}


@pytest.mark.parametrize("series", NEW_SERIES)
def test_new_series_producers_are_dated_exactly(series):
    table = load_matrix().rows("tf_graphdef")
    writers, exact = writers_of(producer_of(series), table)
    assert exact and [w["tensorflow"].rsplit(".", 1)[0] for w in writers] == [series]
    assert writers[0]["source"].startswith(f"PyPI:tensorflow-{writers[0]['tensorflow']}-")


def test_new_series_numbers_grow_and_readers_import_older_graphs():
    table = load_matrix().rows("tf_graphdef")
    numbers = [producer_of(s) for s in ("2.14",) + NEW_SERIES]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    reader = row_of_release("2.18.0", table)
    assert reader_verdict(producer_of("2.15"), 0, reader) == "fits"
    assert reader_verdict(producer_of("2.20"), 0, reader) == "newer"


def test_graph_of_tf_2_15_is_newer_than_what_toolkit2_reads(capsys, tmp_path):
    # toolkit2 2.3.2 converts with TensorFlow <= 2.14.0 (its [[framework]] row)
    check = judge_pb(capsys, tmp_path, producer_of("2.15"), "--toolkit", "rknn-toolkit2==2.3.2")
    assert check["status"] == "warn", check
    assert f"TensorFlow 2.15 (graph-def version {producer_of('2.15')})" in check["observed"]
    assert "2.14.0" in check["message"] and "newer" in check["message"]
    assert "PyPI:tensorflow-2.15.0-" in check["source"] and "PyPI:tensorflow-2.14.0-" in check["source"]


@pytest.mark.parametrize("installed,status", [("2.17.1", "warn"), ("2.19.0", "warn")])
def test_graph_of_tf_2_18_against_the_installed_tensorflow(capsys, tmp_path, installed, status):
    facts = write_facts(tmp_path, {"schema": "rknn-envcheck/facts/1",
                                   "host": {"os": "linux", "arch": "x86_64", "packages": {"rknn-toolkit2": "2.3.2", "tensorflow": installed}}})
    check = judge_pb(capsys, tmp_path, producer_of("2.18"), "--facts", str(facts))
    assert check["status"] == status, check
    assert "TensorFlow 2.18 (graph-def version" in check["observed"]
    if installed.startswith("2.17"):  # an older reader: imported, but newer ops/attributes fail
        assert f"installed tensorflow {installed}" in check["message"] and "newer than" in check["message"]
    else:  # read fine, but outside the pb range the toolkit2 operator documents state (1.12-1.15, 2.3-2.5)
        assert "states it converts pb files" in check["message"] and "TensorFlow 2.18" in check["message"]


def test_development_build_between_2_16_and_2_17_is_named(capsys, tmp_path):
    check = judge_pb(capsys, tmp_path, producer_of("2.16") + 1, "--toolkit", "rknn-toolkit2==2.5.0")
    assert "development build after 2.16" in check["observed"], check
    assert check["status"] in ("warn", "unknown") and check["status"] != "ok"
