#!/usr/bin/env python3
"""Benchmark: `rknn-envcheck model BIG.pb|BIG.tflite --toolkit …` vs `rknn-envcheck --version`.

The same goal as scripts/bench_source_model.py (issue 16: peak memory <= 100 MiB, wall time <= 2x
`--version`, medians of alternating runs) for the TensorFlow and TFLite readers:

* a 1 GiB frozen GraphDef written from the graph.proto wire format by hand: --nodes Conv2D/Relu
  NodeDefs (with attributes, `explicit_paddings` among them) and --consts Const nodes whose `value`
  tensor_content is a 1 MiB hole (sparse file), so seeking over weights is what is measured;
* a TFLite model (flatbuffers + tflite packages, the test extra) with --nodes operators and
  --consts Buffers stored after the FlatBuffer (Buffer.offset/size, the > 2 GB layout), 1 MiB each.

    python scripts/bench_source_tf.py [--runs 7] [--nodes 10000] [--consts 1000]
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_source_model import _ld, _varint, run_once  # noqa: E402

PAYLOAD = 1024 * 1024


def write_graphdef(path: str, nodes: int, consts: int) -> int:
    def attr(key: bytes, value: bytes) -> bytes:
        return _ld(5, _ld(1, key) + _ld(2, value))

    strides = _ld(1, b"".join(_varint(3 << 3) + _varint(1) for _ in range(4)))  # AttrValue.list{i: 1 x4}
    with open(path, "wb") as fh:
        fh.write(_ld(1, _ld(1, b"input") + _ld(2, b"Placeholder") + attr(b"dtype", _varint(6 << 3) + _varint(1))
                     + attr(b"shape", _ld(7, b"".join(_ld(2, _varint(1 << 3) + _varint(d)) for d in (1, 224, 224, 3))))))
        for i in range(consts):
            tensor_head = _varint(1 << 3) + _varint(1) + _varint(4 << 3 | 2) + _varint(PAYLOAD)
            tensor_len = len(tensor_head) + PAYLOAD
            value_head = _varint(8 << 3 | 2) + _varint(tensor_len)
            entry_head = _ld(1, b"value") + _varint(2 << 3 | 2) + _varint(len(value_head) + tensor_len)
            node_head = _ld(1, f"w{i}".encode()) + _ld(2, b"Const") + _varint(5 << 3 | 2) + _varint(len(entry_head) + len(value_head) + tensor_len)
            node_len = len(node_head) + len(entry_head) + len(value_head) + tensor_len
            fh.write(_varint(1 << 3 | 2) + _varint(node_len) + node_head + entry_head + value_head + tensor_head)
            fh.seek(PAYLOAD, os.SEEK_CUR)
        for i in range(nodes):
            op = b"Conv2D" if i % 2 else b"Relu"
            body = _ld(1, f"n{i}".encode()) + _ld(2, op) + _ld(3, f"n{i - 1}".encode())
            if op == b"Conv2D":
                body += attr(b"T", _varint(6 << 3) + _varint(1)) + attr(b"strides", strides) + attr(b"padding", _ld(2, b"SAME"))
                body += attr(b"explicit_paddings", _ld(1, b""))
            fh.write(_ld(1, body))
        fh.write(_ld(4, _varint(1 << 3) + _varint(38)))
        fh.truncate()
    return os.path.getsize(path)


def write_tflite(path: str, nodes: int, consts: int) -> int | None:
    try:
        import flatbuffers
        import tflite
    except ImportError:
        return None
    mod = {n: importlib.import_module(f"tflite.{n}") for n in ("Tensor", "Buffer", "Operator", "SubGraph", "OperatorCode", "Model")}
    b = flatbuffers.Builder(1 << 20)
    Buffer, Tensor, Operator, SubGraph, OperatorCode, Model = (mod[n] for n in ("Buffer", "Tensor", "Operator", "SubGraph", "OperatorCode", "Model"))
    # the FlatBuffer is written first; its size is not known yet, so payloads start at a fixed 64 MiB
    start = 64 * 1024 * 1024
    buffers = []
    Buffer.BufferStart(b)
    buffers.append(Buffer.BufferEnd(b))
    for i in range(consts):
        Buffer.BufferStart(b)
        Buffer.BufferAddOffset(b, start + i * PAYLOAD)
        Buffer.BufferAddSize(b, PAYLOAD)
        buffers.append(Buffer.BufferEnd(b))
    tensors = []
    for i in range(consts + 1):
        name = b.CreateString(f"t{i}")
        Tensor.TensorStartShapeVector(b, 4)
        for d in (3, 224, 224, 1):
            b.PrependInt32(d)
        shape = b.EndVector()
        Tensor.TensorStart(b)
        Tensor.TensorAddShape(b, shape)
        Tensor.TensorAddName(b, name)
        Tensor.TensorAddBuffer(b, i)
        tensors.append(Tensor.TensorEnd(b))
    operators = []
    for i in range(nodes):
        Operator.OperatorStart(b)
        Operator.OperatorAddOpcodeIndex(b, i % 2)
        operators.append(Operator.OperatorEnd(b))

    def vector(start_fn, items):
        start_fn(b, len(items))
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    tv, ov = vector(SubGraph.SubGraphStartTensorsVector, tensors), vector(SubGraph.SubGraphStartOperatorsVector, operators)
    SubGraph.SubGraphStartInputsVector(b, 1)
    b.PrependInt32(0)
    iv = b.EndVector()
    SubGraph.SubGraphStart(b)
    SubGraph.SubGraphAddTensors(b, tv)
    SubGraph.SubGraphAddInputs(b, iv)
    SubGraph.SubGraphAddOperators(b, ov)
    sg = SubGraph.SubGraphEnd(b)
    codes = []
    for code in (tflite.BuiltinOperator.CONV_2D, tflite.BuiltinOperator.RELU):
        OperatorCode.OperatorCodeStart(b)
        OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(b, code)
        OperatorCode.OperatorCodeAddBuiltinCode(b, code)
        codes.append(OperatorCode.OperatorCodeEnd(b))
    cv, sv, bv = vector(Model.ModelStartOperatorCodesVector, codes), vector(Model.ModelStartSubgraphsVector, [sg]), vector(Model.ModelStartBuffersVector, buffers)
    Model.ModelStart(b)
    Model.ModelAddVersion(b, 3)
    Model.ModelAddOperatorCodes(b, cv)
    Model.ModelAddSubgraphs(b, sv)
    Model.ModelAddBuffers(b, bv)
    b.Finish(Model.ModelEnd(b), file_identifier=b"TFL3")
    data = bytes(b.Output())
    if len(data) > start:
        raise SystemExit("the FlatBuffer is larger than the 64 MiB reserved before the payloads")
    with open(path, "wb") as fh:
        fh.write(data)
        fh.truncate(start + consts * PAYLOAD)
    return os.path.getsize(path)


def measure(label: str, model: str, toolkit: str, base: list, env: dict, runs: int) -> bool:
    judge = [*base, "model", model, "--toolkit", toolkit, "--json"]
    version = [*base, "--version"]
    # one checked run first: a broken install exits 1 too, and would be timed as a result
    report = json.loads(subprocess.run(judge, env=env, capture_output=True, text=True).stdout or "{}")
    if not report.get("checks"):
        raise SystemExit(f"{' '.join(judge)} gave no report")
    run_once(version, env)
    version_runs, judge_runs = [], []
    for _ in range(runs):
        version_runs.append(run_once(version, env))
        judge_runs.append(run_once(judge, env, b'"command": "model"'))
    v_time = statistics.median(t for t, _ in version_runs)
    j_time = statistics.median(t for t, _ in judge_runs)
    peak = max(rss for _, rss in judge_runs) / 1024
    ratio = j_time / v_time
    print(f"{label}: --version median {v_time * 1000:.0f} ms; model median {j_time * 1000:.0f} ms; ratio {ratio:.2f} (goal <= 2.0); "
          f"peak RSS {peak:.1f} MiB (goal <= 100)")
    return ratio <= 2.0 and peak <= 100


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--nodes", type=int, default=10000)
    parser.add_argument("--consts", type=int, default=1000)
    args = parser.parse_args()
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")  # this checkout, whatever is installed
    base = [sys.executable, "-m", "rknn_envcheck"]
    ok = True
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        pb = os.path.join(tmp, "big.pb")
        size = write_graphdef(pb, args.nodes, args.consts)
        ok &= measure(f"GraphDef {size / 1024 ** 3:.2f} GiB, {args.nodes} nodes + {args.consts} Const", pb, "rknn-toolkit2==2.3.2", base, env, args.runs)
        tfl = os.path.join(tmp, "big.tflite")
        size = write_tflite(tfl, args.nodes, args.consts)
        if size is None:
            print("TFLite: skipped (pip install flatbuffers tflite)")
        else:
            ok &= measure(f"TFLite {size / 1024 ** 3:.2f} GiB, {args.nodes} operators, {args.consts} buffers", tfl, "rknn-toolkit==1.7.5",
                          base, env, args.runs)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
