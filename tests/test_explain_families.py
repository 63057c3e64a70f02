"""The message families in matrices/messages_*.toml: loaded with messages.toml, sourced, and the
versions they extract land in the facts (each example, read from the TOML, is the test data)."""
from __future__ import annotations

from pathlib import Path

import pytest

from rknn_envcheck.errors import UsageError
from rknn_envcheck.explain.facts_from_log import facts_from_log
from rknn_envcheck.explain.messages import load_messages, parse_messages, read_messages_file
from rknn_envcheck.explain.scan import scan_text

MATRICES = Path(__file__).resolve().parent.parent / "matrices"
FAMILY_FILES = sorted(MATRICES.glob("messages_*.toml"))


def _toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python < 3.11
        import tomli as tomllib
    return tomllib.loads(path.read_text(encoding="utf-8"))


FAMILY_ENTRIES = [entry for path in FAMILY_FILES for entry in _toml(path)["message"]]
MESSAGES = load_messages()


def test_family_files_exist_and_hold_only_message_rows():
    assert FAMILY_FILES, "matrices/messages_*.toml"
    for path in FAMILY_FILES:
        data = _toml(path)
        # a [scan] or [codes] table here would replace messages.toml's in the matrix loader's merge
        assert set(data) == {"message"}, f"{path.name} has tables {sorted(set(data) - {'message'})}"


def test_family_entries_are_loaded_with_the_rest():
    loaded = {m.id for m in MESSAGES.messages}
    assert {e["id"] for e in FAMILY_ENTRIES} <= loaded
    # the direct reader (no matrix set around it) sees the same rows
    assert {m.id for m in read_messages_file(None).messages} == loaded


@pytest.fixture(scope="module")
def registry():
    from rknn_envcheck.citations import Registry
    from rknn_envcheck.matrix import load_matrix

    return Registry.from_matrix(load_matrix(MATRICES))


@pytest.mark.parametrize("entry", FAMILY_ENTRIES, ids=lambda e: e["id"])
def test_family_entry_has_a_real_source_and_argv_commands(entry, registry):
    # every citation resolves to a document of matrices/documents.toml (title, version, URL): a
    # vendor document or the public thread where the cause was confirmed — never our notes
    assert not registry.unknown_keys(entry["source"]), entry["source"]
    citations = registry.cite(entry["source"])
    assert citations and all(c.known and c.url.startswith("https://") for c in citations)
    assert "toolkit1.md" not in entry["source"] and "toolkit2.md" not in entry["source"], "users see vendor sources, not our notes"
    for command in entry.get("commands", []):
        assert isinstance(command, list) and command and all(isinstance(a, str) for a in command), command


@pytest.mark.parametrize("entry", [e for e in FAMILY_ENTRIES if e.get("extract")], ids=lambda e: e["id"])
def test_every_example_yields_the_extracted_values(entry):
    message = MESSAGES.by_id(entry["id"])
    for example in entry["examples"]:
        match = message.pattern.search(example)
        assert match, example
        for field, group in entry["extract"].items():
            assert match.group(group), f"{entry['id']}: {field} empty for {example!r}"


@pytest.mark.parametrize("line, version", [
    ("Python 3.6.9 (default, Jun 29 2022, 11:45:57) ", "3.6"),
    ("Python 3.8.16 (default, Mar  2 2023, 03:21:46)", "3.8"),
    ("Requirement already satisfied: numpy in /home/linjiahui/.local/lib/python3.6/site-packages (from rknn-toolkit-lite==1.7.3) (1.16.3)", "3.6"),
    ("  File \"/home/alanxinn/miniconda3/envs/rknntoolkit2.1.0/lib/python3.10/site-packages/rknn/api/__init__.py\", line 1, in <module>", "3.10"),
])
def test_python_version_goes_to_the_log_facts_with_its_line(line, version):
    result = scan_text(f"first line\n{line}\n", MESSAGES)
    facts, notes = facts_from_log(result)
    assert facts["log"]["python_version"] == version
    assert facts["log"]["how"]["python_version"] == "log line 2"
    assert not notes


def test_two_pythons_in_one_log_are_noted():
    text = "Python 3.8.16 (default)\n  File \"/usr/lib/python3.10/site-packages/rknn/api/rknn.py\", line 7\n"
    facts, notes = facts_from_log(scan_text(text, MESSAGES))
    assert facts["log"]["python_version"] == "3.10"
    assert any("python_version" in n and "3.8" in n for n in notes)


@pytest.mark.parametrize("line, code, name", [
    ("rknn_input_set fail! ret=-5", "-5", "RKNN_ERR_PARAM_INVALID"),
])
def test_c_api_codes_are_named(line, code, name):
    finding = scan_text(line + "\n", MESSAGES).findings["c_api_call_fail_ret"]
    assert finding.first.groups["error_code"] == code
    assert MESSAGES.codes[code] == name


def test_an_id_used_twice_is_a_usage_error():
    entry = {"id": "x", "kind": "error", "needles": ["RKNN"], "pattern": "RKNN", "component": "c", "meaning": "m",
             "source": "s", "examples": ["RKNN"], "near_misses": ["n"]}
    with pytest.raises(UsageError, match="used twice"):
        parse_messages({"scan": {"needles": ["RKNN"]}, "message": [entry, dict(entry)]})


def test_argv_commands_become_commands_and_strings_stay():
    from rknn_envcheck.shellcmd import Command

    entry = {"id": "x", "kind": "error", "needles": ["RKNN"], "pattern": "RKNN", "component": "c", "meaning": "m",
             "source": "s", "examples": ["RKNN"], "near_misses": ["n"],
             "commands": [["python3", "-m", "pip", "install", "numpy<=1.26.4"], "adb devices"]}
    message = parse_messages({"scan": {"needles": ["RKNN"]}, "message": [entry]}).messages[0]
    assert isinstance(message.commands[0], Command) and message.commands[0].argv[-1] == "numpy<=1.26.4"
    assert str(message.commands[0]) == "python3 -m pip install 'numpy<=1.26.4'"
    assert message.commands[1] == "adb devices"


def test_one_line_is_one_problem():
    """No example of an error/warning is also matched by another error/warning entry: each entry
    is a distinct cause, so one pasted line gives one row (variants of a message are one entry)."""
    for message in MESSAGES.messages:
        if message.kind not in ("error", "warning"):
            continue
        for example in message.examples:
            found = scan_text(example + "\n", MESSAGES).findings
            others = sorted(k for k, f in found.items() if k != message.id and f.message.kind in ("error", "warning"))
            assert not others, f"{message.id}: {example!r} also matches {others}"


def test_family_rows_are_catalogued_in_the_docs():
    doc = (MATRICES.parent / "docs" / "explain.md").read_text(encoding="utf-8")
    catalogue = doc[doc.index("### Catalogue of the family rows"):]
    for entry in FAMILY_ENTRIES:
        assert f"| `{entry['id']}` |" in catalogue, f"{entry['id']} missing from the catalogue in docs/explain.md"


def test_at_least_200_family_entries_each_with_its_own_source_and_fix():
    problems = [e for e in FAMILY_ENTRIES if e["kind"] in ("error", "warning")]
    assert len(FAMILY_ENTRIES) >= 200
    assert all(e.get("fix", "").strip() for e in problems)
    assert len({e["pattern"] for e in FAMILY_ENTRIES}) == len(FAMILY_ENTRIES), "two entries with one pattern are one entry"


@pytest.mark.parametrize("line, message_id, field, value", [
    ("E RKNN: Mismatch driver version, librknnmrt.so requires driver version >= 0.9.2, but you have driver version: 0.8.9 which is incompatible!", "mrt_driver_too_old", "driver_version", "0.8.9"),
    ("I rkllm: rkllm-runtime version: 1.1.2, rknpu driver version: 0.9.8, platform: RK3588", "rkllm_runtime_banner", "driver_version", "0.9.8"),
    ("I Get hardware info: target_platform = rv1126b, os = Linux, aarch = aarch32", "toolkit2_hardware_info", "board_chip", "RV1126B"),
    ("E init_runtime: get target_platform is RK3566, while required target_platform = rk3588", "tk2_platform_target_mismatch", "board_chip", "RK3566"),
])
def test_board_versions_from_the_log_become_board_facts(line, message_id, field, value):
    result = scan_text(line + "\n", MESSAGES)
    assert message_id in result.findings
    facts, _ = facts_from_log(result)
    device = facts["devices"][0]
    key = {"driver_version": "npu_driver", "board_chip": "chip"}[field]
    assert device[key] == value and device["how"][key] == "log line 1"


@pytest.mark.parametrize("line, field, value", [
    ("E build: ImportError: /lib/x86_64-linux-gnu/libm.so.6: version `GLIBC_2.29' not found ", "glibc_required", "2.29"),
    ("ERROR: Ignored the following versions that require a different python version: 1.21.2 Requires-Python >=3.7,<3.11; 1.21.3", "requires_python", ">=3.7,<3.11"),
    ("E build: ImportError: libpython3.6m.so.1.0: cannot open shared object file: No such file or directory", "libpython_version", "3.6"),
])
def test_host_versions_from_the_log_become_log_facts(line, field, value):
    facts, _ = facts_from_log(scan_text(line + "\n", MESSAGES))
    assert facts["log"][field] == value
