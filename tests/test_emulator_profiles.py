"""Shipped board profiles: they load, say what the reference says byte for byte, and bad ones are refused."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from rknn_envcheck.cli import main
from rknn_envcheck.emulator.board import EmulatedBoard
from rknn_envcheck.emulator.profile import load_profile, shipped_profiles
from rknn_envcheck.emulator.sysroot import materialize
from rknn_envcheck.errors import UsageError

REQUIRED = ["rk1808-toolkit1.3.0", "rk1808-1.7.5", "rk1808-1.7.5-old-server", "rv1126-1.7.5-mini-driver", "rv1109-1.6.0",
            "rk3399pro-1.6.0", "rk1806-1.4.0", "rk3568-android-rknpu2-1.4.0", "rk3566-1.5.2", "rk3588-2.3.2",
            "rk3588-1.5.2-driver-0.8.2", "rk3588-mixed-server-runtime", "rk3576-2.3.2", "rk3562-2.3.2", "rv1106-2.3.2",
            "rv1103-1.5.2", "rk3588-lite2", "legacy-linux-adbd", "rk3588-no-driver"]


def test_required_profiles_are_shipped():
    assert set(REQUIRED) <= set(shipped_profiles())


@pytest.mark.parametrize("name", shipped_profiles())
def test_every_shipped_profile_loads_and_states_its_expectation(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.meta["expect_status"] in ("ok", "warn", "fail")
    assert profile.meta["expect"].split(":")[0] == profile.meta["expect_status"]
    assert "§" in profile.meta["source"]
    assert "/proc/device-tree/compatible" in profile.files
    compatible = profile.files["/proc/device-tree/compatible"].data
    assert compatible.endswith(b"\x00") and f"rockchip,{profile.chip.lower()}".encode() in compatible


def _sh(profile, command):
    return EmulatedBoard(profile).shell(command, 5).stdout


# (profile, command, exact stdout) -- strings quoted in toolkit1.md §3.2-3.3 and toolkit2.md §1.3, §3.3
EXACT = [
    ("rk1808-1.7.5", "strings /usr/bin/rknn_server | grep build", "1.7.5 (bb79b30 build: 2023-07-18 10:49:14)\n.note.gnu.build-id\n"),
    ("rk1808-1.7.5", "strings /usr/lib/librknn_runtime.so | grep version",
     "librknn_runtime version 1.7.5 (ccb93f1 build: 2023-07-18 10:48:49 base: 1131)\n"),
    ("rk1808-1.7.5", "dmesg | grep 'Galcore version'", "[    9.336654] Galcore version 6.4.6.5.351518\n"),
    ("rk1808-toolkit1.3.0", "dmesg | grep 'Galcore version'", "[    9.336654] Galcore version 6.4.0.227915\n"),
    ("rk1808-1.7.5-old-server", "strings /usr/bin/rknn_server | grep build", "1.4.0 (b4a8096 build: 2020-09-14 11:15:57)\n.note.gnu.build-id\n"),
    ("rk1808-1.7.5-old-server", "strings /usr/lib64/librknn_runtime.so | grep 'librknn_runtime version'",
     "librknn_runtime version 1.7.5 (ccb93f1 build: 2023-07-18 10:48:49 base: 1131)\n"),
    ("rv1109-1.6.0", "strings /usr/bin/rknn_server | grep build", "1.6.0 (159d2d3 build: 2021-01-12 17:29:40)\n"),  # puma: no build-id
    ("rv1126-1.7.5-mini-driver", "strings /usr/lib/librknn_runtime.so | grep 'librknn_runtime version'",
     "librknn_runtime version 1.7.5 (ccb93f1 build: 2023-07-18 10:57:47 base: 1131)\n"),
    ("rk3588-2.3.2", "strings /usr/lib/librknnrt.so | grep -i 'librknnrt version'", "librknnrt version: 2.3.2 (429f97ae6b@2025-04-09T09:09:27)\n"),
    ("rk3588-2.3.2", "strings /usr/bin/rknn_server | grep -i 'rknn_server version'", "rknn_server version: 2.3.2 (1842325 build@2025-03-30T09:54:34)\n"),
    ("rk3588-2.3.2", "cat /sys/kernel/debug/rknpu/version", "RKNPU driver: v0.9.6\n"),
    ("rk3588-2.3.2", "dmesg | grep 'Initialized rknpu'", "[    5.726221] [drm] Initialized rknpu 0.9.6 20240322 for fdab0000.npu on minor 1\n"),
    ("rk3588-2.3.2", "cat /proc/device-tree/compatible", "rockchip,rk3588s-orangepi-5\x00rockchip,rk3588\x00"),
    ("rk3588-mixed-server-runtime", "strings /usr/bin/rknn_server | grep -i 'rknn_server version'", ""),  # 1.5.0: bare form only
    ("rk3588-mixed-server-runtime", "strings /usr/bin/rknn_server | grep build", "1.5.0 (17e11b1 build: 2023-05-18 21:43:39)\n"),
    ("rk3568-android-rknpu2-1.4.0", "strings /vendor/bin/rknn_server | grep build", "1.4.0 (bb6dac9 build: 2022-08-29 16:16:56)\n"),
    ("rk3568-android-rknpu2-1.4.0", "strings /vendor/lib64/librknnrt.so | grep -i 'librknnrt version'",
     "librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)\n"),
    ("rk3568-android-rknpu2-1.4.0", "getprop ro.build.version.sdk", "30\n"),
    ("rv1106-2.3.2", "strings /oem/usr/lib/librknnmrt.so | grep -i 'librknnmrt version'", "librknnmrt version: 2.3.2 (429f97ae6b@2025-04-09T09:11:49)\n"),
    ("rv1106-2.3.2", "test -e /oem/usr/bin/rknn_server && test ! -e /usr/lib/librknnmrt.so && echo ok", "ok\n"),
    ("rk3588-no-driver", "dmesg | grep -i rknpu; test -e /sys/kernel/debug/rknpu/version || echo absent", "absent\n"),
    ("rk3588-lite2", "python3 --version", "Python 3.10.12\n"),
    ("rk3588-lite2", "grep -h -E '^(Name|Version):' /usr/local/lib/python3*/dist-packages/rknn_toolkit_lite2-*.dist-info/METADATA",
     "Name: rknn-toolkit-lite2\nVersion: 2.3.2\n"),
]


@pytest.mark.parametrize("profile,command,expected", EXACT, ids=[f"{p}:{c[:40]}" for p, c, _ in EXACT])
def test_board_prints_what_the_reference_documents(profile, command, expected):
    assert _sh(profile, command) == expected


def test_mini_driver_file_set():
    board = EmulatedBoard("rv1126-1.7.5-mini-driver")
    out = board.shell("ls /usr/lib/libVSC_Lite.so /usr/lib/libVSC.so /usr/lib/libOpenCL.so /usr/bin/rknn_server", 5)
    assert out.stdout == "/usr/lib/libVSC_Lite.so\n"
    assert out.stderr.count("No such file") == 3
    assert "754032" in board.shell("ls -l /usr/lib/librknn_runtime.so", 5).stdout


def _write(tmp_path, text, name="bad.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


GOOD = """
[meta]
description = "d"
source = "s §1"
expect = "ok"
expect_status = "ok"
toolkit = "rknn-toolkit2==2.3.2"
[board]
chip = "RK3588"
os = "linux"
arch = "aarch64"
[kernel]
release = "5.10.160"
"""


@pytest.mark.parametrize("mutation,key,reason", [
    (lambda t: t.replace('chip = "RK3588"', 'chp = "RK3588"'), "board.chp", "unknown key"),
    (lambda t: t.replace('chip = "RK3588"\n', ""), "board.chip", "is required"),
    (lambda t: t.replace('expect_status = "ok"', 'expect_status = "good"'), "meta.expect_status", "must be ok, warn, fail"),
    (lambda t: t.replace('os = "linux"', 'os = "windows"'), "board.os", "must be linux or android"),
    (lambda t: t + '[adbd]\nfeatures = ["shell_v2", "ls_v2"]\n', "adbd.features", "not implemented by the emulator"),
    (lambda t: t + '[adbd]\nmax_payload = "big"\n', "adbd.max_payload", "must be a int"),
    (lambda t: t + '[files]\n"/usr/bin/x" = { strings = ["abc"] }\n', 'files."/usr/bin/x".strings[0]', "would not be printed by `strings`"),
    (lambda t: t + '[files]\n"relative" = "x"\n', 'files."relative"', "must be absolute"),
    (lambda t: t + '[props]\n"ro.a" = "b"\n', "[props]", "getprop exists only on Android"),
    (lambda t: t.replace('arch = "aarch64"', 'arch = "aarch64"\nfaults = ["explode"]'), "board.faults", "unknown fault"),
    (lambda t: t.replace("[kernel]", "[kernal]"), "[kernal]", "unknown table"),
])
def test_malformed_profile_is_refused_with_file_key_and_reason(tmp_path, mutation, key, reason):
    path = _write(tmp_path, mutation(GOOD))
    load_profile(_write(tmp_path, GOOD, "good.toml"))  # the base is valid
    with pytest.raises(UsageError) as err:
        load_profile(path)
    message = str(err.value)
    assert path in message and key in message and reason in message


def test_broken_toml_and_unknown_name(tmp_path):
    with pytest.raises(UsageError, match="not valid TOML"):
        load_profile(_write(tmp_path, "[meta\n"))
    with pytest.raises(UsageError, match="no profile named 'rk9999'.*emulator list"):
        load_profile("rk9999")


def test_cli_refuses_a_malformed_profile_with_exit_2(tmp_path, capsys):
    path = _write(tmp_path, GOOD.replace('os = "linux"', 'os = 7'))
    assert main(["emulator", "serve", path]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rknn-envcheck: error: profile ") and "board.os" in err and "must be a str" in err


def test_emulator_list_output(capsys):
    assert main(["emulator", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["PROFILE", "CHIP", "OS", "EXPECT"]
    rows = {line.split()[0]: line.split() for line in out[1:] if line and not line.startswith(tuple("0123456789"))}
    assert set(shipped_profiles()) == set(rows)
    assert rows["rk3568-android-rknpu2-1.4.0"][1:5] == ["RK3568", "android", "fail", "rknn-toolkit2==2.3.2"]
    assert main(["emulator", "list", "--faults"]) == 0
    faults = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert faults == ["unauthorized", "offline", "hang", "drop", "slow=MS", "garbage", "truncated", "missing-binary[=NAME]", "dmesg-denied"]


def test_sysroot_materialization(tmp_path):
    root = materialize(load_profile("rv1126-1.7.5-mini-driver"), tmp_path / "root")
    runtime = root / "usr/lib/librknn_runtime.so"
    assert runtime.stat().st_size == 754032 and os.access(runtime, os.X_OK)
    assert b"librknn_runtime version 1.7.5 (ccb93f1 build: 2023-07-18 10:57:47 base: 1131)\x00" in runtime.read_bytes()
    assert (root / "usr/lib/libVSC_Lite.so").exists() and not (root / "usr/lib/libVSC.so").exists()
    assert (root / "proc/device-tree/compatible").read_bytes() == b"rockchip,rv1126-evb-ddr3-v13\x00rockchip,rv1126\x00"
    meta = root / ".rknn-envcheck"
    assert "Galcore version 6.4.6.5.351518" in (meta / "dmesg").read_text()
    assert json.loads((meta / "uname.json").read_text())["machine"] == "armv7l"
    assert [p["name"] for p in json.loads((meta / "processes.json").read_text())] == ["init", "adbd"]
    assert json.loads((meta / "getprop.json").read_text()) == {}
    if shutil.which("strings"):  # the real binutils `strings` finds exactly the profile's strings
        out = subprocess.run(["strings", str(root / "lib/modules/galcore.ko")], capture_output=True, text=True).stdout
        assert out.splitlines() == ["Galcore version %s", "6.4.6.5.351518", "vermagic=4.19.111 SMP preempt mod_unload ARMv7 p2v8"]
    with pytest.raises(UsageError, match="not an empty directory"):
        materialize(load_profile("rk3588-2.3.2"), root)
    assert runtime.exists()  # nothing lost


def test_from_facts_replays_a_board(tmp_path, capsys):
    from rknn_envcheck.probes.board import gather_board

    device = gather_board(EmulatedBoard("rk1808-1.7.5-old-server"), 5)
    facts = {"schema": "rknn-envcheck/facts/1", "host": {"packages": {"rknn-toolkit": "1.7.5"}},
             "devices": [{k: device[k] for k in ("serial", "state", "transport", "chip", "arch", "os", "rknn_server",
                                                 "librknn_runtime", "npu_driver", "mini_driver", "raw", "how") if k in device}]}
    facts_path = tmp_path / "facts.json"
    facts_path.write_text(json.dumps(facts))
    out = tmp_path / "replay.toml"
    assert main(["emulator", "from-facts", str(facts_path), "-o", str(out)]) == 0
    replay = gather_board(EmulatedBoard(str(out)), 5)
    for field in ("chip", "rknn_server", "librknn_runtime", "npu_driver", "mini_driver"):
        assert replay[field] == device[field], field
    assert replay["raw"]["rknn_server"] == "1.4.0 (b4a8096 build: 2020-09-14 11:15:57)"
    assert main(["emulator", "from-facts", str(facts_path), "-o", str(out)]) == 2  # no silent overwrite
    assert "already exists" in capsys.readouterr().err
