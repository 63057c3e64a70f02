"""`rknn-envcheck host` through the real CLI: bad --python inputs exit 2 naming the path; good runs
produce a report, save facts that `check --facts` replays, and judge a planned --toolkit."""
from __future__ import annotations

import json
import subprocess
import sys
import time

from test_host_venvs import add_dist, make_venv


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rknn_envcheck", *args], capture_output=True, text=True, timeout=timeout)


def script(path, text: str, mode: int = 0o755):
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def assert_usage_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr.startswith("rknn-envcheck: error: --python "), proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, (fragment, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_missing_path(tmp_path):
    missing = str(tmp_path / "no" / "python")
    assert_usage_error(run_cli("host", "--python", missing), missing, "no such file")


def test_bare_name_not_on_path():
    assert_usage_error(run_cli("host", "--python", "python9.9-does-not-exist"), "python9.9-does-not-exist", "on PATH")


def test_not_executable(tmp_path):
    path = script(tmp_path / "python", "#!/bin/sh\necho hi\n", mode=0o644)
    assert_usage_error(run_cli("host", "--python", path), path, "not executable")


def test_directory(tmp_path):
    assert_usage_error(run_cli("host", "--python", str(tmp_path)), str(tmp_path), "is a directory", f"{tmp_path}/bin/python")


def test_broken_symlink(tmp_path):
    link = tmp_path / "python"
    link.symlink_to(tmp_path / "removed-base-python")
    assert_usage_error(run_cli("host", "--python", str(link)), str(link), "broken symlink")


def test_exec_format_error(tmp_path):
    path = script(tmp_path / "python", "this is not a program and has no #! line\n")
    assert_usage_error(run_cli("host", "--python", path), path, "exec format error")


def test_garbage_output(tmp_path):
    path = script(tmp_path / "python", "#!/bin/sh\necho 'Welcome to the fake interpreter'\n")
    assert_usage_error(run_cli("host", "--python", path), path, "not the probe's JSON", "Welcome to the fake interpreter")


def test_garbage_json(tmp_path):
    path = script(tmp_path / "python", "#!/bin/sh\necho '{\"not\": \"the probe\"}'\n")
    assert_usage_error(run_cli("host", "--python", path), path, "not the probe's JSON")


def test_prints_nothing_and_fails(tmp_path):
    path = script(tmp_path / "python", "#!/bin/sh\necho 'boom: no such module' >&2\nexit 1\n")
    assert_usage_error(run_cli("host", "--python", path), path, "printed nothing", "exit code 1", "boom: no such module")


def test_hanging_interpreter_is_stopped(tmp_path):
    pidfile = tmp_path / "pids"
    # The script and a child of it both hang: the whole process group must go.
    path = script(tmp_path / "python", f"#!/bin/sh\nsleep 60 &\necho $$ $! > {pidfile}\nwait\n")
    started = time.monotonic()
    proc = run_cli("host", "--python", path, "--timeout", "0.5", timeout=30)
    elapsed = time.monotonic() - started
    assert_usage_error(proc, path, "did not answer within 0.5 s")
    assert elapsed < 10
    for pid in map(int, pidfile.read_text().split()):
        assert _dead_or_zombie(pid), f"process {pid} of the hanging interpreter is still running"


def _dead_or_zombie(pid: int) -> bool:
    """Killed, or killed and waiting for init to reap it (a container's PID 1 may never do that)."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_bad_timeout_value(tmp_path):
    proc = run_cli("host", "--timeout", "0")
    assert proc.returncode == 2 and "--timeout" in proc.stderr


def test_report_and_save_facts_roundtrip(tmp_path):
    python, site = make_venv(tmp_path / "env")
    add_dist(site, "rknn-toolkit2", "2.3.2", module="rknn")
    add_dist(site, "numpy", "1.26.4")
    facts_file = tmp_path / "facts.json"
    proc = run_cli("host", "--python", python, "--save-facts", str(facts_file))
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert python in proc.stdout and "rknn-toolkit2" in proc.stdout
    facts = json.loads(facts_file.read_text())
    assert facts["schema"] == "rknn-envcheck/facts/1"
    host = facts["host"]
    assert host["packages"]["rknn-toolkit2"] == "2.3.2"
    assert host["python"]["executable"] == python
    assert host["how"]["packages.numpy"].startswith("METADATA in ")
    assert isinstance(host["gcc"], bool) and host["os"] == "linux"
    assert "usb" in host or "usb_error" in host

    replay = run_cli("check", "--facts", str(facts_file), "--json")
    live = run_cli("host", "--python", python, "--json")
    replayed = {c["id"]: c["status"] for c in json.loads(replay.stdout)["checks"]}
    lived = {c["id"]: c["status"] for c in json.loads(live.stdout)["checks"]}
    assert replayed == lived
    assert replay.returncode == live.returncode


def test_planned_toolkit_on_an_empty_env(tmp_path):
    python, _site = make_venv(tmp_path / "env")
    proc = run_cli("host", "--python", python, "--toolkit", "rknn-toolkit2==2.3.2", "--json")
    report = json.loads(proc.stdout)
    toolkit_checks = [c for c in report["checks"] if c["id"].startswith("host.toolkit")]
    assert toolkit_checks and all("none installed" not in str(c.get("observed")) for c in toolkit_checks)
    assert report["command"] == "host"


def test_markdown_output(tmp_path):
    python, _site = make_venv(tmp_path / "env")
    proc = run_cli("host", "--python", python, "--format", "markdown")
    assert proc.returncode in (0, 1, 3) and proc.stdout.lstrip().startswith("#")
