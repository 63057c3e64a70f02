"""Darknet models: the `.cfg` network description and the `.weights` header (never the weights).

Both follow pjreddie/darknet at commit 810d7f7, the commit the vendor tables name:
* src/parser.c read_cfg: each line has its whitespace removed (strip), `#`/`;` lines and blank
  lines are skipped, `[type]` opens a section, other lines are `key=value` options; the first
  section must be [net] or [network] (parse_network_cfg); string_to_layer_type lists the types.
* src/parser.c load_weights_upto: int32 major, minor, revision, then `seen` as a size_t (8 bytes)
  when major*10 + minor >= 2 and major < 1000 and minor < 1000, else as an int32 (4 bytes); the
  float weights follow. save_weights_upto writes 0.2.0.
"""
from __future__ import annotations

import struct
from typing import BinaryIO

from rknn_envcheck.model.protowire import WireError
from rknn_envcheck.model.source import SourceModel

PARSER_SOURCE = "github:pjreddie/darknet@810d7f7 src/parser.c"
MAX_CFG_BYTES = 4 * 1024 * 1024  # yolov4.cfg is 12 KB
MAX_SECTIONS = 100_000
_NET = ("[net]", "[network]")


def _strip(line: str) -> str:
    return "".join(line.split())  # darknet's strip() drops every space, tab and newline in the line


def looks_like_cfg(sample: bytes) -> bool:
    """The first section header (after comments and blank lines) is [net] or [network]."""
    body = sample.decode("utf-8", "ignore")
    for line in body.splitlines():
        line = _strip(line)
        if not line or line[0] in "#;":
            continue
        return line in _NET
    return False


def looks_like_weights(head: bytes, size: int) -> bool:
    """No magic number: the header's three small int32 (major 0-1, minor 1-20: darknet writes 0.2.0,
    old files 0.1.0) and a size that is the header plus whole float32 values."""
    if len(head) < 20:
        return False
    major, minor, revision = struct.unpack_from("<iii", head)
    if not (0 <= major <= 1 and 1 <= minor <= 20 and 0 <= revision <= 100_000):
        return False
    header = 20 if major * 10 + minor >= 2 else 16
    return size > header and (size - header) % 4 == 0


def read_cfg(handle: BinaryIO, path: str, size: int) -> SourceModel:
    if size > MAX_CFG_BYTES:
        raise WireError(f"a Darknet .cfg of {size} bytes is larger than the {MAX_CFG_BYTES >> 20} MiB a network description may have")
    handle.seek(0)
    body = handle.read(size).decode("utf-8", "replace")
    model = SourceModel(path=path, size=size, format="darknet", framework="darknet", role="structure")
    model.how = f"Darknet .cfg sections and options, parsed as read_cfg does ({PARSER_SOURCE})"
    section, net = None, {}
    for number, raw in enumerate(body.splitlines(), 1):
        line = _strip(raw)
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            if not line.endswith("]") or len(line) < 3:
                raise WireError(f"line {number}: section header {line[:40]!r} is not closed with ]")
            if section is None and line not in _NET:
                raise WireError(f"line {number}: the first section is {line[:40]} (darknet: 'First section must be [net] or [network]')")
            if section is not None:
                _add_section(model, section)
            section = {"type": line[1:-1], "options": {}, "line": number}
            continue
        if section is None:
            raise WireError(f"line {number}: option {line[:40]!r} before the first [section]")
        key, sep, value = line.partition("=")
        if not sep or not key:
            raise WireError(f"line {number}: {line[:40]!r} is not key=value")
        section["options"][key] = value
        if section["type"] in ("net", "network"):
            net[key] = value
    if section is None:
        raise WireError("no [net] section: not a Darknet .cfg")
    _add_section(model, section)
    dims = [_dim(net.get(k)) for k in ("channels", "height", "width")]
    model.inputs.append({"name": "[net]", "shape": dims if all(isinstance(d, int) for d in dims) else None})
    if model.inputs[0]["shape"] is None:
        model.dynamic_inputs.append("[net] channels/height/width")
    return model


def _add_section(model: SourceModel, section: dict) -> None:
    kind = section["type"]
    if kind in ("net", "network"):
        return
    model.node_count += 1
    if model.node_count > MAX_SECTIONS:
        raise WireError(f"more than {MAX_SECTIONS} layers")
    options = section["options"]
    groups = _dim(options.get("groups", "1"))
    if kind in ("convolutional", "conv") and isinstance(groups, int) and groups > 1:
        kind = "convolutional groups>1"  # darknet has no depthwise section: groups == filters is the depthwise form
    model.operators[kind] = model.operators.get(kind, 0) + 1
    if options.get("batch_normalize", "0") not in ("0", ""):
        model.operators["batch_normalize=1"] = model.operators.get("batch_normalize=1", 0) + 1
    activation = options.get("activation")
    if activation is not None:
        model.activations[activation] = model.activations.get(activation, 0) + 1
    elif kind in ("convolutional", "conv", "connected", "conn", "convolutional groups>1"):
        model.activations["logistic"] = model.activations.get("logistic", 0) + 1  # parser.c default: option_find_str(..., "logistic")


def _dim(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def read_weights(handle: BinaryIO, path: str, size: int) -> SourceModel:
    handle.seek(0)
    head = handle.read(20)
    if len(head) < 16:
        raise WireError("the .weights header (major, minor, revision, seen) is cut short")
    major, minor, revision = struct.unpack_from("<iii", head)
    wide = (major * 10 + minor) >= 2 and major < 1000 and minor < 1000
    header = 20 if wide else 16
    if len(head) < header:
        raise WireError(f"the .weights header of version {major}.{minor}.{revision} needs {header} bytes; the file has {size}")
    seen = struct.unpack_from("<Q" if wide else "<i", head, 12)[0]
    model = SourceModel(path=path, size=size, format="darknet", framework="darknet", role="weights")
    model.how = f"Darknet .weights header (int32 major, minor, revision; seen), as load_weights_upto reads it ({PARSER_SOURCE}); weights not read"
    model.weights_version = f"{major}.{minor}.{revision}"
    model.weights_detail = (f"seen = {seen} as a {'64' if wide else '32'}-bit counter; "
                            f"{(size - header) // 4} float32 values follow")
    return model
