"""rknn-toolkit2 on an ARM64 host loads only ONNX and PyTorch (API-TK2-2.3.2 §1.3 note 7; §2.3.x
"Unavailable in ARM64"), and has aarch64 wheels only from 2.3.0: `rknn-envcheck model FILE` judged
with host facts of an aarch64 and an x86_64 machine (--facts), with --toolkit alone, and with
--python (this machine, probed for real), for real model files of every format."""
from __future__ import annotations

import json
import sys

import pytest

from core_helpers import run_cli, write_facts
from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.versions import try_parse

ARCH_ID = "source.host_arch"
RESTRICTED = ("tensorflow", "tflite", "caffe", "darknet", "keras", "mxnet")
ALLOWED = ("onnx", "pytorch")
TOOLKIT2_WITH_ARM64 = ("2.3.0", "2.3.2", "2.5.0")


def write_model(kind: str, tmp_path) -> list:
    """Real files of each format, made by the same helpers the per-format tests use."""
    directory = tmp_path / kind
    directory.mkdir()
    if kind == "tensorflow":
        from tf_protos import conv_graph

        path = directory / "frozen.pb"
        path.write_bytes(conv_graph(producer=27).SerializeToString())
        return [path]
    if kind == "tflite":
        from tflite_build import build_tflite

        path = directory / "m.tflite"
        path.write_bytes(build_tflite())
        return [path]
    if kind == "caffe":
        return list(pytest.importorskip("test_source_model_caffe").write_pair(directory))
    if kind == "darknet":
        darknet = pytest.importorskip("test_source_model_darknet")
        return [darknet.write_cfg(directory / "tiny.cfg"), darknet.write_weights(directory / "tiny.weights")]
    if kind == "mxnet":
        return list(pytest.importorskip("test_source_model_mxnet").write(directory))
    if kind == "keras":
        path = directory / "m.keras"
        pytest.importorskip("test_source_model_keras").keras_zip(path)
        return [path]
    if kind == "pytorch":
        path = directory / "m.pt"
        pytest.importorskip("test_source_model_zip").torch_archive(path, torchscript=True)
        return [path]
    path = directory / "m.onnx"
    pytest.importorskip("test_source_model_onnx").make_onnx(path)
    return [path]


def host_facts(tmp_path, arch: str, toolkit: str | None = None) -> str:
    host = {"os": "linux", "arch": arch, "how": {"arch": "platform.machine() (os.uname().machine) in /usr/bin/python3"},
            "python": {"version": "3.10.12"}, "packages": {"rknn-toolkit2": toolkit} if toolkit else {}}
    return str(write_facts(tmp_path, {"schema": "rknn-envcheck/facts/1", "host": host}, name=f"host-{arch}-{toolkit}.json"))


def run(capsys, paths, *argv) -> tuple[int, dict]:
    code, out, err = run_cli(capsys, "model", *map(str, paths), "--json", *argv)
    assert code in (0, 1, 3), err
    checks = json.loads(out)["checks"]
    subject = f"model:{paths[0]}"
    return code, {c["id"]: c for c in checks if c["subject"] == subject}


# ---- the matrix row and the release data it must agree with ----

def test_the_arm64_row_agrees_with_the_wheels_and_cites_the_vendor_document():
    matrix = load_matrix()
    (row,) = matrix.rows("arch_formats", "rknn-toolkit2")
    aarch64 = [v for w in matrix.rows("wheel", "rknn-toolkit2") if w["platform"] == "linux_aarch64" for v in w["versions"]]
    assert row["since"] == min(aarch64, key=try_parse), "since must be the first release with aarch64 wheels ([[wheel]] rows)"
    assert sorted(row["formats"]) == sorted(ALLOWED)
    assert "API-TK2-2.3.2 §1.3 note 7" in row["source"] and "toolkit2.md" not in row["source"]


# ---- an aarch64 host: the loaders of every non-ONNX/PyTorch format are absent ----

@pytest.mark.parametrize("release", TOOLKIT2_WITH_ARM64)
@pytest.mark.parametrize("kind", RESTRICTED)
def test_aarch64_host_fails_formats_without_a_loader(capsys, tmp_path, kind, release):
    paths = write_model(kind, tmp_path)
    code, checks = run(capsys, paths, "--facts", host_facts(tmp_path, "aarch64", release))
    check = checks[ARCH_ID]
    assert check["status"] == "fail" and code == 1, check
    assert "aarch64" in check["observed"] and "platform.machine()" in check["how"]
    assert "loads only ONNX and PyTorch" in check["message"] and "loader is absent" in check["message"]
    assert "x86_64 Linux PC" in check["fix"]["text"] and "ONNX" in check["fix"]["text"]
    assert "API-TK2-2.3.2" in check["source"] and any(c["key"] == "API-TK2-2.3.2" for c in check["citations"])


