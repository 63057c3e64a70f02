"""`rknn-envcheck model FILE.pb | DIR`: TensorFlow frozen GraphDefs and SavedModels serialised by the
real protobuf runtime (descriptor per TensorFlow's public protos, tests/tf_protos.py), judged
against releases of both toolkit lines as the vendor documents say."""
from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import platform

import pytest

from core_helpers import run_cli, write_facts
from rknn_envcheck.model.header import ModelFileError
from rknn_envcheck.model.source import read_source_model
from tf_protos import conv_graph, saved_model

onnx = pytest.importorskip("onnx")


def write_pb(tmp_path, name="frozen.pb", **kwargs):
    path = tmp_path / name
    path.write_bytes(conv_graph(**kwargs).SerializeToString())
    return path


def write_saved_model(tmp_path, graph=None, **kwargs):
    directory = tmp_path / "saved"
    directory.mkdir()
    (directory / "variables").mkdir()
    (directory / "saved_model.pb").write_bytes(saved_model(graph or conv_graph(producer=1205), **kwargs).SerializeToString())
    return directory


def judge(capsys, path, toolkit, *extra):
    code, out, _ = run_cli(capsys, "model", str(path), "--toolkit", toolkit, "--json", *extra)
    return code, {c["id"]: c for c in json.loads(out)["checks"]}


