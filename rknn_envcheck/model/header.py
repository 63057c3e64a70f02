"""A bounded, streaming reader of the `.rknn` container header.

Layout (toolkit1.md §5.4, toolkit2.md §4.6; no vendor spec exists, the layout was read from
vendor sample models):

    0   4  magic b"RKNN"                    (encrypted models: b"CYPTRKNN", layout unverified)
    4   4  zero
    8   8  u64 LE file-format version       (1, 2 = v1 custom ops, 2 / 6 toolkit2)
    16  8  u64 LE data-section size D
    24 40  zero, only in toolkit2 models of format >= 2 (64-byte header)
    H   D  data section                     (H = 24 or 64)
    H+D 8  u64 LE JSON size J, then J bytes of UTF-8 JSON metadata
           (v1 format 2: then u64 size + JSON list of custom-op descriptors)

The header size cannot be derived from the format number alone (a toolkit-v1 custom-op model
is format 2 with a 24-byte header), so both offsets are tried, 24 first, and the one holding a
well-formed JSON object wins. Nothing here reads the data section whole: it is seeked over, and
only its first bytes are peeked at (`VPMN` = v1 pre-compiled NBG, FlatBuffers `RKNN` at offset 4
= toolkit2 payload).
"""
from __future__ import annotations

import json
import os
import struct
from typing import Any, BinaryIO

from rknn_envcheck.model.errors import ModelFileError  # noqa: F401  (re-exported: the .rknn reader's callers import it here)
from rknn_envcheck.records import asdict, dataclass, field

MAGIC = b"RKNN"
ENCRYPTED_MAGIC = b"CYPTRKNN"
NBG_MAGIC = b"VPMN"
SHORT_HEADER = 24
LONG_HEADER = 64
# The largest metadata JSON we accept. Real models carry a few KB to a few MB (node lists);
# a header claiming more is corrupt or hostile and must not make us allocate it.
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_CUSTOM_OP_JSON_BYTES = 16 * 1024 * 1024
# Parse budget: at most this many JSON values (bounded above by the count of `,` `[` `{`, which
# bytes.count finds in C before anything is parsed). 16 MiB of `[{},{},…]` would otherwise be
# 5.6 million dicts (432 MB peak measured for 15 MiB). Not measured on a large real model: the
# budget allows e.g. 20,000 nodes/tensors of ~50 JSON values each (docs/security.md).
MAX_JSON_VALUES = 1_000_000
PAYLOAD_PEEK = 64

LINE_V1 = "rknn-toolkit"
LINE_V2 = "rknn-toolkit2"
LINE_UNKNOWN = "unknown"

# NBG "pid" after VPMN + version: the NPU the blob was compiled for (toolkit1.md §5.3/§5.4).
NBG_PIDS = {0x82: "LION", 0xB5: "PUMA"}

# JSON keys only toolkit-v1 models carry (toolkit1.md §5.4) and only toolkit2 ones (toolkit2.md §4.6).
_V1_KEYS = ("ovxlib_version", "pre_compile", "pre_compile_version", "optimization_level", "case_type")
_V2_KEYS = ("const_tensor", "virtual_tensor", "graph", "node_num", "norm_tensor_num")
_V1_TARGETS = {"rk1806", "rk1808", "rk3399pro", "rv1109", "rk1109", "rv1126", "rk1126"}



@dataclass
class ModelInfo:
    path: str
    size: int
    line: str = LINE_UNKNOWN  # rknn-toolkit / rknn-toolkit2 / unknown
    format: int | None = None
    header_size: int | None = None
    data_size: int | None = None
    json_size: int | None = None
    toolkit_version_raw: str | None = None
    toolkit_version: str | None = None  # PEP 440 spelling, None when not parseable
    target_platforms: list[str] = field(default_factory=list)  # lower case, as stored
    pre_compiled: bool | None = None  # by NBG node / VPMN payload, not by the pre_compile flag
    pre_compile_flag: Any = None  # the JSON `pre_compile` value, shown for reference only
    nbg_version: int | None = None
    npu_pid: int | None = None
    npu_family: str | None = None  # LION / PUMA from npu_pid
    payload_kind: str | None = None  # "nbg", "flatbuffers", "other", "empty"
    ori_network_platform: str | None = None
    network_platform: str | None = None
    encrypted: bool = False
    custom_ops: list[str] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)  # field -> where it was read from

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        if self.encrypted:
            return f"encrypted RKNN model ({self.size} bytes); header fields not readable"
        targets = ", ".join(self.target_platforms) or "not set"
        text = f"{self.line} model, file format {self.format}, built by toolkit {self.toolkit_version_raw or '?'}, target_platform {targets}"
        if self.line != LINE_V2:  # pre-compile is a toolkit-v1 notion
            text += ", " + {True: "pre-compiled", False: "not pre-compiled", None: "pre-compile unknown"}[self.pre_compiled]
        return text


