"""The user's environment judged end to end: VIRTUAL_ENV / CONDA_PREFIX precedence through `host`
(real venvs with real dist-info folders), `host --all-pythons` over a fake HOME with one broken
interpreter, the refusal of --save-facts, and the doctor's one-line hint."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.test_host_pythons_discovery import _venv


def _run(args, env_extra, cwd, timeout=180):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYENV_VERSION")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "rknn_envcheck", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd)


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    cwd = tmp_path_factory.mktemp("work")
    envs = {
        "tk2": _venv(home / ".virtualenvs" / "tk2", {"rknn-toolkit2": "2.3.2"}),
        "frameworks": _venv(home / ".virtualenvs" / "frameworks", {"onnx": "1.16.1", "torch": "2.4.0"}),
        "broken": _venv(home / ".virtualenvs" / "broken", {"rknn-toolkit2": "2.2.0"}),
        "conda": _venv(home / "miniconda3" / "envs" / "npu", {"rknn-toolkit2": "2.1.0"}),
        "plain": _venv(home / "plain"),
    }
    for name in ("python3", "python"):
        interpreter = envs["broken"] / "bin" / name
        interpreter.unlink()
        interpreter.write_text("#!/bin/sh\necho 'this is not the probe speaking'\n")
        interpreter.chmod(0o755)
    # a PATH with no python3 of its own: /bin/sh and the coreutils only
    bare = tmp_path_factory.mktemp("bin")
    (bare / "sh").symlink_to("/bin/sh")
    return home, cwd, envs, str(bare)


def test_virtual_env_is_judged_instead_of_the_tools_own(machine):
    home, cwd, envs, bare = machine
    proc = _run(["host", "--json"], {"HOME": str(home), "PATH": bare, "VIRTUAL_ENV": str(envs["tk2"]),
                                     "CONDA_PREFIX": str(envs["conda"])}, cwd)
    assert proc.returncode in (0, 1, 3), proc.stderr
    data = json.loads(proc.stdout)
    judged = data["facts"]["judged_environment"]
    assert judged["kind"] == "virtualenv" and judged["python"].startswith(str(envs["tk2"]))
    assert data["facts"]["host"]["packages"].get("rknn-toolkit2") == "2.3.2"
    assert any(note.startswith(f"judged {judged['python']}: the active virtual environment (VIRTUAL_ENV=") for note in data["notes"])
    assert data["hostname"] and data["hostname"] == data["facts"]["hostname"]


def test_conda_prefix_next_and_the_replay_says_the_same(machine, tmp_path):
    home, cwd, envs, bare = machine
    saved = tmp_path / "facts.json"
    proc = _run(["host", "--save-facts", str(saved)], {"HOME": str(home), "PATH": bare, "CONDA_PREFIX": str(envs["conda"])}, cwd)
    assert proc.returncode in (0, 1, 3), proc.stderr
    facts = json.loads(saved.read_text())
    assert facts["judged_environment"]["kind"] == "conda" and facts["host"]["packages"]["rknn-toolkit2"] == "2.1.0"
    note = f"judged {facts['judged_environment']['python']}: the active conda environment (CONDA_PREFIX={envs['conda']})"
    assert note in proc.stdout
    replay = _run(["check", "--facts", str(saved)], {"PATH": bare}, cwd)
    assert note in replay.stdout


def test_explicit_python_is_recorded_as_explicit(machine):
    home, cwd, envs, bare = machine
    python = str(envs["tk2"] / "bin" / "python3")
    proc = _run(["host", "--json", "--python", python], {"HOME": str(home), "PATH": bare, "VIRTUAL_ENV": str(envs["conda"])}, cwd)
    judged = json.loads(proc.stdout)["facts"]["judged_environment"]
    assert judged == {"python": python, "prefix": os.path.realpath(envs["tk2"]), "reason": f"given with --python {python}", "kind": "explicit"}


def test_a_broken_active_environment_is_a_usage_error_naming_why_it_was_chosen(machine):
    home, cwd, envs, bare = machine
    proc = _run(["host"], {"HOME": str(home), "PATH": bare, "VIRTUAL_ENV": str(envs["broken"])}, cwd)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "VIRTUAL_ENV=" in proc.stderr and "--python PATH" in proc.stderr


def test_all_pythons_judges_every_environment_and_a_broken_one_is_unknown(machine):
    home, cwd, envs, bare = machine
    proc = _run(["host", "--all-pythons", "--json"], {"HOME": str(home), "PATH": bare}, cwd)
    assert proc.returncode in (1, 3), proc.stderr
    data = json.loads(proc.stdout)
    subjects = {s for s in data["subjects"]}
    expected = {f"host:{envs[name] / 'bin' / 'python3'}" for name in ("tk2", "frameworks", "broken")}
    assert subjects == expected  # conda (no environments.txt, no conda) and the plain venv are not found
    by_subject = {}
    for check in data["checks"]:
        by_subject.setdefault(check["subject"], []).append(check)
    broken = by_subject[f"host:{envs['broken'] / 'bin' / 'python3'}"]
    assert [(c["id"], c["status"]) for c in broken] == [("host.probe", "unknown")]
    assert "not the probe" in broken[0]["message"]
    tk2 = by_subject[f"host:{envs['tk2'] / 'bin' / 'python3'}"]
    assert any(c["id"] == "host.toolkit" and c["status"] == "ok" for c in tk2)
    assert len([n for n in data["notes"] if n.startswith(str(home))]) == 3  # one summary line each
    for fmt in ("markdown", "junit", "prometheus"):
        out = _run(["host", "--all-pythons", "--format", fmt], {"HOME": str(home), "PATH": bare}, cwd)
        assert out.returncode in (1, 3), out.stderr
        assert str(envs["broken"] / "bin" / "python3") in out.stdout


def test_all_pythons_refuses_save_facts_and_python(machine, tmp_path):
    home, cwd, envs, bare = machine
    proc = _run(["host", "--all-pythons", "--save-facts", str(tmp_path / "f.json")], {"HOME": str(home), "PATH": bare}, cwd)
    assert proc.returncode == 2 and "--python PATH --save-facts FILE" in proc.stderr and not (tmp_path / "f.json").exists()
    proc = _run(["host", "--all-pythons", "--python", sys.executable], {"HOME": str(home), "PATH": bare}, cwd)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_doctor_points_at_a_toolkit_in_another_fast_candidate(machine):
    home, cwd, envs, bare = machine
    path = os.pathsep.join([str(envs["tk2"] / "bin"), bare])
    proc = _run(["--no-boards"], {"HOME": str(home), "PATH": path, "VIRTUAL_ENV": str(envs["plain"])}, cwd)
    assert proc.returncode in (0, 1, 3), proc.stderr
    hints = [line for line in proc.stdout.splitlines() if "host --all-pythons" in line]
    assert len(hints) == 1 and str(envs["tk2"] / "bin" / "python3") in hints[0] and "rknn-toolkit2 2.3.2" in hints[0]
    # the hint is a fact: a replay of saved facts says the same line
    saved = cwd / "doctor-facts.json"
    _run(["--no-boards", "--save-facts", str(saved)], {"HOME": str(home), "PATH": path, "VIRTUAL_ENV": str(envs["plain"])}, cwd)
    assert hints[0] in _run(["check", "--facts", str(saved)], {"PATH": bare}, cwd).stdout
    # the judged environment itself holding the toolkit is no news
    proc = _run(["--no-boards"], {"HOME": str(home), "PATH": path, "VIRTUAL_ENV": str(envs["tk2"])}, cwd)
    assert "host --all-pythons" not in proc.stdout
