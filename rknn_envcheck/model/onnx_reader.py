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

# NodeProto keys (field << 3 | LEN) of input (1), output (2), name (3), op_type (4), doc_string (6):
# the fields a node without attributes or domain is made of
_PLAIN_NODE_KEYS = frozenset((0x0A, 0x12, 0x1A, 0x22, 0x32))
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
    """The graph's fields in one tight loop over the Stream's window (not its generic field
    iterator): a graph has tens of thousands of nodes, and the generator, the window check and the
    copy of each node cost more than the node itself (12,000 nodes: ~180 ms → see docs/decisions.md).
    A node that lies inside the window is parsed in place; one across its edge is read by itself."""
    stream = Stream(handle, start, end)
    buf, at = stream._buf, stream._at
    counts = model.op_bytes
    pos = start
    while pos < end:
        index = pos - at
        if index < 0 or index + 20 > len(buf) and at + len(buf) < end:
            index = stream._window(pos, min(20, end - pos))
            buf, at = stream._buf, stream._at
        limit = min(len(buf), index + 20)
        if index >= limit:
            raise WireError(f"the file ends at byte {at + len(buf)}, inside the graph (truncated file?)")
        key = buf[index]
        key, index = _varint(buf, index, limit) if key >= 0x80 else (key, index + 1)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {pos}")
        if wire == LEN:
            length = buf[index] if index < limit else 0x80
            length, index = (length, index + 1) if length < 0x80 else _varint(buf, index, limit)
            offset = at + index
            if length > end - offset:
                raise WireError(f"field {number} at byte {offset}: length {length} runs past the end of its message "
                                f"({end - offset} bytes left; truncated file?)")
            pos = offset + length
            if number == 1:  # NodeProto: small; parsed where it lies in the window
                if index + length > len(buf):
                    _count_node(model)
                    _read_node(stream.read(offset, length, "a node"), model, 1)
                    continue
                # the run of nodes that follows lies in the window too: walked here, one after the
                # other (key 0x0A and a one-byte length: a node under 128 bytes); the common node
                # (input 1, output 2, name 3, op_type 4, doc 6) inline, anything else — attributes,
                # a domain, long fields — through _read_node
                window = len(buf)
                while True:
                    model.node_count += 1
                    if model.node_count > MAX_NODES:
                        raise WireError(f"more than {MAX_NODES} nodes")
                    node_end, cursor, op_type = index + length, index, None
                    while cursor < node_end:
                        key, size = buf[cursor], buf[cursor + 1] if cursor + 1 < node_end else 0x80
                        if size >= 0x80 or key not in _PLAIN_NODE_KEYS or size > node_end - cursor - 2:
                            op_type = None
                            break
                        if key == 0x22:
                            op_type = buf[cursor + 2:cursor + 2 + size]
                        cursor += 2 + size
                    if op_type is None or cursor != node_end:
                        _read_node(buf, model, 1, index, node_end)
                    else:
                        counts[op_type] = counts.get(op_type, 0) + 1
                    if pos >= end or node_end + 2 > window or buf[node_end] != 0x0A:
                        break
                    length = buf[node_end + 1]
                    if length >= 0x80 or node_end + 2 + length > window or pos + 2 + length > end:
                        break
                    index, offset = node_end + 2, pos + 2
                    pos = offset + length
            elif number == 5:  # TensorProto initializer: its header from the window, payload fields skipped
                model.initializer_count += 1
                if not _initializer_in_window(buf, index, index + length, initializers):
                    _read_initializer(handle, offset, pos, model, initializers, stream)
            elif number == 11:
                inputs.append(_read_input(stream.read(offset, length, "a graph input")))
        elif wire == VARINT:
            _, index = _varint(buf, index, limit)
            pos = at + index
        elif wire in (I64, I32):
            pos = at + index + (8 if wire == I64 else 4)
            if pos > end:
                raise WireError(f"field {number}: fixed{64 if wire == I64 else 32} runs past the end")
        else:
            raise WireError(f"field {number} at byte {pos}: wire type {wire} (groups or invalid)")


def _count_node(model: SourceModel) -> None:
    model.node_count += 1
    if model.node_count > MAX_NODES:
        raise WireError(f"more than {MAX_NODES} nodes")


