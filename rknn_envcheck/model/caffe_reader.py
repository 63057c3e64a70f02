"""Caffe models: the `.prototxt` net (protobuf text) and the `.caffemodel` weights (protobuf binary).

Field names and numbers are those of NetParameter / LayerParameter / V1LayerParameter in BVLC caffe
src/caffe/proto/caffe.proto at commit 828dd10 (the base the toolkit2 API reference names, §1.3
note 3): NetParameter name 1, layers 2 (V1), input 3, input_dim 4, input_shape 8 (BlobShape: dim
1), layer 100; LayerParameter name 1, type 2, bottom 3, top 4, blobs 7, input_param 143 (shape 1);
V1LayerParameter layer 1 (a wrapped V0LayerParameter: name 1, type 2), bottom 2, top 3, name 4,
type 5 (the LayerType enum below), blobs 6. Blobs (the weights) are seeked over, never read.
"""
from __future__ import annotations

from typing import BinaryIO

from rknn_envcheck.model.protowire import LEN, VARINT, Stream, WireError, fields, text
from rknn_envcheck.model.prototext import END, START, TextFormatError, walk
from rknn_envcheck.model.source import SourceModel

PROTO_SOURCE = "github:BVLC/caffe@828dd10 src/caffe/proto/caffe.proto"
MAX_PROTOTXT_BYTES = 16 * 1024 * 1024  # the text of a net, never weights: real ones are < 1 MiB
MAX_LAYERS = 200_000
# V1LayerParameter.LayerType (caffe.proto, enum LayerType): number -> name as written in V1 prototxt files
V1_LAYER_TYPES = {
    0: "NONE", 35: "ABSVAL", 1: "ACCURACY", 30: "ARGMAX", 2: "BNLL", 3: "CONCAT", 37: "CONTRASTIVE_LOSS", 4: "CONVOLUTION",
    5: "DATA", 39: "DECONVOLUTION", 6: "DROPOUT", 32: "DUMMY_DATA", 7: "EUCLIDEAN_LOSS", 25: "ELTWISE", 38: "EXP", 8: "FLATTEN",
    9: "HDF5_DATA", 10: "HDF5_OUTPUT", 28: "HINGE_LOSS", 11: "IM2COL", 12: "IMAGE_DATA", 13: "INFOGAIN_LOSS", 14: "INNER_PRODUCT",
    15: "LRN", 29: "MEMORY_DATA", 16: "MULTINOMIAL_LOGISTIC_LOSS", 34: "MVN", 17: "POOLING", 26: "POWER", 18: "RELU",
    19: "SIGMOID", 27: "SIGMOID_CROSS_ENTROPY_LOSS", 36: "SILENCE", 20: "SOFTMAX", 21: "SOFTMAX_LOSS", 22: "SPLIT", 33: "SLICE",
    23: "TANH", 24: "WINDOW_DATA", 31: "THRESHOLD",
}
_NET_FIELDS = {"name", "input", "input_dim", "input_shape", "layer", "layers", "force_backward", "state", "debug_info"}
# NetParameter field number -> the wire types a serializer writes for it (4: repeated int32, packed or not)
_NET_WIRE = {1: (LEN,), 2: (LEN,), 3: (LEN,), 4: (VARINT, LEN), 5: (VARINT,), 6: (LEN,), 7: (VARINT,), 8: (LEN,), 100: (LEN,)}


def looks_like_prototxt(sample: bytes) -> bool:
    """Text whose first field (after # comments) is a NetParameter field: `name:`, `layer {`, `input:`…"""
    try:
        body = sample.decode("utf-8")
    except UnicodeDecodeError:
        body = sample[:-4].decode("utf-8", "ignore")  # the sample may end inside a character
    for line in body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word = line.split(":", 1)[0].split("{", 1)[0].strip()
        rest = line[len(word):].lstrip()
        return word in _NET_FIELDS and rest[:1] in (":", "{")
    return False


