"""Toolkit2 operator tables (scripts/gen_source_models.py over each release's doc/*OP_Support*.md in the
rknn-toolkit2 mirrors): every section of every document is a [[source_ops]] row with the table's row
count, a release whose document has no table for a framework is a [[source_ops_absent]] row naming the
document, and real models with a listed and an unlisted operator are judged per release."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from rknn_envcheck.matrix import load_matrix
from tflite_build import build_tflite
from test_source_model_onnx import judge, make_onnx

ROOT = Path(__file__).resolve().parent.parent
MIRRORS = Path("/work/.mirror")
RL, AR = "rockchip-linux+rknn-toolkit2", "airockchip+rknn-toolkit2"
needs_mirror = pytest.mark.skipif(not (MIRRORS / RL / "repo").is_dir() or not (MIRRORS / AR / "repo").is_dir(),
                                  reason="no git mirrors of the rknn-toolkit2 repositories here")
# Every toolkit2 operator document, read here independently of the generator: (first release, mirror, revision, path).
DOCUMENTS = [
    ("0.6.0", RL, "0ece5fe", "doc/rknn-toolkit2_OP_Support-V0.6.0.md"),
    ("0.7.0", RL, "a4d3223", "doc/RKNNToolKit2_OP_Support-v0.7.0.md"),
    ("1.0.0", RL, "44b6420", "doc/RKNNToolKit2_OP_Support_v1.0.0.md"),
    ("1.1.0", RL, "f45b67e", "doc/RKNNToolKit2_OP_Support-1.1.0.md"),
    ("1.2.0", RL, "58fb25e", "doc/RKNNToolKit2_OP_Support-1.2.0.md"),
    ("1.3.0", RL, "9ad7934", "doc/RKNNToolKit2_OP_Support-1.3.0.md"),
    ("1.4.0", RL, "d8074d7", "doc/RKNNToolKit2_OP_Support-1.4.0.md"),
    ("1.5.0", RL, "d333c7d", "doc/RKNNToolKit2_OP_Support-1.5.0.md"),
    ("1.5.2", RL, "b7c3b5c", "doc/RKNNToolKit2_OP_Support-1.5.2.md"),
    ("1.6.0", RL, "b25dada", "doc/RKNN-Toolkit2_OP_Support-1.6.0.md"),
    ("2.0.0b0", AR, "v2.0.0-beta0", "doc/RKNNToolKit2_OP_Support-v2.0.0-beta0.md"),
    ("2.1.0", AR, "v2.1.0", "doc/RKNNToolKit2_OP_Support-v2.1.0.md"),
    ("2.2.0", AR, "v2.2.0", "doc/RKNNToolKit2_OP_Support-2.2.0.md"),
    ("2.3.0", AR, "v2.3.0", "doc/RKNNToolKit2_OP_Support-2.3.0.md"),
    ("2.3.2", AR, "v2.3.2", "doc/RKNNToolKit2_OP_Support-2.3.2.md"),
]
FRAMEWORKS = {"ONNX": "onnx", "Pytorch": "torch", "Caffe": "caffe", "TensorFlow": "tensorflow", "TensorFlow Lite": "tflite",
              "Darknet": "darknet"}


def _rows(table: str, version: str) -> dict:
    return {r["framework"]: r for r in load_matrix(ROOT / "matrices").rows(table)
            if r["package"] == "rknn-toolkit2" and version in r["versions"]}


def _tables(mirror: str, revision: str, path: str) -> dict:
    """{framework: [(first cell, second cell)]} of every '## X OPs supported by RKNN Toolkit2' section."""
    text = subprocess.run(["git", "--git-dir", str(MIRRORS / mirror / "repo"), "show", f"{revision}:{path}"],
                          capture_output=True, text=True, check=True).stdout
    out = {}
    for head, body in re.findall(r"^## ([^\n]+?) OPs supported by RKNN Toolkit2[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S):
        lines = [line for line in body.splitlines() if line.startswith("|")][2:]  # after the header and the |---| rule
        out[FRAMEWORKS[head]] = [tuple(c.strip() for c in (line.strip().strip("|").split("|") + [""])[:2]) for line in lines]
    return out


@needs_mirror
@pytest.mark.parametrize("version,mirror,revision,path", DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_every_table_of_every_document_is_a_row_with_its_count(version, mirror, revision, path):
    tables = _tables(mirror, revision, path)
    rows, absent = _rows("source_ops", version), _rows("source_ops_absent", version)
    assert set(rows) == set(tables), f"{path}: sections {sorted(tables)} vs matrix rows {sorted(rows)}"
    for framework, cells in tables.items():
        row = rows[framework]
        assert row["count"] == len(cells) > 0 and path in row["source"]
        named = set(row["supported"]) | set(row["unsupported"])
        assert all(first in named or set(first.split("/")) <= named for first, _ in cells)
        # "Not Supported" is the whole remark; "not support broadcast" is a limit of a supported operator
        assert sorted(row["unsupported"]) == sorted(first for first, remark in cells if remark.lower() == "not supported")
    # the frameworks a document has no table for are said, naming the document
    for framework in set(FRAMEWORKS.values()) - set(tables):
        assert path in absent[framework]["source"] and path in absent[framework]["looked_at"]


@needs_mirror
def test_tflite_tables_exist_only_up_to_1_1_and_a_remark_limit_is_not_unsupported():
    with_tflite = [d[0] for d in DOCUMENTS if "tflite" in _tables(*d[1:])]
    assert with_tflite == ["0.6.0", "0.7.0", "1.0.0", "1.1.0"]
    onnx = _rows("source_ops", "2.3.2")["onnx"]
    assert "Tile" in onnx["supported"] and "not support broadcast" in onnx["remarks"]["Tile"] and "Abs" in onnx["unsupported"]


def _tflite(tmp_path, name, ops):
    path = tmp_path / name
    path.write_bytes(build_tflite(ops=ops))
    return path


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==0.6.0", "rknn-toolkit2==0.7.0", "rknn-toolkit2==1.0.0", "rknn-toolkit2==1.1.1"])
def test_tflite_model_judged_by_the_toolkit2_tflite_table(capsys, tmp_path, toolkit):
    _, checks = judge(capsys, _tflite(tmp_path, "ok.tflite", ("CONV_2D", "RELU", "SPLIT_V")), toolkit)
    check = checks["source.tflite_ops"]
    assert check["status"] == "ok" and "TensorFlow Lite OPs supported by RKNN Toolkit2" in check["source"]
    _, checks = judge(capsys, _tflite(tmp_path, "gelu.tflite", ("CONV_2D", "GELU")), toolkit)
    assert checks["source.tflite_ops"]["status"] == "warn" and checks["source.tflite_ops"]["observed"] == "GELU"


@pytest.mark.parametrize("toolkit,document", [("rknn-toolkit2==1.2.0", "RKNNToolKit2_OP_Support-1.2.0.md"),
                                              ("rknn-toolkit2==1.6.0", "RKNN-Toolkit2_OP_Support-1.6.0.md"),
                                              ("rknn-toolkit2==2.3.2", "RKNNToolKit2_OP_Support-2.3.2.md")])
def test_tflite_without_a_table_names_the_documents_read(capsys, tmp_path, toolkit, document):
    _, checks = judge(capsys, _tflite(tmp_path, "m.tflite", ("CONV_2D", "RELU")), toolkit)
    check = checks["source.tflite_ops"]
    assert check["status"] == "unknown" and document in check["message"] and "Compiler Support Operator List" in check["message"]
    assert document in check["source"]
    # the observation that is missing: converting once with that toolkit
    assert f"rknn.load_tflite(model={str(tmp_path / 'm.tflite')!r})" in check["fix"]["commands"][0]["argv"][0]


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==0.6.0", "rknn-toolkit2==1.2.0", "rknn-toolkit2==1.4.0"])
def test_onnx_model_judged_by_the_older_toolkit2_tables(capsys, tmp_path, toolkit):
    # 'Upsample (resize)' in the table is Upsample; 1.2.0 writes 'cast' for Cast
    ops = ("Conv", "Relu", "Upsample") if toolkit.endswith("0.6.0") else ("Conv", "Relu", "Cast")
    _, checks = judge(capsys, make_onnx(tmp_path / "ok.onnx", ops=ops, opset=12, ir=7), toolkit)
    assert checks["source.onnx_ops"]["status"] in ("ok", "warn")  # warn: a listed operator with a limit remark
    assert checks["source.onnx_ops"]["observed"] == f"{len(ops)} operator types" and "OP_Support" in checks["source.onnx_ops"]["source"]
    _, checks = judge(capsys, make_onnx(tmp_path / "einsum.onnx", ops=("Conv", "Einsum"), opset=12, ir=7), toolkit)
    expected = "fail" if toolkit.endswith("1.4.0") else "warn"  # 1.4.0's table marks Einsum "Not Supported"
    assert checks["source.onnx_ops"]["status"] == expected and checks["source.onnx_ops"]["observed"] == "Einsum"


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==0.6.0", "rknn-toolkit2==1.0.0", "rknn-toolkit2==1.3.0"])
def test_caffe_model_judged_by_the_older_toolkit2_tables(capsys, tmp_path, toolkit):
    from test_source_model_caffe import judge as judge_pair, write_pair

    prototxt, caffemodel = write_pair(tmp_path, stem="ok", types=("Convolution", "ReLU", "Pooling", "Softmax"))
    check = judge_pair(capsys, toolkit, prototxt, caffemodel)[1][f"model:{prototxt}"]["source.caffe_ops"]
    assert check["status"] in ("ok", "warn") and check["observed"] == "4 layer types" and "Caffe OPs supported by RKNN Toolkit2" in check["source"]
    prototxt, caffemodel = write_pair(tmp_path, stem="prior", types=("Convolution", "PriorBox"))
    check = judge_pair(capsys, toolkit, prototxt, caffemodel)[1][f"model:{prototxt}"]["source.caffe_ops"]
    assert check["status"] == "warn" and check["observed"] == "PriorBox"


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==0.7.0", "rknn-toolkit2==1.2.0", "rknn-toolkit2==1.5.0"])
def test_tensorflow_graph_judged_by_the_older_toolkit2_tables(capsys, tmp_path, toolkit):
    from test_source_model_tf import judge as judge_pb, write_pb

    check = judge_pb(capsys, write_pb(tmp_path, name="ok.pb", extra_ops=("Softmax",)), toolkit)[1]["source.tensorflow_ops"]
    assert check["status"] == "ok" and "TensorFlow OPs supported by RKNN Toolkit2" in check["source"]
    check = judge_pb(capsys, write_pb(tmp_path, name="relu6.pb", extra_ops=("Relu6",)), toolkit)[1]["source.tensorflow_ops"]
    assert check["status"] == "warn" and check["observed"] == "Relu6"


REORG_NET = """[net]
width=416
height=416
channels=3

[convolutional]
filters=16
size=3
activation=leaky

[reorg]
stride=2
"""


@pytest.mark.parametrize("toolkit,status", [("rknn-toolkit2==0.6.0", "warn"), ("rknn-toolkit2==1.1.0", "warn"),
                                            ("rknn-toolkit2==1.4.0", "warn"), ("rknn-toolkit==1.6.0", "ok")])
def test_darknet_reorg_listed_by_toolkit1_1_6_0_only(capsys, tmp_path, toolkit, status):
    """[reorg] is in the V1.6.0 document's Darknet table (added after the tag, TK@4c1163c), not in toolkit2's."""
    from test_source_model_darknet import judge as judge_cfg, write_cfg, write_weights

    cfg, weights = write_cfg(tmp_path / "net.cfg", REORG_NET), write_weights(tmp_path / "net.weights")
    check = judge_cfg(capsys, toolkit, cfg, weights)[1][f"model:{cfg}"]["source.darknet_ops"]
    assert check["status"] == status and ("reorg" in check["observed"]) == (status == "warn"), check