def _read_node(buf, model: SourceModel, depth: int, pos: int = 0, end: int | None = None) -> None:
    """op_type (4), domain (7) and attribute subgraphs (5) of one NodeProto in buf[pos:end]; a
    tight loop, since a graph has tens of thousands of nodes and only these fields matter."""
    if depth > MAX_DEPTH:
        raise WireError(f"subgraphs nested deeper than {MAX_DEPTH} levels")
    if end is None:
        end = len(buf)
    op_type, domain = b"", ""
    while pos < end:
        key = buf[pos]
        if key < 0x80 and key & 7 == LEN:  # every NodeProto field is LEN with a one-byte key
            length = buf[pos + 1] if pos + 1 < end else 0x80
            length, pos = (length, pos + 2) if length < 0x80 else _varint(buf, pos + 1, end)
            if length > end - pos:
                raise WireError(f"node field {key >> 3}: length {length} runs past the end of the node")
            if key == 0x22:  # op_type (4)
                op_type = buf[pos:pos + length]  # decoded once per op type below, not once per node
            elif key == 0x3A:  # domain (7)
                domain = text(buf[pos:pos + length])
            elif key == 0x2A:  # AttributeProto (5): follow g (6) and graphs (11)
                _read_attribute(buf, pos, pos + length, model, depth)
            pos += length
            continue
        key, pos = _varint(buf, pos, end) if key >= 0x80 else (key, pos + 1)
        wire = key & 7
        if wire == LEN:
            length = buf[pos] if pos < end else 0x80
            length, pos = (length, pos + 1) if length < 0x80 else _varint(buf, pos, end)
            if length > end - pos:
                raise WireError(f"node field {key >> 3}: length {length} runs past the end of the node")
            number = key >> 3  # a key written in more bytes than needed still names its field
            if number == 4:
                op_type = buf[pos:pos + length]
            elif number == 7:
                domain = text(buf[pos:pos + length])
            elif number == 5:
                _read_attribute(buf, pos, pos + length, model, depth)
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


def _read_attribute(buf, pos: int, end: int, model: SourceModel, depth: int) -> None:
    """The subgraphs of one AttributeProto (g 6, graphs 11); as `fields` would walk it, without a
    generator per attribute (most nodes of a real graph carry a few attributes)."""
    for number, wire, value in fields(buf, pos, end):
        if number in (6, 11) and wire == LEN:
            _read_subgraph(value, model, depth + 1)


def _read_subgraph(buf, model: SourceModel, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise WireError(f"subgraphs nested deeper than {MAX_DEPTH} levels")
    for number, wire, value in fields(buf):
        if number == 1 and wire == LEN:
            model.node_count += 1
            _read_node(bytes(value), model, depth)


def _initializer_in_window(buf, cursor: int, end: int, initializers: set) -> bool:
    """The common initializer — dims, data_type, name, then one payload that ends the tensor —
    read from the window without a Stream (1,000 initializers: ~20 ms → ~8 ms). False, with
    nothing recorded, for anything else (external data, fields after a payload outside the
    window, a malformed field): _read_initializer then reads it and says what is wrong."""
    window = len(buf)
    limit = end if end < window else window
    name = ""
    try:
        while cursor < end:
            if cursor + 11 > limit and end > window:
                return False  # the next field header may lie outside the window
            key = buf[cursor]
            if key >= 0x80:
                return False
            cursor += 1
            wire = key & 7
            if wire == LEN:
                length = buf[cursor]
                length, cursor = (length, cursor + 1) if length < 0x80 else _varint(buf, cursor, limit)
                if length > end - cursor:
                    return False
                if key == 0x42:  # name (8)
                    if cursor + min(length, 65536) > window:
                        return False
                    name = text(buf[cursor:cursor + min(length, 65536)])
                elif key == 0x6A:  # external_data (13): names a file; the general reader records it
                    return False
                cursor += length
            elif wire == VARINT:
                if buf[cursor] < 0x80:
                    cursor += 1
                else:
                    _, cursor = _varint(buf, cursor, limit)
            elif wire in (I64, I32):
                cursor += 8 if wire == I64 else 4
            else:
                return False
    except (WireError, IndexError):
        return False
    if cursor != end:
        return False
    initializers.add(name)
    return True


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
