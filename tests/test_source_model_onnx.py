"""`rknn-envcheck model FILE.onnx`: real ONNX files made with the onnx library, judged against
toolkit releases of both lines as the vendor documents say."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from core_helpers import run_cli
from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.model.header import ModelFileError
from rknn_envcheck.model.source import read_source_model

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
AR_MIRROR = Path("/work/.mirror/airockchip+rknn-toolkit2/repo")


def make_onnx(path, ops=("Conv", "Relu"), opset=13, ir=8, shape=(1, 3, 8, 8), external=None):
    nodes, prev = [], "x"
    for index, op in enumerate(ops):
        inputs = [prev, "w"] if op == "Conv" else [prev]
        nodes.append(helper.make_node(op, inputs, [f"t{index}"]))
        prev = f"t{index}"
    weight = helper.make_tensor("w", TensorProto.FLOAT, [3, 3, 1, 1], [1.0] * 9)
    if external:
        weight.data_location = TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", external
        weight.ClearField("float_data")
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info(prev, TensorProto.FLOAT, None)], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="pytest")
    model.ir_version = ir
    Path(path).write_bytes(model.SerializeToString())
    return path


def judge(capsys, path, toolkit):
    code, out, _ = run_cli(capsys, "model", str(path), "--toolkit", toolkit, "--json")
    report = json.loads(out)
    return code, {c["id"]: c for c in report["checks"]}


def test_reader_reads_ir_opsets_inputs_ops_without_the_library(tmp_path):
    path = make_onnx(tmp_path / "m.onnx", ops=("Conv", "Relu", "Relu"), opset=17, ir=8, shape=("batch", 3, 8, 8))
    model = read_source_model(path)
    assert (model.format, model.ir_version, model.opsets) == ("onnx", 8, {"ai.onnx": 17})
    assert model.operators == {"Conv": 1, "Relu": 2} and model.initializer_count == 1 and model.producer == "pytest"
    assert model.inputs == [{"name": "x", "shape": ["batch", 3, 8, 8]}] and model.dynamic_inputs == ["x"]


@pytest.mark.parametrize("toolkit,status", [
    ("rknn-toolkit2==2.3.2", "ok"), ("rknn-toolkit2==2.2.0", "ok"), ("rknn-toolkit2==1.6.0", "ok"),
    ("rknn-toolkit==1.7.5", "ok"), ("rknn-toolkit==1.7.3", "ok"), ("rknn-toolkit==1.6.0", "ok"),
])
def test_a_model_that_fits(capsys, tmp_path, toolkit, status):
    code, checks = judge(capsys, make_onnx(tmp_path / "m.onnx", opset=11, ir=6), toolkit)
    assert checks["source.onnx_ir"]["status"] == status
    assert checks["source.onnx_opset"]["status"] in ("ok", "warn")  # toolkit2 documents opset 19/12 as the recommendation
    assert checks["source.dynamic"]["status"] == "ok"


@pytest.mark.parametrize("toolkit,limit", [
    ("rknn-toolkit==1.6.0", "opset 1..11"), ("rknn-toolkit==1.7.5", "opset 8..12"), ("rknn-toolkit==1.4.0", "opset 1..9"),
    ("rknn-toolkit2==1.5.2", "opset 1..15"), ("rknn-toolkit2==1.6.0", "opset 1..19"), ("rknn-toolkit2==2.2.0", "opset 1..19"),
])
def test_opset_too_new_fails_per_release(capsys, tmp_path, toolkit, limit):
    code, checks = judge(capsys, make_onnx(tmp_path / "m.onnx", opset=20, ir=9), toolkit)
    opset = checks["source.onnx_opset"]
    assert code == 1 and opset["status"] == "fail" and opset["expected"] == limit
    assert any("opset_version=" in c["argv"][0] for c in opset["fix"]["commands"])


def test_ir_too_new_fails_and_names_the_limit(capsys, tmp_path):
    code, checks = judge(capsys, make_onnx(tmp_path / "m.onnx", opset=11, ir=9), "rknn-toolkit2==1.5.2")
    assert checks["source.onnx_ir"]["status"] == "fail" and checks["source.onnx_ir"]["expected"] == "IR version <= 8"
    code, checks = judge(capsys, make_onnx(tmp_path / "m.onnx", opset=11, ir=7), "rknn-toolkit==1.7.5")
    assert checks["source.onnx_ir"]["status"] == "fail" and checks["source.onnx_ir"]["expected"] == "IR version <= 6"


@pytest.mark.parametrize("toolkit,status", [("rknn-toolkit==1.7.5", "fail"), ("rknn-toolkit==1.6.0", "fail"), ("rknn-toolkit==1.4.0", "fail"),
                                            ("rknn-toolkit2==1.4.0", "fail"), ("rknn-toolkit2==1.6.0", "warn"), ("rknn-toolkit2==2.3.2", "warn")])
def test_dynamic_input_per_line(capsys, tmp_path, toolkit, status):
    code, checks = judge(capsys, make_onnx(tmp_path / "m.onnx", opset=11, ir=6, shape=("N", 3, 8, 8)), toolkit)
    dynamic = checks["source.dynamic"]
    assert dynamic["status"] == status
    if status == "warn":
        assert "dynamic_input" in dynamic["message"] and "1.5.0" in dynamic["message"]


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==1.5.2", "rknn-toolkit2==2.0.0b0", "rknn-toolkit2==2.3.2"])
def test_unsupported_operator_fails_as_the_vendor_table_says(capsys, tmp_path, toolkit):
    code, checks = judge(capsys, make_onnx(tmp_path / "m.onnx", ops=("Conv", "Abs"), opset=12, ir=7), toolkit)
    assert checks["source.onnx_ops"]["status"] == "fail" and "Abs" in checks["source.onnx_ops"]["message"]


def test_operator_table_is_the_whole_vendor_document():
    if not AR_MIRROR.is_dir():
        pytest.skip("no git mirror of airockchip/rknn-toolkit2 here")
    text = subprocess.run(["git", "--git-dir", str(AR_MIRROR), "show", "v2.3.2:doc/RKNNToolKit2_OP_Support-2.3.2.md"],
                          capture_output=True, text=True, check=True).stdout
    onnx_part = text.split("## ONNX OPs")[1].split("\n## ")[0]
    rows = [line for line in onnx_part.splitlines() if line.startswith("|") and not line.startswith(("| **", "| -"))]
    [row] = [r for r in load_matrix(ROOT / "matrices").rows("source_ops") if r["versions"] == ["2.3.2"] and r["framework"] == "onnx"]
    assert row["count"] == len(rows) == len(row["supported"]) + len(row["unsupported"])


def test_renamed_file_is_said_and_still_judged(capsys, tmp_path):
    path = make_onnx(tmp_path / "weights.pt", opset=11, ir=6)
    model = read_source_model(path)
    assert model.format == "onnx" and "named .pt" in model.renamed


def test_external_data_outside_the_directory_is_flagged_not_opened(capsys, tmp_path):
    path = make_onnx(tmp_path / "m.onnx", opset=11, ir=6, external="../../etc/passwd")
    code, checks = judge(capsys, path, "rknn-toolkit2==2.3.2")
    assert checks["source.external_data"]["status"] == "fail" and "../../etc/passwd" in checks["source.external_data"]["message"]


def _one_line_exit_2(capsys, path):
    code, out, err = run_cli(capsys, "model", str(path), "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_hostile_onnx_files_exit_2_with_one_line(capsys, tmp_path):
    data = Path(make_onnx(tmp_path / "m.onnx")).read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    assert "ONNX" in _one_line_exit_2(capsys, tmp_path / "cut.onnx")
    # graph field claiming 1 TB
    (tmp_path / "long.onnx").write_bytes(b"\x08\x08\x3a\xff\xff\xff\xff\xff\x1f" + b"\x00" * 32)
    assert "runs past the end" in _one_line_exit_2(capsys, tmp_path / "long.onnx")


def _ld(field: int, payload: bytes) -> bytes:
    length, out = len(payload), b""
    while True:
        out += bytes([(length & 0x7F) | (0x80 if length > 0x7F else 0)])
        length >>= 7
        if not length:
            return bytes([field << 3 | 2]) + out + payload


def test_nesting_depth_bomb_is_refused(capsys, tmp_path):
    # The protobuf library refuses to build > ~30 nested graphs, so the bomb is written from the
    # wire format: Node{op_type If, attribute{g: Graph{node: …}}} 100 levels deep.
    node = _ld(4, b"Relu")
    for _ in range(100):
        node = _ld(4, b"If") + _ld(5, _ld(6, _ld(1, node)))
    data = b"\x08\x08" + _ld(7, _ld(1, node)) + _ld(8, b"\x10\x0d")
    (tmp_path / "deep.onnx").write_bytes(data)
    assert "nested deeper" in _one_line_exit_2(capsys, tmp_path / "deep.onnx")


def test_4gb_sparse_file_and_unknown_content_name_the_formats_tried(capsys, tmp_path):
    sparse = tmp_path / "big.onnx"
    with open(sparse, "wb") as handle:
        handle.truncate(4 * 1024 ** 3)
    err = _one_line_exit_2(capsys, sparse)
    assert "formats tried" in err and "ONNX" in err


def test_truncated_file_raises_model_file_error(tmp_path):
    data = Path(make_onnx(tmp_path / "m.onnx")).read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[:-3])
    with pytest.raises(ModelFileError):
        read_source_model(tmp_path / "cut.onnx")


def test_doctor_model_accepts_a_source_model(capsys, tmp_path):
    path = make_onnx(tmp_path / "m.onnx", opset=20, ir=9)
    code, out, err = run_cli(capsys, "doctor", "--no-boards", "--model", str(path), "--toolkit", "rknn-toolkit2==1.6.0", "--json")
    report = json.loads(out)
    rows = [c for c in report["checks"] if c["subject"] == f"model:{path}"]
    assert {c["id"]: c["status"] for c in rows}["source.onnx_opset"] == "fail"


def test_facts_give_the_toolkit_the_onnx_beside_it_and_the_board(capsys, tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"schema": "rknn-envcheck/facts/1",
                                 "host": {"packages": {"rknn-toolkit2": "1.5.2", "onnx": "1.10.0"}},
                                 "devices": [{"serial": "B1", "state": "device", "chip": "RK1808", "librknn_runtime": "1.7.5"}]}))
    path = make_onnx(tmp_path / "m.onnx", opset=17, ir=8)
    code, out, _ = run_cli(capsys, "model", str(path), "--facts", str(facts), "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert checks["source.onnx_package"]["status"] == "fail" and "onnx 1.10.0" in checks["source.onnx_package"]["observed"]
    assert checks["source.board_line"]["status"] == "fail"  # RK1808 runs rknn-toolkit (v1) models
    assert checks["source.onnx_opset"]["status"] == "fail" and checks["source.onnx_opset"]["expected"] == "opset 1..15"


def test_no_toolkit_is_unknown_never_ok(capsys, tmp_path):
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"schema": "rknn-envcheck/facts/1", "host": {"packages": {"numpy": "1.26.4"}},
                                 "devices": [{"serial": "B1", "state": "device", "chip": "RK3588"}]}))
    code, out, _ = run_cli(capsys, "model", str(make_onnx(tmp_path / "m.onnx")), "--facts", str(facts), "--json")
    checks = {c["id"]: c for c in json.loads(out)["checks"]}
    assert code == 3 and checks["source.toolkit"]["status"] == "unknown"
