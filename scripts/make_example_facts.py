"""Regenerate examples/facts-rk3588-mismatch.json from a real environment.

The host half is observed, not written by hand: a real venv (under /tmp) holding the vendor's own
METADATA of rknn-toolkit2 2.3.2 (tests/data/metadata, copied from the PyPI wheel) and every
distribution its Requires-Dist closure needs at fitting versions (installed-distribution layouts
with METADATA, as tests/test_deps_closure.py builds them) — except numpy 2.0.0, the host problem
the example demonstrates (the NumPy 2 pitfall). `rknn-envcheck host --python V --save-facts`
observes it. The board half (RK3588 with rknn_server/librknnrt 1.5.2 and rknpu 0.8.2) is kept from
the current example file. Usage: python scripts/make_example_facts.py [--python PY311]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.test_deps_closure import HEALTHY_232, TOOLKIT_232, _metadata  # noqa: E402
from tests.test_host_venvs import add_dist, make_venv  # noqa: E402

EXAMPLE = ROOT / "examples" / "facts-rk3588-mismatch.json"
DEMONSTRATED = {"numpy": ("2.0.0", [])}  # the host mismatch the example shows; the rest fits


def _keep_the_default_adb_server(host: dict) -> None:
    """Private adb servers that test runs on this machine left on random ports are not part of the
    example's story: keep the default server (tcp:5037), as a user's PC has, and its process."""
    servers = [s for s in host.get("adb_servers") or [] if str(s.get("port")) == "5037"]
    if not servers:
        return
    host["adb_servers"] = servers
    host["adb_server"] = servers[0]
    pids = {s.get("pid") for s in servers}
    host["process_details"] = [p for p in host.get("process_details") or [] if p.get("name") != "adb" or p.get("pid") in pids]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default="/root/.pyenv/versions/3.11.7/bin/python3", help="interpreter for the venv (the METADATA is cp311)")
    parser.add_argument("--venv", default="/tmp/rknn-venv", help="where the venv is built (replaced)")
    args = parser.parse_args()
    venv = Path(args.venv)
    shutil.rmtree(venv, ignore_errors=True)
    env_python, site = make_venv(venv, args.python)
    text = TOOLKIT_232.read_text()
    add_dist(site, "rknn-toolkit2", "2.3.2", module="rknn", metadata=text)
    for name, (version, requires) in {**HEALTHY_232, **DEMONSTRATED}.items():
        add_dist(site, name, version, module=name.replace("-", "_").replace(".", "_"), metadata=_metadata(name, version, requires))
    with tempfile.TemporaryDirectory() as tmp:
        saved = Path(tmp) / "host.json"
        subprocess.run([sys.executable, "-m", "rknn_envcheck", "host", "--python", env_python, "--save-facts", str(saved)],
                       capture_output=True, text=True, timeout=120)
        host_facts = json.loads(saved.read_text())
    _keep_the_default_adb_server(host_facts["host"])
    example = json.loads(EXAMPLE.read_text())
    example["schema"] = host_facts.get("schema", example["schema"])
    example["host"] = host_facts["host"]
    EXAMPLE.write_text(json.dumps(example, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {EXAMPLE} (host observed in {env_python})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
