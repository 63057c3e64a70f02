"""PyTorch archives judged by file-format version and TorchScript-ness, for releases of both lines.

torch is not installed here (the CPU wheel is large): the archives are written with zipfile in the
layout torch's PyTorchStreamWriter uses (<root>/data.pkl, <root>/version or <root>/.data/version,
TorchScript's <root>/code/ + constants.pkl), the pickles with the stdlib pickler. The expected
verdicts follow from the vendor's torch ranges ([[framework]]) and the torch headers
([[torch_archive]], checked below against real headers of two releases)."""
from __future__ import annotations

import collections
import importlib.util
import json
import pickle
import zipfile
from pathlib import Path

import pytest

from core_helpers import run_cli
from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.model.source import read_source_model

ROOT = Path(__file__).resolve().parent.parent
HEADERS = ROOT / "tests" / "data" / "torch_headers"


class Net:  # pickled by reference, as torch.save(module) pickles the user's class
    pass


def archive(path, version=b"3\n", member="version", torchscript=True, payload=None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as out:
        out.writestr("model/data.pkl", pickle.dumps(payload if payload is not None else collections.OrderedDict(w=[1.0]), protocol=2))
        out.writestr(f"model/{member}", version)
        if torchscript:
            out.writestr("model/code/__torch__/net.py", "class Net(Module):\n  def forward(self, x):\n    return x\n")
            out.writestr("model/constants.pkl", pickle.dumps((), protocol=2))
    return path


def judge(capsys, path, toolkit=None, facts=None):
    argv = ["model", str(path), "--json"] + (["--toolkit", toolkit] if toolkit else []) + (["--facts", str(facts)] if facts else [])
    code, out, err = run_cli(capsys, *argv)
    assert code != 2, err
    return code, {c["id"]: c for c in json.loads(out)["checks"]}


def _generator():
    spec = importlib.util.spec_from_file_location("gen_torch_archive", ROOT / "scripts" / "gen_torch_archive.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_reads_real_headers_to_the_shipped_rows():
    gen = _generator()
    rows = {r["torch"]: r for r in load_matrix().rows("torch_archive")}
    upgraders = gen.constants((HEADERS / "v1.11.0-versions.h").read_text())
    assert upgraders == {"min_readable": 1, "max_readable": 9, "produced": 9, "min_produced": 3, "data_version_member": True}
    assert {k: rows["1.11"][k] for k in upgraders} == upgraders and "v1.11.0" in rows["1.11"]["source"]
    # the #else branch is taken when the header says so
    without = (HEADERS / "v1.11.0-versions.h").read_text().replace("#define ENABLE_UPGRADERS true", "#define ENABLE_UPGRADERS false")
    assert gen.constants(without)["max_readable"] == 6
    old = gen.constants((HEADERS / "v1.6.0-inline_container.h").read_text())
    assert (old["max_readable"], old["produced"], old.get("data_version_member", False)) == (5, 3, False) == (
        rows["1.6"]["max_readable"], rows["1.6"]["produced"], rows["1.6"]["data_version_member"])


def test_shipped_table_is_monotonic_and_sourced():
    rows = load_matrix().rows("torch_archive")
    assert len(rows) >= 20
    keys = [tuple(int(p) for p in r["torch"].split(".")) for r in rows]
    assert keys == sorted(keys)
    maxima = [r["max_readable"] for r in rows]
    assert maxima == sorted(maxima)  # a newer torch never reads less
    assert all(r["source"].startswith(f"github:pytorch/pytorch@v{r['release']} caffe2/serialize/") for r in rows)


def test_reader_prefers_data_version_and_tells_members_apart(tmp_path):
    path = tmp_path / "m.pt"
    with zipfile.ZipFile(path, "w") as out:
        out.writestr("m/data.pkl", pickle.dumps({}, protocol=2))
        out.writestr("m/version", b"3\n")
        out.writestr("m/.data/version", b"6\n")
    model = read_source_model(path)
    assert (model.archive_version, model.archive_version_member) == (6, "m/.data/version")
    assert read_source_model(archive(tmp_path / "a.pt")).archive_version_member == "model/version"


@pytest.mark.parametrize("toolkit,version,member,status", [
    # toolkit v1 (torch ranges from UG-1.7.5 Tables 1-2/1-3)
    ("rknn-toolkit==1.6.0", b"3", "version", "warn"),  # torch 1.1-1.4 (also in 1.0.0..1.6.0) read at most 1-2
    ("rknn-toolkit==1.7.1", b"3", "version", "ok"),  # torch 1.5.1..1.9.0 all read 3
    ("rknn-toolkit==1.7.5", b"3", "version", "ok"),
    ("rknn-toolkit==1.6.0", b"6", ".data/version", "fail"),  # no torch <= 1.6 looks for .data/version
    ("rknn-toolkit==1.7.1", b"6", ".data/version", "warn"),  # only torch 1.9 does
    ("rknn-toolkit==1.7.5", b"10", ".data/version", "fail"),  # torch <= 1.10 reads up to 6
    # toolkit2 (API-TK2-2.3.2 §1.3)
    ("rknn-toolkit2==1.5.2", b"3", "version", "ok"),
    ("rknn-toolkit2==1.5.2", b"10", ".data/version", "fail"),  # torch <= 1.10.1
    ("rknn-toolkit2==2.0.0b0", b"10", ".data/version", "warn"),  # torch 1.10/1.11 refuse, 1.12..2.1 read
    ("rknn-toolkit2==2.3.2", b"10", ".data/version", "warn"),
    ("rknn-toolkit2==2.3.2", b"3", "version", "ok"),
])
def test_archive_version_against_the_toolkits_torch_range(capsys, tmp_path, toolkit, version, member, status):
    code, checks = judge(capsys, archive(tmp_path / "m.pt", version + b"\n", member), toolkit)
    check = checks["source.torch_archive"]
    assert check["status"] == status, check["message"]
    assert version.decode() in check["observed"] and "pytorch/pytorch" in json.dumps(check, ensure_ascii=False)
    if status == "fail":
        commands = json.dumps(check["fix"]["commands"])
        assert "torch.jit.trace" in commands and "torch.onnx.export" in commands and "pip" in commands
    assert checks["source.torch"]["status"] == "ok"


def test_newer_archive_names_the_writer_and_the_readers_limit(capsys, tmp_path):
    _, checks = judge(capsys, archive(tmp_path / "m.pt", b"10\n", ".data/version"), "rknn-toolkit==1.7.5")
    message = checks["source.torch_archive"]["message"]
    assert "saved by torch >= 1.12" in message and "torch <= 1.10 reads up to 6" in message


def _facts(tmp_path, packages):
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"schema": "rknn-envcheck/facts/1", "host": {"packages": packages},
                                 "devices": [{"serial": "B1", "state": "device", "chip": "RK3588"}]}))
    return facts


