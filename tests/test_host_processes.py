"""Processes (real ones, started here) and programs on PATH (real scripts and the real adb)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from rknn_envcheck.probes import processes, tools


@pytest.fixture
def named_process(tmp_path):
    """Start a real process under a chosen name (a copy of /bin/sleep); stop it afterwards."""
    started = []

    def start(name: str) -> subprocess.Popen:
        exe = tmp_path / name
        shutil.copy("/bin/sleep", exe)
        proc = subprocess.Popen([str(exe), "30"])
        started.append(proc)
        # Popen can return before the child has exec'd (its comm still reads "python").
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with open(f"/proc/{proc.pid}/comm") as handle:
                if handle.read().strip() == name[:15]:
                    break
            time.sleep(0.005)
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(not os.path.exists("/bin/sleep"), reason="needs /bin/sleep to copy")
def test_npu_transfer_proxy_is_found(named_process):
    proc = named_process("npu_transfer_proxy")  # longer than the 15 characters the kernel keeps in comm
    result = processes.scan_processes()
    assert "npu_transfer_proxy" in result["processes"]
    assert any(d["pid"] == proc.pid and d["name"] == "npu_transfer_proxy" for d in result["process_details"])


def test_nothing_interesting_running_means_empty_lists(named_process):
    named_process("unrelated-daemon")
    result = processes.scan_processes()
    assert "unrelated-daemon" not in result["processes"]
    assert all(d["name"].lower() in ("npu_transfer_proxy", "adb") or d["name"].lower() in processes.SECURITY_SOFTWARE
               for d in result["process_details"])


@pytest.mark.skipif(not os.path.exists("/bin/sleep"), reason="needs /bin/sleep to copy")
def test_security_software_names_from_the_seed(named_process):
    proc = named_process("360Tray.exe")
    result = processes.scan_processes()
    [hit] = [s for s in result["security_software"] if s["pid"] == proc.pid]
    assert "360" in hit["product"] and "§1.7.2" in hit["source"]


def test_real_adb_server_with_version(adb_server):
    result = processes.scan_processes()
    mine = [s for s in result["adb_servers"] if s["pid"] == adb_server.process.pid]
    assert mine, result["adb_servers"]
    [server] = mine
    assert server["port"] == str(adb_server.port)
    expected = subprocess.run([adb_server.adb, "version"], capture_output=True, text=True).stdout.splitlines()[0].split()[-1]
    assert server["version"].startswith(expected)  # "1.0.41 (36.0.0-13206524)"
    assert "adb" in result["processes"] and result["adb_server"] is not None


def _script(path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_gcc_and_adb_on_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "gcc", "exit 0\n")
    _script(bin_dir / "adb", 'echo "Android Debug Bridge version 1.0.39"\necho "Version 1:8.1.0+r23-5"\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("ADBUTILS_ADB_PATH", raising=False)
    result = tools.scan_tools()
    assert result["gcc"] is True and result["gcc_path"] == str(bin_dir / "gcc") and result["cc_path"] is None
    assert result["adb"] == {"path": str(bin_dir / "adb"), "version": "1.0.39 (1:8.1.0+r23-5)"}
    assert "PATH" in result["how"]["adb"]


def test_no_gcc(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = tools.scan_tools()
    assert result["gcc"] is False and result["gcc_path"] is None


def test_adb_override_that_does_not_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("ADBUTILS_ADB_PATH", str(tmp_path / "missing-adb"))
    result = tools.scan_tools()
    assert result["adb"]["version"] is None and "does not exist" in result["adb"]["error"]


def test_hanging_adb_version_is_bounded(tmp_path, monkeypatch):
    slow = _script(tmp_path / "adb", "sleep 30\n")
    monkeypatch.setenv("ADBUTILS_ADB_PATH", slow)
    result = tools.scan_tools(timeout=0.3)
    assert result["adb"]["version"] is None and "did not answer within 0.3 s" in result["how"]["adb"]


def test_adb_that_prints_no_version(tmp_path):
    odd = _script(tmp_path / "adb", "echo usage: something else\nexit 1\n")
    version, how = processes.adb_version(odd)
    assert version is None and "printed no version" in how and "exit code 1" in how


def test_server_port_parsing():
    assert processes._server_port(["adb", "-L", "tcp:5099", "fork-server", "server", "--reply-fd", "4"]) == "5099"
    assert processes._server_port(["adb", "-P", "5040", "fork-server", "server"]) == "5040"
    assert processes._server_port(["adb", "fork-server", "server"]) is None
    assert processes.is_adb_server("adb", ["adb", "-L", "tcp:5037", "fork-server", "server", "--reply-fd", "4"])
    assert not processes.is_adb_server("adb", ["adb", "devices"])


def test_udev_precheck_agrees_with_the_udev_scanner(tmp_path):
    from rknn_envcheck.probes import host
    from rknn_envcheck.udev import scan

    assert host._UDEV_DIRS == tuple("/" + d for d in scan.RULES_DIRS)  # the two lists must not drift apart
    rules = tmp_path / "etc" / "udev" / "rules.d"
    rules.mkdir(parents=True)
    (rules / "50-other.rules").write_text('SUBSYSTEM=="usb", ATTR{idVendor}=="18d1", MODE="0666"\n')
    dirs = [str(tmp_path / d) for d in scan.RULES_DIRS]
    assert host._no_rules_file_mentions_2207(dirs) is True and scan.scan_rules(tmp_path) == []
    (rules / "91-rk1808-ai-cs.rules").write_text('SUBSYSTEM=="usb", ATTR{idVendor}=="2207", MODE="0666"\n')
    assert host._no_rules_file_mentions_2207(dirs) is False and len(scan.scan_rules(tmp_path)) == 1
