"""TFLite models read with a small bounded FlatBuffers reader (tensorflow/lite/schema/schema.fbs).

Why hand-written: the `tflite`/`flatbuffers` packages map or read the whole file (a TFLite model
carries its weights in Model.buffers) and neither should be a runtime dependency. FlatBuffers
tables are reached by offsets, so only the tables below are visited; of Model.buffers (4) only
each Buffer's header is checked to lie inside the file (a truncated file), its data never read:

  Model: version (0), operator_codes (1), subgraphs (2), description (3)
  OperatorCode: deprecated_builtin_code (0, byte), custom_code (1), builtin_code (3, int32)
  SubGraph: tensors (0), inputs (1), operators (3)
  Tensor: shape (0), type (1), name (3), shape_signature (7, -1 = dynamic)
  Operator: opcode_index (0)

Every offset is checked against the file size before it is followed; uoffsets only point
forward, and the walk has a fixed depth, so offsets cannot form a cycle. Vector lengths are
checked against the bytes that remain and against the MAX_* counts. Any violation raises
TFLiteError (a ValueError), which source.py turns into one ModelFileError line.
"""
from __future__ import annotations

import struct

from rknn_envcheck.model.source import SourceModel
from rknn_envcheck.model.tflite_ops import BUILTIN_OPERATORS, TENSOR_TYPES

FILE_IDENTIFIER = b"TFL3"
PLACEHOLDER_FOR_GREATER_OP_CODES = 127  # schema 3a: the byte field says "look at builtin_code"
CUSTOM = 32
MAX_OPERATOR_CODES = 10_000
MAX_SUBGRAPHS = 1_000
MAX_TENSORS = 1_000_000
MAX_OPERATORS = 2_000_000
MAX_RANK = 64
MAX_STRING = 4096
PAGE = 64 * 1024
MAX_PAGES = 256  # at most 16 MiB of the file held at once


_U16, _U32, _I32 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<i")


class TFLiteError(ValueError):
    """The bytes are not a well-formed TFLite FlatBuffer (or exceed a bound)."""


def looks_like_tflite(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] == FILE_IDENTIFIER


