"""ONNX ModelProto read with the bounded wire reader (onnx/onnx.proto field numbers).

Read: ir_version (1), producer_name/version (2/3), opset_import (8: domain 1, version 2), and
from the graph (7): node op types and domains (1: op_type 4, domain 7; attribute 5 → subgraphs
g 6 / graphs 11, followed to MAX_DEPTH), initializer names, locations and external data (5:
name 8, data_location 14, external_data 13 key/value), inputs (11: name 1, type 2 → tensor_type
1 → shape 2 → dim 1: dim_value 1 / dim_param 2). Initializer payloads (raw_data 9, float_data 4,
…) are seeked over; external data files are never opened, only named.
"""
from __future__ import annotations

import os
from typing import BinaryIO

from rknn_envcheck.model.protowire import I32, I64, LEN, MAX_DEPTH, VARINT, Stream, WireError, _varint, fields, signed64, text
from rknn_envcheck.model.source import SourceModel

MAX_NODES = 2_000_000  # far above real graphs; a bound on the op-type walk of a hostile file
_DEFAULT_DOMAINS = ("", "ai.onnx")


def looks_like_onnx(head: bytes) -> bool:
    """ModelProto begins with ir_version (tag 0x08, small varint) then a string or message field."""
    if len(head) < 4 or head[0] != 0x08 or not 1 <= head[1] <= 20:
        return False
    return head[2] in (0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42)


def read_onnx(handle: BinaryIO, path: str, size: int) -> SourceModel:
    model = SourceModel(path=path, size=size, format="onnx", framework="onnx")
    model.how = "protobuf wire format of onnx.proto ModelProto, read field by field; initializer payloads seeked over"
    graph = None
    top = Stream(handle, 0, size)
    for number, wire, value, length in top:
        if number == 1 and wire == VARINT:
            model.ir_version = value
        elif number == 2 and wire == LEN:
            model.producer = text(top.read(value, min(length, 4096), "producer_name"))
        elif number == 3 and wire == LEN:
            model.producer_version = text(top.read(value, min(length, 4096), "producer_version"))
        elif number == 8 and wire == LEN:
            domain, version = "", None
            for f, w, v in fields(top.read(value, length, "opset_import")):
                if f == 1 and w == LEN:
                    domain = text(v)
                elif f == 2 and w == VARINT:
                    version = signed64(v)
            model.opsets["ai.onnx" if domain in _DEFAULT_DOMAINS else domain] = version
        elif number == 7 and wire == LEN:
            graph = (value, length)
    if model.ir_version is None or graph is None:
        raise WireError("no ir_version or no graph: not an ONNX ModelProto")
    initializers: set[str] = set()
    inputs: list[tuple[str, list]] = []
    model.op_bytes = {}
    _read_graph(handle, graph[0], graph[0] + graph[1], model, initializers, inputs)
    model.operators = {text(op): count for op, count in model.op_bytes.items()}
    del model.op_bytes
    model.inputs = [{"name": n, "shape": s} for n, s in inputs if n not in initializers]  # IR < 4 lists weights as inputs
    model.dynamic_inputs = [i["name"] for i in model.inputs if i["shape"] is None or any(not isinstance(d, int) or d <= 0 for d in i["shape"])]
    _check_external(model, path)
    return model


def _read_graph(handle, start: int, end: int, model: SourceModel, initializers: set, inputs: list) -> None:
    stream = Stream(handle, start, end)
    for number, wire, value, length in stream:
        if wire != LEN:
            continue
        if number == 1:  # NodeProto: small, read whole (from the stream's window: no system call)
            model.node_count += 1
            if model.node_count > MAX_NODES:
                raise WireError(f"more than {MAX_NODES} nodes")
            _read_node(stream.read(value, length, "a node"), model, 1)
        elif number == 5:  # TensorProto initializer: stream it, skip payload fields
            model.initializer_count += 1
            _read_initializer(handle, value, value + length, model, initializers, stream)
        elif number == 11:
            inputs.append(_read_input(stream.read(value, length, "a graph input")))


def _read_node(buf, model: SourceModel, depth: int) -> None:
    """op_type (4), domain (7) and attribute subgraphs (5) of one NodeProto; a tight loop, since a
    graph has tens of thousands of nodes and only these fields matter."""
    if depth > MAX_DEPTH:
        raise WireError(f"subgraphs nested deeper than {MAX_DEPTH} levels")
    op_type, domain, pos, end = b"", "", 0, len(buf)
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
            if number == 4:
                op_type = buf[pos:pos + length]  # decoded once per op type below, not once per node
            elif number == 7:
                domain = text(buf[pos:pos + length])
            elif number == 5:  # AttributeProto: follow g (6) and graphs (11)
                for f, w, v in fields(buf, pos, pos + length):
                    if f in (6, 11) and w == LEN:
                        _read_subgraph(v, model, depth + 1)
            pos += length
        elif wire == VARINT:
            _, pos = _varint(buf, pos, end)
        elif wire in (I64, I32):
            pos += 8 if wire == I64 else 4
            if pos > end:
                raise WireError("node: fixed-width field runs past the end")
        else:
            raise WireError(f"node field {key >> 3}: wire type {wire} (groups or invalid)")
    counts = model.op_bytes
    key = op_type if domain in _DEFAULT_DOMAINS else domain.encode() + b"::" + op_type
    counts[key] = counts.get(key, 0) + 1


def _read_subgraph(buf, model: SourceModel, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise WireError(f"subgraphs nested deeper than {MAX_DEPTH} levels")
    for number, wire, value in fields(buf):
        if number == 1 and wire == LEN:
            model.node_count += 1
            _read_node(bytes(value), model, depth)


def _read_initializer(handle, start: int, end: int, model: SourceModel, initializers: set, graph: Stream) -> None:
    stream = Stream(handle, start, end, parent=graph)
    name, external, location = "", False, None
    for number, wire, value, length in stream:
        if number == 8 and wire == LEN:
            name = text(stream.read(value, min(length, 65536), "an initializer name"))
        elif number == 14 and wire == VARINT:
            external = value == 1
        elif number == 13 and wire == LEN:
            key, val = "", ""
            for f, w, v in fields(stream.read(value, length, "external_data")):
                if w == LEN and f in (1, 2):
                    key, val = (text(v), val) if f == 1 else (key, text(v))
            if key == "location":
                location = val
    initializers.add(name)
    if external and location is not None and location not in model.external_data:
        model.external_data.append(location)


def _read_input(buf) -> tuple[str, list | None]:
    name, shape = "", None
    for number, wire, value in fields(buf):
        if number == 1 and wire == LEN:
            name = text(value)
        elif number == 2 and wire == LEN:
            for f, w, v in fields(value):
                if f == 1 and w == LEN:  # tensor_type
                    for f2, w2, v2 in fields(v):
                        if f2 == 2 and w2 == LEN:
                            shape = _read_shape(v2)
    return name, shape


def _read_shape(buf) -> list:
    dims: list = []
    for number, wire, value in fields(buf):
        if number == 1 and wire == LEN:
            dim: object = "?"
            for f, w, v in fields(value):
                if f == 1 and w == VARINT:
                    dim = signed64(v)
                elif f == 2 and w == LEN:
                    dim = text(v) or "?"
            dims.append(dim)
    return dims


def _check_external(model: SourceModel, path: str) -> None:
    """Name each external-data file; flag a location that leaves the model's directory."""
    for location in model.external_data:
        normal = os.path.normpath(location)
        if os.path.isabs(location) or normal == ".." or normal.startswith(".." + os.sep):
            model.external_outside.append(location)
