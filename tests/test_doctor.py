"""The doctor with in-process emulated boards: models, host-only, facts replay."""
import json

from core_helpers import run_cli
from test_model_header import v2_format6, write


def test_doctor_preflights_models_against_every_board(capsys, tmp_path):
    model = write(tmp_path, "m.rknn", v2_format6("2.3.2", "rk3588"))
    code, out, _ = run_cli(capsys, "--emulate", "rk3566-1.5.2", "--emulate", "rk3588-2.3.2", "--model", str(model),
                           "--toolkit", "rknn-toolkit2==2.3.2", "--json")
    report = json.loads(out)
    by_subject = {}
    for check in report["checks"]:
        by_subject.setdefault(check["subject"], {})[check["id"]] = check["status"]
    assert by_subject[f"model:{model}@emulated:rk3566-1.5.2"]["model.target_platform"] == "fail"
    assert by_subject[f"model:{model}@emulated:rk3588-2.3.2"]["model.target_platform"] == "ok"
    assert code == 1


def test_doctor_model_file_error_exits_2(capsys, tmp_path):
    bad = tmp_path / "x.rknn"
    bad.write_bytes(b"not a model")
    code, _out, err = run_cli(capsys, "--no-boards", "--model", str(bad))
    assert code == 2 and "x.rknn" in err and "Traceback" not in err


def test_doctor_host_only_and_replay(capsys, tmp_path):
    saved = tmp_path / "doctor.json"
    code, out, _ = run_cli(capsys, "--emulate", "rk3588-mixed-server-runtime", "--save-facts", str(saved), "--json")
    live = json.loads(out)
    assert {"host", "device:emulated:rk3588-mixed-server-runtime"} <= set(live["subjects"])
    code2, out2, _ = run_cli(capsys, "check", "--facts", str(saved), "--json")
    replay = json.loads(out2)
    key = lambda r: sorted((c["subject"], c["id"], c["status"]) for c in r["checks"])
    # the board's server/runtime skew is a warn (docs/checks.md severity policy); the exit code is
    # whatever the live run gave (this machine's host may add an unknown), and the replay repeats it
    assert key(live) == key(replay) and code == code2 != 0
    assert ("device:emulated:rk3588-mixed-server-runtime", "device.rknn_server.vs_runtime", "warn") in key(live)
    code3, out3, _ = run_cli(capsys, "--no-boards", "--json")
    assert set(json.loads(out3)["subjects"]) == {"host"}
