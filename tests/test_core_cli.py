"""The CLI as a user meets it: renderings, exit codes, bad input."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from core_helpers import device, facts, run_cli, write_facts

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "facts-rk3588-mismatch.json"
GOOD_DEVICE = device(chip="RK3588", rknn_server="2.3.2", librknn_runtime="2.3.2", runtime_library="librknnrt.so",
                     npu_driver="0.9.6", npu_driver_kind="rknpu", rknn_server_running=True)
GOOD_HOST = {"rknn-toolkit2": "2.3.2", "numpy": "1.26.4", "onnx": "1.16.1", "protobuf": "4.25.4", "torch": "2.4.0",
             "psutil": "5.9.8", "ruamel-yaml": "0.18.6", "scipy": "1.11.4", "tqdm": "4.66.4", "opencv-python": "4.9.0.80",
             "fast-histogram": "0.14", "onnxruntime": "1.17.3", "setuptools": "80.9.0"}
# The toolkit's own Requires-Dist as the probe records it (the vendor's METADATA, tests/data/metadata):
# without it the closure check cannot say ok (issue 12), so a good host's facts carry it.
GOOD_REQUIRES = {"rknn-toolkit2": [line.split(":", 1)[1].strip() for line in
                                   (ROOT / "tests/data/metadata/rknn_toolkit2-2.3.2-cp311-cp311-manylinux_2_17_x86_64.METADATA").read_text().splitlines()
                                   if line.startswith("Requires-Dist:")]}


def good_facts(devices):
    return facts(GOOD_HOST, devices, requires_dist=GOOD_REQUIRES)


def test_exit_0_all_clear(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "check", "--facts", str(write_facts(tmp_path, good_facts([GOOD_DEVICE]))))
    assert code == 0, out
    assert out.rstrip().splitlines()[-1].startswith("all clear")


def test_exit_1_with_fix_commands(capsys):
    code, out, _ = run_cli(capsys, "check", "--facts", str(EXAMPLE))
    assert code == 1
    # rknn_server 1.5.2 under toolkit2 2.3.2: librknn_api refuses only <= 1.2.0, so the same-version advice (warn)
    assert "[warn] rknn_server" in out and "adb -s 9a3c2f1e0b7d4c55 push" in out
    assert "problem" in out.rstrip().splitlines()[-1]


def test_example_facts_show_the_board_problems_not_artefacts_of_a_hand_written_list(capsys):
    """The example's host half was observed (`host --save-facts`, scripts/make_example_facts.py):
    its Requires-Dist closure is read, so no `unknown` closure and no missing-package fails."""
    example = json.loads(EXAMPLE.read_text())
    assert example["host"]["requires_dist"]["rknn-toolkit2"], "the toolkit's own METADATA lines"
    code, out, _ = run_cli(capsys, "check", "--facts", str(EXAMPLE), "--json")
    report = json.loads(out)
    host = [c for c in report["checks"] if c["subject"] == "host"]
    assert not [c["id"] for c in host if c["status"] == "unknown"]
    assert not [c["id"] for c in host if c["status"] == "fail" and c["observed"] == "not installed"]
    assert {c["id"] for c in host if c["status"] == "fail"} == {"pitfall.numpy2-toolkit2"}  # the host problem it demonstrates
    board = {c["id"]: c["status"] for c in report["checks"] if c["subject"].startswith("device:")}
    assert board["device.rknn_server"] == board["device.runtime"] == board["device.driver"] == "warn"


def test_exit_3_when_something_is_unknown(capsys, tmp_path):
    d = dict(GOOD_DEVICE)
    del d["npu_driver"]
    d["errors"] = {"npu_driver": "dmesg is not permitted"}
    code, out, _ = run_cli(capsys, "check", "--facts", str(write_facts(tmp_path, good_facts([d]))))
    assert code == 3 and "[ ?? ]" in out and "dmesg is not permitted" in out


def test_strict_turns_warnings_into_failure(capsys, tmp_path):
    d = dict(GOOD_DEVICE, npu_driver="0.8.2")
    path = write_facts(tmp_path, good_facts([d]))
    assert run_cli(capsys, "check", "--facts", str(path))[0] == 0
    assert run_cli(capsys, "check", "--facts", str(path), "--strict")[0] == 1


def test_json_report_schema(capsys):
    code, out, _ = run_cli(capsys, "check", "--facts", str(EXAMPLE), "--json")
    data = json.loads(out)
    assert data["schema"] == "rknn-envcheck/report/2" and data["exit_code"] == code == 1
    assert data["matrix"]["version"] and data["summary"]["fail"] >= 1
    failing = [c for c in data["checks"] if c["status"] == "fail"]
    for check in failing:
        assert check["observed"] is not None and check["expected"] is not None and check["source"] and check["fix"]["text"]


def test_markdown_is_pasteable(capsys):
    code, out, _ = run_cli(capsys, "check", "--facts", str(EXAMPLE), "--format", "markdown")
    assert out.startswith("## rknn-envcheck") and "| status | check |" in out and "```sh" in out


def test_verbose_shows_how_and_timing(capsys):
    _code, out, _ = run_cli(capsys, "check", "--facts", str(EXAMPLE), "-v")
    assert "ms)" in out and "read from" in out and "rule:" in out
    facts = out[out.index("Facts (what was observed, and how)"):]
    assert "rknn_server: 1.5.2   [strings /usr/bin/rknn_server" in facts


def test_every_message_names_component_observed_expected_fix(capsys):
    _code, out, _ = run_cli(capsys, "check", "--facts", str(EXAMPLE), "--json")
    for check in json.loads(out)["checks"]:
        if check["status"] in ("fail", "warn"):
            assert check["component"], check["id"]
            assert check["observed"] is not None and check["expected"] is not None, check["id"]
            assert check["fix"] and (check["fix"]["commands"] or check["fix"]["text"]), check["id"]


def test_toolkit_override_and_ambiguity(capsys, tmp_path):
    path = write_facts(tmp_path, facts({}, devices=[GOOD_DEVICE]))
    code, out, _ = run_cli(capsys, "check", "--facts", str(path), "--toolkit", "rknn-toolkit==1.7.5")
    assert code == 1 and "RK3588 is driven by rknn-toolkit2" in out
    code, _out, err = run_cli(capsys, "check", "--facts", str(path), "--toolkit", "1.6.0")
    assert code == 2 and "rknn-toolkit2==1.6.0" in err
    code, _out, err = run_cli(capsys, "check", "--facts", str(path), "--toolkit", "rknn-toolkit3==1.0")
    assert code == 2 and "unknown package" in err


def test_bad_flags_and_unknown_command(capsys):
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, "check")
    assert info.value.code == 2
    code, _out, err = run_cli(capsys, "frobnicate")
    assert code == 2 and "unknown command" in err


def test_entry_points_work_as_processes():
    for cmd in ([sys.executable, "-m", "rknn_envcheck", "--version"], ["rknn-envcheck", "--version"]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout.startswith("rknn-envcheck ")


def test_saved_facts_match_the_json_schema(capsys, tmp_path):
    import jsonschema
    schema = json.loads((ROOT / "rknn_envcheck" / "schemas" / "facts.schema.json").read_text())
    out = tmp_path / "saved.json"
    run_cli(capsys, "device", "--emulate", "rk3588-2.3.2", "--emulate", "rk1808-1.7.5", "--toolkit", "rknn-toolkit2==2.3.2", "--save-facts", str(out))
    saved = json.loads(out.read_text())
    jsonschema.validate(saved, schema)
    jsonschema.validate(json.loads(EXAMPLE.read_text()), schema)
    # and a saved file replays to the same verdicts
    code_live = run_cli(capsys, "device", "--emulate", "rk3588-2.3.2", "--emulate", "rk1808-1.7.5", "--toolkit", "rknn-toolkit2==2.3.2", "--json")
    code_replay = run_cli(capsys, "check", "--facts", str(out), "--toolkit", "rknn-toolkit2==2.3.2", "--json")
    live = {(c["id"], c["subject"], c["status"]) for c in json.loads(code_live[1])["checks"]}
    replay = {(c["id"], c["subject"], c["status"]) for c in json.loads(code_replay[1])["checks"]}
    assert live == replay and code_live[0] == code_replay[0] == 1


def test_bad_adb_port_is_a_usage_error(capsys, monkeypatch):
    code, _out, err = run_cli(capsys, "device", "--all", "--adb-port", "99999")
    assert code == 2 and "99999" in err and "1-65535" in err
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", "five")
    code, _out, err = run_cli(capsys, "device", "--all")
    assert code == 2 and "ANDROID_ADB_SERVER_PORT" in err


def test_saved_facts_remember_the_toolkit_they_were_judged_for(capsys, tmp_path):
    saved = tmp_path / "f.json"
    code, out, _ = run_cli(capsys, "device", "--emulate", "rk3588-1.5.2-driver-0.8.2", "--toolkit", "rknn-toolkit2==1.5.2",
                           "--save-facts", str(saved), "--json")
    replay_code, replay_out, _ = run_cli(capsys, "check", "--facts", str(saved), "--json")
    assert json.loads(saved.read_text())["judged_for"] == "rknn-toolkit2==1.5.2"
    key = lambda out: sorted((c["id"], c["status"]) for c in json.loads(out)["checks"])
    assert key(out) == key(replay_out) and code == replay_code


def test_fault_needs_emulate_and_toolkit_cannot_be_empty(capsys):
    code, _out, err = run_cli(capsys, "device", "--all", "--fault", "hang")
    assert code == 2 and "--emulate" in err
    code, _out, err = run_cli(capsys, "check", "--facts", str(EXAMPLE), "--toolkit", "")
    assert code == 2 and "--toolkit is empty" in err
