"""The two-file source formats: Caffe (.prototxt + .caffemodel), Darknet (.cfg + .weights), MXNet
(-symbol.json + .params). Each file is recognised by content (read_two_file_model, called by
model/source.py after the one-file formats), and a structure file given with its weights file
is one model (pair_models): the toolkit loads them together — rknn.load_caffe(model, blobs),
rknn.load_darknet(model, weight), rknn.load_mxnet(symbol, params, input_size_list).
"""
from __future__ import annotations

import os
import re

from rknn_envcheck.model.errors import ModelFileError

TEXT_SAMPLE = 64 * 1024  # comments before the first field are skipped within this much text
_NAMES = {"caffe": ("Caffe", ".prototxt", ".caffemodel"), "darknet": ("Darknet", ".cfg", ".weights"),
          "mxnet": ("MXNet", "-symbol.json", ".params")}


def read_two_file_model(handle, head: bytes, path: str, size: int):
    """A SourceModel for a Caffe / Darknet / MXNet file, None for any other content."""
    from rknn_envcheck.model import caffe_reader, darknet_reader, mxnet_reader
    from rknn_envcheck.model.protowire import WireError

    reader, what = None, ""
    if mxnet_reader.looks_like_params(head):
        reader, what = mxnet_reader.read_params, "an MXNet .params file (NDArray list magic 0x112)"
    elif caffe_reader.looks_like_caffemodel(head):
        reader, what = caffe_reader.read_caffemodel, "a Caffe .caffemodel (protobuf NetParameter)"
    elif darknet_reader.looks_like_weights(head, size):
        reader, what = darknet_reader.read_weights, "a Darknet .weights file"
    else:
        handle.seek(0)
        sample = handle.read(TEXT_SAMPLE)
        if b"\x00" in sample:
            return None
        if caffe_reader.looks_like_prototxt(sample):
            reader, what = caffe_reader.read_prototxt, "a Caffe .prototxt (protobuf text NetParameter)"
        elif darknet_reader.looks_like_cfg(sample):
            reader, what = darknet_reader.read_cfg, "a Darknet .cfg (first section [net])"
        elif mxnet_reader.looks_like_symbol(sample):
            reader, what = mxnet_reader.read_symbol, "an MXNet symbol JSON"
        else:
            return None
    try:
        return reader(handle, path, size)
    except WireError as exc:
        raise ModelFileError(f"model file {path} looks like {what} but is not readable: {exc}") from None


def describe(model) -> str:
    name, structure_ext, weights_ext = _NAMES[model.format]
    types = f"{model.node_count} layers, {len(model.operators)} layer types"
    if model.role == "weights":
        if model.format == "caffe":
            text = f"Caffe weights (.caffemodel NetParameter), {types}"
        elif model.format == "darknet":
            text = f"Darknet weights, header version {model.weights_version} ({model.weights_detail})"
        else:
            text = f"MXNet parameters ({model.weights_detail}, {model.weights_version})"
        return text + f"; no {structure_ext} given"
    if model.format == "caffe":
        text = f"Caffe net (.prototxt), {types}"
    elif model.format == "darknet":
        shape = model.inputs[0]["shape"] if model.inputs else None
        text = f"Darknet .cfg, {types}, input {'x'.join(map(str, shape)) if shape else '?'}"
    else:
        from rknn_envcheck.model.mxnet_reader import version_text

        text = (f"MXNet symbol, {model.node_count} operator nodes, {len(model.operators)} operator types, "
                f"saved by MXNet {version_text(model.mxnet_version)}")
    if model.weights_path:
        detail = f", header version {model.weights_version}" if model.format == "darknet" else ""
        return text + f" + {weights_ext} {model.weights_path}{detail}"
    return text + f"; no {weights_ext} given"


def _stem(model) -> str:
    base = os.path.basename(model.path)
    if model.format == "mxnet":
        base = re.sub(r"(-symbol\.json|-\d{4}\.params|\.params|\.json)$", "", base)
        return base
    return os.path.splitext(base)[0]


def pair_models(models: list) -> list:
    """Each structure file merged with its weights file (same format: the same stem, else the only
    two of that format); everything else as given, in the order given."""
    halves = [m for m in models if getattr(m, "role", "")]
    used: set[int] = set()
    for weights in [m for m in halves if m.role == "weights"]:
        candidates = [m for m in halves if m.role == "structure" and m.format == weights.format and id(m) not in used and not m.weights_path]
        match = [m for m in candidates if _stem(m) == _stem(weights)]
        if not match:
            lone = [m for m in halves if m.role == "weights" and m.format == weights.format and id(m) not in used]
            match = candidates if len(candidates) == 1 and len(lone) == 1 else []
        if match:
            _merge(match[0], weights)
            used.update((id(match[0]), id(weights)))
    return [m for m in models if not (getattr(m, "role", "") == "weights" and id(m) in used)]


def _merge(structure, weights) -> None:
    structure.weights_path = weights.path
    structure.weights_how = weights.how
    structure.weights_version = weights.weights_version
    structure.weights_detail = weights.weights_detail
    structure.legacy_layers += [entry for entry in weights.legacy_layers if entry not in structure.legacy_layers]
    if weights.renamed:
        structure.renamed = "; ".join(filter(None, [structure.renamed, f"{weights.path}: {weights.renamed}"]))
