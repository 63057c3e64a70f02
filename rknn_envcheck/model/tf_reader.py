"""TensorFlow frozen GraphDef (.pb) and SavedModel (saved_model.pb) read with the bounded wire reader.

Field numbers from the public protos (tensorflow/core/framework/*.proto, protobuf/*.proto):
  GraphDef: node 1 (NodeDef), library 2 (FunctionDefLibrary: function 1 → FunctionDef: node_def 3),
            versions 4 (VersionDef: producer 1, min_consumer 2)
  NodeDef: name 1, op 2, attr 5 (map entry: key 1, value 2 → AttrValue: type 6, shape 7 →
           TensorShapeProto: dim 2 (size 1), unknown_rank 3)
  SavedModel: saved_model_schema_version 1, meta_graphs 2 (MetaGraphDef: meta_info_def 1 →
              MetaInfoDef: tags 4, tensorflow_version 5, tensorflow_git_version 6,
              stripped_default_attrs 7; graph_def 2)

Every NodeDef is streamed, not read whole: a frozen graph keeps its weights in Const nodes'
`value` attribute, which is seeked over (only the attribute names are read, and the values of
`shape`/`dtype` on Placeholder nodes). Why not TensorFlow or protobuf's parser: both build the
whole message (a 1 GB graph costs > 1 GB), and TensorFlow may not be a dependency.
"""
from __future__ import annotations

import os

from rknn_envcheck.model.protowire import LEN, VARINT, Stream, WireError, _varint, fields, signed64, text
from rknn_envcheck.model.source import SourceModel

MAX_NODES = 2_000_000
MAX_META_GRAPHS = 64
MAX_NAME = 64 * 1024
MAX_ATTR_VALUE = 1 << 20  # a shape or dtype attribute; anything larger is a payload and skipped
SMALL_NODE = 64 * 1024  # nodes up to this size are parsed in memory; larger ones (Const weights) streamed
DTYPES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string", 9: "int64", 10: "bool",
          14: "bfloat16", 17: "uint16", 19: "float16", 22: "uint32", 23: "uint64"}  # types.proto DataType


def looks_like_graphdef(handle) -> bool:
    """GraphDef starts with its first NodeDef (tag 0x0A), whose first fields are name (0x0A, a
    printable string) and op (0x12, an identifier). ONNX starts with ir_version (0x08); a Caffe
    NetParameter's first 0x0A field is the net's name (text, not a message starting 0x0A)."""
    handle.seek(0)
    buf = handle.read(4096)
    try:
        if len(buf) < 6 or buf[0] != 0x0A:
            return False
        _, pos = _varint(buf, 1, len(buf))
        if buf[pos] != 0x0A:
            return False
        name_length, pos = _varint(buf, pos + 1, len(buf))
        name = buf[pos:pos + name_length]
        if not name or len(name) != name_length or not all(32 < b < 127 for b in name):  # node names are [A-Za-z0-9_./>-]
            return False
        pos += name_length
        if pos >= len(buf) or buf[pos] != 0x12:
            return False
        op_length, pos = _varint(buf, pos + 1, len(buf))
        op = buf[pos:pos + op_length]
        return 0 < op_length <= 128 and len(op) == op_length and op.replace(b"_", b"").isalnum()
    except (WireError, IndexError):
        return False


def looks_like_saved_model(head: bytes) -> bool:
    """SavedModel: saved_model_schema_version 1 (08 01), then meta_graphs (0x12) whose MetaGraphDef
    starts with meta_info_def (0x0A) or graph_def (0x12). An ONNX ModelProto with IR version 1
    would need a producer_name beginning with a newline to match."""
    if len(head) < 6 or head[:3] != b"\x08\x01\x12":
        return False
    try:
        _, pos = _varint(head, 3, len(head))
    except WireError:
        return False
    return pos < len(head) and head[pos] in (0x0A, 0x12)


def _new(path: str, size: int, how: str) -> SourceModel:
    model = SourceModel(path=path, size=size, format="tensorflow", framework="tensorflow", how=how)
    model.op_bytes = {}  # op type (bytes) -> [nodes, attribute names (bytes)]; removed by _finish
    return model


def read_graphdef(handle, path: str, size: int) -> SourceModel:
    model = _new(path, size, "protobuf wire format of graph.proto GraphDef, NodeDefs streamed; Const payloads seeked over")
    model.tf_kind = "graphdef"
    _read_graph(handle, 0, size, model, None)
    if not model.node_count:
        raise WireError("no NodeDef with an op: not a TensorFlow GraphDef")
    return _finish(model)