def looks_like_caffemodel(head: bytes) -> bool:
    """A serialized NetParameter: its fields come in number order, so it starts with the net name
    (tag 0x0A, printable text), the V1 `layers` (0x12), `input` (0x1A) or `layer` (0xA2 0x06).
    A TensorFlow GraphDef also starts with 0x0A, but its first field is a NodeDef message whose
    bytes are not printable text; ONNX starts with 0x08."""
    if len(head) < 4:
        return False
    if head[0] == 0x0A:
        length = head[1]
        name = head[2:2 + length]
        if not 0 < length < 0x80 or not all(0x20 <= b < 0x7F for b in name):
            return False
        after = head[2 + length:4 + length]
        if len(after) < 2:  # a name longer than the sample: printable so far
            return len(head) >= 64
        return after[:1] in (b"\x12", b"\x1a", b"\x20", b"\x28", b"\x32", b"\x38", b"\x42") or after == b"\xa2\x06"
    if head[0] == 0x12 and head[1] > 0:  # V1 `layers` first: its entry starts with a V1LayerParameter field
        return head[2 if head[1] < 0x80 else 3] in (0x0A, 0x12, 0x1A, 0x22, 0x28)
    return head[:2] == b"\xa2\x06"


def read_prototxt(handle: BinaryIO, path: str, size: int) -> SourceModel:
    if size > MAX_PROTOTXT_BYTES:
        raise WireError(f"a Caffe .prototxt of {size} bytes is larger than the {MAX_PROTOTXT_BYTES >> 20} MiB a net description may have")
    handle.seek(0)
    data = handle.read(size)
    try:
        body = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WireError(f"not UTF-8 text at byte {exc.start}") from None
    model = SourceModel(path=path, size=size, format="caffe", framework="caffe", role="structure")
    model.how = f"protobuf text format of caffe.proto NetParameter ({PROTO_SOURCE}), read field by field"
    layer: dict | None = None
    net_input_dims: list = []
    input_names: list = []
    try:
        for path_key, value in walk(body):
            depth = len(path_key)
            top = path_key[0]
            if value is START:
                if depth == 1 and top in ("layer", "layers"):
                    layer = {"kind": top, "name": "", "type": "", "dims": []}
                elif depth == 2 and top == "layers" and path_key[1] == "layer":
                    _note_legacy(model, "V0", path)
                continue
            if value is END:
                if depth == 1 and top in ("layer", "layers") and layer is not None:
                    _add_layer(model, layer, path)
                    layer = None
                continue
            if depth == 1:
                if top == "input":
                    input_names.append(value)
                    model.legacy_input.append("input")
                elif top == "input_dim":
                    net_input_dims.append(_int(value))
                    model.legacy_input.append("input_dim")
            elif top == "input_shape" and path_key == ("input_shape", "dim"):
                net_input_dims.append(_int(value))
                model.legacy_input.append("input_shape")
            elif layer is not None and depth == 2 and path_key[1] in ("name", "type"):
                layer[path_key[1]] = value
            elif layer is not None and path_key[1:] == ("input_param", "shape", "dim"):
                layer["dims"].append(_int(value))
            elif layer is not None and path_key[1:] == ("pooling_param", "round_mode"):
                model.round_mode_layers.append(layer["name"] or "?")
    except TextFormatError as exc:
        raise WireError(f"protobuf text: {exc}") from None
    model.legacy_input = sorted(set(model.legacy_input))
    if input_names:
        model.inputs[:0] = [{"name": n, "shape": net_input_dims or None} for n in input_names]
    if not model.node_count and not input_names:
        raise WireError("no layer, layers or input field: not a Caffe net")
    return model


