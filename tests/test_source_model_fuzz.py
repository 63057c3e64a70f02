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


# --- TFLite (FlatBuffers) and TensorFlow GraphDef / SavedModel readers ---
def _tflite_bytes() -> bytes:
    from tflite_build import build_tflite

    return build_tflite(ops=("CONV_2D", "GELU"), custom=("Nms",), inputs=(("x", [1, 8, 8, 3], [-1, 8, 8, 3]),), weights_bytes=256)


def _tf_bytes(kind: str) -> bytes:
    from tf_protos import conv_graph, saved_model

    # "streamed": a Const node above tf_reader.SMALL_NODE, so the streaming NodeDef path is fuzzed too
    graph = conv_graph(explicit_paddings=True, input_dims=(-1, 8, 8, 3), weights_bytes=70_000 if kind == "streamed" else 256)
    return (saved_model(graph, function_ops=("Relu6",)) if kind == "saved" else graph).SerializeToString()


@FUZZ
@given(data=st.data())
def test_tflite_mutated_and_truncated(tmp_path, data):
    raw = bytearray(_tflite_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw[4:8] = b"TFL3"  # keep it recognised, so the FlatBuffers walk itself is fuzzed
    _judge(tmp_path, bytes(raw[:data.draw(st.integers(8, len(raw)))]), "m.tflite")


@FUZZ
@given(tail=st.binary(max_size=300))
def test_tflite_identifier_with_random_tables(tmp_path, tail):
    _judge(tmp_path, tail[:4].ljust(4, b"\0") + b"TFL3" + tail[4:], "m.tflite")


@FUZZ
@given(data=st.data())
def test_tensorflow_graphs_mutated_and_truncated(tmp_path, data):
    raw = bytearray(_tf_bytes(data.draw(st.sampled_from(["graph", "saved", "streamed"]))))
    for _ in range(data.draw(st.integers(1, 6))):
        raw[data.draw(st.integers(3, len(raw) - 1))] = data.draw(st.integers(0, 255))
    _judge(tmp_path, bytes(raw[:data.draw(st.integers(6, len(raw)))]), "m.pb")


def test_tensorflow_and_tflite_samples_are_models(tmp_path):
    assert _judge(tmp_path, _tflite_bytes(), "m.tflite").operators == {"CONV_2D": 1, "GELU": 1}
    assert _judge(tmp_path, _tf_bytes("graph"), "g.pb").tf_kind == "graphdef"
    assert _judge(tmp_path, _tf_bytes("saved"), "s.pb").tf_kind == "savedmodel"


# --- Keras config.json / HDF5 attributes (model/keras_reader.py) and torch .data/version archives ---
_JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6),
                     lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.sampled_from(["layers", "class_name", "config", "x"]), kids, max_size=4),
                     max_leaves=40)


@FUZZ
@given(config=_JSON)
def test_keras_config_of_any_shape(tmp_path, config):
    import json
    import zipfile

    path = tmp_path / "k.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        archive.writestr("config.json", json.dumps(config))
    result = _judge(tmp_path, path.read_bytes(), "m.keras")
    assert isinstance(result, SourceModel) and all(isinstance(k, str) for k in result.keras_layers)


