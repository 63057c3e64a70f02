"""Review session 4: what the quick exit (cli.console_main → os._exit) and closed standard streams
must not lose.

Each case runs the real console entry (`python -m rknn_envcheck`) in a child process, the way a
user, a CI job or a profiler starts it, and compares with what the interpreter's normal exit does.
"""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOG = ("I RKNN: [10:00:00.000] RKNN Runtime Information: librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)\n"
       "E RKNN: [10:00:00.001] Invalid RKNN model version 6\n")


def _sh(redirect: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m rknn_envcheck ARGS REDIRECT` through /bin/sh, so a stream can be closed (`>&-`)."""
    script = 'exec "$0" -m rknn_envcheck "$@" ' + redirect
    return subprocess.run(["/bin/sh", "-c", script, sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_version_with_stdout_closed_is_no_traceback():
    result = _sh(">&-", "--version")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr


def test_a_report_to_a_closed_stdout_is_one_line_and_exit_2(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(LOG)
    result = _sh(">&-", "explain", str(log))
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "standard output" in result.stderr


def test_explain_with_stdin_closed_is_a_usage_error():
    result = _sh("<&-", "explain", "-")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert "stdin" in result.stderr and result.stderr.count("\n") == 1


def test_bad_input_with_stderr_closed_keeps_exit_code_2(tmp_path):
    result = _sh("2>&-", "explain", str(tmp_path / "no-such.log"))
    assert result.returncode == 2  # was 1: the error line itself failed on the missing stderr


def test_a_profiler_still_prints_its_report(tmp_path):
    """`python -m cProfile -m rknn_envcheck …` reports after the module's code returns: os._exit
    would end the process first (3.11: sys.setprofile; 3.12+: sys.monitoring)."""
    result = subprocess.run([sys.executable, "-m", "cProfile", "-m", "rknn_envcheck", "--version"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("rknn-envcheck ")
    assert "function calls" in result.stdout, result.stdout[-500:]


def test_one_over_long_line_is_counted_once(tmp_path):
    """A 20 MiB line without a line end is read in several chunks; the note counted each forced cut
    as an over-long line ("2 over-long line(s)") where the log has one."""
    data = b"x" * (20 << 20) + b"\n" + LOG.encode()
    result = subprocess.run([sys.executable, "-m", "rknn_envcheck", "explain", "-"], input=data, capture_output=True, cwd=ROOT, timeout=120)
    out = result.stdout.decode()
    assert result.returncode == 1, result.stderr
    assert "1 over-long line(s)" in out, [line for line in out.splitlines() if "note: log" in line]


def test_printed_rerun_command_works_for_a_model_named_like_an_option(tmp_path):
    """source.host_arch (architecture not known) prints `rknn-envcheck model PATHS --toolkit V
    --facts host.json` to run on the converting machine; with a file named `-rf.tflite` that
    command, run as printed, was an argparse error (exit 2) instead of the verdict."""
    import json

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from tflite_build import build_tflite

    (tmp_path / "-rf.tflite").write_bytes(build_tflite())
    (tmp_path / "noarch.json").write_text(json.dumps({"schema": "rknn-envcheck/facts/1", "host": {"os": "linux", "packages": {}}}))
    first = subprocess.run([sys.executable, "-m", "rknn_envcheck", "model", "--toolkit", "rknn-toolkit2==2.3.2", "--facts", "noarch.json",
                            "--json", "--", "-rf.tflite"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    check = [c for c in json.loads(first.stdout)["checks"] if c["id"] == "source.host_arch"][0]
    assert check["status"] == "unknown", check
    rerun = [c["argv"] for c in check["fix"]["commands"] if c["argv"][:2] == ["rknn-envcheck", "model"]][0]
    # what the user does on the converting machine: save its facts (an ARM64 host here), run the command
    (tmp_path / "host.json").write_text(json.dumps({"schema": "rknn-envcheck/facts/1", "host": {"os": "linux", "arch": "aarch64", "packages": {}}}))
    second = subprocess.run([sys.executable, "-m", "rknn_envcheck", rerun[1], "--json", *rerun[2:]], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert second.returncode == 1, (rerun, second.stderr)
    verdict = [c for c in json.loads(second.stdout)["checks"] if c["id"] == "source.host_arch"][0]
    assert verdict["status"] == "fail" and "aarch64" in verdict["observed"]
