#!/usr/bin/env python3
"""Write matrices/source_models.toml from the vendor operator documents in the git mirrors.

    python3 scripts/gen_source_models.py [--mirror /work/.mirror] > matrices/source_models.toml

Each toolkit2 release's doc/RKNNToolKit2_OP_Support-<v>.md (0.6.0 … 2.3.2) table ("Operators | Remarks",
a remark that is exactly "Not Supported" = unsupported; "not support broadcast" is a limit) becomes one
[[source_ops]] row per framework section (ONNX, Pytorch, Caffe, TensorFlow, TensorFlow Lite — only up to
1.1.0 —, Darknet), the whole table (tests check the counts); the ONNX opset each document names becomes an
[[onnx_opset]] row. A framework a release's documents have no table for becomes a [[source_ops_absent]]
row whose `looked_at` says which documents were read and what they hold (shown to the user as the
reason for `unknown`).
The hand-written rows (onnx releases, dynamic input, formats) are kept in HAND below.

Toolkit v1 (rockchip-linux/rknn-toolkit, doc/RKNN_OP_Support_V<v>.md at each release tag): every
"## <Framework> OPs supported by RKNN" section (Caffe, Darknet, Keras, MXNet, ONNX, PyTorch,
TensorFlow, TensorFlow Lite) becomes one [[source_ops]] row: a one-column whitelist, so
`unsupported` is empty; a cell "Add (Float / Quantize)" is op Add with that remark, a cell
"AveragePool/GlobalAveragePool" names two ops; `count` is the number of table rows. From 1.7.3
the ONNX and PyTorch sections only point to an .xlsx; the v1.7.5 tag ships it
(doc/RKNN_OP_Support_And_Limit.xlsx), read here with zipfile + xml.etree (never at runtime): its
"Load Pytorch" column becomes framework "torch", its "Load ONNX" column (rows named by the PyTorch
op that was exported) framework "onnx-from-torch".
"""
from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import zipfile
from xml.etree import ElementTree

