"""Constraints files proven with real pip: tiny local wheels, a fresh venv, `pip install -c`."""
import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import venv
import zipfile
from concurrent.futures import ThreadPoolExecutor
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
    assert "tensorflow>=1.10.0,<=2.2.0" in {line.split()[0] for line in out.splitlines() if line and not line.startswith("#")}


def _lines(text):
    return {line.split()[0]: line for line in text.splitlines() if line and not line.startswith("#")}


def test_specifiers_are_simplified(capsys):
    code, out, _ = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit2==2.3.2", "--python", "3.11", "--platform", "linux_x86_64")
    lines = _lines(out)
    assert code == 0 and "onnx>=1.16.1,<=1.17.0" in lines  # table >=1.7.0,<=1.17.0 narrowed by the wheel's >=1.16.1,<=1.17.0
    for requirement in lines:
        name = requirement.split("<")[0].split(">")[0].split("=")[0].split("!")[0]
        spec = requirement[len(name):]
        ops = [part[:2] for part in spec.split(",") if part]
        assert sum(op.startswith(">") for op in ops) <= 1 and sum(op.startswith("<") for op in ops) <= 1, requirement
    from rknn_envcheck.resolver import simplify_specifier
    assert simplify_specifier("<=1.17.0,>=1.16.1,>=1.7.0") == ">=1.16.1,<=1.17.0"
    assert simplify_specifier(">=1.7.0,<=1.14.1,==1.14.1") == "==1.14.1"
    assert simplify_specifier(">=1.0,<=1.4,!=1.5,!=1.2") == ">=1.0,<=1.4,!=1.2"
    assert simplify_specifier(">2,>=2") == ">2" and simplify_specifier("<2,<=2") == "<2"
    assert simplify_specifier("==1.0,==2.0") == "==1.0,==2.0"  # contradictions stay visible


def test_vendor_only_build_gets_the_vendors_wheel_not_an_unresolvable_pip_line(capsys, tmp_path):
    out = tmp_path / "c.txt"
    code, _o, err = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit2==2.2.0", "--python", "3.8", "--platform", "linux_x86_64", "-o", str(out))
    assert code == 0, err
    text = out.read_text()
    wheel = "rknn_toolkit2-2.2.0-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    use = next(line for line in text.splitlines() if line.startswith("# use: "))
    assert f"./{wheel}" in use and "rknn-toolkit2==2.2.0" not in use
    assert any(line.startswith("# get: curl -fLO https://github.com/airockchip/rknn-toolkit2/raw/") and line.endswith(wheel) for line in text.splitlines())
    assert "rknn-toolkit2==2.2.1" in text  # PyPI's cp38 build of the series is named
    assert f"./{wheel}" in err and "use: pip install -c" in err
    code, out2, err = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit2==2.2.0", "--python", "3.10", "--platform", "linux_x86_64")
    assert "# use: pip install -c THIS_FILE rknn-toolkit2==2.2.0" in out2
    # toolkit v1 was never on PyPI: the wheel's PEP 427 name for this Python/platform, and where to get it
    code, out3, _ = run_cli(capsys, "constraints", "--toolkit", "rknn-toolkit==1.7.5", "--python", "3.6", "--platform", "linux_x86_64")
    assert "# use: pip install -c THIS_FILE ./rknn_toolkit-1.7.5-cp36-cp36m-linux_x86_64.whl" in out3
    assert "https://github.com/rockchip-linux/rknn-toolkit/releases" in out3


# ---- every published release that fits Python 3.11 on linux_x86_64, through real pip and PyPI --

RUN_PYPI = os.environ.get("CI") == "true" or os.environ.get("RKNN_ENVCHECK_PYPI_TESTS") == "1"


def _pypi_releases(python: str, platform: str) -> list[str]:
    """From the matrix, not a list in the test: the releases whose wheel for python/platform PyPI has."""
    from rknn_envcheck.matrix import load_matrix
    from rknn_envcheck.resolver import candidates_for

    cands, _ = candidates_for(load_matrix(), python=python, platform=platform)
    return [c.version for c in cands if c.fits and c.install_from == "pypi"]


def _pip_dry_run(tmp_path: Path, version: str) -> tuple[str, dict, str]:
    constraints = tmp_path / f"c-{version}.txt"
    report = tmp_path / f"r-{version}.json"
    made = subprocess.run([sys.executable, "-m", "rknn_envcheck", "constraints", "--toolkit", f"rknn-toolkit2=={version}",
                           "--python", "3.11", "--platform", "linux_x86_64", "-o", str(constraints)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    # --isolated: the machine's pip.conf (extra indexes, a global constraints file) must not take part.
    # --python-version/--platform: resolve for cp311 manylinux x86_64 whatever interpreter runs the test.
    cmd = [sys.executable, "-m", "pip", "install", "--isolated", "--disable-pip-version-check", "--index-url", "https://pypi.org/simple",
           "--dry-run", "--report", str(report), "--ignore-installed", "--only-binary=:all:", "--quiet",
           "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64", "--platform", "linux_x86_64",
           "--target", str(tmp_path / f"target-{version}"),  # pip < 24 accepts --platform only with --target (nothing is written: --dry-run)
           "-c", str(constraints), f"rknn-toolkit2=={version}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"rknn-toolkit2=={version}: {proc.stderr[-3000:]}"
    resolved = {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    return constraints.read_text(), resolved, version


@pytest.mark.slow
@pytest.mark.network
@pytest.mark.skipif(not RUN_PYPI, reason="resolves against https://pypi.org (minutes, gigabytes of torch wheels): runs under CI=true "
                                         "or RKNN_ENVCHECK_PYPI_TESTS=1")
def test_constraints_of_every_pypi_release_for_python_311_resolve_with_real_pip(tmp_path):
    from packaging.requirements import Requirement

    versions = _pypi_releases("3.11", "linux_x86_64")
    assert len(versions) >= 4 and "2.5.0" in versions and "2.2.1" not in versions  # 2.2.1 is a cp38-only build
    # One release takes 1-2 minutes (pip downloads whole wheels where the index serves no PEP 658
    # metadata: torch and its CUDA wheels are gigabytes), so the releases run side by side.
    with ThreadPoolExecutor(max_workers=len(versions)) as pool:
        results = list(pool.map(lambda v: _pip_dry_run(tmp_path, v), versions))
    for text, resolved, version in results:
        assert resolved["rknn-toolkit2"] == version
        checked = 0
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            req = Requirement(line.split("#")[0].strip())
            name = re.sub(r"[-_.]+", "-", req.name).lower()
            if name in resolved:  # a constraint limits versions; it installs nothing by itself
                assert req.specifier.contains(resolved[name], prereleases=True), (version, line, resolved[name])
                checked += 1
        assert checked >= 8, (version, checked)
