"""cli.console_main ends the process with os._exit after the report — and loses nothing doing so.

What the interpreter's shutdown would have done must still happen: the whole report reaches a
pipe, the exit code is main()'s (argparse's for --version/--help/bad flags), atexit handlers run
(the emulator stops its private adb server in one), and a thread still running is joined by
the normal exit instead of being cut off.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(code: str, *args: str, **kwargs):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, env=env, timeout=120, **kwargs)


def test_the_whole_report_reaches_a_pipe_and_the_exit_code_is_mains(tmp_path):
    log = tmp_path / "run.log"
    log.write_text("E RKNN: [10:00:00.000] Invalid RKNN model version 6\n" * 3 + "I RKNN: librknnrt version: 1.4.0 (a10f100eb@2022-09-09)\n")
    quick = subprocess.run([sys.executable, "-m", "rknn_envcheck", "explain", str(log), "--format", "json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    code = "import sys\nfrom rknn_envcheck.cli import main\nsys.exit(main(sys.argv[1:]))"
    normal = _run(code, "explain", str(log), "--format", "json")
    assert quick.returncode == normal.returncode == 1, (quick.stderr, normal.stderr)
    import json

    quick_report, normal_report = json.loads(quick.stdout), json.loads(normal.stdout)  # complete, parseable JSON
    for report in (quick_report, normal_report):
        for check in report["checks"]:
            check.pop("duration_ms", None)
    assert quick_report["checks"] == normal_report["checks"]


def test_argparse_exits_keep_their_codes_and_output():
    version = subprocess.run([sys.executable, "-m", "rknn_envcheck", "--version"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("rknn-envcheck ")
    bad = subprocess.run([sys.executable, "-m", "rknn_envcheck", "explain", "--no-such-flag"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 2 and "--no-such-flag" in bad.stderr and "Traceback" not in bad.stderr


def test_atexit_handlers_still_run(tmp_path):
    marker = tmp_path / "atexit-ran"
    result = _run(f"""
        import atexit, sys
        atexit.register(lambda: open({str(marker)!r}, "w").write("yes"))
        from rknn_envcheck.cli import console_main
        sys.argv = ["rknn-envcheck", "--version"]
        console_main()
        """)
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "yes"


def test_a_thread_still_running_is_joined_by_the_normal_exit(tmp_path):
    marker = tmp_path / "thread-finished"
    result = _run(f"""
        import sys, threading, time
        def late():
            time.sleep(0.3)
            open({str(marker)!r}, "w").write("done")
        threading.Thread(target=late).start()
        from rknn_envcheck.cli import console_main
        sys.argv = ["rknn-envcheck", "--version"]
        console_main()
        """)
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "done"  # os._exit would have cut the thread off before it wrote


def test_a_failing_stdout_still_takes_the_path_that_reports_it():
    with open("/dev/full", "w") as full:
        result = subprocess.run([sys.executable, "-m", "rknn_envcheck", "matrix"], stdout=full, stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
