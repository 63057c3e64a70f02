"""The typed facts model: generated schema/docs, validation of every path, the reading limits,
the `--python` probe's output, and what --save-facts writes staying within what it reads."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from core_helpers import device, facts, run_cli, write_facts
from rknn_envcheck.errors import UsageError
from rknn_envcheck.facts import load_facts, observation, validate_facts
from rknn_envcheck.facts_schema import generated, json_schema

SCHEMA = json_schema()
CANDIDATES = [1, -7, 2.5, "x", True, [], {}, [1], {"k": 1}, None]


def test_committed_schema_and_docs_are_generated_from_the_model():
    for path, text in generated().items():
        assert path.read_text(encoding="utf-8") == text, f"{path} is stale: run `python -m rknn_envcheck.facts_schema`"


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _schema_paths(schema: dict, prefix: tuple = ()) -> list[tuple[tuple, dict]]:
    """(path, sub-schema) for every value the schema describes; list items at index 0, map values at key 'k'."""
    out = []
    options = [_resolve(s) for s in schema.get("anyOf", [schema])]
    for option in options:
        option = _resolve(option)
        for key, sub in (option.get("properties") or {}).items():
            out.append((prefix + (key,), sub))
            out += _schema_paths(sub, prefix + (key,))
        if isinstance(option.get("items"), dict):
            out.append((prefix + (0,), option["items"]))
            out += _schema_paths(option["items"], prefix + (0,))
        if isinstance(option.get("additionalProperties"), dict) and option["additionalProperties"]:
            out.append((prefix + ("k",), option["additionalProperties"]))
            out += _schema_paths(option["additionalProperties"], prefix + ("k",))
    return out


PATHS = [(path, sub) for path, sub in _schema_paths(SCHEMA) if path != ("schema",)]


def _accepts(sub: dict, value) -> bool:
    return Draft202012Validator({**sub, "$defs": SCHEMA["$defs"]}).is_valid(value)


def _with_value(path: tuple, value) -> dict:
    data = {"schema": "rknn-envcheck/facts/1"}
    node = data
    for step, following in zip(path, path[1:]):
        child = [] if isinstance(following, int) else {}
        if isinstance(node, list):
            node.append(child)
        else:
            node[step] = child
        node = child
    if isinstance(node, list):
        node.append(value)
    else:
        node[path[-1]] = value
    return data


def _wrong_values(sub: dict) -> list:
    return [v for v in CANDIDATES if not _accepts(sub, v)]


def test_the_schema_names_many_paths_and_each_has_wrong_values():
    assert len(PATHS) > 200
    assert all(_wrong_values(sub) for _path, sub in PATHS)


def test_every_path_times_every_wrong_type_is_refused_naming_the_path():
    for path, sub in PATHS:
        for value in _wrong_values(sub):
            with pytest.raises(UsageError) as info:
                validate_facts(_with_value(path, value), "f.json")
            message = str(info.value)
            assert "\n" not in message and len(message) < 400
            last_name = next(str(p) for p in reversed(path) if isinstance(p, str))
            assert last_name in message, (path, value, message)
        # and a value the schema accepts is accepted
        enum = [v for v in _resolve(sub).get("enum", []) if v is not None]
        good = next(v for v in enum + ["2207", "ff", 1, 1.5, True, [], {}] if _accepts(sub, v))
        validate_facts(_with_value(path, good), "f.json")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(PATHS), st.sampled_from(CANDIDATES), st.booleans())
def test_check_exits_2_with_one_line_for_a_wrong_type_anywhere(tmp_path_factory, capsys, path_and_schema, value, verbose):
    path, sub = path_and_schema
    assume(not _accepts(sub, value))
    target = tmp_path_factory.mktemp("f") / "facts.json"
    target.write_text(json.dumps(_with_value(path, value)))
    code, out, err = run_cli(capsys, "check", "--facts", str(target), *(["-v"] if verbose else []))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("rknn-envcheck: error: ") and "Traceback" not in err


def test_wrong_typed_how_and_errors_with_verbose_are_usage_errors(tmp_path, capsys):
    for field in ("how", "errors", "raw"):
        for bad in ("x", ["a"], {"k": 1}):
            data = facts(devices=[device(chip="RK3588", **{field: bad})])
            code, _out, err = run_cli(capsys, "check", "--facts", str(write_facts(tmp_path, data)), "-v")
            assert code == 2 and f"devices[0].{field}" in err and err.count("\n") == 1


@pytest.mark.parametrize("text, words", [
    ("[" * 100000 + "]" * 100000, "nested deeper than 64"),
    ('{"schema": "rknn-envcheck/facts/1", "host": {"python": {"bits": ' + "9" * 5000 + "}}}", "out of range"),
    ('{"schema": "rknn-envcheck/facts/1", "host": {"arch": "\\ud800"}}', "surrogate"),
    ('{"schema": "rknn-envcheck/facts/1", "host": {"python": {"bits": NaN}}}', "NaN"),
    ('{"schema": "rknn-envcheck/facts/1", "host": {"x": Infinity}}', "Infinity"),
    ('{"schema": "rknn-envcheck/facts/1", "host": {"x": -Infinity}}', "Infinity"),
    ('{"schema": "rknn-envcheck/facts/1", "host": {"x": 1e999}}', "out of range"),
    ('{"schema": "rknn-envcheck/facts/1", "host": {"arch": "' + "a" * (64 * 1024 + 1) + '"}}', "the limit is 65536"),
    ('{"schema": "rknn-envcheck/facts/1", "x": ' + "[" * 70 + "]" * 70 + "}", "nested deeper than 64"),
    ('{"schema": "rknn-envcheck/facts/1", "host": {"env": {"' + "k" * 70000 + '": "v"}}}', "the limit is 65536"),
])
def test_limits_refuse_hostile_json_with_one_line(tmp_path, capsys, text, words):
    path = tmp_path / "hostile.json"
    path.write_text(text)
    code, out, err = run_cli(capsys, "check", "--facts", str(path))
    assert code == 2 and words in err and err.count("\n") == 1 and len(err) < 500


def test_device_files_and_fifos_are_refused_without_blocking(tmp_path, capsys):
    started = time.monotonic()
    code, _out, err = run_cli(capsys, "check", "--facts", "/dev/zero")
    assert code == 2 and "character device" in err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _out, err = run_cli(capsys, "check", "--facts", str(fifo))
    assert code == 2 and "FIFO" in err
    assert time.monotonic() - started < 2


def test_a_file_over_16_mib_is_refused_before_reading_it(tmp_path, capsys):
    path = tmp_path / "big.json"
    with open(path, "wb") as handle:
        handle.truncate(16 * 1024 * 1024 + 1)  # sparse: no 16 MiB written
    code, _out, err = run_cli(capsys, "check", "--facts", str(path))
    assert code == 2 and "limit is 16777216 bytes" in err


def test_an_unparseable_toolkit_version_does_not_crash_board_checks(tmp_path, capsys):
    board = device(chip="RK3588", rknn_server="2.3.2", librknn_runtime="2.3.2", runtime_library="librknnrt.so",
                   npu_driver="0.9.6", npu_driver_kind="rknpu")
    for version in ("", "garbage!", "v"):
        data = facts({"rknn-toolkit2": version}, devices=[board])
        code, out, err = run_cli(capsys, "check", "--facts", str(write_facts(tmp_path, data)), "--json")
        report = json.loads(out)
        assert code in (1, 3) and not err
        assert not [c for c in report["checks"] if c["status"] == "crashed"], version
        assert [c for c in report["checks"] if c["status"] == "unknown" and "toolkit" in c["title"].lower()]


def test_observation_gives_the_four_views_of_one_fact():
    board = device(rknn_server="2.3.2", how={"rknn_server": "strings /usr/bin/rknn_server"},
                   raw={"rknn_server": "rknn_server version: 2.3.2 (abc build@2024)"}, errors={"npu_driver": "no rknpu node"})
    seen = observation(board, "rknn_server")
    assert seen.value == "2.3.2" and seen.how.startswith("strings") and seen.raw.startswith("rknn_server version")
    assert seen.observed and str(seen.version) == "2.3.2" and seen.error is None
    missing = observation(board, "npu_driver")
    assert not missing.observed and missing.error == "no rknpu node" and missing.version is None
    assert observation({"librknn_runtime": "not-a-version"}, "librknn_runtime").version is None
    assert observation(None, "x") == observation({}, "x")


def test_unknown_keys_are_kept_and_known_ones_typed():
    data = facts(devices=[device(chip="RK3588", future_fact={"a": [1, 2]})])
    data["host"]["usb"] = [{"vid": "2207", "pid": "0006", "interfaces": [{"class": "ff", "subclass": "42", "protocol": "01"}],
                            "source": "sysfs"}]
    assert validate_facts(data)["devices"][0]["future_fact"] == {"a": [1, 2]}
    data["host"]["usb"][0]["interfaces"][0]["class"] = "xyz"
    with pytest.raises(UsageError, match=r"host.usb\[0\].interfaces\[0\]\['class'\]|host.usb\[0\].interfaces\[0\].class"):
        validate_facts(data)


def test_saved_facts_always_load_back(tmp_path, capsys, monkeypatch):
    """--save-facts stays within the limits it reads back: every emulated profile, this host, and
    an environment with an undecodable byte and an over-long value."""
    from rknn_envcheck.emulator.profile import shipped_profiles

    monkeypatch.setenv("RKNN_ODD", "caf\udce9")
    monkeypatch.setenv("RKNN_LONG", "x" * 70000)
    boards, host = tmp_path / "boards.json", tmp_path / "host.json"
    profiles = shipped_profiles()
    code, _out, err = run_cli(capsys, "device", *[a for name in profiles for a in ("--emulate", name)], "--save-facts", str(boards))
    assert code in (0, 1, 3), err
    assert len(load_facts(boards)["devices"]) == len(profiles)
    code, _out, err = run_cli(capsys, "host", "--save-facts", str(host))
    assert code in (0, 1, 3), err
    env = load_facts(host)["host"]["env"]
    assert env["RKNN_ODD"] == "caf\\udce9" and len(env["RKNN_LONG"]) == 64 * 1024
    # a model judged on a board (header facts) and a log explained with a board (log facts)
    from test_model_header import v2_format6, write

    model, explained = tmp_path / "model.json", tmp_path / "explain.json"
    rknn = write(tmp_path, "m.rknn", v2_format6("2.3.2", "rk3588"))
    code, _out, err = run_cli(capsys, "model", str(rknn), "--emulate", "rk3588-2.3.2", "--save-facts", str(model))
    assert code in (0, 1, 3), err
    assert load_facts(model)["models"][0]["path"] == str(rknn)
    log = tmp_path / "run.log"
    log.write_text("librknnrt version: 1.5.2 (c6b7b351a@2023-08-23T15:28:22)\nE RKNN: failed to submit!, op id: 1\n")
    code, _out, err = run_cli(capsys, "explain", str(log), "--emulate", "rk3588-2.3.2", "--save-facts", str(explained))
    assert code in (0, 1, 3), err
    load_facts(explained)
    for path in (boards, host, model, explained):
        assert Draft202012Validator(SCHEMA).is_valid(json.loads(path.read_text())), path.name


def _fake_python(tmp_path, body: str):
    script = tmp_path / "fakepython"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.parametrize("printed, words", [
    ('{"probe_version": 1, "how": "x"}', "'how' must be an object"),
    ('{"probe_version": 1, "packages": {"numpy": 1}}', "packages['numpy'] must be a string"),
    ('{"probe_version": 1, "python": {"bits": NaN}}', "NaN is not JSON"),
    ('{"probe_version": 1, "python": {"bits": ' + "9" * 5000 + '}}', "out of range"),
    ('{"probe_version": 1, "processes": [null]}', "processes[0] must be a string"),
])
def test_probe_output_is_validated_like_a_facts_file(tmp_path, capsys, printed, words):
    fake = _fake_python(tmp_path, f"echo '{printed}'")
    code, out, err = run_cli(capsys, "host", "--python", str(fake))
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert words in err


def test_endless_probe_output_is_cut_at_16_mib_and_the_child_stopped(tmp_path):
    fake = _fake_python(tmp_path, "exec yes aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    code = ("import resource, sys\nfrom rknn_envcheck.cli import main\nrc = main(['host', '--python', sys.argv[1]])\n"
            "print(rc, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, str(fake)], capture_output=True, text=True, timeout=60)
    rc, peak_kib = proc.stdout.split()
    assert rc == "2" and "more than 16 MiB" in proc.stderr
    # Bounded: the child printed for as long as it was let. Alone this peaks at ~40 MiB; once, in a
    # full CI run on a loaded machine, at 333 MiB (not yet explained). The bug it guards against
    # buffered everything the child printed (3.1 GB for a 1 GB print), so the bound is set below that.
    assert int(peak_kib) < 512 * 1024
    assert time.monotonic() - started < 20


def _interpreters() -> list[str]:
    import glob

    found = [sys.executable] + sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3")))
    return [p for p in found if os.access(p, os.X_OK)][:8]


@pytest.mark.parametrize("python", _interpreters())
def test_real_interpreters_probe_output_validates(python):
    """Python 3.5-3.13 print the probe's facts in the shape the model describes (validated inside
    run_probe, and again here as a saved facts file would be)."""
    from rknn_envcheck.probes.host import run_probe

    host = run_probe(python, timeout=60)
    assert host["python"]["executable"]
    validate_facts({"schema": "rknn-envcheck/facts/1", "host": host}, "probe")