# (package, versions, mirror repo, tag, doc path, registry key)
DOCS = [
    # 0.6.0-1.5.0: the document as published with each release commit (1.1.0/1.1.1: the same-day corrected copy, f45b67e,
    # whose header names 1.1.0; b7351ec's still said 0.6.0 and had two broken table rows). 0.6.0-1.1.0 have a TFLite section.
    ("rknn-toolkit2", ["0.6.0"], "rockchip-linux+rknn-toolkit2", "0ece5fe", "doc/rknn-toolkit2_OP_Support-V0.6.0.md", "RL@0ece5fe"),
    ("rknn-toolkit2", ["0.7.0"], "rockchip-linux+rknn-toolkit2", "a4d3223", "doc/RKNNToolKit2_OP_Support-v0.7.0.md", "RL@a4d3223"),
    ("rknn-toolkit2", ["1.0.0"], "rockchip-linux+rknn-toolkit2", "44b6420", "doc/RKNNToolKit2_OP_Support_v1.0.0.md", "RL@44b6420"),
    ("rknn-toolkit2", ["1.1.0", "1.1.1"], "rockchip-linux+rknn-toolkit2", "f45b67e", "doc/RKNNToolKit2_OP_Support-1.1.0.md", "RL@f45b67e"),
    ("rknn-toolkit2", ["1.2.0"], "rockchip-linux+rknn-toolkit2", "58fb25e", "doc/RKNNToolKit2_OP_Support-1.2.0.md", "RL@58fb25e"),
    ("rknn-toolkit2", ["1.3.0"], "rockchip-linux+rknn-toolkit2", "9ad7934", "doc/RKNNToolKit2_OP_Support-1.3.0.md", "RL@9ad7934"),
    ("rknn-toolkit2", ["1.4.0"], "rockchip-linux+rknn-toolkit2", "d8074d7", "doc/RKNNToolKit2_OP_Support-1.4.0.md", "RL@d8074d7"),
    ("rknn-toolkit2", ["1.5.0"], "rockchip-linux+rknn-toolkit2", "d333c7d", "doc/RKNNToolKit2_OP_Support-1.5.0.md", "RL@d333c7d"),
    ("rknn-toolkit2", ["1.5.2"], "rockchip-linux+rknn-toolkit2", "v1.5.2", "doc/RKNNToolKit2_OP_Support-1.5.2.md", "RL@b7c3b5c"),
    ("rknn-toolkit2", ["1.6.0"], "rockchip-linux+rknn-toolkit2", "v1.6.0", "doc/RKNN-Toolkit2_OP_Support-1.6.0.md", "RL@b25dada"),
    ("rknn-toolkit2", ["2.0.0b0"], "airockchip+rknn-toolkit2", "v2.0.0-beta0", "doc/RKNNToolKit2_OP_Support-v2.0.0-beta0.md", "AR@v2.0.0-beta0"),
    ("rknn-toolkit2", ["2.1.0"], "airockchip+rknn-toolkit2", "v2.1.0", "doc/RKNNToolKit2_OP_Support-v2.1.0.md", "AR@v2.1.0"),
    ("rknn-toolkit2", ["2.2.0"], "airockchip+rknn-toolkit2", "v2.2.0", "doc/RKNNToolKit2_OP_Support-2.2.0.md", "AR@v2.2.0"),
    ("rknn-toolkit2", ["2.3.0"], "airockchip+rknn-toolkit2", "v2.3.0", "doc/RKNNToolKit2_OP_Support-2.3.0.md", "AR@v2.3.0"),
    ("rknn-toolkit2", ["2.3.2"], "airockchip+rknn-toolkit2", "v2.3.2", "doc/RKNNToolKit2_OP_Support-2.3.2.md", "AR@v2.3.2"),
]
# Toolkit v1: (versions, tag, doc path) in rockchip-linux+rknn-toolkit; the citation key is TK@<commit of the tag>.
DOCS_V1 = [
    # 1.6.0: the last revision of the V1.6.0 document (4c1163c, after the tag: PyTorch list updated, Darknet section added)
    (["1.6.0"], "4c1163c", "doc/RKNN_OP_Support_V1.6.0.md"),
    (["1.6.1"], "v1.6.1", "doc/RKNN_OP_Support_V1.6.1.md"),
    (["1.7.0"], "v1.7.0", "doc/RKNN_OP_Support_V1.7.0.md"),
    (["1.7.1"], "v1.7.1", "doc/RKNN_OP_Support_V1.7.1.md"),
    (["1.7.3"], "v1.7.3", "doc/RKNN_OP_Support_V1.7.3.md"),
    (["1.7.5"], "v1.7.5", "doc/RKNN_OP_Support_V1.7.5.md"),
]
XLSX_V1 = [(["1.7.5"], "v1.7.5", "doc/RKNN_OP_Support_And_Limit.xlsx")]
V1_REPO = "rockchip-linux+rknn-toolkit"
FORMS_NOT_LIMITS = {"Float / Quantize"}  # "Add (Float / Quantize)": supported in both forms, not a limit
SECTIONS_V1 = {"Caffe": "caffe", "Darknet": "darknet", "Keras": "keras", "MXNet": "mxnet", "ONNX": "onnx", "Pytorch": "torch",
               "PyTorch": "torch", "TensorFlow": "tensorflow", "TensorFlow Lite": "tflite"}