def read_caffemodel(handle: BinaryIO, path: str, size: int) -> SourceModel:
    model = SourceModel(path=path, size=size, format="caffe", framework="caffe", role="weights")
    model.how = f"protobuf wire format of caffe.proto NetParameter ({PROTO_SOURCE}), read field by field; blobs seeked over"
    top = Stream(handle, 0, size)
    input_names, dims = [], []
    for number, wire, value, length in top:
        if number not in _NET_WIRE or wire not in _NET_WIRE[number]:
            raise WireError(f"field {number} (wire type {wire}) at byte {value if wire == LEN else top.pos} is not a NetParameter field")
        if number == 100:
            _add_layer(model, _read_layer(handle, value, value + length, top), path)
        elif number == 2:
            _add_layer(model, _read_v1_layer(handle, value, value + length, top, model, path), path)
        elif number == 3:
            input_names.append(text(top.read(value, min(length, 4096), "an input name")))
            model.legacy_input.append("input")
        elif number == 4:
            model.legacy_input.append("input_dim")
            dims += [value] if wire == VARINT else _packed(top.read(value, length, "input_dim"))
        elif number == 8:
            model.legacy_input.append("input_shape")
            for f, w, v in fields(top.read(value, length, "input_shape")):
                if f == 1:
                    dims += [v] if w == VARINT else _packed(v)
    if not model.node_count and not input_names:
        raise WireError("no layer (100) or layers (2) field: not a Caffe NetParameter")
    model.legacy_input = sorted(set(model.legacy_input))
    if input_names:
        model.inputs[:0] = [{"name": n, "shape": dims or None} for n in input_names]
    return model


def _read_layer(handle, start: int, end: int, parent: Stream) -> dict:
    stream = Stream(handle, start, end, parent=parent)
    layer = {"kind": "layer", "name": "", "type": "", "dims": []}
    for number, wire, value, length in stream:
        if wire != LEN:
            continue
        if number in (1, 2):
            layer["name" if number == 1 else "type"] = text(stream.read(value, min(length, 4096), "a layer name/type"))
        elif number == 143:  # InputParameter: shape (1) → BlobShape dim (1)
            for f, w, v in fields(stream.read(value, length, "input_param")):
                if f == 1 and w == LEN:
                    for f2, w2, v2 in fields(v):
                        if f2 == 1:
                            layer["dims"] += [v2] if w2 == VARINT else _packed(v2)
    return layer


def _read_v1_layer(handle, start: int, end: int, parent: Stream, model: SourceModel, path: str) -> dict:
    stream = Stream(handle, start, end, parent=parent)
    layer = {"kind": "layers", "name": "", "type": "", "dims": []}
    for number, wire, value, length in stream:
        if number == 4 and wire == LEN:
            layer["name"] = text(stream.read(value, min(length, 4096), "a layer name"))
        elif number == 5 and wire == VARINT:
            layer["type"] = V1_LAYER_TYPES.get(value, f"LayerType {value}")
        elif number == 1 and wire == LEN:  # a V0LayerParameter inside: the oldest format
            _note_legacy(model, "V0", path)
            for f, w, v in fields(stream.read(value, min(length, 1 << 20), "a V0 layer")):
                if f in (1, 2) and w == LEN:
                    layer["name" if f == 1 else "type"] = layer["name" if f == 1 else "type"] or text(v)
    return layer


def _add_layer(model: SourceModel, layer: dict, path: str) -> None:
    model.node_count += 1
    if model.node_count > MAX_LAYERS:
        raise WireError(f"more than {MAX_LAYERS} layers")
    if layer["kind"] == "layers":
        _note_legacy(model, "V1", path)
    kind = layer["type"] or "(no type)"
    model.operators[kind] = model.operators.get(kind, 0) + 1
    name = layer["name"]
    if name.startswith("_") and len(model.layer_names_invalid) < 20:
        model.layer_names_invalid.append(name)
    if kind.lower() == "input" and layer["dims"] is not None:
        model.inputs.append({"name": name, "shape": layer["dims"] or None})


def _note_legacy(model: SourceModel, version: str, path: str) -> None:
    entry = f"{version} ({'`layers`' if version == 'V1' else '`layers { layer }`'}) in {path}"
    if entry not in model.legacy_layers:
        model.legacy_layers.append(entry)


def _int(value: str):
    try:
        return int(value, 0)
    except ValueError:
        return value


def _packed(buf) -> list:
    from rknn_envcheck.model.protowire import _varint

    out, pos, end = [], 0, len(buf)
    while pos < end:
        value, pos = _varint(buf, pos, end)
        out.append(value)
        if len(out) > 64:
            raise WireError("a blob shape with more than 64 dimensions")
    return out
