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


def test_also_fit_lists_every_other_fitting_release_and_why_newer_ones_are_not_recommended(capsys):
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RK3588", "--python", "3.11", "--platform", "linux_x86_64", "--json")
    data = json.loads(out)
    best = f"{data['recommended']['package']}=={data['recommended']['version']}"
    also = [a["candidate"] for a in data["also_fit"]]
    assert best not in also and sorted(also + [best]) == sorted(data["fitting"])
    newer = {a["candidate"]: a["not_recommended"] for a in data["also_fit"] if a["not_recommended"]}
    assert "runtime_published = false" in newer["rknn-toolkit2==2.5.0"]
    code, text, _ = run_cli(capsys, "resolve", "--chip", "RK3588", "--python", "3.11", "--platform", "linux_x86_64")
    also_line = next(line for line in text.splitlines() if line.startswith("Also fit: "))
    assert best not in also_line.split(", ")
    assert any(line.startswith("Not recommended: rknn-toolkit2==2.5.0: ") for line in text.splitlines())
    # every other fitting release is listed exactly once: under "Not recommended" (with why) or "Also fit"
    shown = [line.split(": ")[1] for line in text.splitlines() if line.startswith("Not recommended: ")]
    shown += [name.split(" (")[0] for name in also_line[len("Also fit: "):].split(", ")]
    assert sorted(shown) == sorted(also), (shown, also)  # nothing dropped, nothing twice


def test_a_build_only_in_the_vendor_repository_is_marked_and_says_where_to_get_it(capsys):
    # PyPI's rknn-toolkit2 2.2.0 has no cp38 file (the cp38 build is 2.2.1); the vendor's tree has one
    code, out, _ = run_cli(capsys, "resolve", "--python", "3.8", "--platform", "linux_x86_64", "--toolkit", "rknn-toolkit2==2.2.0", "--json")
    best = json.loads(out)["recommended"]
    assert best["install_from"] == "vendor" and best["pypi_alternatives"] == ["2.2.1"]
    assert best["vendor_files"] == ["rknn_toolkit2-2.2.0-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    assert best["vendor_downloads"][0].startswith("https://github.com/airockchip/rknn-toolkit2/raw/")
    assert "rknn-toolkit2==2.2.1" in best["install_note"]
    code, out, _ = run_cli(capsys, "resolve", "--python", "3.10", "--platform", "linux_x86_64", "--toolkit", "rknn-toolkit2==2.2.0", "--json")
    assert json.loads(out)["recommended"]["install_from"] == "pypi"
    # with a choice, a PyPI build wins over a newer-looking vendor-only one
    code, out, _ = run_cli(capsys, "resolve", "--chip", "RK3588", "--python", "3.8", "--platform", "linux_x86_64", "--json")
    data = json.loads(out)
    assert data["recommended"]["install_from"] == "pypi"
    vendor_only = {a["candidate"] for a in data["also_fit"] if a["install_from"] == "vendor"}
    assert "rknn-toolkit2==2.2.0" in vendor_only and "rknn-toolkit2==2.2.1" not in vendor_only
