"""Fuzz the .rknn reader: any bytes give a ModelInfo or a ModelFileError, in bounded time and memory."""
from __future__ import annotations

import json
import struct
import time
import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rknn_envcheck.model.header import ModelFileError, ModelInfo, read_model_info
from test_model_header import (
    encrypted,
    v1_custom_op,
    v1_normal,
    v1_precompiled_offline,
    v1_precompiled_online,
    v2_format1,
    v2_format2,
    v2_format6,
)

CUSTOM_OP = v1_custom_op()
SAMPLES = [v1_normal(), v1_precompiled_offline(), v1_precompiled_online(), CUSTOM_OP, v2_format1(), v2_format2(), v2_format6(), encrypted()]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
U64 = st.one_of(st.integers(0, 2**64 - 1), st.integers(0, 4096), st.sampled_from([0, 1, 2, 6, 2**63, 2**64 - 1, 64 * 1024 * 1024]))


def _judge(tmp_path, data: bytes):
    path = tmp_path / "fuzz.rknn"
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        result = read_model_info(path)
    except ModelFileError as exc:
        assert str(exc)
        result = exc
    assert time.perf_counter() - start < 1.0
    if isinstance(result, ModelInfo):
        assert result.size == len(data)
        assert result.line in ("rknn-toolkit", "rknn-toolkit2", "unknown")
        json.dumps(result.to_dict())  # every field is plain data
    return result


@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(tmp_path, data):
    _judge(tmp_path, data)


@FUZZ
@given(data=st.binary(max_size=512))
def test_random_bytes_after_magic(tmp_path, data):
    _judge(tmp_path, b"RKNN" + data)


@FUZZ
@given(sample=st.sampled_from(SAMPLES), cut=st.floats(0, 1))
def test_random_truncations(tmp_path, sample, cut):
    data = sample[: int(len(sample) * cut)]
    result = _judge(tmp_path, data)
    if len(data) < len(sample) and not data.startswith(b"CYPTRKNN"):
        # every cut inside the header, the metadata JSON or the custom-op list is an error; only
        # the opaque custom-op libraries (last 64 bytes) and a cut right after the metadata of a
        # format-2 model (no custom-op section at all) may still read
        metadata_end = 24 + 8 + struct.unpack_from("<Q", sample, 24)[0] if sample == CUSTOM_OP else -1
        assert isinstance(result, ModelFileError) or len(data) >= len(sample) - 64 or len(data) == metadata_end, data


@FUZZ
@given(fmt=U64, data_size=U64, json_size=U64, long_header=st.booleans(), body=st.binary(max_size=256))
def test_random_huge_sizes(tmp_path, fmt, data_size, json_size, long_header, body):
    data = b"RKNN\0\0\0\0" + struct.pack("<QQ", fmt, data_size) + (b"\0" * 40 if long_header else b"") + struct.pack("<Q", json_size) + body
    _judge(tmp_path, data)


@FUZZ
@given(sample=st.sampled_from(SAMPLES[:7]), flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8))
def test_random_mutations(tmp_path, sample, flips):
    data = bytearray(sample)
    for pos, value in flips:
        data[pos % len(data)] = value
    _judge(tmp_path, bytes(data))


def test_memory_stays_bounded_on_hostile_sizes(tmp_path):
    """Headers claiming gigantic sections must not make the reader allocate them."""
    cases = [
        b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, 2**64 - 1),
        b"RKNN\0\0\0\0" + struct.pack("<QQ", 6, 0) + b"\0" * 40 + struct.pack("<Q", 2**63) + b"{",
        b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, 0) + struct.pack("<Q", 60 * 1024 * 1024) + b"{" + b" " * 100,
        b"RKNN\0\0\0\0" + struct.pack("<QQ", 2, 0) + struct.pack("<Q", 2) + b"{}" + struct.pack("<Q", 2**62) + b"[",
        b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, 0) + struct.pack("<Q", 20000) + b"{" + b"[" * 19999,  # deep nesting
    ]
    tracemalloc.start()
    try:
        for data in cases:
            _judge(tmp_path, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak
