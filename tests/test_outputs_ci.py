"""Outputs for CI and fleets: JUnit XML validated by a real XSD validator against the Jenkins xUnit
plugin's junit-10.xsd, Prometheus text parsed by prometheus_client and checked by `promtool`, and
`merge` over facts from two hosts whose boards share a serial."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from core_helpers import device, facts, run_cli, write_facts
from rknn_envcheck.report import STATUSES, Check, Fix, Report
from rknn_envcheck.shellcmd import cmd

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def junit_xsd(tmp_path_factory) -> Path:
    """The Jenkins xUnit plugin's junit-10.xsd as pytest's own test suite ships it (in pytest's
    sdist, testing/example_scripts/junit-10.xsd): taken from the package index, not copied here."""
    import pytest as pytest_module

    cache = Path(os.environ.get("RKNN_ENVCHECK_TEST_CACHE", Path(__file__).parent / ".cache"))
    target = cache / "junit-10.xsd"
    if target.is_file():
        return target
    download = tmp_path_factory.mktemp("pytest-sdist")
    version = pytest_module.__version__
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                           f"pytest=={version}", "-d", str(download)], capture_output=True, text=True, timeout=300)
    archives = list(download.glob("pytest-*.tar.gz"))
    if proc.returncode != 0 or not archives:
        if IN_CI:
            pytest.fail(f"could not download pytest {version}'s sdist for junit-10.xsd: {proc.stderr[-500:]}")
        pytest.skip("no package index reachable for pytest's sdist (junit-10.xsd)")
    with tarfile.open(archives[0]) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("testing/example_scripts/junit-10.xsd"))
        data = tar.extractfile(member).read()
    cache.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def _every_status_report() -> Report:
    report = Report(command="doctor", matrix_version="2026.1", matrix_date="2026-01-01",
                    facts={"schema": "rknn-envcheck/facts/1", "hostname": "lab-1", "host": {"os": "linux", "python": {"version": "3.11.7"},
                                                                                           "packages": {"rknn-toolkit2": "2.3.2"}},
                           "devices": [{"serial": "S1", "chip": "RK3588", "rknn_server": "2.3.2", "librknn_runtime": "2.3.2", "npu_driver": "0.9.8"}]})
    report.subjects["host"] = "Host"
    report.subjects["device:S1"] = "Board S1"
    for index, status in enumerate(STATUSES):
        report.add(Check(f"host.c{index}", f"check {status}", status, subject="host", observed="1.0", expected=">=2.0",
                         source="a vendor document", message=f"{status} row <&> \"quoted\" \x1b[2J",
                         fix=Fix("do it", [cmd("pip", "install", "numpy<2")]), duration_ms=1.5))
    # the same id twice in one subject: the Prometheus label sets stay unique through `index`
    report.add(Check("device.runtime", "runtime", "fail", subject="device:S1", message="first copy"))
    report.add(Check("device.runtime", "runtime", "ok", subject="device:S1", message="second copy"))
    return report


def test_junit_validates_against_the_jenkins_xunit_schema(junit_xsd):
    import xmlschema

    from rknn_envcheck.render.junit import render_junit

    schema = xmlschema.XMLSchema(str(junit_xsd))
    for strict in (False, True):
        text = render_junit(_every_status_report(), strict=strict)
        schema.validate(text)
        assert "\x1b" not in text


def test_junit_maps_each_status(junit_xsd):
    import xml.etree.ElementTree as ET

    from rknn_envcheck.render.junit import render_junit

    root = ET.fromstring(render_junit(_every_status_report()))
    cases = {c.get("name").split(":")[0]: c for c in root.iter("testcase")}
    status_of = {f"host.c{i}": s for i, s in enumerate(STATUSES)}
    for case_id, status in status_of.items():
        children = {child.tag for child in cases[case_id]}
        expected = {"fail": {"failure"}, "crashed": {"error"}, "unknown": {"skipped"}, "skipped": {"skipped"},
                    "warn": {"system-out"}, "ok": set()}[status]
        assert children == expected, (status, children)
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"host", "device:S1"}
    assert suites["host"].get("hostname") == "lab-1"
    assert suites["host"].get("failures") == "1" and suites["host"].get("errors") == "1" and suites["host"].get("skipped") == "2"
    strict_root = ET.fromstring(render_junit(_every_status_report(), strict=True))
    warn_case = next(c for c in strict_root.iter("testcase") if c.get("name").startswith("host.c1:"))
    assert [child.tag for child in warn_case] == ["failure"]


def _promtool() -> str | None:
    return shutil.which("promtool")


def test_prometheus_parses_and_label_sets_are_unique():
    from prometheus_client.parser import text_string_to_metric_families

    from rknn_envcheck.render.prometheus import render_prometheus

    text = render_prometheus(_every_status_report(), now=1700000000.0)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    status = families["rknn_envcheck_check_status"]
    label_sets = [tuple(sorted(s.labels.items())) for s in status.samples]
    assert len(label_sets) == len(set(label_sets))
    ones = [s for s in status.samples if s.value == 1]
    assert len(ones) == len(_every_status_report().checks)  # exactly one status per check is 1
    runtime = [s for s in ones if s.labels["check"] == "device.runtime"]
    assert sorted((s.labels["index"], s.labels["status"]) for s in runtime) == [("0", "fail"), ("1", "ok")]
    assert all(s.labels["host"] == "lab-1" for s in status.samples)
    info = families["rknn_envcheck_component_info"]
    assert {(s.labels["component"], s.labels["version"]) for s in info.samples} >= {("rknn_server", "2.3.2"), ("rknn-toolkit2", "2.3.2")}
    assert families["rknn_envcheck_report_timestamp_seconds"].samples[0].value == 1700000000.0


def test_promtool_accepts_the_textfile(tmp_path):
    promtool = _promtool()
    if promtool is None:
        if IN_CI:
            pytest.fail("promtool is missing (Debian package prometheus; scripts/test installs it as root)")
        pytest.skip("promtool not installed (Debian package prometheus)")
    from rknn_envcheck.render.prometheus import render_prometheus

    path = tmp_path / "rknn.prom"
    path.write_text(render_prometheus(_every_status_report()))
    with path.open("rb") as handle:
        proc = subprocess.run([promtool, "check", "metrics"], stdin=handle, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_judging_command_writes_junit_and_prometheus_with_o(tmp_path, capsys):
    facts_file = write_facts(tmp_path, facts({"rknn-toolkit2": "2.3.2"}, [device(chip="RK3588", rknn_server="1.2.0", librknn_runtime="1.2.0")]))
    out = tmp_path / "out.prom"
    code, stdout, _ = run_cli(capsys, "check", "--facts", str(facts_file), "--format", "prometheus", "-o", str(out))
    assert code == 1 and stdout == ""
    from prometheus_client.parser import text_string_to_metric_families

    names = {f.name for f in text_string_to_metric_families(out.read_text())}
    assert "rknn_envcheck_check_status" in names
    code, stdout, _ = run_cli(capsys, "check", "--facts", str(facts_file), "--format", "junit")
    assert code == 1 and stdout.startswith("<?xml") and "<failure" in stdout


def test_merge_keeps_boards_with_the_same_serial_on_two_hosts_apart(tmp_path, capsys):
    board_ok = device(serial="SAME", chip="RK3588", rknn_server="2.3.2", librknn_runtime="2.3.2", npu_driver="0.9.8")
    # rknn_server <= 1.2.0 is refused by the toolkit2 >= 2.3.0 client library: a fail, not a recommendation
    board_bad = device(serial="SAME", chip="RK3588", rknn_server="1.2.0", librknn_runtime="1.2.0", npu_driver="0.9.8")
    first = facts({"rknn-toolkit2": "2.3.2"}, [board_ok])
    first["hostname"] = "lab-a"
    second = facts({"rknn-toolkit2": "2.3.2"}, [board_bad])
    second["hostname"] = "lab-b"
    a = write_facts(tmp_path, first, "a.json")
    b = write_facts(tmp_path, second, "b.json")
    # a JSON report as a third input (the report carries its facts, hence its host name)
    code, report_json, _ = run_cli(capsys, "check", "--facts", str(b), "--json")
    report_file = tmp_path / "report.json"
    report_file.write_text(report_json)

    code, out, _ = run_cli(capsys, "merge", str(a), str(b), str(report_file), "--json")
    data = json.loads(out)
    assert code == 1
    rows = {(r["host"], r["serial"]): r for r in data["boards"]}
    assert set(rows) == {("lab-a", "SAME"), ("lab-b", "SAME")} and len(data["boards"]) == 3
    assert rows[("lab-a", "SAME")]["verdict"] == "OK" and rows[("lab-a", "SAME")]["failing"] == []
    assert rows[("lab-b", "SAME")]["verdict"] == "FAIL" and rows[("lab-b", "SAME")]["rknn_server"] == "1.2.0"
    assert any(where.startswith("lab-b / device:SAME") for wheres in data["failing_where"].values() for where in wheres)
    assert not any(where.startswith("lab-a / device:") for wheres in data["failing_where"].values() for where in wheres)

    code, text, _ = run_cli(capsys, "merge", str(a), str(b), "--format", "markdown")
    assert "| lab-a | SAME | RK3588 |" in text and "| lab-b | SAME | RK3588 | 1.2.0 |" in text
    code, text, _ = run_cli(capsys, "merge", str(a), str(b))
    assert "lab-a" in text and "lab-b" in text


def test_merge_refuses_a_file_that_is_neither_facts_nor_report(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text(json.dumps({"schema": "something/else"}))
    code, _out, err = run_cli(capsys, "merge", str(bad))
    assert code == 2 and "not a facts file or a JSON report" in err and "Traceback" not in err
