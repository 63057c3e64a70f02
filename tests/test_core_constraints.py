"""Constraints files proven with real pip: tiny local wheels, a fresh venv, `pip install -c`."""
import base64
import hashlib
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from core_helpers import run_cli


def make_wheel(directory: Path, name: str, version: str) -> Path:
    """A minimal, valid py3-none-any wheel with real dist-info metadata (no build backend needed)."""
    dist = name.replace("-", "_")
    wheel = directory / f"{dist}-{version}-py3-none-any.whl"
    files = {
        f"{dist}/__init__.py": f"__version__ = {version!r}\n",
        f"{dist}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record_lines = []
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            data = text.encode()
            archive.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record_lines.append(f"{path},sha256={digest},{len(data)}")
        record = f"{dist}-{version}.dist-info/RECORD"
        archive.writestr(record, "\n".join(record_lines + [f"{record},,"]) + "\n")
    return wheel


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory):
    directory = tmp_path_factory.mktemp("wheels")
    for name, version in [("tensorflow", "1.13.2"), ("tensorflow", "1.14.0"), ("numpy", "1.16.2"), ("numpy", "1.16.3"),
                          ("numpy", "1.26.4"), ("numpy", "2.0.0")]:
        make_wheel(directory, name, version)
    return directory


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    path = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(path)
    # pip itself from this interpreter, so no network is needed: `python -m pip --python ENV` (pip >= 22.3).
    return path


def pip_install(env: Path, wheelhouse: Path, constraints: Path, *packages: str) -> dict:
    python = env / "bin" / "python"
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--find-links", str(wheelhouse),
           "-c", str(constraints), "--quiet", "--disable-pip-version-check", *packages]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, PIP_NO_INPUT="1"))
    assert proc.returncode == 0, proc.stderr
    listing = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "list", "--format=freeze", "--disable-pip-version-check"],
                             capture_output=True, text=True, check=True).stdout
    return dict(line.split("==") for line in listing.splitlines() if "==" in line)


def test_pip_obeys_the_toolkit1_constraints(capsys, tmp_path, wheelhouse, fresh_venv):
    out = tmp_path / "constraints.txt"
    code, _o, err = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit==1.4.0", "--python", "3.6", "--platform", "linux_x86_64", "-o", str(out))
    assert code == 0, err
    text = out.read_text()
    assert text.startswith("# Constraints for rknn-toolkit==1.4.0 on Python 3.6, linux_x86_64")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            requirement = line.split("#")[0].strip()
            assert "[" not in requirement and " @ " not in requirement and not requirement.startswith("-e"), line
            assert "#" in line, f"constraint without its source: {line}"
    installed = pip_install(fresh_venv, wheelhouse, out, "tensorflow", "numpy")
    assert installed["tensorflow"] == "1.13.2"  # 1.14.0 is outside 1.4.0's >=1.10.0,<=1.13.2
    assert installed["numpy"] == "1.16.3"


def test_pip_obeys_the_toolkit2_constraints(capsys, tmp_path, wheelhouse, tmp_path_factory):
    env = tmp_path_factory.mktemp("venv2") / "env"
    venv.EnvBuilder(with_pip=False).create(env)
    out = tmp_path / "c2.txt"
    code, _o, err = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit2==2.3.2", "--python", "3.10", "--platform", "linux_x86_64", "-o", str(out))
    assert code == 0, err
    installed = pip_install(env, wheelhouse, out, "numpy")
    assert installed["numpy"] == "1.26.4"  # numpy 2.0.0 is excluded by numpy<=1.26.4


def test_constraints_to_stdout_and_refusals(capsys):
    code, out, _err = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit2==2.3.2", "--python", "3.10", "--platform", "linux_x86_64")
    assert code == 0 and "numpy<=1.26.4" in out and "matrix" in out.splitlines()[1]
    code, _out, err = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit==1.7.5", "--python", "3.11", "--platform", "linux_x86_64")
    assert code == 1 and "no wheel for Python 3.11" in err
    code, _out, err = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit2==2.3.2", "--python", "three")
    assert code == 2 and "X.Y" in err
    code, _out, err = run_cli(capsys, "constraints", "--toolkit", "1.6.0")
    assert code == 2 and "both" in err


def test_output_into_missing_directory_is_clean(capsys, tmp_path):
    code, _out, err = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit2==2.3.2", "--python", "3.10", "--platform", "linux_x86_64",
                              "-o", str(tmp_path / "missing" / "c.txt"))
    assert code == 2 and "cannot write" in err


def test_constraints_follow_the_requirements_where_the_framework_table_disagrees(capsys):
    code, out, _ = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit2==1.5.2", "--python", "3.8", "--platform", "linux_x86_64")
    lines = {line.split()[0] for line in out.splitlines() if line and not line.startswith("#")}
    assert code == 0 and "onnx==1.14.0" in lines
    code, out, _ = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit==1.7.5", "--python", "3.6", "--platform", "linux_x86_64")
    assert "tensorflow<=2.2.0,>=1.10.0" in {line.split()[0] for line in out.splitlines() if line and not line.startswith("#")}