SECTIONS = {"onnx": "ONNX", "torch": "Pytorch", "caffe": "Caffe", "tensorflow": "TensorFlow", "tflite": "TensorFlow Lite", "darknet": "Darknet"}
ONNX_RELEASES = [  # onnx docs/Versioning.md "Released Versions" (ONNX version | IR | ai.onnx opset)
    ("1.3.0", 3, 8), ("1.4.1", 4, 9), ("1.5.0", 5, 10), ("1.6.0", 6, 11), ("1.7.0", 7, 12), ("1.8.0", 7, 13), ("1.8.1", 7, 13),
    ("1.9.0", 7, 14), ("1.10.0", 8, 15), ("1.10.1", 8, 15), ("1.10.2", 8, 15), ("1.11.0", 8, 16), ("1.12.0", 8, 17),
    ("1.13.0", 8, 18), ("1.13.1", 8, 18), ("1.14.0", 9, 19), ("1.14.1", 9, 19), ("1.15.0", 9, 20), ("1.16.0", 10, 21),
    ("1.16.1", 10, 21), ("1.16.2", 10, 21), ("1.17.0", 10, 22), ("1.18.0", 11, 23),
]
HAND = '''
# --- TensorFlow / TFLite (rules/source_tf.py) ---
# GraphDef attributes only newer TensorFlow writes: a NodeDef that mentions one fails to load in an older
# TensorFlow ("NodeDef mentions attr 'explicit_paddings' not in Op<name=Conv2D; ...>").
[[tf_newer_attr]]
op = "Conv2D"
attr = "explicit_paddings"
since = "1.14.0"
source = "seed §4.4; https://github.com/tensorflow/tensorflow/issues/27126"
note = "trained with TensorFlow >= 1.14.0 and converted with TensorFlow <= 1.13.2 fails; train and convert with the same TensorFlow version"

# The TensorFlow versions whose pb files a toolkit says it converts (the writer's version, not the installed one).
[[tf_model_versions]]
package = "rknn-toolkit"
ranges = ["<1.14.0"]
source = "seed §1.3.1 note 1; TK@7e767b0 doc/RKNN_OP_Support_V1.7.5.md (TensorFlow OPs supported by RKNN)"
note = "in theory, pb files generated by TensorFlow before 1.14.0 are supported (semantic versioning)"

[[tf_model_versions]]
package = "rknn-toolkit2"
ranges = [">=1.12.0,<1.16", ">=2.3.0,<2.6"]
source = "AR@v2.3.2 doc/RKNNToolKit2_OP_Support-2.3.2.md (TensorFlow OPs supported by RKNN Toolkit2); RL@b7c3b5c doc/RKNNToolKit2_OP_Support-1.5.2.md"
note = "The pb files generated by TensorFlow version 1.12 - 1.15 for 1.x and 2.3 - 2.5 for 2.x are supported (same sentence in every toolkit2 operator document 1.5.2 ... 2.3.2)"

# A SavedModel directory is not what load_tensorflow reads: it takes a frozen GraphDef file (tf_pb).
[[source_format]]
package = "rknn-toolkit2"
framework = "tensorflow-savedmodel"
supported = false
source = "AR@v2.3.2 rknn-toolkit2/examples/tensorflow/ssd_mobilenet_v1/test.py (rknn.load_tensorflow(tf_pb='….pb', inputs, outputs, input_size_list))"
fix = "freeze the SavedModel into a GraphDef .pb (inputs/outputs named), or convert it to TFLite or ONNX and load that"

[[source_format]]
package = "rknn-toolkit"
framework = "tensorflow-savedmodel"
supported = false
source = "seed §4.1 (rknn.load_tensorflow(tf_pb='…/frozen_inference_graph.pb', inputs, outputs, input_size_list))"
fix = "freeze the SavedModel into a GraphDef .pb (inputs/outputs named), or convert it to TFLite or ONNX and load that"
# --- end TensorFlow / TFLite ---

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

# Two-file formats (rules/source_twofile.py): the loader each line offers, the arguments naming the structure and the
# weights file, and whether the weights may be left out. Which releases load them: the [[framework]] rows of toolkit1/2.toml.
[[source_loader]]
package = "rknn-toolkit"
framework = "caffe"
supported = true
call = "load_caffe"
structure_arg = "model"
weights_arg = "blobs"
extra = "proto='caffe'"
weights_optional = true
source = "UG-1.7.5 §7.3.1 (blobs: the .caffemodel; may be None: random weights are generated)"

[[source_loader]]
package = "rknn-toolkit"
framework = "darknet"
supported = true
call = "load_darknet"
structure_arg = "model"
weights_arg = "weight"
extra = ""
weights_optional = false
source = "UG-1.7.5 §7.3.2"

[[source_loader]]
package = "rknn-toolkit"
framework = "mxnet"
supported = true
call = "load_mxnet"
structure_arg = "symbol"
weights_arg = "params"
extra = "input_size_list=[[3, 224, 224]]"
weights_optional = false
source = "UG-1.7.5 §7.3.4 (symbol, params and input_size_list are Required)"

[[source_loader]]
package = "rknn-toolkit2"
framework = "caffe"
supported = true
call = "load_caffe"
structure_arg = "model"
weights_arg = "blobs"
extra = ""
weights_optional = false
source = "API-TK2-2.3.2 §2.3.1"

[[source_loader]]
package = "rknn-toolkit2"
framework = "darknet"
supported = true
call = "load_darknet"
structure_arg = "model"
weights_arg = "weight"
extra = ""
weights_optional = false
source = "API-TK2-2.3.2 §2.3.5"

[[source_loader]]
package = "rknn-toolkit2"
framework = "mxnet"
supported = false
source = "API-TK2-2.3.2 §1.3 (the framework table has no MXNet column); API-TK2-2.3.2 §2.3 (no load_mxnet)"
fix = "export the MXNet model to ONNX (mxnet.contrib.onnx.export_model) and load it with rknn.load_onnx()"

# Loaders a host architecture's build of the toolkit lacks (rules/source_arch.py): from `since` (the first release
# with wheels for `arch`) the build for `arch` loads only `formats`; before it there is no build for `arch` at all.
[[arch_formats]]
package = "rknn-toolkit2"
arch = ["aarch64", "arm64"]
since = "2.3.0"
formats = ["onnx", "pytorch"]
source = "API-TK2-2.3.2 §1.3 note 7 (ARM64 only supports the PyTorch and ONNX. Other framework is not supported at the moment.); API-TK2-2.3.2 §2.3.1, §2.3.2, §2.3.3, §2.3.5 (load_caffe, load_tensorflow, load_tflite, load_darknet: Unavailable in ARM64); PyPI:rknn-toolkit2==2.3.0 (the first release with manylinux2014_aarch64 wheels; 2.2.0 and 2.2.1: x86_64 only); CL-2.3.2 (2.3.0: RKNN-Toolkit2 support ARM64 architecture)"
fix = "convert on an x86_64 Linux PC, or export the model to ONNX on this machine and load it with rknn.load_onnx()"
'''


