"""The .rknn header reader on synthetic files written after the documented layouts
(toolkit1.md §5.4, toolkit2.md §4.6) and on bad input."""
from __future__ import annotations

import json
import os
import struct

import pytest

from rknn_envcheck.model.header import MAX_JSON_BYTES, ModelFileError, read_model_info

# ---------------------------------------------------------------- builders (shared by test_model_*.py)

V1_NORMAL_META = {
    "version": "1.7.5", "target_platform": ["RK1808"], "ovxlib_version": "1.1.26", "pre_compile": 0,
    "network_platform": "tensorflow", "ori_network_platform": "tensorflow", "optimization_level": 3,
    "nodes": [{"op": "VSI_NN_OP_CONV_RELU", "name": "conv1"}, {"op": "VSI_NN_OP_SOFTMAX", "name": "prob"}],
}


def rknn_bytes(fmt: int, metadata, payload: bytes = b"", header: int = 24, magic: bytes = b"RKNN", trailer: bytes = b"") -> bytes:
    head = magic + b"\0" * 4 + struct.pack("<QQ", fmt, len(payload))
    if header == 64:
        head += b"\0" * 40
    text = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
    return head + payload + struct.pack("<Q", len(text)) + text + trailer


def nbg_payload(version: int, pid: int, name: bytes = b"dummy_network_name", body: int = 256) -> bytes:
    return b"VPMN" + struct.pack("<II", version, pid) + name.ljust(64, b"\0") + b"\x5a" * body


def flatbuffers_payload(body: int = 512) -> bytes:
    return struct.pack("<I", 28) + b"RKNN" + b"\x01" * body


def v1_normal() -> bytes:
    return rknn_bytes(1, V1_NORMAL_META, payload=os.urandom(1000))


def v1_precompiled_offline() -> bytes:
    meta = {"version": "1.7.5b1", "target_platform": ["RV1126"], "ovxlib_version": "1.1.26", "pre_compile": 1, "pre_compile_version": 1,
            "ori_network_platform": "caffe", "nodes": [{"op": "VSI_NN_OP_NBG", "name": "nbg"}]}
    return rknn_bytes(1, meta, payload=nbg_payload(0x1000E, 0xB5))


def v1_precompiled_online() -> bytes:
    # board-exported: the flag says 0 but the node and data are NBG (toolkit1.md §5.4 caution)
    meta = {"version": "1.6.0", "target_platform": ["RK1808"], "ovxlib_version": "1.1.24", "pre_compile": 0,
            "nodes": [{"op": "VSI_NN_OP_NBG", "name": "nbg"}]}
    return rknn_bytes(1, meta, payload=nbg_payload(0x1000B, 0x82))


def v1_custom_op() -> bytes:
    meta = {"version": "1.3.0", "ovxlib_version": "1.1.12", "pre_compile": 0, "nodes": [{"op": "ResizeArea", "name": "resize"}]}
    ops = json.dumps([{"op_type": "ResizeArea", "op_lib_x86_offset": 0, "op_lib_aarch64_offset": 10}]).encode()
    return rknn_bytes(2, meta, payload=b"", trailer=struct.pack("<Q", len(ops)) + ops + b"\x7fELF" + b"\0" * 60)


def v2_meta(version: str, target: str) -> dict:
    return {"version": version, "target_platform": [target], "name": "rknn model", "network_platform": "ONNX", "ori_network_platform": "ONNX",
            "const_tensor": [], "virtual_tensor": [], "graph": [], "node_num": 1, "nodes": [{"op": "Conv"}], "norm_tensor": []}


def v2_format1() -> bytes:
    return rknn_bytes(1, v2_meta("1.1.0", "rk3566"), payload=flatbuffers_payload())


def v2_format2() -> bytes:
    return rknn_bytes(2, v2_meta("1.4.1-source_code", "rk3588"), payload=flatbuffers_payload(), header=64)


def v2_format6(version: str = "2.3.2", target: str = "rk3588") -> bytes:
    return rknn_bytes(6, v2_meta(version, target), payload=flatbuffers_payload(), header=64)


def encrypted() -> bytes:
    return b"CYPTRKNN" + os.urandom(200)


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- good files


def test_v1_normal(tmp_path):
    info = read_model_info(write(tmp_path, "m.rknn", v1_normal()))
    assert info.line == "rknn-toolkit"
    assert (info.format, info.header_size, info.data_size) == (1, 24, 1000)
    assert info.toolkit_version_raw == "1.7.5" and info.toolkit_version == "1.7.5"
    assert info.target_platforms == ["rk1808"]
    assert info.pre_compiled is False
    assert info.ori_network_platform == "tensorflow"
    assert not info.encrypted and info.npu_pid is None
    assert "ovxlib_version" in info.evidence["line"]


def test_v1_offline_precompiled(tmp_path):
    info = read_model_info(write(tmp_path, "m.rknn", v1_precompiled_offline()))
    assert info.line == "rknn-toolkit" and info.pre_compiled is True
    assert info.pre_compile_flag == 1
    assert info.nbg_version == 0x1000E and info.npu_pid == 0xB5 and info.npu_family == "PUMA"
    assert info.toolkit_version == "1.7.5b1"
    assert info.target_platforms == ["rv1126"]


def test_v1_online_precompiled_is_detected_despite_flag_zero(tmp_path):
    info = read_model_info(write(tmp_path, "m.rknn", v1_precompiled_online()))
    assert info.pre_compile_flag == 0
    assert info.pre_compiled is True
    assert "VSI_NN_OP_NBG" in info.evidence["pre_compiled"] and "VPMN" in info.evidence["pre_compiled"]
    assert info.npu_family == "LION"


