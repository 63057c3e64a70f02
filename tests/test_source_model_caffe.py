"""Caffe .prototxt + .caffemodel: files written by the real protobuf library from NetParameter
descriptors built here with the field numbers of BVLC caffe.proto (828dd10) — the text with
text_format, the binary with SerializeToString — and judged against releases of both lines."""
from __future__ import annotations

import json

import platform

import pytest

from core_helpers import run_cli
from rknn_envcheck.model.header import ModelFileError
from rknn_envcheck.model.source import read_source_model

pytest.importorskip("google.protobuf")
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format  # noqa: E402

_F = descriptor_pb2.FieldDescriptorProto
V1_TYPES = {"NONE": 0, "CONVOLUTION": 4, "DATA": 5, "INNER_PRODUCT": 14, "POOLING": 17, "RELU": 18, "SOFTMAX": 20}


def _message(file, name, fields):
    message = file.message_type.add(name=name)
    for field_name, number, kind, label, type_name in fields:
        entry = message.field.add(name=field_name, number=number, type=kind, label=label)
        if type_name:
            entry.type_name = type_name
        if field_name == "dim" and name == "BlobShape":
            entry.options.packed = True
    return message


def _classes():
    file = descriptor_pb2.FileDescriptorProto(name="caffe_test.proto", package="caffe", syntax="proto2")
    opt, rep = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    _message(file, "BlobShape", [("dim", 1, _F.TYPE_INT64, rep, "")])
    _message(file, "BlobProto", [("data", 5, _F.TYPE_FLOAT, rep, ""), ("shape", 7, _F.TYPE_MESSAGE, opt, ".caffe.BlobShape")])
    _message(file, "InputParameter", [("shape", 1, _F.TYPE_MESSAGE, rep, ".caffe.BlobShape")])
    pooling = _message(file, "PoolingParameter", [("kernel_size", 2, _F.TYPE_UINT32, opt, ""),
                                                  ("round_mode", 13, _F.TYPE_ENUM, opt, ".caffe.PoolingParameter.RoundMode")])
    pooling.enum_type.add(name="RoundMode").value.extend([descriptor_pb2.EnumValueDescriptorProto(name="CEIL", number=0),
                                                          descriptor_pb2.EnumValueDescriptorProto(name="FLOOR", number=1)])
    _message(file, "LayerParameter", [("name", 1, _F.TYPE_STRING, opt, ""), ("type", 2, _F.TYPE_STRING, opt, ""),
                                      ("bottom", 3, _F.TYPE_STRING, rep, ""), ("top", 4, _F.TYPE_STRING, rep, ""),
                                      ("blobs", 7, _F.TYPE_MESSAGE, rep, ".caffe.BlobProto"),
                                      ("pooling_param", 121, _F.TYPE_MESSAGE, opt, ".caffe.PoolingParameter"),
                                      ("input_param", 143, _F.TYPE_MESSAGE, opt, ".caffe.InputParameter")])
    v1 = _message(file, "V1LayerParameter", [("bottom", 2, _F.TYPE_STRING, rep, ""), ("top", 3, _F.TYPE_STRING, rep, ""),
                                             ("name", 4, _F.TYPE_STRING, opt, ""),
                                             ("type", 5, _F.TYPE_ENUM, opt, ".caffe.V1LayerParameter.LayerType"),
                                             ("blobs", 6, _F.TYPE_MESSAGE, rep, ".caffe.BlobProto")])
    v1.enum_type.add(name="LayerType").value.extend(descriptor_pb2.EnumValueDescriptorProto(name=n, number=v) for n, v in V1_TYPES.items())
    _message(file, "NetParameter", [("name", 1, _F.TYPE_STRING, opt, ""), ("layers", 2, _F.TYPE_MESSAGE, rep, ".caffe.V1LayerParameter"),
                                    ("input", 3, _F.TYPE_STRING, rep, ""), ("input_dim", 4, _F.TYPE_INT32, rep, ""),
                                    ("input_shape", 8, _F.TYPE_MESSAGE, rep, ".caffe.BlobShape"),
                                    ("layer", 100, _F.TYPE_MESSAGE, rep, ".caffe.LayerParameter")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"caffe.{name}")) for name in ("NetParameter",)}


NetParameter = _classes()["NetParameter"]