def read_model_info(path) -> ModelInfo:
    """Read the header of `path`; raise ModelFileError naming what is wrong."""
    from rknn_envcheck.inputlimits import refuse_non_regular

    path_text = os.fspath(path)
    refuse_non_regular(path_text, "model file", expected="a .rknn file exported by rknn.export_rknn()", error=ModelFileError)
    try:
        handle = open(path_text, "rb")
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path_text}: {exc.strerror or exc}") from None
    with handle:
        try:
            return _read(handle, path_text, os.fstat(handle.fileno()).st_size)
        except OSError as exc:
            raise ModelFileError(f"cannot read model file {path_text}: {exc.strerror or exc}") from None


def _read(handle: BinaryIO, path: str, size: int) -> ModelInfo:
    if size == 0:
        raise ModelFileError(f"model file {path} is empty (0 bytes); expected a .rknn file exported by rknn.export_rknn() — re-export or re-copy it")
    head = handle.read(LONG_HEADER)
    info = ModelInfo(path=path, size=size)

    if head.startswith(ENCRYPTED_MAGIC):
        info.encrypted = True
        info.evidence["encrypted"] = "bytes 0-7 are 'CYPTRKNN' (encrypted RKNN model; its layout is not documented, so no other field is read)"
        return info
    if not head.startswith(MAGIC):
        raise ModelFileError(f"model file {path} is not an RKNN model: {_identify(head)} (an .rknn file starts with the bytes 'RKNN')")
    if len(head) < SHORT_HEADER:
        raise ModelFileError(
            f"model file {path} is truncated: {size} bytes, but the RKNN header alone is {SHORT_HEADER} bytes — the copy is incomplete; copy or export it again"
        )
    info.format, data_size = struct.unpack_from("<QQ", head, 8)
    info.data_size = data_size
    info.evidence["format"] = "u64 LE at byte 8"
    info.evidence["data_size"] = "u64 LE at byte 16"
    if SHORT_HEADER + data_size + 8 > size:
        raise ModelFileError(
            f"model file {path} is truncated or corrupt: its header (byte 16) says the data section is {data_size} bytes, "
            f"but the file has only {size} bytes — copy or export the model again"
        )

    metadata, header_size, json_size, tried = _find_metadata(handle, size, data_size)
    if metadata is None:
        raise ModelFileError(
            f"model file {path} is truncated or corrupt: no JSON metadata after the {data_size}-byte data section ({'; '.join(tried)}) — copy or export the model again"
        )
    info.header_size = header_size
    info.json_size = json_size
    info.evidence["header_size"] = f"JSON metadata found at offset {header_size}+{data_size} (tried 24 then 64)"
    info.evidence["json_size"] = f"u64 LE at byte {header_size + data_size}"

    payload = b""
    if data_size:
        handle.seek(header_size)
        payload = handle.read(min(PAYLOAD_PEEK, data_size))
    _read_payload(info, payload, header_size)
    _read_metadata(info, metadata)
    if info.format == 2 and header_size == SHORT_HEADER:
        _read_custom_ops(info, handle, size, header_size + data_size + 8 + json_size)
    _decide_line(info, metadata)
    _decide_pre_compiled(info, metadata)
    return info


def _find_metadata(handle: BinaryIO, size: int, data_size: int):
    """Try the JSON at 24+D, then 64+D; return (dict, header_size, json_size, reasons tried)."""
    tried = []
    for header_size in (SHORT_HEADER, LONG_HEADER):
        offset = header_size + data_size
        if offset + 8 > size:
            tried.append(f"offset {offset}: beyond the end of the file")
            continue
        handle.seek(offset)
        raw_size = handle.read(8)
        if len(raw_size) < 8:
            tried.append(f"offset {offset}: beyond the end of the file")
            continue
        (json_size,) = struct.unpack("<Q", raw_size)
        if json_size == 0:
            tried.append(f"offset {offset}: JSON size 0")
            continue
        if json_size > MAX_JSON_BYTES:
            tried.append(f"offset {offset}: JSON size {json_size} bytes exceeds the {MAX_JSON_BYTES // (1024 * 1024)} MiB limit")
            continue
        if offset + 8 + json_size > size:
            tried.append(f"offset {offset}: JSON size {json_size} bytes runs past the end of the {size}-byte file")
            continue
        first = handle.read(1)
        if first != b"{":
            tried.append(f"offset {offset}: no JSON object there")
            continue
        text = first + handle.read(json_size - 1)
        over = _over_budget(text)
        if over:
            tried.append(f"offset {offset}: {over}")
            continue
        metadata = _parse_json(text)
        if not isinstance(metadata, dict):
            tried.append(f"offset {offset}: {json_size} bytes that are not a JSON object")
            continue
        return metadata, header_size, json_size, tried
    return None, None, None, tried


