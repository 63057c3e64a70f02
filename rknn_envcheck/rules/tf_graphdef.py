"""Which TensorFlow wrote a frozen GraphDef, and will the TensorFlow beside the toolkit read it? Pure:
the graph's `versions` (producer, min_consumer), the [[tf_graphdef]] table (matrices/tf_graphdef.toml,
TF_GRAPH_DEF_VERSION of each release read from its wheel's version.h) and the reader in.

Dating a producer (docs/decisions.md "GraphDef producer → TensorFlow release"): TF_GRAPH_DEF_VERSION
moves on master between releases, and release branches are cut at different points (1.15.0 has 134,
2.0.0 has 119; 1.11–1.13 share 27). A producer p is written by the releases whose graph-def version
V is the largest in the table with V <= p: exactly them when p == V, else a development build made
after them (V < p < the next larger number). A producer below the smallest or above the largest
number in the table is not dated.

Reading it: TensorFlow's importer calls CheckVersions(graph.versions, TF_GRAPH_DEF_VERSION,
TF_GRAPH_DEF_VERSION_MIN_PRODUCER) and refuses the graph only when its producer is below the
reader's min producer or its min_consumer is above the reader's TF_GRAPH_DEF_VERSION (versions.cc).
A producer newer than the reader is imported; an op or attribute the reader lacks then fails, and
past 21 versions the error says the graph is newer (graph_constructor.cc MaybeAppendVersionWarning).
"""
from __future__ import annotations

from rknn_envcheck.versions import release_numbers

CHECK_VERSIONS = "github:tensorflow/tensorflow@0866b7a759f11fe6a2f9f1253da6dc26e49e19a5 tensorflow/core/framework/versions.cc"
FORWARD_WINDOW = "github:tensorflow/tensorflow@10e5487ebce6374b519c16ecf5dbba906e921936 tensorflow/core/common_runtime/graph_constructor.cc"


def series(release: str) -> tuple[int, int]:
    return tuple(release_numbers(release)[:2])


def writers_of(producer: int, rows: list[dict]) -> tuple[list[dict], bool | None] | None:
    """(the table rows of the releases that wrote `producer`, exact) — exact False when it is a
    development build after them, None when it is past the newest release in the table (a later
    TensorFlow: newer than every reader the table knows, which is all a verdict needs); None
    when the producer is below the table."""
    if not rows or producer < min(r["producer"] for r in rows):
        return None
    newest = max(r["producer"] for r in rows)
    if producer > newest:
        return [r for r in rows if r["producer"] == newest], None
    floor = max(r["producer"] for r in rows if r["producer"] <= producer)
    return [r for r in rows if r["producer"] == floor], floor == producer


def row_of_release(release: str, rows: list[dict]) -> dict | None:
    """The table row of the minor series of `release` (patch releases keep the branch's number)."""
    found = [r for r in rows if series(r["tensorflow"]) == series(release)]
    return found[0] if found else None


def describe_writers(writers: list[dict], exact: bool | None) -> str:
    names = " / ".join(f"{'.'.join(map(str, series(r['tensorflow'])))}" for r in writers)
    number = writers[0]["producer"]
    if exact is None:
        return f"a TensorFlow newer than {names} (graph-def version {number}), the newest release in the [[tf_graphdef]] table"
    return (f"TensorFlow {names} (graph-def version {number})" if exact else
            f"a TensorFlow development build after {names} (graph-def version {number})")


def reader_verdict(producer: int, min_consumer: int, reader: dict) -> str:
    """'refused' (CheckVersions fails), 'newer' (imported; ops/attributes it lacks fail) or 'fits'."""
    if min_consumer > reader["producer"] or producer < reader["min_producer"]:
        return "refused"
    return "newer" if producer > reader["producer"] else "fits"
