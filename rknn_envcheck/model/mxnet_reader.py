"""MXNet models: the `-symbol.json` graph and the `.params` list header (never the arrays).

* The symbol file is the JSON nnvm graph MXNet writes (Symbol.save): {"nodes": [{"op", "name",
  "inputs", "attrs"}…], "arg_nodes", "heads", "attrs": {"mxnet_version": ["int", 10500]}}. It is
  parsed with the bounded JSON reader of facts files (rknn_envcheck.inputlimits: size, depth,
  integer range), never with MXNet.
* The `.params` file is NDArray::Save's list format (apache/mxnet 1.5.0 src/ndarray/ndarray.cc):
  uint64 kMXAPINDArrayListMagic = 0x112, uint64 reserved = 0, uint64 array count, then the arrays
  (each from 1.x opening with a uint32 magic, 0xF993FAC8/9/A). Only these 28 bytes are read.
"""
from __future__ import annotations

import struct
from typing import BinaryIO

from rknn_envcheck.model.protowire import WireError
from rknn_envcheck.model.source import SourceModel

NDARRAY_SOURCE = "github:apache/mxnet@1.5.0 src/ndarray/ndarray.cc (NDArray::Save, kMXAPINDArrayListMagic)"
SYMBOL_SOURCE = "github:apache/mxnet@1.5.0 python/mxnet/symbol/symbol.py (Symbol.save / tojson)"
MAX_SYMBOL_BYTES = 16 * 1024 * 1024
MAX_NODES = 2_000_000
LIST_MAGIC = 0x112
_ARRAY_MAGICS = {0xF993FAC8: "NDArray V1", 0xF993FAC9: "NDArray V2 (storage type)", 0xF993FACA: "NDArray V3 (numpy shape)"}


def looks_like_symbol(sample: bytes) -> bool:
    body = sample.lstrip()
    return body[:1] == b"{" and b'"nodes"' in sample and (b'"heads"' in sample or b'"arg_nodes"' in sample or b'"op"' in sample)


def looks_like_params(head: bytes) -> bool:
    return len(head) >= 16 and struct.unpack_from("<QQ", head) == (LIST_MAGIC, 0)


def read_symbol(handle: BinaryIO, path: str, size: int) -> SourceModel | None:
    """None when the JSON is not a symbol graph (then other formats are tried)."""
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.inputlimits import decode, loads

    if size > MAX_SYMBOL_BYTES:
        raise WireError(f"an MXNet symbol file of {size} bytes is larger than the {MAX_SYMBOL_BYTES >> 20} MiB a graph description may have")
    handle.seek(0)
    try:
        graph = loads(decode(handle.read(size), "the symbol file"), "the symbol file")
    except UsageError as exc:
        raise WireError(str(exc).replace("the symbol file", "JSON", 1)) from None
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    if not isinstance(nodes, list) or not ("heads" in graph or "arg_nodes" in graph):
        return None
    if len(nodes) > MAX_NODES:
        raise WireError(f"more than {MAX_NODES} nodes")
    model = SourceModel(path=path, size=size, format="mxnet", framework="mxnet", role="structure")
    model.how = f"MXNet symbol JSON (nodes[].op, attrs.mxnet_version; {SYMBOL_SOURCE}) read with the bounded JSON reader"
    arg_list = graph.get("arg_nodes")
    arg_nodes = {i for i in arg_list if isinstance(i, int)} if isinstance(arg_list, list) else set()
    for index, node in enumerate(nodes):
        if not isinstance(node, dict) or not isinstance(node.get("op"), str):
            raise WireError(f"node {index} has no \"op\" string")
        op = node["op"]
        if op == "null":  # a variable: the data input or a weight
            name = node.get("name")
            if index in arg_nodes and isinstance(name, str) and not _is_weight(name):
                model.inputs.append({"name": name, "shape": None})
            continue
        model.node_count += 1
        model.operators[op] = model.operators.get(op, 0) + 1
    version = (graph.get("attrs") or {}).get("mxnet_version") if isinstance(graph.get("attrs"), dict) else None
    if isinstance(version, list) and len(version) == 2 and isinstance(version[1], int):
        model.mxnet_version = version[1]
    return model


def _is_weight(name: str) -> bool:
    return name.endswith(("_weight", "_bias", "_gamma", "_beta", "_moving_mean", "_moving_var", "_running_mean", "_running_var", "_alpha"))


def version_text(number: int | None) -> str:
    """MXNet writes its version as major*10000 + minor*100 + patch (10500 = 1.5.0)."""
    if number is None:
        return "?"
    return f"{number // 10000}.{number // 100 % 100}.{number % 100}"


def read_params(handle: BinaryIO, path: str, size: int) -> SourceModel:
    handle.seek(0)
    head = handle.read(28)
    if len(head) < 24:
        raise WireError("the NDArray list header (magic, reserved, count) is cut short")
    _, _, count = struct.unpack_from("<QQQ", head)
    if count > (size - 24) // 4 + 1:
        raise WireError(f"the header lists {count} arrays, more than the {size} bytes of the file can hold")
    model = SourceModel(path=path, size=size, format="mxnet", framework="mxnet", role="weights")
    model.how = f"MXNet .params list header (magic 0x112, reserved, array count; {NDARRAY_SOURCE}); arrays not read"
    first = struct.unpack_from("<I", head, 24)[0] if len(head) >= 28 else None
    model.weights_version = _ARRAY_MAGICS.get(first, "NDArray V0 (no per-array magic)" if count else "empty")
    model.weights_detail = f"{count} arrays"
    return model
