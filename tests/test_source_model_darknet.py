"""Darknet .cfg + .weights: files written here in darknet's formats (src/parser.c at 810d7f7:
read_cfg's sections and options, save_weights_upto's header), judged against both lines."""
from __future__ import annotations

import json
import struct

import platform

import pytest

from core_helpers import run_cli
from rknn_envcheck.model.source import read_source_model

YOLO_TINY = """# a yolov3-tiny shaped network
[net]
batch=1
width=416
height = 416
channels=3

[convolutional]
batch_normalize=1
filters=16
size=3
activation=leaky

[maxpool]
size=2
stride=2

[convolutional]
filters=255
size=1
activation=linear

[yolo]
mask = 3,4,5

[route]
layers = -4

[upsample]
stride=2
"""


def write_cfg(path, body=YOLO_TINY):
    path.write_text(body)
    return path


def write_weights(path, version=(0, 2, 0), floats=64, seen=1000):
    major, minor, revision = version
    wide = major * 10 + minor >= 2 and major < 1000 and minor < 1000
    header = struct.pack("<iii", major, minor, revision) + struct.pack("<Q" if wide else "<i", seen)
    path.write_bytes(header + struct.pack(f"<{floats}f", *([0.25] * floats)))
    return path


def judge(capsys, toolkit, *paths):
    code, out, err = run_cli(capsys, "model", *map(str, paths), "--toolkit", toolkit, "--json")
    assert code in (0, 1, 3), err
    subjects = {}
    for check in json.loads(out)["checks"]:
        subjects.setdefault(check["subject"], {})[check["id"]] = check
    return code, subjects


def test_cfg_and_weights_read_by_content(tmp_path):
    cfg = read_source_model(write_cfg(tmp_path / "tiny.cfg"))
    assert (cfg.format, cfg.role) == ("darknet", "structure") and cfg.inputs == [{"name": "[net]", "shape": [3, 416, 416]}]
    assert cfg.operators == {"convolutional": 2, "batch_normalize=1": 1, "maxpool": 1, "yolo": 1, "route": 1, "upsample": 1}
    assert cfg.activations == {"leaky": 1, "linear": 1}
    new = read_source_model(write_weights(tmp_path / "new.weights"))
    assert (new.role, new.weights_version) == ("weights", "0.2.0") and "64-bit" in new.weights_detail and "64 float32" in new.weights_detail
    old = read_source_model(write_weights(tmp_path / "old.weights", version=(0, 1, 0)))
    assert old.weights_version == "0.1.0" and "32-bit" in old.weights_detail


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.1", "rknn-toolkit==1.7.3", "rknn-toolkit==1.7.5",
                                     "rknn-toolkit2==1.6.0", "rknn-toolkit2==2.1.0", "rknn-toolkit2==2.3.2"])
def test_a_pair_that_fits(capsys, tmp_path, toolkit):
    cfg, weights = write_cfg(tmp_path / "tiny.cfg"), write_weights(tmp_path / "tiny.weights")
    code, subjects = judge(capsys, toolkit, weights, cfg)
    assert list(subjects) == [f"model:{cfg}"]
    checks = subjects[f"model:{cfg}"]
    assert {checks[k]["status"] for k in ("source.darknet_loader", "source.model_files", "source.darknet_ops", "source.darknet_weights")} == {"ok"}
    assert checks["source.darknet_weights"]["observed"].startswith("version 0.2.0")
    # toolkit2 >= 2.3.0 has an ARM64 build without load_darknet: --toolkit alone judges the machine running the tool
    arm64_build = toolkit == "rknn-toolkit2==2.3.2"
    on_arm64 = platform.machine().lower() in ("aarch64", "arm64")
    assert (checks.get("source.host_arch") or {}).get("status") == (("fail" if on_arm64 else "ok") if arm64_build else None)
    assert code == (1 if arm64_build and on_arm64 else 0)


@pytest.mark.parametrize("toolkit, unlisted", [("rknn-toolkit==1.7.5", "[crop], activation=relu"),
                                               ("rknn-toolkit2==1.6.0", "[crop], [reorg], activation=relu"),
                                               ("rknn-toolkit2==2.3.2", "[crop], [reorg], activation=relu")])
def test_layers_outside_the_vendor_list_warn(capsys, tmp_path, toolkit, unlisted):
    body = YOLO_TINY + "\n[reorg]\nstride=2\n\n[crop]\ncrop_width=8\n\n[convolutional]\nfilters=4\nactivation=relu\n"
    cfg = write_cfg(tmp_path / "odd.cfg", body)
    _, subjects = judge(capsys, toolkit, cfg, write_weights(tmp_path / "odd.weights"))
    check = subjects[f"model:{cfg}"]["source.darknet_ops"]
    assert check["status"] == "warn" and set(check["observed"].split(", ")) == set(unlisted.split(", "))


def test_lone_cfg_names_the_weights_and_renamed_files(capsys, tmp_path):
    cfg = write_cfg(tmp_path / "tiny.txt")
    weights = write_weights(tmp_path / "tiny.bin")
    assert "named .txt" in read_source_model(cfg).renamed and "named .bin" in read_source_model(weights).renamed
    _, subjects = judge(capsys, "rknn-toolkit==1.7.5", cfg)
    check = subjects[f"model:{cfg}"]["source.model_files"]
    assert check["status"] == "unknown" and ".weights" in check["message"] and "source.darknet_weights" not in subjects[f"model:{cfg}"]
    assert check["fix"]["commands"][1]["argv"][0] == f"ret = rknn.load_darknet(model={str(cfg)!r}, weight='model.weights')"


@pytest.mark.parametrize("body, words", [
    ("[net]\nwidth=416\nthis line has no equals\n", "is not key=value"),
    ("[net]\nwidth=416\n[convolutional\nfilters=3\n", "not closed"),
])
def test_lines_that_do_not_load_exit_2(capsys, tmp_path, body, words):
    cfg = write_cfg(tmp_path / "bad.cfg", body)
    code, _, err = run_cli(capsys, "model", str(cfg), "--toolkit", "rknn-toolkit2==2.3.2")
    assert code == 2 and words in err and "Darknet .cfg" in err and err.count("\n") == 1


def test_not_a_network_and_hostile_files_exit_2(capsys, tmp_path):
    cfg = write_cfg(tmp_path / "layer_first.cfg", "[convolutional]\nfilters=3\n")  # darknet: First section must be [net]
    code, _, err = run_cli(capsys, "model", str(cfg))
    assert code == 2 and "formats tried" in err and "Darknet" in err
    big = tmp_path / "big.cfg"
    big.write_text("[net]\n" + "[route]\nlayers=-1\n" * 300_000)
    code, _, err = run_cli(capsys, "model", str(big))
    assert code == 2 and "larger than" in err and err.count("\n") == 1
    ragged = write_weights(tmp_path / "ragged.weights")
    ragged.write_bytes(ragged.read_bytes()[:-1])  # not whole float32 values: not a darknet weights file
    code, _, err = run_cli(capsys, "model", str(ragged))
    assert code == 2 and "formats tried" in err
    sparse = tmp_path / "sparse.weights"
    with open(sparse, "wb") as handle:
        handle.truncate(4 << 30)  # 4 GiB of zeros: major.minor 0.0 is no darknet header
    code, _, err = run_cli(capsys, "model", str(sparse))
    assert code == 2 and err.count("\n") == 1
