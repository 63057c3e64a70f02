"""Which Python is judged without --python, and discovery of every environment with a toolkit: real
venvs in a fake HOME laid out as pyenv, conda, virtualenvwrapper, pipenv and poetry lay them out."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rknn_envcheck.probes.pythons import candidate_prefixes, default_target, discover


def _venv(path: Path, dists: dict[str, str] | None = None) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True, timeout=120)
    site = next((path / "lib").glob("python*/site-packages"))
    for name, version in (dists or {}).items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return path


@pytest.fixture(scope="module")
def layout(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    cwd = tmp_path_factory.mktemp("project")
    envs = {
        "pyenv": _venv(home / ".pyenv" / "versions" / "3.8.18", {"rknn-toolkit": "1.7.5"}),
        "pyenv-venv": _venv(home / ".pyenv" / "versions" / "3.8.18" / "envs" / "rk", {"rknn-toolkit2": "2.3.2"}),
        "conda": _venv(home / "miniconda3" / "envs" / "npu", {"rknn-toolkit2": "2.2.0"}),
        "workon": _venv(home / ".virtualenvs" / "frameworks", {"onnx": "1.16.1", "torch": "2.4.0"}),
        "pipenv": _venv(home / ".local" / "share" / "virtualenvs" / "app-AbCd1234", {"requests": "2.0"}),
        "poetry": _venv(home / ".cache" / "pypoetry" / "virtualenvs" / "proj-x-py3.10", {"rknn-toolkit-lite2": "2.3.2"}),
        "dotvenv": _venv(cwd / ".venv", {"rknn_toolkit2": "2.5.0"}),
    }
    (home / ".conda").mkdir()
    (home / ".conda" / "environments.txt").write_text(f"{envs['conda']}\n/nonexistent/env\n")
    return home, cwd, envs


def test_every_environment_with_a_toolkit_or_its_frameworks_is_found(layout):
    home, cwd, envs = layout
    env = {"PATH": "/nonexistent", "HOME": str(home)}
    found = {Path(f.prefix).resolve(): f for f in discover(home, cwd, env)}
    expected = {k: v.resolve() for k, v in envs.items() if k != "pipenv"}
    assert set(found) == set(expected.values())
    assert dict(found[expected["dotvenv"]].holds) == {"rknn-toolkit2": "2.5.0"}
    assert found[expected["pyenv-venv"]].where == "pyenv virtualenv"
    assert found[expected["conda"]].where == "conda"
    assert dict(found[expected["workon"]].holds) == {"onnx": "1.16.1", "torch": "2.4.0"}


def test_candidates_have_no_duplicates_and_skip_missing_conda_entries(layout):
    home, cwd, envs = layout
    env = {"PATH": os.pathsep.join([str(envs["conda"] / "bin"), str(envs["conda"] / "bin")]), "VIRTUAL_ENV": str(envs["conda"])}
    prefixes = [os.path.realpath(p) for p, _ in candidate_prefixes(home, cwd, env)]
    assert len(prefixes) == len(set(prefixes))
    assert "/nonexistent/env" not in prefixes


def test_virtual_env_wins_over_conda_and_path(layout):
    _home, _cwd, envs = layout
    env = {"VIRTUAL_ENV": str(envs["dotvenv"]), "CONDA_PREFIX": str(envs["conda"]), "PATH": str(envs["workon"] / "bin")}
    target = default_target(env)
    assert target.kind == "virtualenv" and target.python.startswith(str(envs["dotvenv"]))
    assert "VIRTUAL_ENV=" in target.reason


def test_conda_prefix_wins_over_path(layout):
    _home, _cwd, envs = layout
    target = default_target({"CONDA_PREFIX": str(envs["conda"]), "PATH": str(envs["workon"] / "bin")})
    assert target.kind == "conda" and target.python.startswith(str(envs["conda"]))


def test_python3_on_path_is_judged_when_it_is_not_ours(layout):
    _home, _cwd, envs = layout
    target = default_target({"PATH": str(envs["workon"] / "bin")})
    assert target.kind == "path" and target.python == str(envs["workon"] / "bin" / "python3")


def test_a_pyenv_style_shim_is_resolved_to_its_real_interpreter(layout, tmp_path):
    _home, _cwd, envs = layout
    shims = tmp_path / ".pyenv" / "shims"
    shims.mkdir(parents=True)
    shim = shims / "python3"
    shim.write_text(f"#!/bin/sh\nexec {envs['pyenv-venv'] / 'bin' / 'python3'} \"$@\"\n")
    shim.chmod(0o755)
    target = default_target({"PATH": str(shims)})
    assert target.kind == "path" and Path(target.python).parent.parent.resolve() == envs["pyenv-venv"].resolve()
    assert "→" in target.reason


def test_our_own_interpreter_only_when_nothing_else_exists():
    target = default_target({"PATH": "/nonexistent"})
    assert target.kind == "own" and target.python is None
    if os.path.exists(os.path.join(os.path.dirname(sys.executable), "python3")) and sys.prefix == sys.base_prefix:
        own = default_target({"PATH": os.path.dirname(sys.executable)})
        assert own.kind == "own"


def test_a_tool_venv_does_not_hide_the_system_python(layout, tmp_path):
    """pipx / uv tool: the tool's venv links to the same base interpreter as the user's python3,
    but they are two environments — the user's is judged."""
    _home, _cwd, envs = layout
    target = default_target({"PATH": str(envs["workon"] / "bin")}, own_prefix=str(envs["poetry"]))
    assert target.kind == "path"
    target = default_target({"PATH": str(envs["workon"] / "bin")}, own_prefix=str(envs["workon"]))
    assert target.kind == "own"


def test_fast_candidates_are_only_the_active_environments_and_path(layout):
    home, cwd, envs = layout
    env = {"PATH": str(envs["workon"] / "bin"), "VIRTUAL_ENV": str(envs["dotvenv"])}
    fast = [Path(prefix).resolve() for prefix, _ in candidate_prefixes(home, cwd, env, fast=True)]
    assert fast == [envs["dotvenv"].resolve(), envs["workon"].resolve()]
    assert {Path(f.prefix).resolve() for f in discover(home, cwd, env, fast=True)} == set(fast)


def test_egg_info_and_dist_packages_are_read(tmp_path):
    from rknn_envcheck.probes.pythons import holdings

    legacy = tmp_path / "lib" / "python3.6" / "site-packages" / "rknn_toolkit-1.7.5-py3.6.egg-info"
    legacy.mkdir(parents=True)
    debian = tmp_path / "local" / "lib" / "python3.11" / "dist-packages" / "onnx-1.16.1.dist-info"
    debian.mkdir(parents=True)
    assert holdings(str(tmp_path)) == {"rknn-toolkit": "1.7.5", "onnx": "1.16.1"}


def test_a_pyenv_virtualenv_link_is_labelled_as_one(layout, tmp_path):
    home, cwd, envs = layout
    root = tmp_path / "pyenv"
    (root / "versions").mkdir(parents=True)
    (root / "versions" / "rk").symlink_to(envs["pyenv-venv"])
    where = dict((Path(p).resolve(), w) for p, w in candidate_prefixes(home, cwd, {"PATH": "", "PYENV_ROOT": str(root)}))
    assert where[envs["pyenv-venv"].resolve()] == "pyenv virtualenv"