@FUZZ
@given(data=st.data())
def test_keras_h5_mutated_and_truncated(tmp_path, data):
    import pytest

    pytest.importorskip("h5py")
    from test_source_model_keras import keras_h5

    raw = bytearray(keras_h5(tmp_path / "base.h5").read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        raw[data.draw(st.integers(8, len(raw) - 1))] = data.draw(st.integers(0, 255))
    _judge(tmp_path, bytes(raw[:data.draw(st.integers(9, len(raw)))]), "m.h5")


@FUZZ
@given(version=st.binary(max_size=12), member=st.sampled_from(["version", ".data/version"]))
def test_torch_version_record_of_any_bytes(tmp_path, version, member):
    from test_source_model_torch import archive

    result = _judge(tmp_path, archive(tmp_path / "a.pt", version, member).read_bytes(), "m.pt")
    assert isinstance(result, ModelFileError) or result.archive_version is not None and result.archive_version >= 0


# ---- the two-file formats: Caffe, Darknet, MXNet (model/caffe_reader.py, darknet_reader.py, mxnet_reader.py)

def _two_file_samples(tmp_path) -> dict:
    from test_source_model_caffe import write_pair
    from test_source_model_darknet import YOLO_TINY, write_weights
    from test_source_model_mxnet import params, symbol

    prototxt, caffemodel = write_pair(tmp_path, stem="fuzz")
    return {"net.prototxt": prototxt.read_bytes(), "net.caffemodel": caffemodel.read_bytes(), "net.cfg": YOLO_TINY.encode(),
            "net.weights": write_weights(tmp_path / "w.weights", floats=16).read_bytes(), "net-symbol.json": symbol().encode(),
            "net-0000.params": params()}


def test_the_two_file_samples_are_models(tmp_path):
    for name, data in _two_file_samples(tmp_path).items():
        model = _judge(tmp_path, data, name)
        assert isinstance(model, SourceModel) and model.role and not model.renamed, name


@FUZZ
@given(data=st.data())
def test_two_file_formats_mutated_and_truncated(tmp_path, data):
    _judge(tmp_path, *_mutated(data, _two_file_samples(tmp_path), changes=6, first=0))


def _mutated(data, samples: dict, changes: int, first: int) -> tuple[bytes, str]:
    """One sample with up to `changes` bytes from offset `first` on replaced, then cut at a drawn length."""
    name = data.draw(st.sampled_from(sorted(samples)))
    raw = bytearray(samples[name])
    for _ in range(data.draw(st.integers(0, changes))):
        raw[data.draw(st.integers(first, len(raw) - 1))] = data.draw(st.integers(0, 255))
    return bytes(raw[:data.draw(st.integers(1, len(raw)))]), name


@FUZZ
@given(tail=st.binary(max_size=300), prefix=st.sampled_from([b"\x0a\x03net\xa2\x06", b"\x0a\x03net\x12", b"\x12\x01\x00\x00\x00\x00\x00\x00"
                                                             b"\x00\x00\x00\x00\x00\x00\x00\x00", b"\x00\x00\x00\x00\x02\x00\x00\x00"]))
def test_two_file_binary_prefixes_with_random_tails(tmp_path, prefix, tail):
    _judge(tmp_path, prefix + tail, "m.bin")


@FUZZ
@given(text=st.text(alphabet="{}<>[]:;,#'\"\\ \n_ablyertinpu0123456789.-", max_size=400))
def test_prototxt_shaped_text(tmp_path, text):
    _judge(tmp_path, ("name: 'fuzz'\nlayer {" + text).encode(), "m.prototxt")


# ---- PyTorch legacy torch.save files (model/torch_legacy_reader.py): the pickle stream and the torch <= 0.1.10 tar

def _torch_legacy_samples(tmp_path) -> dict:
    from pathlib import Path

    from test_source_torch_legacy import legacy_tar

    data = Path(__file__).resolve().parent / "data" / "torch_legacy"
    return {"state_dict.pth": (data / "state_dict.pth").read_bytes(), "module.pth": (data / "module.pth").read_bytes(),
            "old.pth": legacy_tar(tmp_path / "old.pth").read_bytes()}


def test_the_torch_legacy_samples_are_models(tmp_path):
    for name, data in _torch_legacy_samples(tmp_path).items():
        model = _judge(tmp_path, data, name)
        assert isinstance(model, SourceModel) and model.torch_legacy and model.pickle_kind, name


@FUZZ
@given(data=st.data())
def test_torch_legacy_mutated_and_truncated(tmp_path, data):
    _judge(tmp_path, *_mutated(data, _torch_legacy_samples(tmp_path), changes=8, first=16))  # past the magic: still recognised


# argument-free opcodes (NONE MARK EMPTY_LIST EMPTY_DICT EMPTY_TUPLE TUPLE DICT LIST APPEND APPENDS SETITEM SETITEMS
# REDUCE BUILD NEWOBJ BINPERSID TUPLE1-3 MEMOIZE POP DUP POP_MARK STACK_GLOBAL NEWTRUE) plus short BINGET/BINPUT
_OPCODES = [bytes([c]) for c in b"N(]})tdlaeusRb\x81Q\x85\x86\x87\x94012\x93\x88"] + [b"h\x00", b"h\x01", b"q\x00", b"q\x01",
                                                                                      b"\x8c\x07storage", b"\x8c\x06module", b"K\x03"]


@FUZZ
@given(tail=st.binary(max_size=400) | st.lists(st.sampled_from(_OPCODES), max_size=120).map(b"".join), protocol=st.sampled_from([2, 4]))
def test_torch_legacy_magic_with_random_pickles(tmp_path, tail, protocol):
    import pickle

    head = b"".join(pickle.dumps(v, protocol=protocol) for v in (0x1950A86A20F9469CFC6C, 1001, {}))
    _judge(tmp_path, head + b"\x80\x02" + tail + b"." + pickle.dumps([], protocol=2), "m.pth")
