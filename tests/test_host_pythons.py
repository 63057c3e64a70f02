"""The probe runs for real under every Python installed here; its syntax floor is Python 3.5."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

import pytest

from rknn_envcheck.errors import UsageError
from rknn_envcheck.probes.host import PROBE_FILE, probe_source, run_probe
from test_host_venvs import add_dist, make_venv

PYENV = "/root/.pyenv/versions"
PYTHON3S = sorted(glob.glob(f"{PYENV}/3.*/bin/python"), key=lambda p: [int(x) for x in p.split("/")[-3].split(".")])
PYTHON2 = f"{PYENV}/2.7.18/bin/python"


def test_every_installed_python3_was_found():
    if not os.path.isdir(PYENV):
        pytest.skip("no pyenv interpreters on this machine")
    minors = {p.split("/")[-3].rsplit(".", 1)[0] for p in PYTHON3S}
    assert {"3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"} <= minors, minors


@pytest.mark.parametrize("python", PYTHON3S, ids=lambda p: p.split("/")[-3])
def test_probe_runs_in_a_venv_of_each_python(python, tmp_path):
    env_python, site = make_venv(tmp_path / "env", python)
    add_dist(site, "rknn-toolkit", "1.7.5", module="rknn")
    add_dist(site, "numpy", "1.19.5")
    other = tmp_path / "second"
    add_dist(other, "numpy", "1.16.2")
    (site / "second.pth").write_text(f"{other}\n")

    host = run_probe(env_python)
    version = python.split("/")[-3]
    assert host["python"]["version"] == version
    assert host["python"]["in_venv"] is True
    assert host["python"]["bits"] == 64
    assert host["python"]["platform_tag"] == f"linux_{os.uname().machine}"
    assert host["os"] == "linux" and host["arch"] == os.uname().machine
    assert host["rknn"]["package"] == "rknn-toolkit" and host["rknn"]["version"] == "1.7.5"
    assert host["duplicates"][0]["name"] == "numpy"
    assert host["install_target"]["path"] == str(site)
    assert host["errors"] == [], host["errors"]


def test_python2_is_refused_clearly():
    if not os.path.exists(PYTHON2):
        pytest.skip("no Python 2.7 here")
    with pytest.raises(UsageError) as info:
        run_probe(PYTHON2)
    message = str(info.value)
    assert PYTHON2 in message and "Python 2.7.18" in message and "Python 2 is not supported" in message


def test_python2_exits_2_through_the_cli():
    if not os.path.exists(PYTHON2):
        pytest.skip("no Python 2.7 here")
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", "host", "--python", PYTHON2], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Python 2 is not supported" in proc.stderr and PYTHON2 in proc.stderr
    assert "Traceback" not in proc.stderr


def test_probe_syntax_is_python35_compatible():
    vermin = shutil.which("vermin")
    assert vermin, "vermin is a test dependency (pip install vermin)"
    proc = subprocess.run([vermin, "-t=3.5-", "--no-tips", "--violations", str(PROBE_FILE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_vermin_would_catch_a_newer_construct(tmp_path):
    """The check above can fail: an f-string in a copy of the probe is reported."""
    bad = tmp_path / "probe_copy.py"
    bad.write_text(PROBE_FILE.read_text() + "\nVALUE = f'{1}'\n")
    proc = subprocess.run([shutil.which("vermin"), "-t=3.5-", "--no-tips", "--violations", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0


def test_probe_source_is_ascii():
    # It travels as a -c argument; Python 3.5/3.6 under the C locale decode argv as ASCII.
    probe_source().encode("ascii")