def _git_show(mirror: str, repo: str, tag: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", f"{mirror}/{repo}/repo", "show", f"{tag}:{path}"], check=True, capture_output=True,
                          text=True).stdout


def _sections(text: str) -> dict:
    out, current = {}, None
    for line in text.splitlines():
        head = re.match(r"^## (.+?) OPs supported", line)
        if head:
            current = head.group(1)
            out[current] = {"ops": [], "opset": None}
            continue
        if line.startswith("## "):  # "## Explanation of terms:" and the like end a section
            current = None
        if current is None:
            continue
        opset = re.search(r"opset version is (\d+)", line)
        if opset:
            out[current]["opset"] = int(opset.group(1))
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) >= 1 and cells[0] and not cells[0].startswith(("**", "-", ":")):
            out[current]["ops"].append((cells[0], cells[1] if len(cells) > 1 else ""))
    return out


def _sections_v1(text: str) -> dict:
    """{framework: [(op, remark)], "_rows": {framework: table rows}} of a toolkit-v1 document."""
    out: dict = {"_rows": {}}
    current = None
    for line in text.splitlines():
        head = re.match(r"^## (.+?) OPs supported by RKNN", line)
        if head:
            current = SECTIONS_V1.get(head.group(1).strip())
            if current is None:
                raise SystemExit(f"unknown section {head.group(1)!r}: add it to SECTIONS_V1")
            out[current], out["_rows"][current] = [], 0
            out.setdefault("_titles", {})[current] = head.group(0)[3:]
            continue
        if current is None or not line.startswith("|"):
            continue
        cell = line.strip().strip("|").split("|")[0].strip()
        if not cell or cell.startswith(("**", "-", ":")):
            continue
        out["_rows"][current] += 1
        remark = ""
        found = re.match(r"^(.*?)\s*\((.*)\)$", cell)
        if found:
            cell, remark = found.group(1), found.group(2).strip()
            remark = "" if remark in FORMS_NOT_LIMITS else remark
        for op in (part.strip() for part in cell.split("/")):
            if op:
                out[current].append((op, remark))
    return out