def _over_budget(text: bytes) -> str:
    values = text.count(b",") + text.count(b"[") + text.count(b"{") + 1
    if values > MAX_JSON_VALUES:
        return f"JSON of up to {values} values exceeds the parse budget of {MAX_JSON_VALUES} values"
    return ""


def _parse_json(text: bytes):
    try:
        return json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _read_payload(info: ModelInfo, payload: bytes, header_size: int) -> None:
    if not payload:
        info.payload_kind = "empty"
        return
    if payload.startswith(NBG_MAGIC):
        info.payload_kind = "nbg"
        info.evidence["payload_kind"] = f"data section (byte {header_size}) starts with 'VPMN' (Vivante NBG pre-compiled graph)"
        if len(payload) >= 12:
            info.nbg_version, info.npu_pid = struct.unpack_from("<II", payload, 4)
            info.npu_family = NBG_PIDS.get(info.npu_pid)
            info.evidence["nbg_version"] = f"u32 LE at byte {header_size + 4} (after 'VPMN')"
            info.evidence["npu_pid"] = f"u32 LE at byte {header_size + 8} (0x82 LION, 0xB5 PUMA)"
    elif payload[4:8] == MAGIC:
        info.payload_kind = "flatbuffers"
        info.evidence["payload_kind"] = f"data section has the FlatBuffers identifier 'RKNN' at byte {header_size + 4} (toolkit2 payload)"
    else:
        info.payload_kind = "other"


def _read_metadata(info: ModelInfo, metadata: dict) -> None:
    version = metadata.get("version")
    if isinstance(version, (str, int, float)) and not isinstance(version, bool):
        info.toolkit_version_raw = str(version)
        info.toolkit_version = normalize_toolkit_version(info.toolkit_version_raw)
        info.evidence["toolkit_version"] = "JSON key 'version'"
    targets = metadata.get("target_platform")
    if isinstance(targets, str):
        targets = [targets]
    if isinstance(targets, list):
        info.target_platforms = [t.strip().lower() for t in targets if isinstance(t, str) and t.strip()]
        info.evidence["target_platforms"] = "JSON key 'target_platform'"
    for key in ("ori_network_platform", "network_platform"):
        value = metadata.get(key)
        if isinstance(value, str):
            setattr(info, key, value)
            info.evidence[key] = f"JSON key {key!r}"
    if "pre_compile" in metadata:
        info.pre_compile_flag = metadata.get("pre_compile")
        info.evidence["pre_compile_flag"] = "JSON key 'pre_compile' (not trusted: online pre-compiled models say 0)"


def normalize_toolkit_version(raw: str) -> str | None:
    """`v1.3.2` → 1.3.2, `1.6.2-source_code` → 1.6.2, `1.6.0+81f21f4d` → 1.6.0+81f21f4d
    (rknn_envcheck.versions, the one version parser; it imports no `packaging` for these)."""
    from rknn_envcheck.versions import leading_version

    return leading_version(raw)


def _read_custom_ops(info: ModelInfo, handle: BinaryIO, size: int, offset: int) -> None:
    """v1 format 2: a second u64 size + JSON list of custom-op descriptors follows the metadata."""
    if offset == size:
        info.evidence["custom_ops"] = f"format 2 but nothing after the metadata (byte {offset}): no custom-op section"
        return
    where = f"the custom-op section at byte {offset} (format 2: the custom-op section, laid out as in the vendor sample models)"
    if offset + 8 > size:
        raise ModelFileError(f"model file {info.path} is truncated: {where} is cut off after {size - offset} bytes — copy or export the model again")
    handle.seek(offset)
    (list_size,) = struct.unpack("<Q", handle.read(8))
    if list_size > MAX_CUSTOM_OP_JSON_BYTES or offset + 8 + list_size > size:
        raise ModelFileError(
            f"model file {info.path} is truncated or corrupt: {where} claims {list_size} bytes, the file has {size - offset - 8} left — copy or export the model again"
        )
    raw_list = handle.read(list_size) if list_size else b"[]"
    over = _over_budget(raw_list)
    if over:
        raise ModelFileError(f"model file {info.path} is corrupt or hostile: {where}: {over}")
    descriptors = _parse_json(raw_list)
    if not isinstance(descriptors, list):
        raise ModelFileError(f"model file {info.path} is corrupt: {where} is not a JSON list of custom-op descriptors")
    names = []
    for index, item in enumerate(descriptors):
        name = None
        if isinstance(item, dict):
            for key in ("op_type", "name", "op_name", "type"):
                if isinstance(item.get(key), str):
                    name = item[key]
                    break
        names.append(name or f"custom op #{index}")
    info.custom_ops = names
    info.evidence["custom_ops"] = f"JSON list of custom-op descriptors at byte {offset} (format 2)"


