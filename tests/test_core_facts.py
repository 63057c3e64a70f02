import json

import pytest

from core_helpers import facts, run_cli, write_facts
from rknn_envcheck.errors import UsageError
from rknn_envcheck.facts import load_facts, save_facts


def test_roundtrip(tmp_path):
    data = facts({"rknn-toolkit2": "2.3.2"})
    path = tmp_path / "f.json"
    save_facts(data, path)
    assert load_facts(path) == data
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("mutate, words", [
    (lambda d: d.pop("schema"), "missing 'schema'"),
    (lambda d: d.update(schema="rknn-envcheck/facts/99"), "not supported"),
    (lambda d: d["host"].update(os="beos"), "host.os"),
    (lambda d: d["host"].update(packages={"numpy": 1.16}), "host.packages['numpy']"),
    (lambda d: d["host"].update(usb=[{"vid": "2207", "pid": 6}]), "host.usb[0]"),
    (lambda d: d.update(devices=[{"serial": "x", "state": "weird"}]), "devices[0].state"),
    (lambda d: d.update(devices="nope"), "'devices' must be a list"),
    (lambda d: d["host"].update(gcc="yes"), "host.gcc"),
])
def test_bad_facts_name_the_field(tmp_path, mutate, words):
    data = facts()
    mutate(data)
    with pytest.raises(UsageError) as info:
        load_facts(write_facts(tmp_path, data))
    assert words in str(info.value)


@pytest.mark.parametrize("content, words", [
    ("{not json", "not valid JSON"),
    ("[]", "top level must be a JSON object"),
    ("", "not valid JSON"),
])
def test_malformed_files_exit_2_without_traceback(tmp_path, capsys, content, words):
    path = tmp_path / "bad.json"
    path.write_text(content)
    code, out, err = run_cli(capsys, "check", "--facts", str(path))
    assert code == 2
    assert words in err and "Traceback" not in err


def test_missing_file_and_directory(tmp_path, capsys):
    code, _out, err = run_cli(capsys, "check", "--facts", str(tmp_path / "nope.json"))
    assert code == 2 and "does not exist" in err
    code, _out, err = run_cli(capsys, "check", "--facts", str(tmp_path))
    assert code == 2 and "is a directory" in err


def test_save_facts_into_missing_dir_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError) as info:
        save_facts(facts(), tmp_path / "no" / "such" / "f.json")
    assert "cannot write" in str(info.value)


def test_example_facts_file_is_valid():
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / "facts-rk3588-mismatch.json"
    data = load_facts(path)
    assert data["devices"][0]["chip"] == "RK3588"
    assert json.loads(path.read_text())["schema"] == "rknn-envcheck/facts/1"