def _xlsx_rows(data: bytes) -> list:
    """The first sheet of an .xlsx as lists of cell texts (shared strings resolved), stdlib only."""
    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        strings = ["".join(t.text or "" for t in si.iter(main + "t"))
                   for si in ElementTree.fromstring(book.read("xl/sharedStrings.xml")).iter(main + "si")]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(main + "row"):
        cells = {}
        for cell in row.iter(main + "c"):
            value = cell.find(main + "v")
            text = "" if value is None else (strings[int(value.text)] if cell.get("t") == "s" else value.text or "")
            cells[re.sub(r"[0-9]", "", cell.get("r", ""))] = " ".join(text.split())
        rows.append(cells)
    return rows


def _xlsx_sections(data: bytes) -> dict:
    """{"torch": [(op, Y/N, limit)], "onnx-from-torch": [...]} from the v1.7.5 support-and-limit sheet: the
    header row names the columns ("OP name", "Load Pytorch support & limit", "Load ONNX support & limit")."""
    rows = _xlsx_rows(data)
    header = next((r for r in rows if "OP name" in r.values()), None)
    if header is None:
        raise SystemExit("xlsx: no header row with 'OP name'")
    name_col = next(c for c, v in header.items() if v == "OP name")
    cols = {}
    for col, value in header.items():
        if value.startswith("Load Pytorch"):
            cols["torch"] = col
        elif value.startswith("Load ONNX"):
            cols["onnx-from-torch"] = col
    out: dict = {key: [] for key in cols}
    start = rows.index(header) + 2  # the row after the header says support / limit
    for row in rows[start:]:
        name = row.get(name_col, "")
        if not name:
            continue
        for key, col in cols.items():
            limit_col = chr(ord(col) + 1)
            out[key].append((name, row.get(col, "").strip(), row.get(limit_col, "")))
    return out


def _not_supported(remark: str) -> bool:
    """The remark says the operator is unsupported ("Not Supported"), not a limit of it ("not support broadcast")."""
    return re.fullmatch(r"\s*not\s+supported\.?\s*", remark, flags=re.IGNORECASE) is not None


def _cell_ops(cell: str) -> list:
    """"SPLIT/SPLIT_V" names two operators; "Upsample (resize)" and remarks with '/' stay one cell."""
    parts = [part.strip() for part in cell.split("/")]
    return parts if len(parts) > 1 and all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_:.]*", part) for part in parts) else [cell]


# The other toolkit2 operator document, read for TFLite (pdftotext of both editions): it names the compiler's own
# (ONNX-style) operators per chip and never a TFLite one.
TK2_ALSO_LOOKED_AT = {"tflite": (
    "the RKNN Compiler Support Operator List (v1.4.0 RL@8da43c3, V2.3.2 AR@v2.3.2) lists the RKNN compiler's own ONNX-style operators "
    "per chip and names no TFLite operator",
    "RL@8da43c3 doc/RKNN_Compiler_Support_Operator_List_v1.4.0.pdf; AR@v2.3.2 doc/05_RKNN_Compiler_Support_Operator_List_V2.3.2.pdf")}


