"""MXNet -symbol.json + .params: files written here in MXNet 1.x's formats (the nnvm graph JSON of
Symbol.save; NDArray::Save's list header, src/ndarray/ndarray.cc), judged against both lines:
toolkit v1 loads MXNet from 1.3.0, toolkit2 not at all (the fix is the ONNX export)."""
from __future__ import annotations

import json
import struct

import pytest

from core_helpers import run_cli
from rknn_envcheck.model.source import read_source_model


def symbol(ops=("Convolution", "BatchNorm", "Activation", "Pooling", "FullyConnected", "SoftmaxOutput"), version=10500):
    nodes = [{"op": "null", "name": "data", "inputs": []}]
    args, prev = [0], 0
    for index, op in enumerate(ops):
        if op in ("Convolution", "FullyConnected"):
            nodes.append({"op": "null", "name": f"n{index}_weight", "inputs": []})
            args.append(len(nodes) - 1)
        nodes.append({"op": op, "name": f"n{index}", "attrs": {"kernel": "(3, 3)"} if op == "Convolution" else {},
                      "inputs": [[prev, 0, 0]] + ([[len(nodes) - 1, 0, 0]] if op in ("Convolution", "FullyConnected") else [])})
        prev = len(nodes) - 1
    graph = {"nodes": nodes, "arg_nodes": args, "node_row_ptr": list(range(len(nodes) + 1)), "heads": [[prev, 0, 0]]}
    if version is not None:
        graph["attrs"] = {"mxnet_version": ["int", version]}
    return json.dumps(graph, indent=2)


def params(arrays=2, magic=0xF993FAC9):
    body = b""
    for _ in range(arrays):  # magic, storage type, ndim, shape, context (dev_type, dev_id), type flag, data
        body += struct.pack("<Iii", magic, 0, 1) + struct.pack("<q", 4) + struct.pack("<ii", 1, 0) + struct.pack("<i", 0) + struct.pack("<4f", 1, 2, 3, 4)
    keys = b"".join(struct.pack("<Q", len(k)) + k for k in (b"arg:n0_weight", b"arg:n4_weight")[:arrays])
    return struct.pack("<QQQ", 0x112, 0, arrays) + body + struct.pack("<Q", arrays) + keys


def write(tmp_path, stem="resnet", **kwargs):
    sym = tmp_path / f"{stem}-symbol.json"
    sym.write_text(symbol(**kwargs))
    par = tmp_path / f"{stem}-0000.params"
    par.write_bytes(params())
    return sym, par


def judge(capsys, toolkit, *paths):
    code, out, err = run_cli(capsys, "model", *map(str, paths), "--toolkit", toolkit, "--json")
    assert code in (0, 1, 3), err
    subjects = {}
    for check in json.loads(out)["checks"]:
        subjects.setdefault(check["subject"], {})[check["id"]] = check
    return code, subjects