@pytest.mark.parametrize("release", TOOLKIT2_WITH_ARM64)
@pytest.mark.parametrize("kind", ALLOWED)
def test_aarch64_host_judges_onnx_and_pytorch_as_x86_64_does(capsys, tmp_path, kind, release):
    paths = write_model(kind, tmp_path)
    verdicts = {}
    for arch in ("aarch64", "x86_64"):
        code, checks = run(capsys, paths, "--facts", host_facts(tmp_path, arch, release))
        assert ARCH_ID not in checks
        verdicts[arch] = (code, {i: c["status"] for i, c in checks.items()})
    assert verdicts["aarch64"] == verdicts["x86_64"]


def test_tflite_fix_converts_to_onnx_with_commands(capsys, tmp_path):
    paths = write_model("tflite", tmp_path)
    check = run(capsys, paths, "--facts", host_facts(tmp_path, "arm64", "2.3.2"))[1][ARCH_ID]
    argvs = [c["argv"] for c in check["fix"]["commands"]]
    assert ["python3", "-m", "tf2onnx.convert", "--tflite", str(paths[0]), "--output", "model.onnx"] in argvs, argvs


@pytest.mark.parametrize("kind", ("tensorflow", "onnx"))
def test_toolkit2_before_arm64_wheels_cannot_convert_on_aarch64_at_all(capsys, tmp_path, kind):
    paths = write_model(kind, tmp_path)
    code, checks = run(capsys, paths, "--facts", host_facts(tmp_path, "aarch64"), "--toolkit", "rknn-toolkit2==2.2.0")
    check = checks[ARCH_ID]
    assert check["status"] == "fail" and code == 1, check
    assert "no aarch64 build of rknn-toolkit2 2.2.0" in check["message"] and "2.3.0" in check["message"]
    if kind == "onnx":  # the ARM64 build of 2.3.0+ loads ONNX: installing it here is a fix
        assert [c["argv"] for c in check["fix"]["commands"]] == [["python3", "-m", "pip", "install", "rknn-toolkit2>=2.3.0"]]
    else:
        assert "x86_64 Linux PC" in check["fix"]["text"]


# ---- an x86_64 host ----

@pytest.mark.parametrize("release", TOOLKIT2_WITH_ARM64)
@pytest.mark.parametrize("kind", ("tensorflow", "caffe", "tflite"))
def test_x86_64_host_has_every_loader(capsys, tmp_path, kind, release):
    paths = write_model(kind, tmp_path)
    code, checks = run(capsys, paths, "--facts", host_facts(tmp_path, "x86_64"), "--toolkit", f"rknn-toolkit2=={release}")
    check = checks[ARCH_ID]
    assert check["status"] == "ok" and "x86_64" in check["observed"], check
    assert code != 1 or any(c["status"] == "fail" for c in checks.values() if c["id"] != ARCH_ID)


@pytest.mark.parametrize("kind", ("tensorflow", "caffe"))
def test_x86_64_host_before_any_arm64_build_needs_no_row(capsys, tmp_path, kind):
    """Before 2.3.0 every build is x86_64: the machine is not a question, so no row at all."""
    _, checks = run(capsys, write_model(kind, tmp_path), "--facts", host_facts(tmp_path, "x86_64"), "--toolkit", "rknn-toolkit2==2.2.0")
    assert ARCH_ID not in checks


# ---- --toolkit alone: the machine running rknn-envcheck; host facts without arch: unknown ----

@pytest.mark.parametrize("release", TOOLKIT2_WITH_ARM64)
def test_toolkit_alone_judges_the_machine_running_the_tool(capsys, tmp_path, release):
    import platform

    code, checks = run(capsys, write_model("darknet", tmp_path), "--toolkit", f"rknn-toolkit2=={release}")
    check = checks[ARCH_ID]
    machine = platform.machine()
    assert check["status"] == ("fail" if machine.lower() in ("aarch64", "arm64") else "ok"), check
    assert machine in check["observed"] and "machine running rknn-envcheck" in check["how"], check


@pytest.mark.parametrize("release", TOOLKIT2_WITH_ARM64)
def test_host_facts_without_an_arch_are_unknown_where_the_machine_decides(capsys, tmp_path, release):
    paths = write_model("darknet", tmp_path)
    host = {"os": "linux", "python": {"version": "3.10.12"}, "packages": {}}
    facts = str(write_facts(tmp_path, {"schema": "rknn-envcheck/facts/1", "host": host}, name="no-arch.json"))
    code, checks = run(capsys, paths, "--facts", facts, "--toolkit", f"rknn-toolkit2=={release}")
    check = checks[ARCH_ID]
    assert check["status"] == "unknown" and code == 3, check
    argvs = [c["argv"] for c in check["fix"]["commands"]]
    assert ["uname", "-m"] in argvs
    assert ["rknn-envcheck", "model", *map(str, paths), "--toolkit", f"rknn-toolkit2=={release}", "--facts", "host.json"] in argvs