def make_net(types=("Convolution", "ReLU", "Pooling", "Softmax"), v1=False, old_input=False, round_mode=False, names=None,
             weights=False, name="testnet"):
    net = NetParameter(name=name)
    if old_input:
        net.input.append("data")
        net.input_dim.extend([1, 3, 224, 224])
    elif not v1:
        layer = net.layer.add(name="data", type="Input", top=["data"])
        layer.input_param.shape.add().dim.extend([1, 3, 224, 224])
    bottom = "data"
    for index, kind in enumerate(types):
        layer_name = (names or {}).get(index, f"l{index}")
        if v1:
            layer = net.layers.add(name=layer_name, type=V1_TYPES[kind], bottom=[bottom], top=[layer_name])
        else:
            layer = net.layer.add(name=layer_name, type=kind, bottom=[bottom], top=[layer_name])
            if kind == "Pooling" and round_mode:
                layer.pooling_param.round_mode = 0
        if weights and kind in ("Convolution", "CONVOLUTION"):
            blob = layer.blobs.add()
            blob.shape.dim.extend([8, 3, 3, 3])
            blob.data.extend([0.5] * 216)
        bottom = layer_name
    return net


def write_pair(tmp_path, stem="net", **kwargs):
    net = make_net(**kwargs)
    prototxt = tmp_path / f"{stem}.prototxt"
    prototxt.write_text(text_format.MessageToString(net))
    caffemodel = tmp_path / f"{stem}.caffemodel"
    caffemodel.write_bytes(make_net(weights=True, **kwargs).SerializeToString())
    return prototxt, caffemodel


def judge(capsys, toolkit, *paths):
    code, out, err = run_cli(capsys, "model", *map(str, paths), "--toolkit", toolkit, "--json")
    assert code in (0, 1, 3), err
    report = json.loads(out)
    subjects = {}
    for check in report["checks"]:
        subjects.setdefault(check["subject"], {})[check["id"]] = check
    return code, subjects


def test_both_files_read_by_content(tmp_path):
    prototxt, caffemodel = write_pair(tmp_path, types=("Convolution", "ReLU"))
    text = read_source_model(prototxt)
    binary = read_source_model(caffemodel)
    for model, role in ((text, "structure"), (binary, "weights")):
        assert (model.format, model.role, model.renamed) == ("caffe", role, "")
        assert model.operators == {"Input": 1, "Convolution": 1, "ReLU": 1} and model.node_count == 3
        assert model.inputs == [{"name": "data", "shape": [1, 3, 224, 224]}]
        assert model.legacy_layers == [] and model.legacy_input == []


def test_v1_layers_and_old_input_are_read_from_both(tmp_path):
    prototxt, caffemodel = write_pair(tmp_path, types=("Convolution", "ReLU"), old_input=True)
    assert read_source_model(prototxt).legacy_input == ["input", "input_dim"]
    assert read_source_model(caffemodel).inputs == [{"name": "data", "shape": [1, 3, 224, 224]}]
    old = make_net(types=("CONVOLUTION", "RELU", "SOFTMAX"), v1=True, old_input=True)
    (tmp_path / "old.prototxt").write_text(text_format.MessageToString(old))
    (tmp_path / "old.caffemodel").write_bytes(old.SerializeToString())
    for name in ("old.prototxt", "old.caffemodel"):
        model = read_source_model(tmp_path / name)
        assert model.operators == {"CONVOLUTION": 1, "RELU": 1, "SOFTMAX": 1}
        assert model.legacy_layers and model.legacy_layers[0].startswith("V1")


@pytest.mark.parametrize("toolkit, status", [("rknn-toolkit==1.6.0", "ok"), ("rknn-toolkit==1.7.3", "ok"), ("rknn-toolkit==1.7.5", "ok"),
                                             ("rknn-toolkit2==1.6.0", "ok"), ("rknn-toolkit2==2.1.0", "ok"), ("rknn-toolkit2==2.3.2", "ok")])