class _File:
    """Random access to the file through a small page cache; every read is bounds-checked."""

    def __init__(self, handle, size: int):
        self.handle, self.size, self.pages = handle, size, {}

    def bytes(self, pos: int, length: int, what: str) -> bytes:
        if pos < 0 or length < 0 or pos + length > self.size:
            raise TFLiteError(f"{what} at byte {pos} (+{length}) lies outside the {self.size}-byte file (truncated or corrupt)")
        data = self.pages.get(pos // PAGE)
        offset = pos % PAGE
        if data is not None and offset + length <= len(data):  # the common case: inside one cached page
            return data[offset:offset + length]
        out = b""
        while length > 0:
            page, offset = divmod(pos, PAGE)
            data = self.pages.get(page)
            if data is None:
                if len(self.pages) >= MAX_PAGES:
                    self.pages.clear()
                self.handle.seek(page * PAGE)
                data = self.pages[page] = self.handle.read(PAGE)
            chunk = data[offset:offset + length]
            if not chunk:
                raise TFLiteError(f"{what}: the file ended at byte {pos}")
            out += chunk
            pos += len(chunk)
            length -= len(chunk)
        return out

    def u32(self, pos: int, what: str) -> int:
        return _U32.unpack(self.bytes(pos, 4, what))[0]

    def field_at(self, table: int, slot: int, vtables: dict, what: str) -> int | None:
        """Position of field `slot` of the table at `table` (None: absent), for the hot loops over
        operators and tensors; builders share vtables, so each one is decoded once."""
        vtable = table - _I32.unpack(self.bytes(table, 4, what))[0]
        slots = vtables.get(vtable)
        if slots is None:
            size = _U16.unpack(self.bytes(vtable, 2, f"{what} vtable"))[0]
            if size < 4 or size % 2:
                raise TFLiteError(f"{what}: vtable size {size} is not valid")
            slots = vtables[vtable] = struct.unpack(f"<{(size - 4) // 2}H", self.bytes(vtable + 4, size - 4, f"{what} vtable"))
        return table + slots[slot] if slot < len(slots) and slots[slot] else None


class _Table:
    """One FlatBuffers table: its position and its vtable's field offsets."""

    def __init__(self, f: _File, pos: int, what: str):
        self.f, self.pos, self.what = f, pos, what
        soffset = struct.unpack("<i", f.bytes(pos, 4, what))[0]
        vtable = pos - soffset
        vsize, _ = struct.unpack("<HH", f.bytes(vtable, 4, f"{what} vtable"))
        if vsize < 4 or vsize % 2:
            raise TFLiteError(f"{what}: vtable size {vsize} is not valid")
        self.slots = struct.unpack(f"<{(vsize - 4) // 2}H", f.bytes(vtable + 4, vsize - 4, f"{what} vtable"))

    def _field(self, index: int) -> int | None:
        return self.pos + self.slots[index] if index < len(self.slots) and self.slots[index] else None

    def scalar(self, index: int, fmt: str, default):
        at = self._field(index)
        return default if at is None else struct.unpack("<" + fmt, self.f.bytes(at, struct.calcsize(fmt), f"{self.what} field {index}"))[0]

    def ref(self, index: int) -> int | None:
        at = self._field(index)
        return None if at is None else at + self.f.u32(at, f"{self.what} field {index}")

    def vector(self, index: int, width: int, limit: int, name: str) -> tuple[int, int]:
        """(first element position, count) of a vector field; (0, 0) when absent."""
        at = self.ref(index)
        if at is None:
            return 0, 0
        count = self.f.u32(at, f"{self.what}.{name} length")
        if count > limit:
            raise TFLiteError(f"{self.what}.{name} has {count} entries (more than {limit}: not a real model)")
        if at + 4 + count * width > self.f.size:
            raise TFLiteError(f"{self.what}.{name}: {count} entries run past the end of the file")
        return at + 4, count

    def ints(self, index: int, name: str, limit: int) -> list | None:
        start, count = self.vector(index, 4, limit, name)
        if not start:
            return None
        return list(struct.unpack(f"<{count}i", self.f.bytes(start, 4 * count, f"{self.what}.{name}")))

    def string(self, index: int, name: str) -> str:
        at = self.ref(index)
        if at is None:
            return ""
        length = self.f.u32(at, f"{self.what}.{name} length")
        if length > MAX_STRING:
            raise TFLiteError(f"{self.what}.{name}: string of {length} bytes")
        try:
            return self.f.bytes(at + 4, length, f"{self.what}.{name}").decode("utf-8")
        except UnicodeDecodeError:
            raise TFLiteError(f"{self.what}.{name} is not UTF-8") from None

    def tables(self, index: int, limit: int, name: str):
        start, count = self.vector(index, 4, limit, name)
        for i in range(count):
            at = start + 4 * i
            yield _Table(self.f, at + self.f.u32(at, f"{name}[{i}]"), f"{name}[{i}]")


def operator_name(deprecated_code: int, builtin_code: int) -> str:
    """The builtin operator's name: schema 3a models carry the larger of the two fields
    (tensorflow/lite/schema/schema_utils.cc GetBuiltinCode)."""
    code = max(deprecated_code, builtin_code)
    return BUILTIN_OPERATORS.get(code, f"BUILTIN_{code}")


def read_tflite(handle, path: str, size: int) -> SourceModel:
    f = _File(handle, size)
    if size < 8:
        raise TFLiteError("shorter than a FlatBuffer header")
    model_table = _Table(f, f.u32(0, "root offset"), "Model")
    model = SourceModel(path=path, size=size, format="tflite", framework="tflite")
    model.how = "FlatBuffers tables of tensorflow/lite/schema/schema.fbs (Model, OperatorCode, SubGraph, Tensor, Operator); Model.buffers not read"
    model.schema_version = model_table.scalar(0, "I", 0)
    model.producer = model_table.string(3, "description")
    codes: list[str] = []
    for code in model_table.tables(1, MAX_OPERATOR_CODES, "operator_codes"):
        deprecated = code.scalar(0, "b", 0)
        builtin = code.scalar(3, "i", 0)
        if max(deprecated, builtin) == CUSTOM:
            custom = code.string(1, "custom_code") or "?"
            codes.append("CUSTOM:" + custom)
            if custom not in model.custom_ops:
                model.custom_ops.append(custom)
        else:
            codes.append(operator_name(deprecated, builtin))
    model.operators = {name: 0 for name in codes if not name.startswith("CUSTOM:")}
    for index, subgraph in enumerate(model_table.tables(2, MAX_SUBGRAPHS, "subgraphs")):
        _read_subgraph(subgraph, index, codes, model)
    _check_buffers(model_table, size)
    if not codes and not model.node_count:
        raise TFLiteError("no operator codes and no operators: not a TFLite model")
    model.dynamic_inputs = [i["name"] for i in model.inputs if i["shape"] is None or any(not isinstance(d, int) or d < 0 for d in i["shape"])]
    return model


def _check_buffers(model_table: _Table, size: int) -> None:
    """A truncated file loses its buffers first (the builder writes them last in the file): each
    Buffer's data vector header, or its out-of-flatbuffer offset/size (models > 2 GB), must lie
    inside the file. Only the headers are read, never the data."""
    for buffer in model_table.tables(4, MAX_TENSORS, "buffers"):
        buffer.vector(0, 1, size, "data")
        offset, length = buffer.scalar(1, "Q", 0), buffer.scalar(2, "Q", 0)
        if offset > 1 and offset + length > size:
            raise TFLiteError(f"a buffer stored at byte {offset} (+{length}) lies outside the {size}-byte file (truncated)")


def _table_offsets(f: _File, start: int, count: int, what: str) -> list:
    return [start + 4 * i + rel for i, rel in enumerate(struct.unpack(f"<{count}I", f.bytes(start, 4 * count, what)))]


def _read_subgraph(subgraph: _Table, index: int, codes: list, model: SourceModel) -> None:
    f, vtables = subgraph.f, {}
    start, count = subgraph.vector(0, 4, MAX_TENSORS, "tensors")
    op_start, op_count = subgraph.vector(3, 4, MAX_OPERATORS, "operators")
    uses = [0] * len(codes)
    for table in _table_offsets(f, op_start, op_count, "operators"):
        at = f.field_at(table, 0, vtables, "an operator")
        opcode = f.u32(at, "opcode_index") if at is not None else 0
        if opcode >= len(codes):
            raise TFLiteError(f"an operator names opcode_index {opcode}, but the model has {len(codes)} operator codes")
        uses[opcode] += 1
    model.node_count += op_count
    for name, used in zip(codes, uses):
        if used and not name.startswith("CUSTOM:"):
            model.operators[name] = model.operators.get(name, 0) + used
    if index != 0:
        return  # the inputs and tensor types of the main subgraph are the model's
    for table in _table_offsets(f, start, count, "tensors"):
        at = f.field_at(table, 1, vtables, "a tensor")
        kind = TENSOR_TYPES.get(f.bytes(at, 1, "tensor type")[0] if at is not None else 0, "?")
        model.tensor_types[kind] = model.tensor_types.get(kind, 0) + 1
    for position in subgraph.ints(1, "inputs", MAX_TENSORS) or []:
        if not 0 <= position < count:
            raise TFLiteError(f"subgraph input {position} is not one of its {count} tensors")
        at = start + 4 * position
        tensor = _Table(f, at + f.u32(at, "input tensor"), "input tensor")
        shape = tensor.ints(0, "shape", MAX_RANK)
        signature = tensor.ints(7, "shape_signature", MAX_RANK)
        dims = signature if signature else shape  # None: no shape stored, the rank is unknown
        model.inputs.append({"name": tensor.string(3, "name"), "shape": dims, "stored_shape": shape,
                             "type": TENSOR_TYPES.get(tensor.scalar(1, "b", 0), "?")})