@pytest.mark.parametrize("toolkit", ("rknn-toolkit2==2.2.0", "rknn-toolkit==1.7.5"))
def test_toolkit_alone_needs_no_machine_without_an_arm64_build_or_on_another_line(capsys, tmp_path, toolkit):
    _, checks = run(capsys, write_model("tensorflow", tmp_path), "--toolkit", toolkit)
    assert ARCH_ID not in checks


@pytest.mark.parametrize("kind", ALLOWED)
def test_toolkit_alone_needs_no_machine_for_onnx_and_pytorch(capsys, tmp_path, kind):
    _, checks = run(capsys, write_model(kind, tmp_path), "--toolkit", "rknn-toolkit2==2.3.2")
    assert ARCH_ID not in checks


def test_a_host_only_facts_file_saved_by_host_is_accepted(capsys, tmp_path):
    """`rknn-envcheck host --save-facts F` (real probe of this Python) then `model FILE --facts F`."""
    import platform

    saved = tmp_path / "host.json"
    code, _, err = run_cli(capsys, "host", "--save-facts", str(saved))
    assert saved.is_file(), err
    _, checks = run(capsys, write_model("caffe", tmp_path), "--facts", str(saved), "--toolkit", "rknn-toolkit2==2.3.2")
    machine = platform.machine()
    expected = "fail" if machine.lower() in ("aarch64", "arm64") else "ok"
    assert checks[ARCH_ID]["status"] == expected and machine in checks[ARCH_ID]["observed"]


def test_toolkit_with_python_probes_that_pythons_machine(capsys, tmp_path):
    import platform

    _, checks = run(capsys, write_model("tflite", tmp_path), "--toolkit", "rknn-toolkit2==2.5.0", "--python", sys.executable)
    check = checks[ARCH_ID]
    assert check["status"] != "unknown" and platform.machine() in check["observed"], check
    assert sys.executable in check["how"] or "platform.machine()" in check["how"]


# ---- machines without any build of the release (review): never `ok` ----

@pytest.mark.parametrize("system,arch,platform", [("windows", "AMD64", "win_amd64"), ("linux", "armv7l", "linux_armv7l"),
                                                  ("darwin", "arm64", "macosx_aarch64"), ("windows", "ARM64", "win_aarch64")])
@pytest.mark.parametrize("kind", ("tflite", "onnx"))
def test_a_machine_without_a_build_of_the_release_fails_for_every_format(capsys, tmp_path, system, arch, platform, kind):
    host = {"os": system, "arch": arch, "how": {"arch": "platform.machine() in the facts"}}
    facts = str(write_facts(tmp_path, {"schema": "rknn-envcheck/facts/1", "host": host}, name=f"{system}-{arch}.json"))
    code, checks = run(capsys, write_model(kind, tmp_path), "--facts", facts, "--toolkit", "rknn-toolkit2==2.3.2")
    check = checks[ARCH_ID]
    assert check["status"] == "fail" and code == 1, check
    assert platform in check["observed"] and "linux_x86_64" in check["expected"], check


def test_an_unlisted_release_or_an_unknown_os_says_no_ok(capsys, tmp_path):
    for name, host, toolkit in (("unlisted.json", {"os": "linux", "arch": "x86_64"}, "rknn-toolkit2==9.9.9"),
                                ("no-os.json", {"arch": "x86_64"}, "rknn-toolkit2==2.3.2")):
        facts = str(write_facts(tmp_path, {"schema": "rknn-envcheck/facts/1", "host": host}, name=name))
        where = tmp_path / name.split(".")[0]
        where.mkdir()
        _, checks = run(capsys, write_model("tflite", where), "--facts", facts, "--toolkit", toolkit)
        assert checks.get(ARCH_ID, {}).get("status") != "ok", checks.get(ARCH_ID)


def test_the_release_loader_row_beside_a_failing_machine_says_which_build_it_means(capsys, tmp_path):
    _, checks = run(capsys, write_model("caffe", tmp_path), "--facts", host_facts(tmp_path, "aarch64"), "--toolkit", "rknn-toolkit2==2.3.2")
    loader = checks["source.caffe_loader"]
    assert checks[ARCH_ID]["status"] == "fail" and loader["status"] == "ok"
    assert "not this one" in loader["message"] and checks[ARCH_ID]["title"] in loader["message"], loader
