#!/usr/bin/env python3
"""Benchmark the two-file readers (Caffe, Darknet, MXNet) against references in the same run.

1. `rknn-envcheck model` on three ~1 GiB pairs at once (.prototxt + .caffemodel with 1,000 blobs,
   .cfg + .weights, -symbol.json + .params; weights are sparse holes so seeking is measured) vs
   `rknn-envcheck --version`: medians of alternating runs, peak RSS (goal: <= 2x, <= 100 MiB).
2. The .prototxt reader (model/prototext.py) vs google.protobuf text_format.Parse into a
   NetParameter class built from descriptors (the reference parser, when protobuf is installed) on
   the same 2,000-layer text: time and tracemalloc peak (docs/decisions.md).

    python scripts/bench_two_file.py [--runs 7] [--layers 2000]
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import tempfile
import time
import tracemalloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "scripts"), ROOT]  # the checkout's package, whatever is installed
from bench_source_model import _ld, _varint, against_version  # noqa: E402

BLOB = 1024 * 1024


def write_caffe(tmp: str, layers: int) -> tuple[str, str, str]:
    text = ['name: "bench"', 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 224 dim: 224 } } }']
    for i in range(layers):
        kind = ("Convolution", "BatchNorm", "Scale", "ReLU")[i % 4]
        text.append(f'layer {{\n  name: "l{i}"\n  type: "{kind}"\n  bottom: "{"data" if i == 0 else f"l{i - 1}"}"\n  top: "l{i}"\n'
                    f'  param {{ lr_mult: 1 decay_mult: 1 }}\n  convolution_param {{ num_output: 32 kernel_size: 3 weight_filler {{ type: "msra" }} }}\n}}')
    prototxt = os.path.join(tmp, "big.prototxt")
    with open(prototxt, "w") as fh:
        fh.write("\n".join(text))
    caffemodel = os.path.join(tmp, "big.caffemodel")
    with open(caffemodel, "wb") as fh:
        fh.write(_ld(1, b"bench"))
        for i in range(layers):
            head = _ld(1, f"l{i}".encode()) + _ld(2, b"Convolution")
            blob_head = _varint(5 << 3 | 2) + _varint(BLOB)  # BlobProto.data, packed floats
            blob = _varint(7 << 3 | 2) + _varint(len(blob_head) + BLOB) + blob_head if i < 1000 else b""
            size = len(head) + len(blob) + (BLOB if blob else 0)
            fh.write(_varint(100 << 3 | 2) + _varint(size) + head + blob)
            if blob:
                fh.seek(BLOB, os.SEEK_CUR)
        fh.truncate()
    return prototxt, caffemodel, "\n".join(text)


def write_darknet(tmp: str, layers: int) -> tuple[str, str]:
    cfg = os.path.join(tmp, "big.cfg")
    with open(cfg, "w") as fh:
        fh.write("[net]\nwidth=416\nheight=416\nchannels=3\n" + "".join(
            "\n[convolutional]\nbatch_normalize=1\nfilters=32\nsize=3\nactivation=leaky\n" for _ in range(layers)))
    weights = os.path.join(tmp, "big.weights")
    with open(weights, "wb") as fh:
        fh.write(struct.pack("<iiiQ", 0, 2, 0, 0))
        fh.truncate(20 + 4 * (1 << 28))  # 1 GiB of float32
    return cfg, weights


def write_mxnet(tmp: str, layers: int) -> tuple[str, str]:
    nodes = [{"op": "null", "name": "data", "inputs": []}]
    for i in range(layers):
        nodes.append({"op": ("Convolution", "BatchNorm", "Activation")[i % 3], "name": f"n{i}", "attrs": {"kernel": "(3, 3)"},
                      "inputs": [[i, 0, 0]]})
    symbol = os.path.join(tmp, "big-symbol.json")
    with open(symbol, "w") as fh:
        json.dump({"nodes": nodes, "arg_nodes": [0], "heads": [[layers, 0, 0]], "attrs": {"mxnet_version": ["int", 10500]}}, fh)
    params = os.path.join(tmp, "big-0000.params")
    with open(params, "wb") as fh:
        fh.write(struct.pack("<QQQI", 0x112, 0, 1000, 0xF993FAC9))
        fh.truncate(1 << 30)
    return symbol, params


def reference_parser():
    try:
        from google.protobuf import text_format
    except ImportError:
        return None
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from test_source_model_caffe import NetParameter

    return lambda text: text_format.Parse(text, NetParameter(), allow_unknown_field=True)


def measure(fn, *args) -> tuple[float, float]:
    tracemalloc.start()
    start = time.perf_counter()
    fn(*args)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 1024 / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--layers", type=int, default=2000)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    base = [sys.executable, "-m", "rknn_envcheck"]
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        prototxt, caffemodel, text = write_caffe(tmp, args.layers)
        files = [prototxt, caffemodel, *write_darknet(tmp, args.layers), *write_mxnet(tmp, args.layers)]
        judge = [*base, "model", *files, "--toolkit", "rknn-toolkit==1.7.5", "--json"]
        version = [*base, "--version"]
        v_time, j_time, peak = against_version(version, judge, env, b'"command": "model"', args.runs)
        sizes = sum(os.path.getsize(f) for f in files) / 1024 ** 3
        print(f"files: 3 pairs, {sizes:.2f} GiB, {args.layers} layers each")
        print(f"--version median {v_time * 1000:.0f} ms; model median {j_time * 1000:.0f} ms; ratio {j_time / v_time:.2f} (goal <= 2.0)")
        print(f"model peak RSS {peak:.1f} MiB (goal <= 100)")
        from rknn_envcheck.model.caffe_reader import read_prototxt

        size = os.path.getsize(prototxt)
        with open(prototxt, "rb") as handle:
            ours = measure(read_prototxt, handle, prototxt, size)
        print(f".prototxt ({size / 1024:.0f} KiB): model/prototext.py {ours[0] * 1000:.0f} ms, peak {ours[1]:.1f} MiB")
        reference = reference_parser()
        if reference is not None:
            theirs = measure(reference, text)
            print(f"  reference google.protobuf text_format.Parse {theirs[0] * 1000:.0f} ms, peak {theirs[1]:.1f} MiB")
        return 0 if j_time / v_time <= 2.0 and peak <= 100 else 1


if __name__ == "__main__":
    raise SystemExit(main())
