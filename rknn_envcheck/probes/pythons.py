"""Which Python to judge, and every Python on the machine that holds an RKNN toolkit.

rknn-envcheck is installed the way command-line tools are (pipx, `uv tool install`) into a venv of
its own — and toolkit v1 users must do so, since their toolkit lives in Python 3.6–3.8. So with no
`--python`, the environment judged is the user's, not ours: the active virtual environment
(VIRTUAL_ENV), then the active conda environment (CONDA_PREFIX), then the `python3` first on PATH
when its real interpreter (through pyenv shims) is not ours; our own interpreter only when none of
these exists. The same idea as `pipdeptree --python auto`.

`discover()` answers "I installed rknn-toolkit2, why does `import rknn` fail?" — it is in another
Python: PATH entries, pyenv versions and their virtualenvs, conda environments, ~/.virtualenvs,
pipenv and poetry venv folders, and .venv/venv under the current directory. A candidate is kept
when its site-packages hold an RKNN toolkit (or the toolkit's framework set), found from the
dist-info folder names alone — no interpreter is started to find them.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rknn_envcheck.records import dataclass

TOOLKIT_PREFIXES = ("rknn_toolkit", "rknn-toolkit")
# Without a toolkit, an environment holding the frameworks a toolkit converts from is still the
# one a user means (they installed the frameworks, then the toolkit install failed).
FRAMEWORK_SET = (("onnx",), ("torch", "tensorflow"))
_WINDOWS = os.name == "nt"


@dataclass(frozen=True)
class Target:
    """The interpreter to judge (None: this tool's own) and why it was chosen."""

    python: str | None
    reason: str
    kind: str  # "virtualenv" | "conda" | "path" | "own" | "explicit"


def _interpreter_in(prefix: str) -> str | None:
    names = ("Scripts/python.exe", "python.exe") if _WINDOWS else ("bin/python3", "bin/python")
    for name in names:
        path = os.path.join(prefix, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _same_prefix(prefix: str, own_prefix: str) -> bool:
    try:
        return os.path.samefile(prefix, own_prefix)
    except OSError:
        return os.path.realpath(prefix) == os.path.realpath(own_prefix)


def real_interpreter(python: str, timeout: float = 5.0) -> tuple[str, str] | None:
    """(sys.executable, sys.prefix) of what `python` really runs — a pyenv shim is a shell script
    that picks the interpreter at run time, so only asking it tells."""
    try:
        proc = subprocess.run([python, "-I", "-c", "import sys; print(sys.executable); print(sys.prefix)"],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = proc.stdout.strip().splitlines()
    return (lines[0], lines[1]) if proc.returncode == 0 and len(lines) >= 2 else None


def _is_script(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


def default_target(env=None, own_prefix: str | None = None) -> Target:
    env = os.environ if env is None else env
    own_prefix = own_prefix or sys.prefix
    for variable, what, kind in (("VIRTUAL_ENV", "virtual environment", "virtualenv"), ("CONDA_PREFIX", "conda environment", "conda")):
        prefix = env.get(variable)
        python = _interpreter_in(prefix) if prefix else None
        if python and not _same_prefix(prefix, own_prefix):
            return Target(python, f"the active {what} ({variable}={prefix})", kind)
        if python:
            return Target(None, f"the active {what} is this tool's own ({variable}={prefix})", "own")
    on_path = shutil.which("python3", path=env.get("PATH", "")) or (shutil.which("python", path=env.get("PATH", "")) if _WINDOWS else None)
    if on_path:
        if _is_script(on_path) or "shims" in Path(on_path).parts:
            real = real_interpreter(on_path)
            if real is None:
                return Target(None, f"python3 first on PATH ({on_path}) did not say which interpreter it runs, so this tool's own is judged", "own")
            if _same_prefix(real[1], own_prefix):
                return Target(None, f"python3 first on PATH ({on_path} → {real[0]}) is this tool's own environment", "own")
            return Target(real[0], f"python3 first on PATH ({on_path} → {real[0]}), and it is not this tool's own environment", "path")
        if _same_prefix(environment_prefix(on_path), own_prefix):
            return Target(None, "python3 first on PATH is this tool's own environment", "own")
        return Target(on_path, "python3 first on PATH, and it is not this tool's own environment", "path")
    return Target(None, "no virtual environment, conda environment or python3 on PATH: judged this tool's own interpreter", "own")


def environment_prefix(python: str) -> str:
    """The environment an interpreter file belongs to, without running it: a venv's bin/python3 is
    a link to its base interpreter, so the venv (pyvenv.cfg beside bin/) is the environment, not
    the file the link points to; a plain interpreter's environment is two levels above the file
    (/usr/bin/python3.11 → /usr, ~/.pyenv/versions/3.11.7/bin/python3.11 → ~/.pyenv/versions/3.11.7)."""
    prefix = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    if os.path.isfile(os.path.join(prefix, "pyvenv.cfg")):
        return prefix
    return os.path.dirname(os.path.dirname(os.path.realpath(python)))


# ---------------------------------------------------------------- discovery of every environment

def _site_packages(prefix: str) -> list[str]:
    if _WINDOWS:
        return [p for p in (os.path.join(prefix, "Lib", "site-packages"),) if os.path.isdir(p)]
    # Debian's own python3 keeps packages in dist-packages: /usr/lib/python3/dist-packages (apt)
    # and /usr/local/lib/python3.X/dist-packages (sudo pip install)
    found = []
    for parts in (("lib", "python*", "site-packages"), ("lib64", "python*", "site-packages"),
                  ("lib", "python*", "dist-packages"), ("local", "lib", "python*", "dist-packages")):
        found += glob.glob(os.path.join(glob.escape(prefix), *parts))
    return sorted(set(found))


def holdings(prefix: str) -> dict[str, str]:
    """Distribution name → version for the toolkits and frameworks whose dist-info folders are in
    the prefix's site-packages (names only: nothing is imported or run)."""
    wanted = {"onnx", "torch", "tensorflow", "tensorflow-cpu", "tensorflow-gpu"}
    found: dict[str, str] = {}
    for site in _site_packages(prefix):
        try:
            entries = os.listdir(site)
        except OSError:
            continue
        for entry in entries:
            if not (entry.endswith(".dist-info") or entry.endswith(".egg-info")):
                continue
            stem = entry.rsplit(".", 1)[0]
            name, _, version = stem.partition("-")
            # setuptools egg-info folders carry the Python too: rknn_toolkit-1.7.5-py3.6.egg-info
            version = version.split("-py", 1)[0]
            canonical = name.lower().replace("_", "-")
            if canonical.startswith("rknn-toolkit") or canonical in wanted:
                found.setdefault(canonical, version)
    return found


def relevant(found: dict[str, str]) -> bool:
    if any(name.startswith("rknn-toolkit") for name in found):
        return True
    names = {"tensorflow" if n.startswith("tensorflow") else n for n in found}
    return all(any(option in names for option in group) for group in FRAMEWORK_SET)


def _prefix_of(python: str) -> str:
    # environment_prefix, not the folder above bin/: /bin/python3 on a merged-/usr system is
    # /usr's interpreter, and "/" would be listed beside "/usr" as a second environment.
    return environment_prefix(python) if not _WINDOWS else str(Path(python).parent)


def _conda_envs(home: Path, env) -> list[str]:
    listing = home / ".conda" / "environments.txt"
    try:
        return [line.strip() for line in listing.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        pass
    conda = shutil.which("conda", path=env.get("PATH", ""))
    if not conda:
        return []
    try:
        import json

        proc = subprocess.run([conda, "info", "--envs", "--json"], capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)
        return [str(p) for p in json.loads(proc.stdout).get("envs", [])] if proc.returncode == 0 else []
    except (OSError, subprocess.SubprocessError, ValueError):
        return []


def candidate_prefixes(home: Path | None = None, cwd: Path | None = None, env=None, fast: bool = False) -> list[tuple[str, str]]:
    """(prefix, where it was found), in the order a user would look, without duplicates.
    `fast`: only the active environments and PATH (what the doctor looks at: no pyenv, conda or
    virtualenv folder scan, no `conda` run)."""
    env = os.environ if env is None else env
    found: list[tuple[str, str]] = []
    for key, label in (("VIRTUAL_ENV", "VIRTUAL_ENV"), ("CONDA_PREFIX", "CONDA_PREFIX")):
        if env.get(key):
            found.append((env[key], label))
    for directory in env.get("PATH", "").split(os.pathsep):
        if not directory or "shims" in Path(directory).parts:
            continue  # pyenv shims resolve to the pyenv versions listed below
        for name in ("python3", "python", "python.exe"):
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                found.append((_prefix_of(path), f"PATH ({directory})"))
                break
    if not fast:
        found += _scanned_prefixes(Path(home or Path.home()), Path(cwd or Path.cwd()), env)
    return _unique(found)


def _scanned_prefixes(home: Path, cwd: Path, env) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    pyenv_root = Path(env.get("PYENV_ROOT") or home / ".pyenv")
    for version in sorted(glob.glob(str(pyenv_root / "versions" / "*"))):
        # pyenv-virtualenv links versions/NAME to versions/X.Y.Z/envs/NAME
        found.append((version, "pyenv virtualenv" if os.path.islink(version) else "pyenv"))
        for venv in sorted(glob.glob(os.path.join(glob.escape(version), "envs", "*"))):
            found.append((venv, "pyenv virtualenv"))
    for prefix in _conda_envs(home, env):
        found.append((prefix, "conda"))
    for pattern, label in ((home / ".virtualenvs" / "*", "~/.virtualenvs"),
                           (home / ".local" / "share" / "virtualenvs" / "*", "pipenv"),
                           (home / ".cache" / "pypoetry" / "virtualenvs" / "*", "poetry"),
                           (Path(env.get("WORKON_HOME", home / ".virtualenvs")) / "*", "WORKON_HOME")):
        for prefix in sorted(glob.glob(str(pattern))):
            found.append((prefix, label))
    for name in (".venv", "venv"):
        if (cwd / name).is_dir():
            found.append((str(cwd / name), f"./{name}"))
    return found


def _unique(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    unique: list[tuple[str, str]] = []
    seen: set[str] = set()
    for prefix, where in found:
        key = os.path.realpath(prefix)
        if key in seen or not os.path.isdir(prefix):
            continue
        seen.add(key)
        unique.append((prefix, where))
    return unique


@dataclass(frozen=True)
class Found:
    python: str
    prefix: str
    where: str
    holds: tuple  # ((name, version), ...)


def discover(home: Path | None = None, cwd: Path | None = None, env=None, fast: bool = False) -> list[Found]:
    """Every environment with an interpreter whose site-packages hold a toolkit or its frameworks."""
    result = []
    for prefix, where in candidate_prefixes(home, cwd, env, fast=fast):
        python = _interpreter_in(prefix)
        if python is None:
            continue
        found = holdings(prefix)
        if relevant(found):
            result.append(Found(python, prefix, where, tuple(sorted(found.items()))))
    return result