def _decide_line(info: ModelInfo, metadata: dict) -> None:
    """Toolkit v1 or toolkit2 model: payload magic first, then JSON keys, then target names."""
    reasons_v1, reasons_v2 = [], []
    if info.payload_kind == "nbg":
        reasons_v1.append("VPMN payload")
    if info.payload_kind == "flatbuffers":
        reasons_v2.append("FlatBuffers 'RKNN' payload")
    reasons_v1 += [f"JSON key {k!r}" for k in _V1_KEYS if k in metadata]
    reasons_v2 += [f"JSON key {k!r}" for k in _V2_KEYS if k in metadata]
    if metadata.get("name") == "rknn model":
        reasons_v2.append("JSON name 'rknn model'")
    if info.target_platforms:
        if all(t in _V1_TARGETS for t in info.target_platforms):
            reasons_v1.append("toolkit-v1 target names")
        elif not any(t in _V1_TARGETS for t in info.target_platforms):
            reasons_v2.append("toolkit2 target names")
    if info.header_size == LONG_HEADER:
        reasons_v2.append("64-byte header")
    if reasons_v1 and not reasons_v2:
        info.line = LINE_V1
        info.evidence["line"] = ", ".join(reasons_v1)
    elif reasons_v2 and not reasons_v1:
        info.line = LINE_V2
        info.evidence["line"] = ", ".join(reasons_v2)
    elif reasons_v1 and reasons_v2:
        # Payload magic is the strongest sign; keys can be copied around by converters.
        if info.payload_kind in ("nbg", "flatbuffers"):
            info.line = LINE_V1 if info.payload_kind == "nbg" else LINE_V2
        info.evidence["line"] = f"conflicting signs: v1 ({', '.join(reasons_v1)}) vs toolkit2 ({', '.join(reasons_v2)})"
    else:
        info.evidence["line"] = "no JSON key, payload magic or target name identifies the toolkit line"


def _decide_pre_compiled(info: ModelInfo, metadata: dict) -> None:
    """Pre-compiled = an NBG node or a VPMN payload (the `pre_compile` flag lies, §5.4 caution)."""
    if info.line == LINE_V2:
        return  # a toolkit-v1 notion; toolkit2 format 6 models are all "pre-compiled" internally
    nodes = metadata.get("nodes")
    node_ops = []
    if isinstance(nodes, list):
        node_ops = [n.get("op") for n in nodes if isinstance(n, dict)]
    elif isinstance(nodes, dict):
        node_ops = [n.get("op") for n in nodes.values() if isinstance(n, dict)]
    has_nbg_node = "VSI_NN_OP_NBG" in node_ops
    if has_nbg_node or info.payload_kind == "nbg":
        info.pre_compiled = True
        info.evidence["pre_compiled"] = " and ".join(
            x for x in ("a node with op VSI_NN_OP_NBG" if has_nbg_node else "", "a VPMN data section" if info.payload_kind == "nbg" else "") if x
        )
    elif node_ops:
        info.pre_compiled = False
        info.evidence["pre_compiled"] = f"{len(node_ops)} nodes in JSON 'nodes', none with op VSI_NN_OP_NBG, and no VPMN data section"


def _identify(head: bytes) -> str:
    """Say what a non-RKNN file most likely is, from its first bytes."""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "it is a ZIP archive (a PyTorch .pt/.pth checkpoint or TorchScript file is a ZIP) — convert it with rknn.load_pytorch() and rknn.export_rknn()"
    if head[4:8] == b"TFL3":
        return "it is a TensorFlow Lite model ('TFL3' at byte 4) — convert it with rknn.load_tflite() and rknn.export_rknn()"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "it is an HDF5 file (a Keras .h5 model) — convert it with rknn.load_keras() (toolkit v1) and rknn.export_rknn()"
    if head.startswith(b"\x7fELF"):
        return "it is an ELF binary or shared library, not a model"
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed — unpack it first"
    if _looks_like_onnx(head):
        return "it looks like an ONNX model (protobuf ModelProto) — convert it with rknn.load_onnx() and rknn.export_rknn()"
    if head[:1] in (b"{", b"[") or head.lstrip()[:1] in (b"{", b"["):
        return "it is a text/JSON file"
    shown = head[:8].hex(" ")
    return f"its first bytes are {shown}"


def _looks_like_onnx(head: bytes) -> bool:
    # ModelProto starts with field 1 ir_version (tag 0x08, varint 3..12) and usually field 2
    # producer_name (tag 0x12) or field 8 opset_import; producers write e.g. "pytorch", "onnx".
    if len(head) < 4 or head[0] != 0x08 or not 1 <= head[1] <= 12:
        return False
    return head[2] in (0x12, 0x1A, 0x22, 0x2A, 0x3A, 0x42) or b"onnx" in head.lower() or b"pytorch" in head.lower()
