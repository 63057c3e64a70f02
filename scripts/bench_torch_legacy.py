#!/usr/bin/env python3
"""Benchmark the legacy torch.save reader (model/torch_legacy_reader.py) against `rknn-envcheck --version`.

A ~1 GiB legacy pickle-stream file (written as torch's _legacy_save does, by tests/test_source_torch_legacy.py's
stdlib writer; the storage payloads are sparse holes, so seeking is what is measured): a pickled module of
--modules submodules with one 1 MiB parameter each. `rknn-envcheck model FILE --toolkit rknn-toolkit==1.7.5`
vs `rknn-envcheck --version`: medians of alternating runs and peak RSS (goal: <= 2x, <= 100 MiB).

    python scripts/bench_torch_legacy.py [--runs 7] [--modules 1000]
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "scripts"), os.path.join(ROOT, "tests"), ROOT]
from bench_source_model import against_version  # noqa: E402
from test_source_torch_legacy import Net, Storage, Tensor, legacy_save  # noqa: E402


def write_module(path: Path, modules: int) -> Path:
    root = Net()
    children = collections.OrderedDict()
    for index in range(modules):
        child = Net()
        weight = Tensor(Storage(f"{140000000 + index}", b"", numel=256 * 1024), (256, 1024))  # 1 MiB of float32
        child.__dict__.update(training=True, _parameters=collections.OrderedDict(weight=weight), _buffers=collections.OrderedDict(),
                              _modules=collections.OrderedDict())
        children[f"layer{index}"] = child
    root.__dict__.update(training=True, _parameters=collections.OrderedDict(), _buffers=collections.OrderedDict(), _modules=children)
    return legacy_save(root, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--modules", type=int, default=1000)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    base = [sys.executable, "-m", "rknn_envcheck"]
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        path = write_module(Path(tmp) / "big.pth", args.modules)
        judge = [*base, "model", str(path), "--toolkit", "rknn-toolkit==1.7.5", "--json"]
        version = [*base, "--version"]
        v_time, j_time, peak = against_version(version, judge, env, b"pickled nn.Module", args.runs)
        print(f"file: {path.stat().st_size / 1024 ** 3:.2f} GiB, a module of {args.modules} submodules")
        print(f"--version median {v_time * 1000:.0f} ms; model median {j_time * 1000:.0f} ms; ratio {j_time / v_time:.2f} (goal <= 2.0)")
        print(f"model peak RSS {peak:.1f} MiB (goal <= 100)")
        return 0 if j_time / v_time <= 2.0 and peak <= 100 else 1


if __name__ == "__main__":
    raise SystemExit(main())
