"""`device --local --sysroot DIR`: every shipped profile materialised as a board root filesystem
and inspected with the real /bin/sh, strings and grep of this machine."""
import json

import pytest

from core_helpers import run_cli
from rknn_envcheck.emulator.profile import load_profile, shipped_profiles
from rknn_envcheck.emulator.sysroot import materialize

ORDER = ["ok", "skipped", "unknown", "warn", "fail"]


@pytest.mark.parametrize("name", shipped_profiles())
def test_every_profile_as_a_local_board(capsys, tmp_path, name):
    profile = load_profile(name)
    root = materialize(profile, tmp_path / "root")
    args = ["device", "--local", "--sysroot", str(root), "--json"]
    if profile.meta.get("toolkit"):
        args += ["--toolkit", profile.meta["toolkit"]]
    code, out, err = run_cli(capsys, *args)
    assert "Traceback" not in err
    report = json.loads(out)
    device = report["facts"]["devices"][0]
    assert device["transport"] == "local" and not device.get("probe_error")
    assert device.get("chip") == profile.chip.upper() or profile.meta.get("expect_status") == "fail", device
    worst = max((c["status"] for c in report["checks"]), key=ORDER.index)
    assert worst == profile.meta["expect_status"], [(c["id"], c["status"], c["message"]) for c in report["checks"] if c["status"] != "ok"]


def test_lite_board_is_judged_against_its_own_lite_package(capsys, tmp_path):
    root = materialize(load_profile("rk3588-lite2"), tmp_path / "root")
    code, out, _ = run_cli(capsys, "device", "--local", "--sysroot", str(root), "--json")
    report = json.loads(out)
    python = report["facts"]["devices"][0]["python"]
    assert "rknn-toolkit-lite2" in python["packages"]
    assert any(c["id"].startswith("device.lite.") for c in report["checks"])


def test_sysroot_needs_local_and_a_directory(capsys, tmp_path):
    code, _out, err = run_cli(capsys, "device", "--sysroot", str(tmp_path))
    assert code == 2
    code, _out, err = run_cli(capsys, "device", "--local", "--sysroot", str(tmp_path / "nope"))
    assert code == 2 and "not a directory" in err


def test_a_plain_rootfs_copy_says_unknown_for_what_only_a_live_board_shows(capsys, tmp_path):
    import shutil

    root = materialize(load_profile("rk3588-2.3.2"), tmp_path / "root")
    shutil.rmtree(root / ".rknn-envcheck")  # a copied root filesystem: no kernel log, no process list
    code, out, _ = run_cli(capsys, "device", "--local", "--sysroot", str(root), "--toolkit", "rknn-toolkit2==2.3.2", "--json")
    report = json.loads(out)
    device = report["facts"]["devices"][0]
    assert "rknn_server_running" not in device
    assert not any(c["id"] == "device.rknn_server.running" for c in report["checks"])
    assert device["librknn_runtime"] == "2.3.2" and device["npu_driver"] == "0.9.6"  # files still read