def read_saved_model(handle, path: str, size: int, shown_path: str | None = None) -> SourceModel:
    model = _new(shown_path or path, size, "protobuf wire format of saved_model.proto SavedModel → meta_graphs → MetaInfoDef and "
                                        "GraphDef, NodeDefs streamed; variables/ never opened")
    model.tf_kind = "savedmodel"
    top = Stream(handle, 0, size)
    metas = []
    for number, wire, value, length in top:
        if number == 2 and wire == LEN:
            if len(metas) >= MAX_META_GRAPHS:
                raise WireError(f"more than {MAX_META_GRAPHS} meta graphs")
            metas.append(_read_meta_graph(handle, value, value + length, top))
    if not metas:
        raise WireError("no meta_graphs: not a SavedModel")
    chosen = next((m for m in metas if "serve" in m["tags"]), metas[0])
    model.saved_model_tags = chosen["tags"]
    model.tf_version = chosen["tensorflow_version"]
    model.tf_stripped_default_attrs = chosen["stripped_default_attrs"]
    if chosen["graph"] is None:
        raise WireError("the meta graph has no graph_def")
    _read_graph(handle, chosen["graph"][0], chosen["graph"][1], model, top)
    return _finish(model)


def _read_meta_graph(handle, start: int, end: int, parent: Stream) -> dict:
    meta = {"tags": [], "tensorflow_version": "", "stripped_default_attrs": False, "graph": None}
    stream = Stream(handle, start, end, parent=parent)
    for number, wire, value, length in stream:
        if number == 1 and wire == LEN:
            info = Stream(handle, value, value + length, parent=stream)
            for f, w, v, n in info:  # stripped_op_list (2) and any_info (3) are skipped
                if f == 4 and w == LEN:
                    meta["tags"].append(text(info.read(v, min(n, MAX_NAME), "a meta graph tag")))
                elif f == 5 and w == LEN:
                    meta["tensorflow_version"] = text(info.read(v, min(n, 256), "tensorflow_version"))
                elif f == 7 and w == VARINT:
                    meta["stripped_default_attrs"] = bool(v)
        elif number == 2 and wire == LEN:
            meta["graph"] = (value, value + length)
    return meta


def _read_graph(handle, start: int, end: int, model: SourceModel, parent: Stream | None) -> None:
    stream = Stream(handle, start, end, parent=parent)
    for number, wire, value, length in stream:
        if wire != LEN:
            continue
        if number == 1:
            if length <= SMALL_NODE:
                _read_small_node(stream.read(value, length, "a node"), model, top_level=True)
            else:
                _read_node(handle, value, value + length, model, stream, top_level=True)
        elif number == 2:  # FunctionDefLibrary: TF2 graphs keep their layers in functions
            library = Stream(handle, value, value + length, parent=stream)
            for f, w, v, n in library:
                if f == 1 and w == LEN:
                    function = Stream(handle, v, v + n, parent=library)
                    for f2, w2, v2, n2 in function:
                        if f2 == 3 and w2 == LEN and n2 <= SMALL_NODE:
                            _read_small_node(function.read(v2, n2, "a function node"), model, top_level=False)
                        elif f2 == 3 and w2 == LEN:
                            _read_node(handle, v2, v2 + n2, model, function, top_level=False)
        elif number == 4:
            for f, w, v in fields(stream.read(value, length, "versions")):
                if f == 1 and w == VARINT:
                    model.tf_producer = signed64(v)
                elif f == 2 and w == VARINT:
                    model.tf_min_consumer = signed64(v)


def _read_node(handle, start: int, end: int, model: SourceModel, parent: Stream, top_level: bool) -> None:
    model.node_count += 1
    if model.node_count > MAX_NODES:
        raise WireError(f"more than {MAX_NODES} nodes")
    stream = Stream(handle, start, end, parent=parent)
    name, op, attrs, wanted = "", "", [], {}
    for number, wire, value, length in stream:
        if wire != LEN:
            continue
        if number == 1:
            name = text(stream.read(value, min(length, MAX_NAME), "a node name"))
        elif number == 2:
            op = text(stream.read(value, min(length, MAX_NAME), "a node op"))
        elif number == 5:  # map<string, AttrValue> entry: read the key, keep the value's place
            entry = Stream(handle, value, value + length, parent=stream)
            key, where = "", None
            for f, w, v, n in entry:
                if f == 1 and w == LEN:
                    key = text(entry.read(v, min(n, MAX_NAME), "an attribute name"))
                elif f == 2 and w == LEN:
                    where = (v, n, entry)
            attrs.append(key)
            if key in ("shape", "dtype") and where is not None and where[1] <= MAX_ATTR_VALUE:
                wanted[key] = where[2].read(where[0], where[1], f"attribute {key}")
    if not op:
        raise WireError(f"node {name or '?'} has no op: not a TensorFlow GraphDef")
    seen = model.op_bytes.setdefault(op.encode(), [0, set()])
    seen[0] += 1
    seen[1].update(a.encode() for a in attrs)
    if top_level and op == "Placeholder":
        model.inputs.append({"name": name, "shape": _shape(wanted.get("shape")), "type": _dtype(wanted.get("dtype"))})


