"""`rknn-envcheck model A B …`: each file judged, a structure file and its weights file one model,
`.rknn` files judged against the board in the same report; the doctor's --model takes the same."""
from __future__ import annotations

import json
import os
import platform
import subprocess

import pytest

from core_helpers import run_cli
from test_model_header import v2_format6, write
from test_source_model_caffe import write_pair
from test_source_model_darknet import write_cfg, write_weights


def subjects_of(out: str) -> dict:
    subjects: dict = {}
    for check in json.loads(out)["checks"]:
        subjects.setdefault(check["subject"], {})[check["id"]] = check
    return subjects


def test_mixed_files_one_report_one_subject_per_model(capsys, tmp_path):
    rknn = write(tmp_path, "m.rknn", v2_format6("2.3.2", "rk3588"))
    prototxt, caffemodel = write_pair(tmp_path, stem="mobilenet")
    cfg = write_cfg(tmp_path / "yolo.cfg")
    code, out, err = run_cli(capsys, "model", str(caffemodel), str(rknn), str(cfg), str(prototxt),
                             "--emulate", "rk3588-2.3.2", "--toolkit", "rknn-toolkit2==2.3.2", "--json")
    subjects = subjects_of(out)
    assert sorted(subjects) == sorted([f"model:{rknn}", f"model:{prototxt}", f"model:{cfg}"]), err
    assert subjects[f"model:{rknn}"]["model.target_platform"]["status"] == "ok"
    assert subjects[f"model:{prototxt}"]["source.model_files"]["status"] == "ok"
    assert subjects[f"model:{prototxt}"]["source.board_line"]["status"] == "ok"  # rk3588 runs rknn-toolkit2 models
    assert subjects[f"model:{cfg}"]["source.model_files"]["status"] == "unknown"
    assert code == 3


ON_ARM64 = platform.machine().lower() in ("aarch64", "arm64")


def test_pairs_by_stem_whatever_the_order(capsys, tmp_path):
    first = write_pair(tmp_path, stem="alpha", types=("Convolution",))
    second = write_pair(tmp_path, stem="beta", types=("Convolution", "ReLU"))
    darknet = (write_cfg(tmp_path / "yolo.cfg"), write_weights(tmp_path / "yolo.weights"))
    files = [second[1], darknet[1], first[0], second[0], first[1], darknet[0]]
    code, out, _ = run_cli(capsys, "model", *map(str, files), "--toolkit", "rknn-toolkit2==2.3.2", "--json")
    subjects = subjects_of(out)
    assert sorted(subjects) == sorted(f"model:{p}" for p in (first[0], second[0], darknet[0]))
    for structure, weights in (first, second, darknet):
        check = subjects[f"model:{structure}"]["source.model_files"]
        assert check["status"] == "ok" and check["observed"] == f"{structure} + {weights}"
        # --toolkit alone judges the machine running the tool: toolkit2 2.3.2's ARM64 build lacks load_caffe/load_darknet
        assert subjects[f"model:{structure}"]["source.host_arch"]["status"] == ("fail" if ON_ARM64 else "ok")
    assert code == (1 if ON_ARM64 else 0)


def test_one_unreadable_file_stops_the_run_before_judging(capsys, tmp_path):
    prototxt, caffemodel = write_pair(tmp_path)
    bad = tmp_path / "bad.weights"
    bad.write_bytes(b"\x00\x01" * 7)
    code, out, err = run_cli(capsys, "model", str(prototxt), str(bad), str(caffemodel))
    assert code == 2 and str(bad) in err and "formats tried" in err and out == ""


def test_doctor_model_takes_the_pair(capsys, tmp_path):
    prototxt, caffemodel = write_pair(tmp_path)
    rknn = write(tmp_path, "m.rknn", v2_format6("2.3.2", "rk3588"))
    code, out, err = run_cli(capsys, "--no-boards", "--toolkit", "rknn-toolkit2==2.3.2", "--model", str(prototxt), str(caffemodel),
                             "--model", str(rknn), "--json")
    subjects = subjects_of(out)
    assert subjects[f"model:{prototxt}"]["source.model_files"]["status"] == "ok", err
    assert f"model:{caffemodel}" not in subjects and any(s.startswith(f"model:{rknn}") for s in subjects)


MIRRORS = {"TK": "/work/.mirror/rockchip-linux+rknn-toolkit/repo", "AR": "/work/.mirror/airockchip+rknn-toolkit2/repo"}
VENDOR_EXAMPLES = [  # the vendor's own example nets, judged against the release they ship with: nothing may fail
    ("TK", "v1.7.5", "examples/caffe/mobilenet_v2/mobilenet_v2.prototxt", "rknn-toolkit==1.7.5"),
    ("TK", "v1.7.5", "examples/caffe/vgg-ssd/deploy_rm_detection_output.prototxt", "rknn-toolkit==1.7.5"),
    ("TK", "v1.7.5", "examples/darknet/yolov3/yolov3.cfg", "rknn-toolkit==1.7.5"),
    ("AR", "v2.3.2", "rknn-toolkit2/examples/caffe/mobilenet_v2/mobilenet_v2_deploy.prototxt", "rknn-toolkit2==2.3.2"),
    ("AR", "v2.3.2", "rknn-toolkit2/examples/caffe/vgg-ssd/deploy_rm_detection_output.prototxt", "rknn-toolkit2==2.3.2"),
    ("AR", "v2.3.2", "rknn-toolkit2/examples/darknet/yolov3_416x416/yolov3.cfg", "rknn-toolkit2==2.3.2"),
]


def test_the_vendor_examples_do_not_fail_on_their_own_release(capsys, tmp_path):
    if not all(os.path.isdir(m) for m in MIRRORS.values()):
        pytest.skip("the vendor repositories are not mirrored here (/work/.mirror)")
    for repo, tag, path, toolkit in VENDOR_EXAMPLES:
        data = subprocess.run(["git", "--git-dir", MIRRORS[repo], "show", f"{tag}:{path}"], capture_output=True, check=True).stdout
        local = tmp_path / f"{repo}-{os.path.basename(path)}"
        local.write_bytes(data)
        code, out, err = run_cli(capsys, "model", str(local), "--toolkit", toolkit, "--json")
        checks = subjects_of(out)[f"model:{local}"]
        assert not [c for c in checks.values() if c["status"] == "fail"], (path, err)
        assert checks["source.model_files"]["status"] == "unknown"  # the weights are not in the repositories
        assert code == 3
