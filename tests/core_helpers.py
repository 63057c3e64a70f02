"""Small helpers the core tests share: facts builders and an in-process CLI runner."""
from __future__ import annotations

import copy
import json

from rknn_envcheck.cli import main

BASE_HOST = {
    "os": "linux",
    "arch": "x86_64",
    "python": {"version": "3.10.12", "implementation": "CPython", "executable": "/venv/bin/python", "bits": 64},
    "packages": {},
    "duplicates": [],
    "processes": [],
    "usb": [],
    "gcc": True,
    "env": {},
}


def facts(packages=None, devices=None, **host_overrides) -> dict:
    host = copy.deepcopy(BASE_HOST)
    host["packages"] = dict(packages or {})
    for key, value in host_overrides.items():
        if key == "python_version":
            host["python"]["version"] = value
        else:
            host[key] = value
    return {"schema": "rknn-envcheck/facts/1", "host": host, "devices": list(devices or [])}


def device(**fields) -> dict:
    base = {"serial": "SER1", "state": "device", "transport": "adb", "arch": "aarch64", "os": "linux", "how": {}, "raw": {}, "errors": {}}
    base.update(fields)
    return base


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_facts(tmp_path, data, name="facts.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def by_id(checks, prefix):
    return [c for c in checks if c.id.startswith(prefix)]
