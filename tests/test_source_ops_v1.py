"""Toolkit-v1 operator lists (scripts/gen_source_models.py over doc/RKNN_OP_Support_V*.md and the
v1.7.5 .xlsx in the rknn-toolkit mirror) and ONNX operator judging for v1 releases."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path
from xml.etree import ElementTree

import pytest

from rknn_envcheck.matrix import load_matrix
from test_source_model_onnx import judge, make_onnx

ROOT = Path(__file__).resolve().parent.parent
TK_MIRROR = Path("/work/.mirror/rockchip-linux+rknn-toolkit/repo")
needs_mirror = pytest.mark.skipif(not TK_MIRROR.is_dir(), reason="no git mirror of rockchip-linux/rknn-toolkit here")


def _row(version: str, framework: str) -> dict:
    [row] = [r for r in load_matrix(ROOT / "matrices").rows("source_ops")
             if r["package"] == "rknn-toolkit" and r["versions"] == [version] and r["framework"] == framework]
    return row


def _show(spec: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(TK_MIRROR), "show", spec], capture_output=True, check=True).stdout


@needs_mirror
def test_v1_onnx_table_count_is_the_documents():
    text = _show("v1.7.1:doc/RKNN_OP_Support_V1.7.1.md").decode()
    part = text.split("## ONNX OPs supported by RKNN")[1].split("\n## ")[0]
    cells = [line for line in part.splitlines() if line.startswith("|") and not line.startswith(("| **", "|--", "|---"))]
    row = _row("1.7.1", "onnx")
    assert row["count"] == len(cells) == 56
    # "AveragePool/GlobalAveragePool" names two operators, "Add (Float / Quantize)" is Add
    assert {"AveragePool", "GlobalAveragePool", "Add", "Conv"} <= set(row["supported"]) and row["unsupported"] == []


V1_DOCUMENTS = [("1.6.0", "4c1163c", "doc/RKNN_OP_Support_V1.6.0.md"), ("1.6.1", "v1.6.1", "doc/RKNN_OP_Support_V1.6.1.md"),
                ("1.7.0", "v1.7.0", "doc/RKNN_OP_Support_V1.7.0.md"), ("1.7.1", "v1.7.1", "doc/RKNN_OP_Support_V1.7.1.md"),
                ("1.7.3", "v1.7.3", "doc/RKNN_OP_Support_V1.7.3.md"), ("1.7.5", "v1.7.5", "doc/RKNN_OP_Support_V1.7.5.md")]
V1_FRAMEWORKS = {"Caffe": "caffe", "Darknet": "darknet", "Keras": "keras", "MXNet": "mxnet", "ONNX": "onnx", "Pytorch": "torch",
                 "PyTorch": "torch", "TensorFlow": "tensorflow", "TensorFlow Lite": "tflite"}


@needs_mirror
@pytest.mark.parametrize("version,revision,path", V1_DOCUMENTS, ids=[d[0] for d in V1_DOCUMENTS])
def test_every_v1_table_is_a_row_with_its_count(version, revision, path):
    import re

    text = _show(f"{revision}:{path}").decode()
    rows = {r["framework"]: r for r in load_matrix(ROOT / "matrices").rows("source_ops")
            if r["package"] == "rknn-toolkit" and r["versions"] == [version] and path in r["source"]}
    tables = {}
    for head, body in re.findall(r"^## ([^\n]+?) OPs supported by RKNN[^\n]*\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S):
        cells = [line for line in body.splitlines() if line.startswith("|") and not line.startswith(("| **", "|--", "|---", "| --"))]
        if cells:
            tables[V1_FRAMEWORKS[head]] = len(cells)
    assert {f: r["count"] for f, r in rows.items()} == tables


@needs_mirror
def test_v1_xlsx_table_count_is_the_sheets():
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(BytesIO(_show("v1.7.5:doc/RKNN_OP_Support_And_Limit.xlsx"))) as book:
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    named = [c for c in sheet.iter(main + "c") if c.get("r", "").startswith("B") and c.find(main + "v") is not None]
    torch = _row("1.7.5", "torch")
    assert torch["count"] == len(named) - 1 == len(torch["supported"]) + len(torch["unsupported"])  # minus the "OP name" header
    assert "convolution 3D" in torch["unsupported"] and "convolution 2D" in torch["supported"]


def test_every_v1_document_section_is_a_row():
    rows = [r for r in load_matrix(ROOT / "matrices").rows("source_ops") if r["package"] == "rknn-toolkit"]
    by_release = {}
    for row in rows:
        by_release.setdefault(row["versions"][0], set()).add(row["framework"])
    # 1.6.0: the last revision of the V1.6.0 document (TK@4c1163c added its Darknet section after the tag)
    assert by_release["1.6.0"] == {"caffe", "darknet", "keras", "mxnet", "onnx", "torch", "tensorflow", "tflite"}
    assert by_release["1.7.1"] == {"caffe", "darknet", "keras", "mxnet", "onnx", "torch", "tensorflow", "tflite"}
    # 1.7.3/1.7.5 moved ONNX and PyTorch to the .xlsx (shipped with the v1.7.5 tag only)
    assert "onnx" not in by_release["1.7.3"] and {"torch", "onnx-from-torch"} <= by_release["1.7.5"]
    assert all(r["source"].startswith("TK@") for r in rows)


@needs_mirror
def test_generator_reproduces_the_shipped_file():
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_source_models.py")], capture_output=True, text=True, check=True)
    assert done.stdout == (ROOT / "matrices" / "source_models.toml").read_text(), \
        "matrices/source_models.toml differs from the generator: edit HAND in scripts/gen_source_models.py and regenerate"


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.0", "rknn-toolkit==1.7.1"])
def test_v1_onnx_operators_are_judged_by_the_release_list(capsys, tmp_path, toolkit):
    _, checks = judge(capsys, make_onnx(tmp_path / "ok.onnx", ops=("Conv", "Relu", "GlobalAveragePool"), opset=11, ir=6), toolkit)
    assert checks["source.onnx_ops"]["status"] == "ok" and "RKNN_OP_Support_V" in checks["source.onnx_ops"]["source"]
    _, checks = judge(capsys, make_onnx(tmp_path / "einsum.onnx", ops=("Conv", "Einsum"), opset=11, ir=6), toolkit)
    assert checks["source.onnx_ops"]["status"] == "warn" and checks["source.onnx_ops"]["observed"] == "Einsum"


@pytest.mark.parametrize("toolkit,says", [
    ("rknn-toolkit==1.7.3", ["RKNN_OP_Support_V1.7.3.md", "holds no .xlsx", "1.7.1 list is not carried over"]),
    ("rknn-toolkit==1.7.5", ["RKNN_OP_Support_V1.7.5.md", "RKNN_OP_Support_And_Limit.xlsx", "not ONNX operator types", "1.7.1 list is not carried over"]),
])
def test_v1_release_whose_document_has_no_onnx_list_is_unknown_and_says_what_was_read(capsys, tmp_path, toolkit, says):
    _, checks = judge(capsys, make_onnx(tmp_path / "m.onnx", opset=11, ir=6), toolkit)
    check = checks["source.onnx_ops"]
    assert check["status"] == "unknown" and all(part in check["message"] for part in says), check["message"]
    assert "CHANGELOG" in check["source"] and "RKNN_OP_Support_V1.7" in check["source"]
