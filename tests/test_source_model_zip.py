"""PyTorch and Keras zip archives: written here from the formats torch and Keras use (torch is not
installed here); the pickle is a real one made by the stdlib pickler and is never unpickled."""
from __future__ import annotations

import collections
import json
import pickle
import zipfile

import pytest

from core_helpers import run_cli
from rknn_envcheck.model.header import ModelFileError
from rknn_envcheck.model.source import read_source_model


def torch_archive(path, torchscript=False, version=b"3\n", root="archive"):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{root}/data.pkl", pickle.dumps(collections.OrderedDict(weight=[1.0, 2.0]), protocol=2))
        archive.writestr(f"{root}/version", version)
        if torchscript:
            archive.writestr(f"{root}/code/__torch__/model.py", "class Model(Module):\n  pass\n")
            archive.writestr(f"{root}/constants.pkl", pickle.dumps((), protocol=2))
    return path


def keras_zip(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.4.1"}))
        archive.writestr("config.json", json.dumps({"class_name": "Sequential"}))
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    return path


def judge(capsys, path, toolkit="rknn-toolkit2==2.3.2"):
    code, out, err = run_cli(capsys, "model", str(path), "--toolkit", toolkit, "--json")
    assert code != 2, err
    return code, {c["id"]: c for c in json.loads(out)["checks"]}


def test_pickled_state_dict_is_read_by_opcodes_and_fails_on_both_lines(capsys, tmp_path):
    path = torch_archive(tmp_path / "model.pt")
    model = read_source_model(path)
    assert model.format == "pytorch" and model.torchscript is False and model.archive_version == 3
    assert "collections.OrderedDict" in model.pickle_globals
    for toolkit in ("rknn-toolkit2==2.3.2", "rknn-toolkit2==1.6.0", "rknn-toolkit==1.7.5"):
        code, checks = judge(capsys, path, toolkit)
        assert code == 1 and checks["source.torch"]["status"] == "fail" and "jit.trace" in checks["source.torch"]["fix"]["text"]


def test_torchscript_is_recognised_and_archive_version_is_judged_not_ok(capsys, tmp_path):
    # version 10: read by torch >= 1.12 only, while 2.3.2 also allows torch 1.10/1.11 (tests/test_source_model_torch.py has the rest)
    path = torch_archive(tmp_path / "model.pt", torchscript=True, version=b"10\n")
    assert read_source_model(path).torchscript is True
    code, checks = judge(capsys, path)
    assert checks["source.torch_archive"]["status"] == "warn" and "10" in checks["source.torch_archive"]["observed"]


def test_keras_fails_on_toolkit2_with_the_onnx_export_fix(capsys, tmp_path):
    path = keras_zip(tmp_path / "model.keras")
    assert read_source_model(path).keras_version == "3.4.1"
    for toolkit in ("rknn-toolkit2==2.3.2", "rknn-toolkit2==2.0.0b0", "rknn-toolkit2==1.5.2"):
        code, checks = judge(capsys, path, toolkit)
        assert code == 1 and checks["source.keras"]["status"] == "fail" and "ONNX" in checks["source.keras"]["fix"]["text"]


def test_hdf5_keras_is_recognised_by_signature(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "h5py", None)  # signature only; with h5py a bare signature is refused (test_source_model_keras.py)
    path = tmp_path / "model.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    code, checks = judge(capsys, path)
    assert checks["source.keras"]["status"] == "fail"


def test_renamed_archive_is_said(tmp_path):
    model = read_source_model(torch_archive(tmp_path / "model.onnx"))
    assert model.format == "pytorch" and "named .onnx" in model.renamed


def _exit_2(capsys, path):
    code, out, err = run_cli(capsys, "model", str(path), "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_zip_bomb_member_is_not_inflated(capsys, tmp_path):
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({}, protocol=2))
        archive.writestr("archive/version", b"3" + b" " * (64 * 1024 * 1024))  # 64 MiB of spaces, a few KB compressed
    assert path.stat().st_size < 1024 * 1024
    assert "at most 4096 expected" in _exit_2(capsys, path)


def test_truncated_and_bogus_archives_exit_2(capsys, tmp_path):
    data = torch_archive(tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    assert "ZIP" in _exit_2(capsys, tmp_path / "cut.pt")
    with zipfile.ZipFile(tmp_path / "other.pt", "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "neither a PyTorch archive" in _exit_2(capsys, tmp_path / "other.pt")
    torch_archive(tmp_path / "badver.pt", version=b"x\n")
    assert "not a version number" in _exit_2(capsys, tmp_path / "badver.pt")


def test_broken_pickle_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "m.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02cos\nsystem\n(S'echo pwned'\ntR")  # no STOP: genops errors
        archive.writestr("archive/version", b"3")
    with pytest.raises(ModelFileError):
        read_source_model(path)