def test_installed_torch_beside_the_toolkit_decides(capsys, tmp_path):
    path = archive(tmp_path / "m.pt", b"10\n", ".data/version")
    _, checks = judge(capsys, path, facts=_facts(tmp_path, {"rknn-toolkit2": "2.3.2", "torch": "1.10.2"}))
    check = checks["source.torch_archive"]
    assert check["status"] == "fail" and "torch 1.10.2" in check["how"] and "reads up to 6" in check["message"]
    assert check["fix"]["commands"][0]["argv"][-1] == "torch>=1.10.1,<=2.4.0,==2.4.*"  # the newest reader in the range
    _, checks = judge(capsys, path, facts=_facts(tmp_path, {"rknn-toolkit2": "2.3.2", "torch": "2.1.0"}))
    assert checks["source.torch_archive"]["status"] == "ok"
    _, checks = judge(capsys, path, facts=_facts(tmp_path, {"rknn-toolkit2": "2.3.2", "torch": "0.4.1"}))
    assert checks["source.torch_archive"]["status"] == "unknown"  # no row: never ok


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.1", "rknn-toolkit==1.7.5",
                                     "rknn-toolkit2==1.6.0", "rknn-toolkit2==2.1.0", "rknn-toolkit2==2.3.2"])
def test_pickled_module_fails_with_the_trace_fix_and_the_user_guide_section(capsys, tmp_path, toolkit):
    path = archive(tmp_path / "m.pth", torchscript=False, payload=Net())
    model = read_source_model(path)
    assert model.torchscript is False and "test_source_model_torch.Net" in model.pickle_globals
    code, checks = judge(capsys, path, toolkit)
    check = checks["source.torch"]
    assert code == 1 and check["status"] == "fail" and "test_source_model_torch.Net" in check["observed"]
    assert ("§7.3.6" if toolkit.startswith("rknn-toolkit==") else "§2.3.6") in json.dumps(check, ensure_ascii=False)
    assert "torch.jit.trace" in json.dumps(check["fix"]["commands"])


def test_state_dict_is_named_as_such(capsys, tmp_path):
    _, checks = judge(capsys, archive(tmp_path / "sd.pt", torchscript=False), "rknn-toolkit2==2.3.2")
    assert "state dict" in checks["source.torch"]["observed"]


def test_toolkit_without_load_pytorch_fails(capsys, tmp_path):
    _, checks = judge(capsys, archive(tmp_path / "m.pt"), "rknn-toolkit==1.2.0")
    assert checks["source.torch"]["status"] == "fail" and "torch.onnx.export" in json.dumps(checks["source.torch"]["fix"])


def test_renamed_archive_is_said_and_judged(capsys, tmp_path):
    path = archive(tmp_path / "weights.bin")
    assert "named .bin" in read_source_model(path).renamed
    _, checks = judge(capsys, path, "rknn-toolkit==1.7.5")
    assert checks["source.torch_archive"]["status"] == "ok"


def _exit_2(capsys, path):
    code, _, err = run_cli(capsys, "model", str(path), "--toolkit", "rknn-toolkit==1.7.5")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


def test_hostile_archives_exit_2(capsys, tmp_path):
    assert "not a version number" in _exit_2(capsys, archive(tmp_path / "v.pt", b"-1\n", ".data/version"))
    with zipfile.ZipFile(tmp_path / "bomb.pt", "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("m/data.pkl", pickle.dumps({}, protocol=2))
        out.writestr("m/.data/version", b"6" + b"\n" * (32 * 1024 * 1024))
    assert (tmp_path / "bomb.pt").stat().st_size < 1024 * 1024 and "at most 4096" in _exit_2(capsys, tmp_path / "bomb.pt")
    with zipfile.ZipFile(tmp_path / "pickle.pt", "w") as out:
        out.writestr("m/data.pkl", b"\x80\x02}q\x00(X\x01\x00")  # cut inside a string
        out.writestr("m/version", b"3\n")
    assert "not a readable pickle" in _exit_2(capsys, tmp_path / "pickle.pt")
