"""`pip install .` (not editable) must work and ship the matrices and profiles inside the wheel."""
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_data_and_runs_from_a_fresh_venv(tmp_path):
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(ROOT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(out.glob("rknn_envcheck-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {Path(n).name for n in names if n.startswith("rknn_envcheck/matrices/")}
    assert {p.name for p in (ROOT / "matrices").glob("*.toml")} <= shipped
    assert any(n.startswith("rknn_envcheck/profiles/") and n.endswith(".toml") for n in names)
    assert "rknn_envcheck/schemas/facts.schema.json" in names

    # A fresh venv that sees this interpreter's dependencies (no network), with the wheel installed.
    env_dir = tmp_path / "env"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    proc = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # Run from a neutral directory so the checkout cannot be imported by accident.
    proc = subprocess.run([str(env_dir / "bin" / "rknn-envcheck"), "check", "--facts", str(ROOT / "examples" / "facts-rk3588-mismatch.json")],
                          capture_output=True, text=True, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 1, proc.stderr
    assert "matrix 2026" in proc.stdout and "[warn] rknn_server" in proc.stdout
    where = subprocess.run([str(python), "-c", "import rknn_envcheck, sys; print(rknn_envcheck.__file__)"], capture_output=True, text=True, cwd=tmp_path)
    assert str(env_dir) in where.stdout, "the installed copy, not the checkout, must have run"