def _read_small_node(buf, model: SourceModel, top_level: bool) -> None:
    """The same facts as _read_node from a NodeDef already in memory: one tight loop, since a graph
    has tens of thousands of nodes and only name, op and the attribute names matter."""
    model.node_count += 1
    if model.node_count > MAX_NODES:
        raise WireError(f"more than {MAX_NODES} nodes")
    name = op = b""
    attrs, wanted, pos, end = [], {}, 0, len(buf)
    while pos < end:
        key = buf[pos]
        key, pos = _varint(buf, pos, end) if key >= 0x80 else (key, pos + 1)
        wire = key & 7
        if wire == LEN:
            length = buf[pos] if pos < end else 0x80
            length, pos = (length, pos + 1) if length < 0x80 else _varint(buf, pos, end)
            if length > end - pos:
                raise WireError(f"node field {key >> 3}: length {length} runs past the end of the node")
            number = key >> 3
            if number == 1:
                name = buf[pos:pos + length]
            elif number == 2:
                op = buf[pos:pos + length]
            elif number == 5:  # map entry; protobuf writes the key (0x0A, short) first
                if length > 2 and buf[pos] == 0x0A and buf[pos + 1] < 0x80 and buf[pos + 1] + 2 <= length:
                    attr = buf[pos + 2:pos + 2 + buf[pos + 1]]
                else:
                    attr = b"".join(bytes(v) for f, w, v in fields(buf, pos, pos + length) if f == 1 and w == LEN)
                attrs.append(attr)
                if attr in (b"shape", b"dtype"):
                    for f, w, v in fields(buf, pos, pos + length):
                        if f == 2 and w == LEN:
                            wanted[attr.decode()] = v
            pos += length
        elif wire == VARINT:
            _, pos = _varint(buf, pos, end)
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
            if pos > end:
                raise WireError("node: fixed-width field runs past the end")
        else:
            raise WireError(f"node field {key >> 3}: wire type {wire} (groups or invalid)")
    if not op:
        raise WireError(f"node {text(name) or '?'} has no op: not a TensorFlow GraphDef")
    seen = model.op_bytes.get(op)
    if seen is None:
        seen = model.op_bytes[op] = [0, set()]
    seen[0] += 1
    seen[1].update(attrs)
    if top_level and op == b"Placeholder":
        model.inputs.append({"name": text(name), "shape": _shape(wanted.get("shape")), "type": _dtype(wanted.get("dtype"))})


def _dtype(buf) -> str:
    if buf is None:
        return "?"
    for number, wire, value in fields(buf):
        if number == 6 and wire == VARINT:
            return DTYPES.get(value, f"DataType {value}")
    return "?"


def _shape(buf) -> list | None:
    """AttrValue.shape → dims (-1 unknown); None when the rank is unknown or no shape is given."""
    if buf is None:
        return None
    for number, wire, value in fields(buf):
        if number == 7 and wire == LEN:
            dims: list = []
            for f, w, v in fields(value):
                if f == 3 and w == VARINT and v:
                    return None
                if f == 2 and w == LEN:
                    size = 0  # proto3 omits a 0 size
                    for f2, w2, v2 in fields(v):
                        if f2 == 1 and w2 == VARINT:
                            size = signed64(v2)
                    dims.append(size)
            return dims
    return None


def _finish(model: SourceModel) -> SourceModel:
    """Op types and attribute names were kept as bytes while walking; decoded once here."""
    for op, (count, attrs) in model.op_bytes.items():
        name = text(op)
        model.operators[name] = model.operators.get(name, 0) + count
        model.op_attrs[name] = sorted(set(model.op_attrs.get(name, [])) | {text(a) for a in attrs})
    del model.op_bytes
    model.dynamic_inputs = [i["name"] for i in model.inputs if i["shape"] is None or any(d < 0 for d in i["shape"])]
    return model


def saved_model_file(directory: str) -> str:
    return os.path.join(directory, "saved_model.pb")
