"""Fast paths taken for start-up time must give exactly what the general code gives.

versions.matches judges plain >=/<=/==/!= specifiers without importing packaging.specifiers;
every specifier in the shipped matrices is compared against packaging itself over versions around
its bounds (pre-, post-, dev-releases, local parts, padded releases)."""
from __future__ import annotations

import re

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from rknn_envcheck import versions
from rknn_envcheck.matrix import load_matrix


def _specifiers() -> set[str]:
    found = {">=0.9.2"}
    matrix = load_matrix()

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "specifier" and isinstance(item, str) and item:
                    found.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for table in ("framework", "board_stack", "pitfall", "requirement"):
        walk(matrix.rows(table))
    return found


SPECIFIERS = sorted(_specifiers())


def _around(spec: str) -> list[str]:
    out = ["0", "99.0.0"]
    for bound in re.findall(r"[0-9]+(?:\.[0-9]+)*", spec):
        parts = [int(p) for p in bound.split(".")]
        below = parts[:-1] + [max(parts[-1] - 1, 0)]
        above = parts[:-1] + [parts[-1] + 1]
        for base in (bound, ".".join(map(str, below)), ".".join(map(str, above)), bound + ".0", bound.rsplit(".", 1)[0]):
            out += [base, base + "b0", base + "rc1", base + ".post1", base + ".dev0", base + "+b642f30c"]
    return out


def test_the_shipped_matrices_have_specifiers_of_both_kinds():
    simple = [s for s in SPECIFIERS if versions._simple_clauses(s) is not None]
    assert len(simple) > 10 and len(simple) < len(SPECIFIERS) + 1


@pytest.mark.parametrize("spec", SPECIFIERS)
def test_matches_equals_packaging_for_every_shipped_specifier(spec):
    reference = SpecifierSet(spec)
    for text in _around(spec):
        expected = reference.contains(Version(Version(text).public), prereleases=True)
        assert versions.matches(text, spec) == expected, (spec, text)


@pytest.mark.parametrize("spec", [">=1.4.0,<1.5", "~=1.4", "==1.4.*", ">1.0", "<2.0.0", "===1.0", ">=1.0b1"])
def test_other_operators_go_to_packaging(spec):
    assert versions._simple_clauses(spec) is None
    for text in _around(spec):
        assert versions.matches(text, spec) == SpecifierSet(spec).contains(Version(Version(text).public), prereleases=True)


onnx = pytest.importorskip("onnx")


def _model_with_everything(tmp_path, nodes: int):
    """Nodes with attributes, a custom domain, a doc string, an If with subgraphs, long names
    (two-byte lengths), an initializer whose name follows its payload, an external one."""
    from onnx import TensorProto, helper

    graph_nodes = []
    for i in range(nodes):
        kind = i % 5
        if kind == 0:
            node = helper.make_node("Conv", [f"t{i}", "w"], [f"t{i + 1}"], kernel_shape=[3, 3], strides=[1, 1])
        elif kind == 1:
            node = helper.make_node("Relu", [f"t{i}"], [f"t{i + 1}"], name="n" * 200)
        elif kind == 2:
            node = helper.make_node("MyOp", [f"t{i}"], [f"t{i + 1}"], domain="com.example", doc_string="d")
        elif kind == 3:
            branch = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "b", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
            node = helper.make_node("If", ["cond"], [f"t{i + 1}"], then_branch=branch, else_branch=branch)
        else:
            node = helper.make_node("Add", [f"t{i}", f"t{i}"], [f"t{i + 1}"])
        graph_nodes.append(node)
    weight = helper.make_tensor("w", TensorProto.FLOAT, [3, 3, 1, 1], [1.0] * 9)
    big = helper.make_tensor("big", TensorProto.FLOAT, [64, 1024], [0.0] * 65536)
    external = helper.make_tensor("ext", TensorProto.FLOAT, [1], [0.0])
    external.ClearField("float_data")
    external.data_location = TensorProto.EXTERNAL
    entry = external.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    graph = helper.make_graph(graph_nodes, "g", [helper.make_tensor_value_info("t0", TensorProto.FLOAT, [1, 3, "h", 8])],
                              [helper.make_tensor_value_info(f"t{nodes}", TensorProto.FLOAT, None)], [weight, big, external])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="pytest")
    data = bytearray(model.SerializeToString())
    path = tmp_path / "m.onnx"
    path.write_bytes(bytes(data))
    return path, model


def _expected(model) -> dict:
    counts: dict = {}
    total = 0

    def walk(graph):
        nonlocal total
        for node in graph.node:
            total += 1
            key = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
            counts[key] = counts.get(key, 0) + 1
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    walk(attribute.g)
                for sub in attribute.graphs:
                    walk(sub)

    walk(model.graph)
    return {"operators": counts, "nodes": total, "initializers": len(model.graph.initializer),
            "external": [e.value for t in model.graph.initializer for e in t.external_data if e.key == "location"]}


@pytest.mark.parametrize("nodes", [1, 40, 3000])
def test_onnx_reader_fast_paths_read_what_the_onnx_library_reads(tmp_path, nodes):
    """3,000 nodes cross the reader's 4 KiB → 1 MiB window growth many times (nodes straddling
    its edge); the answer must equal onnx's own parse of the same bytes."""
    from rknn_envcheck.model.onnx_reader import read_onnx

    path, model = _model_with_everything(tmp_path, nodes)
    with open(path, "rb") as handle:
        read = read_onnx(handle, str(path), path.stat().st_size)
    expected = _expected(model)
    assert read.operators == expected["operators"]
    assert read.node_count == expected["nodes"]
    assert read.initializer_count == expected["initializers"]
    assert read.external_data == expected["external"]
    assert read.inputs == [{"name": "t0", "shape": [1, 3, "h", 8]}]


def test_tables_from_the_cache_equal_the_parsed_tables(tmp_path, monkeypatch):
    """The cache keeps each table marshaled by itself and decodes it on first use (LazyTables):
    every table read back equals the freshly parsed one, and an unknown table is empty."""
    from rknn_envcheck import matrix as matrix_module
    from rknn_envcheck.matrix_tables import LazyTables

    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    monkeypatch.setenv("RKNN_ENVCHECK_CACHE", str(cache))
    directory = str(matrix_module._default_dir())
    parsed = matrix_module._load.__wrapped__(directory)  # parses the TOML and writes the cache
    cached = matrix_module._load.__wrapped__(directory)
    assert not isinstance(parsed.tables, LazyTables) and isinstance(cached.tables, LazyTables)
    assert sorted(cached.tables) == sorted(parsed.tables) and len(cached.tables) == len(parsed.tables)
    for name in parsed.tables:
        assert cached.rows(name) == parsed.rows(name), name
    assert cached.rows("no_such_table") == [] and "no_such_table" not in cached.tables
    assert (cached.meta, cached.sources, cached.extras) == (parsed.meta, parsed.sources, parsed.extras)