def test_symbol_and_params_read_by_content(tmp_path):
    sym, par = write(tmp_path)
    model = read_source_model(sym)
    assert (model.format, model.role, model.mxnet_version, model.renamed) == ("mxnet", "structure", 10500, "")
    assert model.operators == {"Convolution": 1, "BatchNorm": 1, "Activation": 1, "Pooling": 1, "FullyConnected": 1, "SoftmaxOutput": 1}
    assert model.inputs == [{"name": "data", "shape": None}]
    weights = read_source_model(par)
    assert (weights.role, weights.weights_detail, weights.weights_version) == ("weights", "2 arrays", "NDArray V2 (storage type)")


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.3.0", "rknn-toolkit==1.6.1", "rknn-toolkit==1.7.5"])
def test_toolkit_v1_loads_the_pair(capsys, tmp_path, toolkit):
    sym, par = write(tmp_path, ops=("Convolution", "BatchNorm", "Pooling", "FullyConnected", "softmax"))
    code, subjects = judge(capsys, toolkit, sym, par)
    assert list(subjects) == [f"model:{sym}"]
    checks = subjects[f"model:{sym}"]
    assert checks["source.mxnet_loader"]["status"] == "ok" and checks["source.model_files"]["status"] == "ok"
    assert checks["source.mxnet_version"]["status"] == "ok" and checks["source.mxnet_version"]["observed"] == "MXNet 1.5.0"
    assert checks["source.mxnet_ops"]["status"] == ("unknown" if toolkit == "rknn-toolkit==1.3.0" else "ok")  # no v1 op document before 1.6.0
    assert code == (3 if toolkit == "rknn-toolkit==1.3.0" else 0)


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==1.6.0", "rknn-toolkit2==2.1.0", "rknn-toolkit2==2.3.2"])
def test_toolkit2_has_no_mxnet_loader(capsys, tmp_path, toolkit):
    sym, par = write(tmp_path)
    code, subjects = judge(capsys, toolkit, sym, par)
    check = subjects[f"model:{sym}"]["source.mxnet_loader"]
    assert code == 1 and check["status"] == "fail" and "API-TK2-2.3.2 §1.3" in check["source"]
    [export] = check["fix"]["commands"]
    assert export["shell"] == "python" and f"export_model({str(sym)!r}, {str(par)!r}" in export["argv"][0]


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.0.0", "rknn-toolkit==1.2.1"])
def test_toolkit_v1_before_1_3_does_not_load_mxnet(capsys, tmp_path, toolkit):
    sym, par = write(tmp_path)
    code, subjects = judge(capsys, toolkit, sym, par)
    check = subjects[f"model:{sym}"]["source.mxnet_loader"]
    assert code == 1 and check["status"] == "fail" and "1.3.0 or later" in check["fix"]["text"]


def test_newer_mxnet_and_unlisted_operators_warn(capsys, tmp_path):
    sym, par = write(tmp_path, ops=("Convolution", "_contrib_DeformableConvolution"), version=10900)
    _, subjects = judge(capsys, "rknn-toolkit==1.7.5", sym, par)
    checks = subjects[f"model:{sym}"]
    assert checks["source.mxnet_version"]["status"] == "warn" and checks["source.mxnet_version"]["observed"] == "MXNet 1.9.0"
    assert checks["source.mxnet_ops"]["status"] == "warn" and checks["source.mxnet_ops"]["observed"] == "_contrib_DeformableConvolution"
    sym.write_text(symbol(version=None))
    _, subjects = judge(capsys, "rknn-toolkit==1.7.5", sym)
    assert subjects[f"model:{sym}"]["source.mxnet_version"]["status"] == "unknown"
    assert subjects[f"model:{sym}"]["source.model_files"]["status"] == "unknown"


def test_renamed_and_other_json(capsys, tmp_path):
    sym, par = write(tmp_path)
    renamed = tmp_path / "graph.txt"
    renamed.write_text(sym.read_text())
    assert "named .txt" in read_source_model(renamed).renamed
    other = tmp_path / "config.json"
    other.write_text(json.dumps({"nodes": "not a list", "heads": []}))
    code, _, err = run_cli(capsys, "model", str(other))
    assert code == 2 and "formats tried" in err


@pytest.mark.parametrize("body, words", [
    ('{"nodes": [' + "[" * 5000 + "]" * 5000 + '], "heads": []}', "nested deeper"),
    ('{"nodes": [{"op": "Convolution"', "not valid JSON"),
    ('{"nodes": [{"name": "x"}], "heads": []}', 'no "op" string'),
    ('{"nodes": [], "heads": [], "attrs": {"mxnet_version": ["int", 1' + "0" * 40 + "]}}", "out of range"),
])
def test_hostile_symbol_exit_2_one_line(capsys, tmp_path, body, words):
    path = tmp_path / "bad-symbol.json"
    path.write_text(body)
    code, _, err = run_cli(capsys, "model", str(path))
    assert code == 2 and words in err and "MXNet symbol" in err and err.count("\n") == 1, err


def test_hostile_params_exit_2(capsys, tmp_path):
    path = tmp_path / "huge.params"
    path.write_bytes(struct.pack("<QQQ", 0x112, 0, 1 << 62) + b"\0" * 8)
    code, _, err = run_cli(capsys, "model", str(path))
    assert code == 2 and "more than the" in err and err.count("\n") == 1
    path.write_bytes(struct.pack("<QQ", 0x112, 0) + b"\1")
    code, _, err = run_cli(capsys, "model", str(path))
    assert code == 2 and "cut short" in err
