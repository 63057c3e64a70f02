"""`rknn-envcheck explain` end to end: a real subprocess, real files and stdin, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys


LOG_V2 = """\
I rknn-toolkit2 version: 2.3.2
I target set by user is: rk3588
E RKNNAPI: rknn_server version is too old, please update rknn_server to at least 2.3.0
E init_runtime: Catch exception when init runtime!
T Exception: RKNN init failed. error code: RKNN_ERR_DEVICE_UNAVAILABLE
"""

LITE_LOG = """\
W rknn-toolkit-lite2 version: 1.5.2
I RKNN: [01:19:04.510] RKNN Runtime Information: librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)
I RKNN: [01:19:04.510] RKNN Driver Information: version: 0.8.2
E RKNN: [01:19:04.520] 6, 1
E RKNN: [01:19:04.520] Invalid RKNN model version 6
E RKNN: [01:19:04.520] rknn_init, load model failed!
"""


def run(*args, stdin: bytes | None = None):
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", "explain", *args], input=stdin,
                          capture_output=True, timeout=60)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def test_log_file_gives_failures_with_line_numbers(tmp_path):
    path = tmp_path / "run.log"
    path.write_text(LOG_V2)
    code, out, err = run(str(path), "--json")
    assert code == 1, err
    report = json.loads(out)
    checks = {c["id"]: c for c in report["checks"]}
    too_old = checks["log.rknn_server_too_old"]
    assert too_old["status"] == "fail" and too_old["how"] == "log line 3"
    assert too_old["evidence"][0].startswith("line 3: E RKNNAPI:")
    assert "2.3.0" in too_old["message"]
    unavailable = checks["log.err_device_unavailable"]
    assert "possible causes" in unavailable["message"]
    # the toolkit banner became a host fact
    assert report["facts"]["host"]["packages"] == {"rknn-toolkit2": "2.3.2"}


def test_generic_error_causes_are_ranked_by_facts(tmp_path):
    path = tmp_path / "run.log"
    path.write_text(LOG_V2)
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"schema": "rknn-envcheck/facts/1",
                                 "host": {"os": "linux", "arch": "x86_64", "processes": ["python3"], "packages": {"rknn-toolkit2": "2.3.2"}},
                                 "devices": [{"serial": "abc", "state": "device", "transport": "adb", "chip": "RK3588",
                                              "mini_driver": False, "rknn_server": "2.0.0b0", "librknn_runtime": "2.0.0b0"}]}))
    code, out, err = run(str(path), "--facts", str(facts), "--json")
    assert code == 1, err
    check = next(c for c in json.loads(out)["checks"] if c["id"] == "log.err_device_unavailable")
    text = check["message"]
    # adb sees the board, it is not macOS/Windows, no npu_transfer_proxy, no mini driver: those go last
    first_cause = text.split("\n  1. ")[1].split("\n")[0]
    assert "versions do not match" in first_cause
    assert "ruled out: device.state = device" in text
    # the macOS/Windows and toolkit-1-only causes do not apply to a toolkit2 log on Linux: left out, and counted
    assert "macOS" not in text and "tasklist" not in text and "left out" in text
    assert text.index("ruled out") > text.index("1. ")


def test_lite_log_alone_gives_a_full_verdict(tmp_path):
    path = tmp_path / "lite.log"
    path.write_text(LITE_LOG)
    code, out, err = run(str(path), "--json")
    assert code == 1, err
    report = json.loads(out)
    device = report["facts"]["devices"][0]
    assert device["librknn_runtime"] == "1.4.0" and device["how"]["librknn_runtime"] == "log line 2"
    assert device["npu_driver"] == "0.8.2"
    ids = {c["id"] for c in report["checks"]}
    assert "log.model_version_unsupported_old" in ids
    # the versions were judged by the project's device rules, not only by the log messages
    assert any(i.startswith("device.") for i in ids)


def test_stdin_and_markdown(tmp_path):
    code, out, err = run("-", "--format", "markdown", stdin=LOG_V2.encode())
    assert code == 1, err
    assert "rknn_server" in out and "line 3" in out


def test_empty_stdin_is_exit_2():
    code, out, err = run("-", stdin=b"")
    assert code == 2
    assert "stdin was empty" in err and "Traceback" not in err


def test_empty_file_directory_and_missing_file_are_exit_2(tmp_path):
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"")
    for target, words in ((str(empty), "is empty"), (str(tmp_path), "is a directory"), (str(tmp_path / "nope.log"), "does not exist")):
        code, out, err = run(target)
        assert code == 2, (target, err)
        assert words in err and "Traceback" not in err


def test_nothing_recognised_says_what_to_collect(tmp_path):
    path = tmp_path / "plain.log"
    path.write_text("hello\nworld\n" * 100)
    code, out, err = run(str(path))
    assert code == 3, err
    assert "nothing in this log is a message rknn-envcheck knows" in out
    assert "rknn-envcheck device --all --save-facts facts.json" in out
    assert 'strings /usr/lib/librknnrt.so | grep -i "librknnrt version"' in out


def test_utf16_bom_log_from_powershell(tmp_path):
    path = tmp_path / "ps.log"
    path.write_bytes(LITE_LOG.replace("\n", "\r\n").encode("utf-16"))
    code, out, err = run(str(path), "--json")
    assert code == 1, err
    report = json.loads(out)
    assert any(c["id"] == "log.model_version_unsupported_old" and c["how"] == "log line 5" for c in report["checks"])
    assert any("utf-16" in n for n in report["notes"])


def test_save_facts_from_a_log(tmp_path):
    path = tmp_path / "lite.log"
    path.write_text(LITE_LOG)
    saved = tmp_path / "facts.json"
    code, out, err = run(str(path), "--save-facts", str(saved))
    assert code == 1, err
    facts = json.loads(saved.read_text())
    assert facts["devices"][0]["librknn_runtime"] == "1.4.0"


def test_with_an_emulated_board(tmp_path):
    path = tmp_path / "lite.log"
    path.write_text(LITE_LOG)
    code, out, err = run(str(path), "--emulate", "rk3588-2.3.2", "--json")
    assert code in (0, 1, 3), err
    report = json.loads(out)
    # the board observed now wins; the log's older runtime is reported as a note
    assert any("may be from before an update" in n for n in report["notes"]), report["notes"]


def test_generic_log_fix_points_at_the_exact_board_checks(capsys, tmp_path):
    from rknn_envcheck.cli import main

    log = tmp_path / "lite.log"
    log.write_text(LITE_LOG)
    main(["explain", str(log), "--emulate", "rk3568-android-rknpu2-1.4.0", "--json"])
    report = json.loads(capsys.readouterr().out)
    finding = [c for c in report["checks"] if c["id"].startswith("log.") and c["fix"] and any(x["argv"][0] == "adb" for x in c["fix"]["commands"])]
    assert finding and "board checks below give the exact ones" in finding[0]["fix"]["text"]
    board = [c for c in report["checks"] if c["subject"].startswith("device:") and c["fix"]]
    assert any("/vendor/lib64/librknnrt.so" in cmd["argv"] for c in board for cmd in c["fix"]["commands"])