def _tk2_rows(mirror: str) -> list:
    out = []
    for package, versions, repo, tag, path, key in DOCS:
        sections = _sections(_git_show(mirror, repo, tag, path))
        for framework, title in SECTIONS.items():
            section = sections.get(title)
            if not section or not section["ops"]:
                present = ", ".join(t for t in sections if sections[t]["ops"])
                also = TK2_ALSO_LOOKED_AT.get(framework)
                out += _absent_row(package, versions, framework, f"{key} {path}" + (f"; {also[1]}" if also else ""),
                                   f"{path} of {package} {'/'.join(versions)} ({key}) has no '{title} OPs supported by RKNN Toolkit2' "
                                   f"table; its operator tables are: {present}" + (f"; {also[0]}" if also else ""))
                continue
            cells = [(op, remark) for cell, remark in section["ops"] for op in _cell_ops(cell)]
            supported = [op for op, remark in cells if not _not_supported(remark)]
            unsupported = [op for op, remark in cells if _not_supported(remark)]
            remarks = {op: remark for op, remark in cells if remark and not _not_supported(remark)}
            source = f"{key} {path} ({title} OPs supported by RKNN Toolkit2)"
            if framework == "onnx" and section["opset"]:
                out += ["[[onnx_opset]]", f'package = "{package}"', f"versions = {versions!r}".replace("'", '"'), f"opset = {section['opset']}",
                        f"source = {_q(source)}", 'note = "the corresponding ONNX opset version (a recommendation, not a limit)"', ""]
            out += _ops_row(package, versions, framework, len(section["ops"]), supported, unsupported, remarks, source)
    return out


def _absent_row(package, versions, framework, source, looked_at) -> list:
    """[[source_ops_absent]]: the release has no operator table for this framework; `looked_at` says which documents were read."""
    return ["[[source_ops_absent]]", f'package = "{package}"', f"versions = {versions!r}".replace("'", '"'), f'framework = "{framework}"',
            f"looked_at = {_q(looked_at)}", f"source = {_q(source)}", ""]


def _v1_rows(mirror: str) -> list:
    out, listed, texts = [], set(), {}
    for versions, tag, path in DOCS_V1:
        key = "TK@" + _git(mirror, V1_REPO, "rev-parse", "--short=7", tag + "^{commit}").strip()
        texts[versions[0]] = (tag, key, path, _git_show(mirror, V1_REPO, tag, path))
        sections = _sections_v1(texts[versions[0]][3])
        for framework, ops in sections.items():
            if framework.startswith("_") or not ops:
                continue
            listed.add((versions[0], framework))
            source = f"{key} {path} ({sections['_titles'][framework]})"
            out += _ops_row("rknn-toolkit", versions, framework, sections["_rows"][framework], [o for o, _ in ops], [],
                            {o: r for o, r in ops if r}, source)
    for versions, tag, path in XLSX_V1:
        key = "TK@" + _git(mirror, V1_REPO, "rev-parse", "--short=7", tag + "^{commit}").strip()
        data = subprocess.run(["git", "--git-dir", f"{mirror}/{V1_REPO}/repo", "show", f"{tag}:{path}"], check=True,
                              capture_output=True).stdout
        for framework, ops in _xlsx_sections(data).items():
            listed.add((versions[0], framework))
            column = "Load Pytorch support & limit" if framework == "torch" else "Load ONNX support & limit, rows named by the PyTorch op"
            source = f"{key} {path} (sheet Pytorch & ONNX, column {column})"
            out += _ops_row("rknn-toolkit", versions, framework, len(ops), [o for o, yn, _ in ops if yn == "Y"],
                            [o for o, yn, _ in ops if yn != "Y"], {o: lim for o, yn, lim in ops if lim and yn == "Y"}, source)
    for versions, _tag, _path in DOCS_V1:
        for framework in sorted(set(SECTIONS_V1.values()) - {f for v, f in listed if v == versions[0]}):
            out += _v1_absent(mirror, versions, framework, *texts[versions[0]])
    return out


