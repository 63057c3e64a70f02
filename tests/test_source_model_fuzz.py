"""Fuzz the source-model readers: any bytes give a SourceModel, None (not a source model) or a
ModelFileError, in bounded time and memory (examples kept modest: the suite runs on 2 loaded cores)."""
from __future__ import annotations

import time
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rknn_envcheck.model.header import ModelFileError
from rknn_envcheck.model.source import SourceModel, read_source_model
from test_source_model_zip import keras_zip, torch_archive

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _ld(field: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (lengths here are < 128 bytes or encoded as varints)."""
    length, out = len(payload), b""
    while True:
        out += bytes([(length & 0x7F) | (0x80 if length > 0x7F else 0)])
        length >>= 7
        if not length:
            return bytes([field << 3 | 2]) + out + payload


def _onnx_bytes() -> bytes:
    node = _ld(1, b"x") + _ld(1, b"w") + _ld(2, b"y") + _ld(4, b"Conv")
    tensor = b"\x08\x03\x10\x01" + _ld(8, b"w") + _ld(9, b"\0" * 64)
    dims = b"".join(_ld(1, b"\x08" + bytes([d])) for d in (1, 3, 8))
    graph = _ld(1, node) + _ld(5, tensor) + _ld(11, _ld(1, b"x") + _ld(2, _ld(1, b"\x08\x01" + _ld(2, dims))))
    return b"\x08\x08" + _ld(2, b"fuzz") + _ld(7, graph) + _ld(8, b"\x10\x0d")


def _judge(tmp_path, data: bytes, name: str):
    path = tmp_path / name
    path.write_bytes(data)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = read_source_model(path)
    except ModelFileError as exc:
        assert str(exc) and "\n" not in str(exc)
        result = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 32 * 1024 * 1024
    assert result is None or isinstance(result, (SourceModel, ModelFileError))
    return result


def test_the_sample_is_a_model(tmp_path):
    model = _judge(tmp_path, _onnx_bytes(), "m.onnx")
    assert model.operators == {"Conv": 1} and model.inputs == [{"name": "x", "shape": [1, 3, 8]}]


@FUZZ
@given(cut=st.integers(1, len(_onnx_bytes()) - 1))
def test_onnx_truncated_anywhere(tmp_path, cut):
    _judge(tmp_path, _onnx_bytes()[:cut], "m.onnx")


@FUZZ
@given(data=st.data())
def test_onnx_byte_mutations(tmp_path, data):
    raw = bytearray(_onnx_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(2, len(raw) - 1))] = data.draw(st.integers(0, 255))
    _judge(tmp_path, bytes(raw), "m.onnx")


@FUZZ
@given(tail=st.binary(max_size=200))
def test_onnx_prefix_with_random_tail(tmp_path, tail):
    _judge(tmp_path, b"\x08\x07\x3a" + tail, "m.onnx")


@FUZZ
@given(data=st.data())
def test_zip_archives_mutated(tmp_path, data):
    sample = data.draw(st.sampled_from(["pt", "ts", "keras"]))
    path = tmp_path / "sample.zip"
    if sample == "keras":
        keras_zip(path)
    else:
        torch_archive(path, torchscript=sample == "ts")
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(4, len(raw)))
    _judge(tmp_path, bytes(raw[:cut]), "m.pt")