def test_graphdef_reader_streams_nodes_and_skips_const_payloads(tmp_path):
    path = write_pb(tmp_path, producer=38, explicit_paddings=True, input_dims=(-1, 224, 224, 3), weights_bytes=20_000_000)
    tracemalloc.start()
    model = read_source_model(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # the 20 MB Const payload was seeked over
    assert (model.format, model.tf_kind, model.tf_producer) == ("tensorflow", "graphdef", 38)
    assert model.operators == {"Placeholder": 1, "Const": 1, "Conv2D": 1, "Relu": 1}
    assert "explicit_paddings" in model.op_attrs["Conv2D"]
    assert model.inputs == [{"name": "input", "shape": [-1, 224, 224, 3], "type": "float32"}] and model.dynamic_inputs == ["input"]


def test_unknown_rank_placeholder_is_dynamic(tmp_path):
    model = read_source_model(write_pb(tmp_path, unknown_rank=True))
    assert model.inputs[0]["shape"] is None and model.dynamic_inputs == ["input"]


def test_saved_model_directory_is_accepted_and_reads_functions(tmp_path):
    directory = write_saved_model(tmp_path, tensorflow_version="2.4.1", function_ops=("DepthwiseConv2dNative", "Relu6"))
    model = read_source_model(directory)
    assert (model.tf_kind, model.tf_version, model.saved_model_tags, model.path) == ("savedmodel", "2.4.1", ["serve"], str(directory))
    assert {"Conv2D", "DepthwiseConv2dNative", "Relu6"} <= set(model.operators)
    assert read_source_model(directory / "saved_model.pb").tf_kind == "savedmodel"


def test_directory_without_saved_model_pb_exits_2_naming_it(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(capsys, "model", str(tmp_path / "empty"), "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "saved_model.pb" in err


def test_onnx_and_tensorflow_are_never_confused(tmp_path):
    from onnx import TensorProto, helper

    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    (tmp_path / "m.pb").write_bytes(model.SerializeToString())
    assert read_source_model(tmp_path / "m.pb").format == "onnx"
    assert read_source_model(write_pb(tmp_path, name="g.onnx")).format == "tensorflow"
    assert read_source_model(write_saved_model(tmp_path) / "saved_model.pb").format == "tensorflow"


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==1.6.0", "rknn-toolkit2==2.2.0", "rknn-toolkit2==2.3.2"])
def test_graph_that_fits_toolkit2(capsys, tmp_path, toolkit):
    code, checks = judge(capsys, write_pb(tmp_path, extra_ops=("MaxPool", "ConcatV2", "Softmax")), toolkit)
    assert checks["source.tensorflow"]["status"] == "ok" and checks["source.tf_attr"]["status"] == "ok"
    assert checks["source.tensorflow_ops"]["status"] == "ok"  # ConcatV2 ~ "Concat" of the vendor table
    assert checks["source.dynamic"]["status"] == "ok"
    # producer 27: TF 1.11-1.13 ([[tf_graphdef]]), inside "1.12 - 1.15" of the toolkit2 operator documents
    assert checks["source.tf_version"]["status"] == "ok", checks["source.tf_version"]
    # toolkit2 >= 2.3.0 has an ARM64 build without load_tensorflow: --toolkit alone judges the machine running the tool
    arm64_build = toolkit == "rknn-toolkit2==2.3.2"
    on_arm64 = platform.machine().lower() in ("aarch64", "arm64")
    assert (checks.get("source.host_arch") or {}).get("status") == (("fail" if on_arm64 else "ok") if arm64_build else None)
    assert code == (1 if arm64_build and on_arm64 else 0)


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.0.0", "rknn-toolkit==1.3.0", "rknn-toolkit==1.4.0"])
def test_explicit_paddings_fails_on_toolkit1_releases_limited_to_tf_1_13(capsys, tmp_path, toolkit):
    code, checks = judge(capsys, write_pb(tmp_path, explicit_paddings=True), toolkit)
    check = checks["source.tf_attr"]
    assert check["status"] == "fail" and code == 1 and "1.13.2" in check["expected"] and "seed" in check["source"]
    commands = json.dumps(check["fix"]["commands"])
    assert "rknn-toolkit==1.6.0" in commands and "tensorflow==1.14.0" in commands


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.5", "rknn-toolkit2==2.3.2"])
def test_explicit_paddings_is_judged_against_the_installed_tensorflow(capsys, tmp_path, toolkit):
    path = write_pb(tmp_path, explicit_paddings=True)
    assert judge(capsys, path, toolkit)[1]["source.tf_attr"]["status"] == "unknown"  # range allows both; none installed
    package = toolkit.split("==")[0]
    for tf, status in (("1.13.1", "fail"), ("1.14.0", "ok")):
        facts = write_facts(tmp_path, {"schema": "rknn-envcheck/facts/1",
                                       "host": {"packages": {package: toolkit.split("==")[1], "tensorflow": tf}},
                                       "devices": [{"serial": "B1", "state": "device", "chip": "RK3588"}]}, name=f"f{tf}.json")
        code, out, _ = run_cli(capsys, "model", str(path), "--facts", str(facts), "--json")
        checks = [c for c in json.loads(out)["checks"] if c["id"] == "source.tf_attr"]
        assert checks and checks[0]["status"] == status, out


@pytest.mark.parametrize("toolkit,status", [("rknn-toolkit2==2.3.2", "warn"), ("rknn-toolkit2==2.1.0", "warn"), ("rknn-toolkit==1.7.5", "warn")])
def test_saved_model_fails_format_and_newer_tensorflow_warns(capsys, tmp_path, toolkit, status):
    code, checks = judge(capsys, write_saved_model(tmp_path, tensorflow_version="2.9.1"), toolkit)
    assert checks["source.tensorflow"]["status"] == "fail" and code == 1
    assert "tf2onnx" in json.dumps(checks["source.tensorflow"]["fix"]["commands"])
    assert checks["source.tf_version"]["status"] == status and "2.9.1" in checks["source.tf_version"]["observed"]


def test_saved_model_tensorflow_version_inside_the_stated_range(capsys, tmp_path):
    checks = judge(capsys, write_saved_model(tmp_path, tensorflow_version="2.4.1"), "rknn-toolkit2==2.3.2")[1]
    assert checks["source.tf_version"]["status"] == "ok"


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==1.6.0", "rknn-toolkit2==2.3.2", "rknn-toolkit==1.7.5"])
def test_dynamic_placeholder_needs_input_size_list(capsys, tmp_path, toolkit):
    check = judge(capsys, write_pb(tmp_path, input_dims=(-1, 224, 224, 3)), toolkit)[1]["source.dynamic"]
    assert check["status"] == "warn" and "input_size_list" in json.dumps(check["fix"]["commands"])


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==2.0.0b0", "rknn-toolkit2==2.3.0", "rknn-toolkit2==2.3.2"])
def test_operator_outside_the_vendor_table_warns(capsys, tmp_path, toolkit):
    check = judge(capsys, write_pb(tmp_path, extra_ops=("Erf",)), toolkit)[1]["source.tensorflow_ops"]
    assert check["status"] == "warn" and check["observed"] == "Erf" and "OP_Support" in check["source"]


def test_toolkit1_tensorflow_list_names_python_apis_so_ops_are_unknown(capsys, tmp_path):
    check = judge(capsys, write_pb(tmp_path), "rknn-toolkit==1.7.5")[1]["source.tensorflow_ops"]
    assert check["status"] == "unknown" and "tf.nn.conv2d" in check["message"]


def test_renamed_graph_is_said(tmp_path):
    model = read_source_model(write_pb(tmp_path, name="model.tflite"))
    assert model.format == "tensorflow" and "named .tflite" in model.renamed


def _exit_2(capsys, path):
    code, _, err = run_cli(capsys, "model", str(path), "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_hostile_graphs_exit_2_with_one_line(capsys, tmp_path):
    data = write_pb(tmp_path, weights_bytes=100_000).read_bytes()
    (tmp_path / "cut.pb").write_bytes(data[: len(data) // 2])
    assert "GraphDef" in _exit_2(capsys, tmp_path / "cut.pb")
    # a node whose attr entry claims a 1 TB value
    node = b"\x0a\x01a\x12\x05Const\x2a\xff\xff\xff\xff\xff\x1f"
    (tmp_path / "long.pb").write_bytes(b"\x0a" + bytes([len(node)]) + node + b"\0" * 16)
    assert "runs past the end" in _exit_2(capsys, tmp_path / "long.pb")
    saved = write_saved_model(tmp_path)
    blob = (saved / "saved_model.pb").read_bytes()
    (saved / "saved_model.pb").write_bytes(blob[: len(blob) - 40])
    assert "SavedModel" in _exit_2(capsys, saved)


def test_huge_node_count_is_bounded(tmp_path, monkeypatch):
    from rknn_envcheck.model import tf_reader

    monkeypatch.setattr(tf_reader, "MAX_NODES", 3)
    with pytest.raises(ModelFileError, match="more than 3 nodes"):
        read_source_model(write_pb(tmp_path))


def test_text_that_starts_like_a_graph_is_not_claimed(tmp_path):
    path = Path(tmp_path / "notes.txt")
    path.write_bytes(b"\n#\n# a text file with newlines\n")
    assert read_source_model(path) is None or read_source_model(path).format != "tensorflow"


def test_saved_model_newer_than_the_reading_tensorflow_warns(capsys, tmp_path):
    # written by TF 2.15, toolkit2 2.3.2 runs TensorFlow <= 2.14.0 ([[framework]] row)
    check = judge(capsys, write_saved_model(tmp_path, tensorflow_version="2.15.0"), "rknn-toolkit2==2.3.2")[1]["source.tf_version"]
    assert check["status"] == "warn" and "2.14.0" in check["message"] and "API-TK2" in check["source"]


# ---- the producer dated by matrices/tf_graphdef.toml (read from each release's real version.h) ----

TF_VERSION_H = Path(__file__).parent / "data" / "tf_version_h"


def graphdef_version(release: str) -> dict:
    """TF_GRAPH_DEF_VERSION* of `release` from the header stored out of its wheel (the generator's parser)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_tf", Path(__file__).parent.parent / "scripts" / "gen_tf_graphdef_versions.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    return gen.graphdef_numbers((TF_VERSION_H / f"tensorflow-{release}-version.h").read_text())


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.0.0", "rknn-toolkit==1.4.0"])
def test_graph_from_tf_1_15_is_newer_than_a_toolkit_limited_to_tf_1_13(capsys, tmp_path, toolkit):
    producer = graphdef_version("1.15.0")["producer"]
    assert producer > graphdef_version("1.13.1")["producer"]
    check = judge(capsys, write_pb(tmp_path, producer=producer), toolkit)[1]["source.tf_version"]
    assert check["status"] == "warn", check  # TF imports a newer producer; only unknown ops/attrs then fail
    assert "TensorFlow 1.15 " in check["observed"] and "1.13.2" in check["message"] and "newer" in check["message"]
    assert "PyPI:tensorflow-1.15.0-" in check["source"] and "graph_constructor.cc" in check["source"]


@pytest.mark.parametrize("toolkit,release", [("rknn-toolkit==1.4.0", "1.12.0"), ("rknn-toolkit2==2.3.2", "1.14.0"),
                                             ("rknn-toolkit2==1.6.0", "2.4.0")])
def test_graph_from_a_release_the_toolkit_states_is_ok(capsys, tmp_path, toolkit, release):
    check = judge(capsys, write_pb(tmp_path, producer=graphdef_version(release)["producer"]), toolkit)[1]["source.tf_version"]
    assert check["status"] == "ok", check
    assert release.rsplit(".", 1)[0] in check["observed"] and f"PyPI:tensorflow-{release}-" in check["source"]


def test_graph_from_a_release_outside_the_stated_pb_range_warns(capsys, tmp_path):
    # toolkit2 runs TF <= 2.14 but its operator documents state pb files of 1.12-1.15 and 2.3-2.5
    check = judge(capsys, write_pb(tmp_path, producer=graphdef_version("2.9.0")["producer"]), "rknn-toolkit2==2.3.2")[1]["source.tf_version"]
    assert check["status"] == "warn" and "TensorFlow 2.9 " in check["message"], check


def test_development_build_between_releases_is_named_as_such(capsys, tmp_path):
    producer = graphdef_version("2.3.0")["producer"] + 1
    check = judge(capsys, write_pb(tmp_path, producer=producer), "rknn-toolkit2==2.3.2")[1]["source.tf_version"]
    assert check["status"] == "warn" and "development build after 2.3" in check["observed"], check


def test_graph_past_the_table_is_newer_than_every_reader(capsys, tmp_path):
    """A producer past the newest TensorFlow in the table is newer than every reader the toolkits
    allow: judged as the newest row's producer is (warn: newer than the reader), not unknown."""
    newest = json.loads((TF_VERSION_H / "manifest.json").read_text())[-1]["tensorflow"]  # the table grows with each TF release
    producer = graphdef_version(newest)["producer"] + 500
    check = judge(capsys, write_pb(tmp_path, producer=producer), "rknn-toolkit2==2.3.2")[1]["source.tf_version"]
    at_newest = judge(capsys, write_pb(tmp_path, producer=graphdef_version(newest)["producer"]), "rknn-toolkit2==2.3.2")[1]["source.tf_version"]
    assert check["status"] == at_newest["status"] == "warn", check
    assert f"newer than {'.'.join(newest.split('.')[:2])}" in check["observed"] and str(producer) in check["observed"], check


def test_graph_below_the_table_is_unknown(capsys, tmp_path):
    check = judge(capsys, write_pb(tmp_path, producer=1), "rknn-toolkit2==2.3.2")[1]["source.tf_version"]
    assert check["status"] == "unknown" and "outside the [[tf_graphdef]] table" in check["message"], check


def test_min_consumer_above_the_reader_fails_as_tensorflow_refuses(capsys, tmp_path):
    reader = graphdef_version("1.13.1")["producer"]
    path = write_pb(tmp_path, producer=graphdef_version("1.12.0")["producer"], min_consumer=reader + 1)
    check = judge(capsys, path, "rknn-toolkit==1.4.0")[1]["source.tf_version"]
    assert check["status"] == "fail" and f"min consumer version {reader + 1} above current version {reader}" in check["message"], check
    assert "versions.cc" in check["source"]


def test_graph_is_judged_against_the_installed_tensorflow(capsys, tmp_path):
    path = write_pb(tmp_path, producer=graphdef_version("2.4.0")["producer"])
    for tf, status in (("2.3.1", "warn"), ("2.5.0", "ok")):
        facts = write_facts(tmp_path, {"schema": "rknn-envcheck/facts/1",
                                       "host": {"packages": {"rknn-toolkit2": "2.3.2", "tensorflow": tf}},
                                       "devices": [{"serial": "B1", "state": "device", "chip": "RK3588"}]}, name=f"g{tf}.json")
        code, out, _ = run_cli(capsys, "model", str(path), "--facts", str(facts), "--json")
        check = [c for c in json.loads(out)["checks"] if c["id"] == "source.tf_version"][0]
        assert check["status"] == status and (tf in check["message"] or status == "ok"), check