# Why a v1 release without a table of its own does not borrow the previous release's: the changelog says the
# operator support changed (hand-read from CHANGELOG, docs/changelog.txt; keyed by release).
V1_CHANGED = {
    "1.7.3": "CHANGELOG v1.7.3 item 2 says operator support changed ('完善op支持，给出op限制表格(当前版本提供PyTorch, ONNX的支持与限制表格)'), "
             "so the 1.7.1 list is not carried over",
    "1.7.5": "CHANGELOG v1.7.5 says the ONNX optimizer was rewritten ('重写 ONNX 模型优化器') and erf support added ('新增erf支持'), "
             "so the 1.7.1 list is not carried over",
}
V1_PDFS = ("the release's PDFs in doc/ (User Guide, Quick Start, Trouble Shooting, Custom OP, Lite, Visualization; read with pdftotext) "
           "hold no operator table: Trouble Shooting 'OP support' points back to the doc/ directory")


def _v1_absent(mirror, versions, framework, tag, key, path, text) -> list:
    """An [[source_ops_absent]] row for a v1 release/framework: what the .md says, what doc/ holds at the tag, why no carry-over."""
    titles = {f: t for t, f in SECTIONS_V1.items()}
    section = re.search(r"^## " + re.escape(titles[framework]) + r" OPs supported by RKNN.*?(?=^## |\Z)", text, flags=re.M | re.S | re.I)
    if section is None:
        said = f"{path} ({key}) has no '{titles[framework]} OPs supported by RKNN' section"
    else:
        pointer = re.search(r"\[([^\]]+\.xlsx)\]", section.group(0))
        said = f"{path} ({key}) section '{titles[framework]} OPs supported by RKNN' has no table" + (
            f": it points to '{pointer.group(1)}'" if pointer else "")
    sheets = [name for name in _git(mirror, V1_REPO, "ls-tree", "-r", "--name-only", tag, "--", "doc").split() if name.endswith(".xlsx")]
    parts = [said]
    if not sheets and section is not None and "xlsx" in section.group(0):
        added = _git(mirror, V1_REPO, "log", "--format=%h", "--diff-filter=A", "--all", "--", "doc/RKNN_OP_Support_And_Limit.xlsx").split()
        parts.append(f"doc/ at {key} holds no .xlsx: RKNN_OP_Support_And_Limit.xlsx was added later (TK@{added[-1]}), and its notes say "
                     f"'The following results are only valid in RKNN-Toolkit 1.7.5'" if added else f"doc/ at {key} holds no .xlsx")
    elif sheets and framework == "onnx":
        parts.append(f"{', '.join(sheets)}: the 'Load ONNX' column names the PyTorch function that was exported ('OP name' is the "
                     f"name in Pytorch), not ONNX operator types (framework onnx-from-torch)")
    parts.append(V1_PDFS)
    if versions[0] in V1_CHANGED and section is not None:
        parts.append(V1_CHANGED[versions[0]])
    changed = [f"CHANGELOG v{versions[0]}"] if versions[0] in V1_CHANGED and section is not None else []
    sources = [f"{key} {path}"] + [f"{key} {name}" for name in sheets] + changed
    return _absent_row("rknn-toolkit", versions, framework, "; ".join(sources), "; ".join(parts))


def _ops_row(package, versions, framework, count, supported, unsupported, remarks, source) -> list:
    return ["[[source_ops]]", f'package = "{package}"', f"versions = {versions!r}".replace("'", '"'), f'framework = "{framework}"',
            f"count = {count}", "supported = [" + ", ".join(_q(o) for o in supported) + "]",
            "unsupported = [" + ", ".join(_q(o) for o in unsupported) + "]",
            "remarks = {" + ", ".join(f"{_q(o)} = {_q(r)}" for o, r in remarks.items()) + "}", f"source = {_q(source)}", ""]


def _git(mirror: str, repo: str, *argv: str) -> str:
    return subprocess.run(["git", "--git-dir", f"{mirror}/{repo}/repo", *argv], check=True, capture_output=True, text=True).stdout


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
    out += _tk2_rows(args.mirror)
    out += _v1_rows(args.mirror)
    sys.stdout.write("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
