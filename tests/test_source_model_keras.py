"""Keras models: `.keras` zips written per the Keras v3 layout (metadata.json + config.json), `.h5`
files written with the real h5py (the `h5` extra); judged against releases of both lines: toolkit2
has no load_keras (fail, export-to-ONNX fix), toolkit v1 >= 1.6.0 loads .h5 (UG-1.7.5 §7.3.3)."""
from __future__ import annotations

import json
import sys
import zipfile

import pytest

from core_helpers import run_cli
from rknn_envcheck.model.source import read_source_model

LAYERS = ["InputLayer", "Conv2D", "BatchNormalization", "ReLU", "GlobalAveragePooling2D", "Dense"]


def config(layers=LAYERS, nested=None):
    entries = [{"module": "keras.layers", "class_name": name, "config": {"name": f"l{i}"}} for i, name in enumerate(layers)]
    if nested:
        entries.append({"class_name": "Functional", "config": {"layers": [{"class_name": n, "config": {}} for n in nested]}})
    return {"module": "keras", "class_name": "Functional", "config": {"name": "m", "layers": entries}}


def keras_zip(path, version="3.4.1", model_config=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("metadata.json", json.dumps({"keras_version": version, "date_saved": "2024-01-01@00:00:00"}))
        out.writestr("config.json", model_config if isinstance(model_config, str) else json.dumps(model_config or config()))
        out.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    return path


def keras_h5(path, version="2.2.4-tf", model_config=None, weights_only=False):
    h5py = pytest.importorskip("h5py")
    import numpy

    with h5py.File(path, "w") as out:
        out.attrs["keras_version"] = version
        out.attrs["backend"] = "tensorflow"
        if not weights_only:
            out.attrs["model_config"] = model_config if isinstance(model_config, str) else json.dumps(model_config or config())
        out.create_dataset("model_weights/dense/kernel", data=numpy.zeros((4, 4), dtype="float32"))
    return path


def judge(capsys, path, toolkit):
    code, out, err = run_cli(capsys, "model", str(path), "--toolkit", toolkit, "--json")
    assert code != 2, err
    return code, {c["id"]: c for c in json.loads(out)["checks"]}


def test_keras_zip_layers_and_version_are_read(tmp_path):
    model = read_source_model(keras_zip(tmp_path / "m.keras", model_config=config(nested=["Conv2D", "Lambda"])))
    assert model.keras_version == "3.4.1"
    assert model.keras_layers == {"Conv2D": 2, "BatchNormalization": 1, "ReLU": 1, "GlobalAveragePooling2D": 1, "Dense": 1, "Lambda": 1}


@pytest.mark.parametrize("toolkit", ["rknn-toolkit2==1.5.2", "rknn-toolkit2==2.0.0b0", "rknn-toolkit2==2.3.2"])
def test_toolkit2_fails_both_containers_with_the_onnx_export_commands(capsys, tmp_path, toolkit):
    for path in (keras_zip(tmp_path / "m.keras"), keras_h5(tmp_path / "m.h5")):
        code, checks = judge(capsys, path, toolkit)
        check = checks["source.keras"]
        assert code == 1 and check["status"] == "fail" and "§2.3" in json.dumps(check, ensure_ascii=False)
        commands = json.dumps(check["fix"]["commands"])
        assert "tf2onnx.convert.from_keras" in commands and "load_onnx" in commands


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.1", "rknn-toolkit==1.7.5"])
def test_v1_loads_an_h5_whose_layers_are_listed(capsys, tmp_path, toolkit):
    code, checks = judge(capsys, keras_h5(tmp_path / "m.h5"), toolkit)
    assert code == 0, checks
    assert {k: checks[k]["status"] for k in ("source.keras", "source.keras_version", "source.keras_layers")} == {
        "source.keras": "ok", "source.keras_version": "ok", "source.keras_layers": "ok"}
    assert "RKNN_OP_Support_V" in json.dumps(checks["source.keras_layers"])


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.1", "rknn-toolkit==1.7.5"])
def test_v1_warns_on_layers_outside_the_vendor_list_and_old_keras(capsys, tmp_path, toolkit):
    _, checks = judge(capsys, keras_h5(tmp_path / "m.h5", version="2.0.8", model_config=config(LAYERS + ["Lambda"])), toolkit)
    assert checks["source.keras_layers"]["status"] == "warn" and checks["source.keras_layers"]["observed"] == "Lambda"
    assert checks["source.keras_version"]["status"] == "warn" and ">=2.1.6" in checks["source.keras_version"]["expected"]


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.1", "rknn-toolkit==1.7.5"])
def test_v1_refuses_a_keras_zip(capsys, tmp_path, toolkit):
    code, checks = judge(capsys, keras_zip(tmp_path / "m.keras"), toolkit)
    assert code == 1 and checks["source.keras"]["status"] == "fail" and ".h5" in checks["source.keras"]["expected"]


def test_v1_before_load_keras_fails(capsys, tmp_path):
    _, checks = judge(capsys, keras_h5(tmp_path / "m.h5"), "rknn-toolkit==1.4.0")
    assert checks["source.keras"]["status"] == "fail" and "opset=9" in json.dumps(checks["source.keras"]["fix"])


def test_weights_only_h5_fails(capsys, tmp_path):
    _, checks = judge(capsys, keras_h5(tmp_path / "w.h5", weights_only=True), "rknn-toolkit==1.7.5")
    assert checks["source.keras_version"]["status"] == "fail" and "model.save" in json.dumps(checks["source.keras_version"]["fix"])


def test_without_h5py_the_row_is_unknown_with_the_enabling_command(capsys, tmp_path, monkeypatch):
    path = keras_h5(tmp_path / "m.h5")
    monkeypatch.setitem(sys.modules, "h5py", None)  # `import h5py` raises ImportError, as where it is not installed
    model = read_source_model(path)
    assert model.keras_unread.startswith("h5py") and model.keras_version == ""
    code, checks = judge(capsys, path, "rknn-toolkit==1.7.5")
    check = checks["source.keras_version"]
    assert code == 3 and check["status"] == "unknown"
    assert check["fix"]["commands"][0]["argv"] == ["python", "-m", "pip", "install", "rknn-envcheck[h5]"]


def test_renamed_h5_is_said(tmp_path):
    model = read_source_model(keras_h5(tmp_path / "model.pt"))
    assert model.format == "keras" and "named .pt" in model.renamed


def _exit_2(capsys, path):
    code, _, err = run_cli(capsys, "model", str(path), "--toolkit", "rknn-toolkit==1.7.5")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_hostile_keras_files_exit_2(capsys, tmp_path):
    deep = "[" * 5000 + "]" * 5000
    assert "deeper" in _exit_2(capsys, keras_zip(tmp_path / "deep.keras", model_config='{"config": {"layers": ' + deep + "}}"))
    assert "not valid JSON" in _exit_2(capsys, keras_zip(tmp_path / "bad.keras", model_config="{not json"))
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("metadata.json", "{}")
        out.writestr("config.json", b" " * (40 * 1024 * 1024))
    assert bomb.stat().st_size < 1024 * 1024 and "MiB" in _exit_2(capsys, bomb)
    (tmp_path / "cut.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 200)
    pytest.importorskip("h5py")
    assert "HDF5" in _exit_2(capsys, tmp_path / "cut.h5")
    assert "JSON" in _exit_2(capsys, keras_h5(tmp_path / "badcfg.h5", model_config="{nope"))