def test_a_pair_that_fits_is_one_model(capsys, tmp_path, toolkit, status):
    prototxt, caffemodel = write_pair(tmp_path, types=("Convolution", "ReLU", "Pooling", "Softmax"))
    code, subjects = judge(capsys, toolkit, prototxt, caffemodel)
    assert list(subjects) == [f"model:{prototxt}"]
    checks = subjects[f"model:{prototxt}"]
    assert checks["source.caffe_loader"]["status"] == "ok" and checks["source.model_files"]["status"] == "ok"
    assert str(caffemodel) in checks["source.model_files"]["observed"]
    assert checks["source.caffe_layer_format"]["status"] == "ok" and checks["source.caffe_input"]["status"] == "ok"
    assert checks["source.caffe_ops"]["status"] == status, checks["source.caffe_ops"]
    # toolkit2 >= 2.3.0 has an ARM64 build without load_caffe: --toolkit alone judges the machine running the tool
    arm64_build = toolkit == "rknn-toolkit2==2.3.2"
    on_arm64 = platform.machine().lower() in ("aarch64", "arm64")
    assert (checks.get("source.host_arch") or {}).get("status") == (("fail" if on_arm64 else "ok") if arm64_build else None)
    assert code == (1 if arm64_build and on_arm64 else 0)


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.1", "rknn-toolkit==1.7.5"])
def test_v1_weights_fail_on_toolkit_v1_even_with_a_current_prototxt(capsys, tmp_path, toolkit):
    """TK#431: a current .prototxt with an old V1 .caffemodel fails in load_blobs."""
    prototxt = tmp_path / "net.prototxt"
    prototxt.write_text(text_format.MessageToString(make_net(types=("Convolution", "ReLU"))))
    caffemodel = tmp_path / "net.caffemodel"
    caffemodel.write_bytes(make_net(types=("CONVOLUTION", "RELU"), v1=True, weights=True).SerializeToString())
    code, subjects = judge(capsys, toolkit, caffemodel, prototxt)
    check = subjects[f"model:{prototxt}"]["source.caffe_layer_format"]
    assert code == 1 and check["status"] == "fail" and str(caffemodel) in check["observed"]
    commands = [c["argv"] for c in check["fix"]["commands"]]
    assert commands[0][:2] == ["./build_release/tools/upgrade_net_proto_text", str(prototxt)]
    assert commands[1][:2] == ["./build_release/tools/upgrade_net_proto_binary", str(caffemodel)]


@pytest.mark.parametrize("toolkit, status", [("rknn-toolkit==1.6.0", "fail"), ("rknn-toolkit==1.7.5", "fail"), ("rknn-toolkit==1.4.0", "fail"),
                                             ("rknn-toolkit2==1.6.0", "warn"), ("rknn-toolkit2==2.3.2", "warn"), ("rknn-toolkit2==2.2.0", "warn")])
def test_v1_net_per_line(capsys, tmp_path, toolkit, status):
    old = make_net(types=("CONVOLUTION", "RELU"), v1=True, old_input=True)
    path = tmp_path / "old.prototxt"
    path.write_text(text_format.MessageToString(old))
    _, subjects = judge(capsys, toolkit, path)
    checks = subjects[f"model:{path}"]
    assert checks["source.caffe_layer_format"]["status"] == status
    assert checks["source.model_files"]["status"] == "unknown" and ".caffemodel" in checks["source.model_files"]["message"]


@pytest.mark.parametrize("toolkit, status", [("rknn-toolkit==1.3.0", "fail"), ("rknn-toolkit==1.7.3", "fail"), ("rknn-toolkit==1.7.5", "fail"),
                                             ("rknn-toolkit2==1.5.2", "ok"), ("rknn-toolkit2==2.0.0b0", "ok"), ("rknn-toolkit2==2.3.2", "ok")])
def test_net_level_input_fields_and_round_mode_per_line(capsys, tmp_path, toolkit, status):
    path = tmp_path / "net.prototxt"
    path.write_text(text_format.MessageToString(make_net(old_input=True, round_mode=True)))
    _, subjects = judge(capsys, toolkit, path)
    checks = subjects[f"model:{path}"]
    assert checks["source.caffe_input"]["status"] == status and checks["source.caffe_round_mode"]["status"] == status
    if status == "fail":
        assert "Deprecated caffe input usage" in checks["source.caffe_input"]["message"]
        assert checks["source.caffe_input"]["source"] == "seed §3.1" and checks["source.caffe_round_mode"]["source"] == "seed §3.2"


