import json

from core_helpers import run_cli


def test_chip_and_python_give_a_recommendation(capsys):
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RK3588", "--python", "3.10", "--platform", "linux_x86_64", "--json")
    data = json.loads(out)
    assert code == 0 and data["recommended"]["package"] == "rknn-toolkit2"
    assert all(c.startswith("rknn-toolkit2==") for c in data["fitting"])
    rejected = {r["candidate"]: r["reasons"] for r in data["rejected"]}
    assert any("rk3588 is a valid target_platform only from" in " ".join(r) for r in rejected.values())


def test_every_rejection_has_a_reason_and_no_solution_exits_1(capsys):
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RV1126", "--python", "3.11", "--platform", "linux_x86_64", "--json")
    data = json.loads(out)
    assert code == 1 and data["recommended"] is None
    assert all(r["reasons"] for r in data["rejected"])
    assert any("has no wheel for Python 3.11" in " ".join(r["reasons"]) for r in data["rejected"])


def test_toolkit1_on_python_36(capsys):
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RV1126", "--python", "3.6", "--platform", "linux_x86_64")
    assert code == 0 and "Recommended: rknn-toolkit==1.7.5" in out


def test_board_runtime_limits_toolkit2(capsys):
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RK3566", "--runtime", "1.5.2", "--python", "3.8", "--platform", "linux_x86_64", "--json")
    data = json.loads(out)
    assert code == 0 and data["recommended"]["version"] == "1.5.2"
    assert any("newer than the board's runtime 1.5.2" in " ".join(r["reasons"]) for r in data["rejected"])


def test_bad_inputs(capsys):
    assert run_cli(capsys, "resolve", "--chip", "RK9999")[0] == 2
    assert run_cli(capsys, "resolve", "--runtime", "1.5.2")[0] == 2
    assert run_cli(capsys, "resolve", "--platform", "solaris")[0] == 2
    code, _out, err = run_cli(capsys, "resolve", "--chip", "RK3588", "--runtime", "v.x")
    assert code == 2 and "not a version" in err


def test_rk1808_worked_before_target_platform_existed(capsys):
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RK1808", "--runtime", "1.3.0", "--python", "3.6", "--platform", "linux_x86_64")
    assert code == 0 and "Recommended: rknn-toolkit==1.3.0" in out
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RV1126", "--python", "3.6", "--platform", "linux_x86_64", "--json")
    rejected = {r["candidate"]: r["reasons"] for r in json.loads(out)["rejected"]}
    assert any("rv1126 is a valid target_platform only from rknn-toolkit 1.3.2" in " ".join(r) for r in rejected.values())


def test_a_release_without_a_published_board_runtime_is_not_recommended(capsys):
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RK3588", "--python", "3.10", "--platform", "linux_x86_64", "--json")
    data = json.loads(out)
    assert data["recommended"]["version"] == "2.3.2" and "rknn-toolkit2==2.5.0" in data["fitting"]