def test_v1_custom_op_format2_has_24_byte_header(tmp_path):
    info = read_model_info(write(tmp_path, "m.rknn", v1_custom_op()))
    assert (info.format, info.header_size, info.data_size) == (2, 24, 0)
    assert info.line == "rknn-toolkit"
    assert info.custom_ops == ["ResizeArea"]
    assert info.target_platforms == []


def test_v2_format1_24_byte_header(tmp_path):
    info = read_model_info(write(tmp_path, "m.rknn", v2_format1()))
    assert (info.line, info.format, info.header_size) == ("rknn-toolkit2", 1, 24)
    assert info.payload_kind == "flatbuffers"
    assert info.target_platforms == ["rk3566"]
    assert info.pre_compiled is None


def test_v2_format2_64_byte_header_and_source_code_version(tmp_path):
    info = read_model_info(write(tmp_path, "m.rknn", v2_format2()))
    assert (info.line, info.format, info.header_size) == ("rknn-toolkit2", 2, 64)
    assert info.toolkit_version_raw == "1.4.1-source_code" and info.toolkit_version == "1.4.1"


def test_v2_format6(tmp_path):
    info = read_model_info(write(tmp_path, "m.rknn", v2_format6("1.6.0+81f21f4d")))
    assert (info.line, info.format, info.header_size) == ("rknn-toolkit2", 6, 64)
    assert info.toolkit_version == "1.6.0+81f21f4d"
    assert info.evidence["header_size"].startswith("JSON metadata found at offset 64")


def test_encrypted(tmp_path):
    info = read_model_info(write(tmp_path, "m.rknn", encrypted()))
    assert info.encrypted and info.format is None and info.line == "unknown"


def test_data_section_is_not_read_whole(tmp_path, monkeypatch):
    """A 20 MB data section: the reader reads only the header, a peek and the JSON."""
    path = tmp_path / "big.rknn"
    meta = json.dumps(V1_NORMAL_META).encode()
    data_size = 20 * 1024 * 1024
    with open(path, "wb") as fh:
        fh.write(b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, data_size))
        fh.seek(24 + data_size)
        fh.write(struct.pack("<Q", len(meta)) + meta)
    import builtins

    real_open = builtins.open
    reads = []

    def counting_open(*a, **kw):
        handle = real_open(*a, **kw)
        if str(a[0]) == str(path):
            orig = handle.read

            def read(n=-1):
                data = orig(n)
                reads.append(len(data))
                return data

            handle.read = read
        return handle

    monkeypatch.setattr(builtins, "open", counting_open)
    info = read_model_info(path)
    assert info.data_size == data_size
    assert sum(reads) < 64 * 1024, reads


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty (0 bytes)"),
        (b"RKNN\0\0\0\0\x01", "truncated"),
        (b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, 10**12) + b"x" * 40, "data section is 1000000000000 bytes"),
        (b"PK\x03\x04" + b"\0" * 60, "ZIP archive"),
        (b"\x1c\0\0\0TFL3" + b"\0" * 60, "TensorFlow Lite"),
        (b"\x08\x07\x12\x07pytorch\x1a\x032.1" + b"\0" * 40, "ONNX"),
        (bytes(range(256)) * 4, "not an RKNN model"),
    ],
    ids=["zero-byte", "truncated-header", "huge-data-size", "pt-zip", "tflite", "onnx", "random"],
)
def test_bad_files(tmp_path, data, words):
    with pytest.raises(ModelFileError) as err:
        read_model_info(write(tmp_path, "bad.rknn", data))
    assert words in str(err.value)
    assert "bad.rknn" in str(err.value)


def test_json_size_beyond_limit_is_refused_without_allocating(tmp_path):
    data = b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, 0) + struct.pack("<Q", MAX_JSON_BYTES + 1) + b"{}"
    with pytest.raises(ModelFileError) as err:
        read_model_info(write(tmp_path, "m.rknn", data))
    assert f"exceeds the {MAX_JSON_BYTES >> 20} MiB limit" in str(err.value)


def test_json_size_beyond_file_is_refused(tmp_path):
    data = b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, 0) + struct.pack("<Q", 5000) + b'{"version": "1.7.5"}'
    with pytest.raises(ModelFileError) as err:
        read_model_info(write(tmp_path, "m.rknn", data))
    assert "runs past the end" in str(err.value)


def test_truncated_json(tmp_path):
    whole = v1_normal()
    with pytest.raises(ModelFileError):
        read_model_info(write(tmp_path, "m.rknn", whole[:-10]))


def test_directory_missing_and_unreadable(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory"):
        read_model_info(tmp_path)
    with pytest.raises(ModelFileError, match="does not exist"):
        read_model_info(tmp_path / "nope.rknn")
    plain = write(tmp_path, "plain.rknn", v1_normal())
    with pytest.raises(ModelFileError, match="cannot read model file"):
        read_model_info(plain / "inner.rknn")  # a path through a file: ENOTDIR from stat


@pytest.mark.parametrize("raw", ["1.7.5", "v1.3.2", "1.7.5b1", "2.0.0b0", "1.6.0+81f21f4d", "1.4.0-22dcfef4", "0.9.9", "2.3.2", "1.5.2+b642f30c"])
def test_fast_version_normalisation_agrees_with_versions_module(raw):
    from rknn_envcheck.model.header import normalize_toolkit_version
    from rknn_envcheck.versions import normalize

    assert normalize_toolkit_version(raw) == normalize(raw)