def test_unlisted_layer_warns_detection_output_fails_on_v1_and_underscore_names(capsys, tmp_path):
    path = tmp_path / "ssd.prototxt"
    path.write_text(text_format.MessageToString(make_net(types=("Convolution", "PriorBox", "DetectionOutput"), names={0: "_plus0"})))
    _, subjects = judge(capsys, "rknn-toolkit==1.7.5", path)
    checks = subjects[f"model:{path}"]
    assert checks["source.caffe_ops"]["status"] == "fail" and "DetectionOutput" in checks["source.caffe_ops"]["observed"]
    assert checks["source.caffe_layer_names"]["status"] == "fail" and "_plus0" in checks["source.caffe_layer_names"]["observed"]
    _, subjects = judge(capsys, "rknn-toolkit2==2.3.2", path)
    checks = subjects[f"model:{path}"]
    assert checks["source.caffe_ops"]["status"] == "warn" and "PriorBox" in checks["source.caffe_ops"]["observed"]
    assert "source.caffe_layer_names" not in checks


def test_toolkit_without_a_framework_row_is_unknown(capsys, tmp_path):
    prototxt, caffemodel = write_pair(tmp_path)
    _, subjects = judge(capsys, "rknn-toolkit2==2.5.0", prototxt, caffemodel)
    assert subjects[f"model:{prototxt}"]["source.caffe_loader"]["status"] == "unknown"


def test_lone_caffemodel_names_the_missing_prototxt(capsys, tmp_path):
    _, caffemodel = write_pair(tmp_path)
    _, subjects = judge(capsys, "rknn-toolkit2==2.3.2", caffemodel)
    check = subjects[f"model:{caffemodel}"]["source.model_files"]
    assert check["status"] == "unknown" and ".prototxt" in check["message"]
    assert any("load_caffe" in c["argv"][0] for c in check["fix"]["commands"] if c["shell"] == "python")


def test_caffemodel_and_onnx_are_not_confused(tmp_path):
    onnx_test = pytest.importorskip("test_source_model_onnx")
    _, caffemodel = write_pair(tmp_path)
    renamed = tmp_path / "net.onnx"
    renamed.write_bytes(caffemodel.read_bytes())
    model = read_source_model(renamed)
    assert model.format == "caffe" and "named .onnx but its content is caffe" in model.renamed
    onnx_file = onnx_test.make_onnx(tmp_path / "real.caffemodel")
    model = read_source_model(onnx_file)
    assert model.format == "onnx" and "named .caffemodel" in model.renamed


def test_renamed_prototxt_is_said(tmp_path):
    prototxt, _ = write_pair(tmp_path)
    renamed = tmp_path / "net.txt"
    renamed.write_text(prototxt.read_text())
    assert "named .txt but its content is caffe" in read_source_model(renamed).renamed


@pytest.mark.parametrize("body, words", [
    ("name: 'x'\n" + "layer { a { " * 40 + "} " * 40 + "}", "nested deeper than 32"),
    ("name: 'x'\nlayer { name: 'a' type: 'ReLU' ", "unclosed"),
    ("name: 'x'\nlayer { name: 'a' type: }", "has no value"),
    ("name: 'x'\nlayer { name: 'a' @ }", "unexpected character"),
    ("layer {" * 200_000, "nested deeper"),
])
def test_hostile_prototxt_exit_2_one_line(capsys, tmp_path, body, words):
    path = tmp_path / "bad.prototxt"
    path.write_text(body)
    code, out, err = run_cli(capsys, "model", str(path), "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 2 and words in err and err.count("\n") == 1 and "Caffe .prototxt" in err, err


def test_hostile_caffemodel_exit_2_one_line(capsys, tmp_path):
    _, caffemodel = write_pair(tmp_path)
    data = caffemodel.read_bytes()
    for cut in range(12, len(data), 97):
        path = tmp_path / "cut.caffemodel"
        path.write_bytes(data[:cut])
        try:
            read_source_model(path)
        except ModelFileError as exc:
            assert "\n" not in str(exc)
    path = tmp_path / "long.caffemodel"
    path.write_bytes(b"\x0a\x03net" + b"\xa2\x06\xff\xff\xff\x0f" + b"\x0a\x01a")  # a layer of 4 GiB in 3 bytes
    code, _, err = run_cli(capsys, "model", str(path), "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 2 and "runs past the end" in err and err.count("\n") == 1
