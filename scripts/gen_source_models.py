#!/usr/bin/env python3
"""Write matrices/source_models.toml from the vendor operator documents in the git mirrors.

    python3 scripts/gen_source_models.py [--mirror /work/.mirror] > matrices/source_models.toml

Each toolkit2 release's doc/RKNNToolKit2_OP_Support-<v>.md table ("Operators | Remarks", remark
"Not Supported" = unsupported) becomes one [[source_ops]] row per framework section, the whole
table (tests check the counts); the ONNX opset each document names becomes an [[onnx_opset]] row.
The hand-written rows (onnx releases, dynamic input, formats) are kept in HAND below.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys

# (package, versions, mirror repo, tag, doc path, registry key)
DOCS = [
    ("rknn-toolkit2", ["1.5.2"], "rockchip-linux+rknn-toolkit2", "v1.5.2", "doc/RKNNToolKit2_OP_Support-1.5.2.md", "RL@b7c3b5c"),
    ("rknn-toolkit2", ["1.6.0"], "rockchip-linux+rknn-toolkit2", "v1.6.0", "doc/RKNN-Toolkit2_OP_Support-1.6.0.md", "RL@b25dada"),
    ("rknn-toolkit2", ["2.0.0b0"], "airockchip+rknn-toolkit2", "v2.0.0-beta0", "doc/RKNNToolKit2_OP_Support-v2.0.0-beta0.md", "AR@v2.0.0-beta0"),
    ("rknn-toolkit2", ["2.1.0"], "airockchip+rknn-toolkit2", "v2.1.0", "doc/RKNNToolKit2_OP_Support-v2.1.0.md", "AR@v2.1.0"),
    ("rknn-toolkit2", ["2.2.0"], "airockchip+rknn-toolkit2", "v2.2.0", "doc/RKNNToolKit2_OP_Support-2.2.0.md", "AR@v2.2.0"),
    ("rknn-toolkit2", ["2.3.0"], "airockchip+rknn-toolkit2", "v2.3.0", "doc/RKNNToolKit2_OP_Support-2.3.0.md", "AR@v2.3.0"),
    ("rknn-toolkit2", ["2.3.2"], "airockchip+rknn-toolkit2", "v2.3.2", "doc/RKNNToolKit2_OP_Support-2.3.2.md", "AR@v2.3.2"),
]
SECTIONS = {"onnx": "ONNX", "torch": "Pytorch", "caffe": "Caffe", "tensorflow": "TensorFlow", "darknet": "Darknet"}
ONNX_RELEASES = [  # onnx docs/Versioning.md "Released Versions" (ONNX version | IR | ai.onnx opset)
    ("1.3.0", 3, 8), ("1.4.1", 4, 9), ("1.5.0", 5, 10), ("1.6.0", 6, 11), ("1.7.0", 7, 12), ("1.8.0", 7, 13), ("1.8.1", 7, 13),
    ("1.9.0", 7, 14), ("1.10.0", 8, 15), ("1.10.1", 8, 15), ("1.10.2", 8, 15), ("1.11.0", 8, 16), ("1.12.0", 8, 17),
    ("1.13.0", 8, 18), ("1.13.1", 8, 18), ("1.14.0", 9, 19), ("1.14.1", 9, 19), ("1.15.0", 9, 20), ("1.16.0", 10, 21),
    ("1.16.1", 10, 21), ("1.16.2", 10, 21), ("1.17.0", 10, 22), ("1.18.0", 11, 23),
]
HAND = '''
# ONNX opset/IR named by the toolkit-v1 operator documents (doc/RKNN_OP_Support_V<v>.md, "ONNX OPs supported by RKNN").
[[onnx_opset]]
package = "rknn-toolkit"
versions = ["1.6.0", "1.6.1", "1.7.0", "1.7.1"]
opset = 11
ir = 6
source = "TK@c62a16b doc/RKNN_OP_Support_V1.6.0.md; TK@a990fb7 doc/RKNN_OP_Support_V1.7.1.md"
note = "the corresponding ONNX opset version is 11 and the corresponding onnx ir version is 6"

[[onnx_opset]]
package = "rknn-toolkit"
versions = ["1.7.3", "1.7.5"]
min_opset = 8
max_opset = 12
ir = 6
source = "TK@c5a65c2 doc/RKNN_OP_Support_V1.7.3.md; TK@7e767b0 doc/RKNN_OP_Support_V1.7.5.md"
note = "The ONNX version supported by RKNN Toolkit is 1.6.0 ... onnx ir version is 6. Opset-version between 8~12 is allow for RKNN."

# Dynamic input shapes: toolkit v1 has no dynamic-shape support (rknn.config takes no shape list, every input is
# fixed at build); toolkit2 added `dynamic_input` to rknn.config in 1.5.0 and the board needs runtime >= 1.5.0.
[[dynamic_input]]
package = "rknn-toolkit"
supported = false
source = "inferred from UG-1.7.5 rknn.config (no dynamic input parameter)"

[[dynamic_input]]
package = "rknn-toolkit2"
supported = true
since = "1.5.0"
min_runtime = "1.5.0"
config = "dynamic_input"
source = "AR@59a913d CHANGELOG.md v1.5.0 (Limited support for dynamic resolution; rknn_dynamic_shape_input_demo); QS-1.6.0 §3.4.2 (dynamic input needs RKNN Server and Runtime >= 1.5.0)"

# Source formats a line cannot load at all.
[[source_format]]
package = "rknn-toolkit2"
framework = "keras"
supported = false
source = "API-TK2-2.3.2 §1.3 (the framework table has no Keras column; load_keras exists only in rknn-toolkit)"
fix = "export the Keras model to ONNX (tf2onnx) and load it with rknn.load_onnx()"

[[source_format]]
package = "rknn-toolkit2"
framework = "torch-pickle"
supported = false
source = "API-TK2-2.3.2 §1.3 note (TorchScript models, exported with the PyTorch version used for conversion)"
fix = "save a TorchScript module: torch.jit.trace(model, example).save(path), then rknn.load_pytorch(path, input_size_list)"

[[source_format]]
package = "rknn-toolkit"
framework = "torch-pickle"
supported = false
source = "UG-1.7.5 rknn.load_pytorch (a TorchScript .pt model)"
fix = "save a TorchScript module: torch.jit.trace(model, example).save(path), then rknn.load_pytorch(path, input_size_list)"
'''


def _git_show(mirror: str, repo: str, tag: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", f"{mirror}/{repo}/repo", "show", f"{tag}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def _sections(text: str) -> dict:
    out, current = {}, None
    for line in text.splitlines():
        head = re.match(r"^## (\w+) OPs supported", line)
        if head:
            current = head.group(1)
            out[current] = {"ops": [], "opset": None}
            continue
        if current is None:
            continue
        opset = re.search(r"opset version is (\d+)", line)
        if opset:
            out[current]["opset"] = int(opset.group(1))
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 1 and cells[0] and not cells[0].startswith(("**", "-", ":")):
            out[current]["ops"].append((cells[0], cells[1] if len(cells) > 1 else ""))
    return out


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default="/work/.mirror")
    args = parser.parse_args()
    out = ["# Source models: what each toolkit release reads (rknn-envcheck model FILE.onnx|.pt|.keras).",
           "# Generated by scripts/gen_source_models.py from the vendor documents; edit HAND there, not here.", ""]
    out.append("# onnx package release -> IR version and ai.onnx opset it knows (the newest a model may use).")
    for version, ir, opset in ONNX_RELEASES:
        out += ["[[onnx_release]]", f'onnx = "{version}"', f"ir = {ir}", f"opset = {opset}",
                'source = "github:onnx/onnx@v1.18.0 docs/Versioning.md (Released Versions)"', ""]
    out.append(HAND)
    for package, versions, repo, tag, path, key in DOCS:
        sections = _sections(_git_show(args.mirror, repo, tag, path))
        for framework, title in SECTIONS.items():
            section = sections.get(title)
            if not section or not section["ops"]:
                continue
            supported = [op for op, remark in section["ops"] if "not support" not in remark.lower()]
            unsupported = [op for op, remark in section["ops"] if "not support" in remark.lower()]
            remarks = {op: remark for op, remark in section["ops"] if remark and "not support" not in remark.lower()}
            source = f"{key} {path} ({title} OPs supported by RKNN Toolkit2)"
            if framework == "onnx" and section["opset"]:
                out += ["[[onnx_opset]]", f'package = "{package}"', f"versions = {versions!r}".replace("'", '"'), f"opset = {section['opset']}",
                        f"source = {_q(source)}", 'note = "the corresponding ONNX opset version (a recommendation, not a limit)"', ""]
            out += ["[[source_ops]]", f'package = "{package}"', f"versions = {versions!r}".replace("'", '"'), f'framework = "{framework}"',
                    f"count = {len(section['ops'])}", "supported = [" + ", ".join(_q(o) for o in supported) + "]",
                    "unsupported = [" + ", ".join(_q(o) for o in unsupported) + "]",
                    "remarks = {" + ", ".join(f"{_q(o)} = {_q(r)}" for o, r in remarks.items()) + "}", f"source = {_q(source)}", ""]
    sys.stdout.write("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
