"""The shape the design promises: gather (facts sources) → evaluate → render; commands pick
sources and parse options; nothing imports `cli` but `__main__`; probes do not import rules;
a replayed board keeps its files where the real one had them (structured facts, not `how` text)."""
from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import pytest

from core_helpers import run_cli
from rknn_envcheck.pipeline import BoardsSource, FactsFileSource, FactsSource, HostSource, gather

PACKAGE = Path(__file__).resolve().parents[1] / "rknn_envcheck"
JUDGING_COMMANDS = ("check", "host", "device", "doctor", "model", "explain")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_module_imports_cli_but_main():
    offenders = [str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                 if p.name != "__main__.py" and p.name != "cli.py"
                 and {"rknn_envcheck.cli", "rknn_envcheck.cli.main", "rknn_envcheck.cli.add_output_options"} & _imports(p)]
    assert offenders == []


def test_judging_commands_pick_sources_and_gather_nothing_themselves():
    for name in JUDGING_COMMANDS:
        imported = _imports(PACKAGE / "commands" / f"{name}.py")
        direct = sorted(m for m in imported if m.startswith(("rknn_envcheck.probes", "rknn_envcheck.boards", "rknn_envcheck.gather"))
                        or m == "rknn_envcheck.facts.load_facts")
        assert direct == [], f"commands/{name}.py gathers facts itself: {direct}"
        assert "rknn_envcheck.pipeline" in imported, name


def test_probes_do_not_import_rules():
    for path in (PACKAGE / "probes").glob("*.py"):
        assert not [m for m in _imports(path) if m.startswith("rknn_envcheck.rules")], path.name


def test_resolve_renders_in_render():
    imported = _imports(PACKAGE / "commands" / "resolve.py")
    assert "json" not in imported and "rknn_envcheck.render.resolve" in imported


def test_sources_are_started_then_collected_and_merged_in_order():
    calls = []

    class Recording(FactsSource):
        def __init__(self, name, devices):
            self.name, self.devices = name, devices

        def start(self):
            calls.append(("start", self.name))

        def collect(self, facts):
            calls.append(("collect", self.name))
            facts["devices"] = list(self.devices)
            facts[self.name] = True
            return [f"row-{self.name}"]

    facts, rows = gather([Recording("a", [{"serial": "A"}]), Recording("b", [{"serial": "B"}])])
    assert calls[:2] == [("start", "a"), ("start", "b")]
    assert [d["serial"] for d in facts["devices"]] == ["A", "B"] and facts["a"] and facts["b"]
    assert rows == ["row-a", "row-b"] and facts["schema"] == "rknn-envcheck/facts/1"


def test_a_crashing_board_listing_is_a_row_and_the_host_still_stands(monkeypatch):
    import rknn_envcheck.gather as gather_module

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(gather_module, "gather_boards", broken)
    args = argparse.Namespace(emulate=["rk3588-2.3.2"], timeout=5.0)
    facts, rows = gather([HostSource(None, 10.0), BoardsSource(args, None)])
    assert facts["host"]["python"]["executable"]
    assert [r.status for r in rows] == ["crashed"] and "boom" in rows[0].message


def test_facts_file_source_gives_what_check_judges(tmp_path, capsys):
    saved = tmp_path / "f.json"
    run_cli(capsys, "device", "--emulate", "rk3588-2.3.2", "--toolkit", "rknn-toolkit2==2.3.2", "--save-facts", str(saved))
    facts, rows = gather([FactsFileSource(str(saved))], facts={})
    assert rows == [] and facts == json.loads(saved.read_text())


@pytest.mark.parametrize("profile", ["rk1808-1.7.5-old-server", "rk3588-2.3.2", "rv1106-2.3.2", "rk3568-android-rknpu2-1.4.0",
                                     "rv1126-1.7.5-mini-driver"])
def test_a_replayed_board_keeps_its_files_where_the_real_one_had_them(tmp_path, profile):
    from rknn_envcheck.emulator.board import EmulatedBoard
    from rknn_envcheck.emulator.from_facts import profile_toml_from_facts
    from rknn_envcheck.matrix import load_matrix
    from rknn_envcheck.probes.board import gather_board

    matrix = load_matrix()
    device = gather_board(EmulatedBoard(profile), 5, matrix)
    assert device["paths"]  # structured: where each version was read
    out = tmp_path / "replay.toml"
    out.write_text(profile_toml_from_facts({"schema": "rknn-envcheck/facts/1", "devices": [device]}, "f.json", matrix=matrix))
    replay = gather_board(EmulatedBoard(str(out)), 5, matrix)
    for field in ("chip", "os", "rknn_server", "librknn_runtime", "runtime_library", "npu_driver", "paths", "device_tree_compatible"):
        assert replay.get(field) == device.get(field), field


def _scanned(tmp_path, text: str):
    from rknn_envcheck.commands.explain import explain_log
    from rknn_envcheck.explain.messages import load_messages

    log = tmp_path / "run.log"
    log.write_text(text, encoding="utf-8")
    with open(log, "rb") as stream:
        return explain_log(stream, str(log), load_messages())


RUNTIME_LOG = "I RKNN: [10:01:02.123] RKNN Runtime Information, librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)\n"


@pytest.mark.parametrize("log_first", [False, True])
def test_a_fill_source_only_fills_what_the_observed_sources_left(tmp_path, capsys, log_first):
    from rknn_envcheck.pipeline import LogSource

    saved = tmp_path / "f.json"
    run_cli(capsys, "device", "--emulate", "rk3588-2.3.2", "--toolkit", "rknn-toolkit2==2.3.2", "--save-facts", str(saved))
    observed = json.loads(saved.read_text())
    (board,) = observed["devices"]
    log = LogSource(_scanned(tmp_path, RUNTIME_LOG + "E RKNN: Invalid RKNN model version 6\n"))
    sources = [log, FactsFileSource(str(saved))] if log_first else [FactsFileSource(str(saved)), log]
    facts, rows = gather(sources, facts={})
    (merged,) = facts["devices"]
    assert merged["librknn_runtime"] == board["librknn_runtime"] != "1.4.0"  # observed wins over the log
    assert facts["log"]["model_version"] == "6" and facts["host"] == observed["host"]
    assert any("1.4.0" in note and "before an update" in note for note in log.notes), log.notes


def test_a_log_alone_gives_its_own_facts(tmp_path):
    from rknn_envcheck.explain.facts_from_log import facts_from_log
    from rknn_envcheck.pipeline import LogSource

    scanned = _scanned(tmp_path, RUNTIME_LOG)
    log = LogSource(scanned)
    facts, rows = gather([log], {"schema": "rknn-envcheck/facts/1", "host": {}, "devices": []})
    assert (facts, rows) == (facts_from_log(scanned)[0], []) and not log.host_observed and "hostname" not in facts


def test_the_pipeline_module_costs_explain_no_start_up():
    """explain imports the pipeline for its log: the thread pool, the facts model and the board
    gathering stay unimported until a source needs them."""
    import subprocess
    import sys

    code = ("import sys, rknn_envcheck.pipeline as p; "
            "print(sorted(m for m in ('concurrent.futures', 'rknn_envcheck.facts', 'rknn_envcheck.gather') if m in sys.modules)); "
            "print(p.START_IF_USB != p.START_EXPLICIT)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent).stdout.split("\n")
    assert out[:2] == ["[]", "True"]


def test_the_default_fill_keeps_what_a_replace_source_gave():
    class Giving(FactsSource):
        live = False

        def __init__(self, merge, given):
            self.merge, self.given = merge, given

        def collect(self, facts):
            facts.update(self.given)
            return []

    filler = Giving("fill", {"host": {"python": "log"}, "devices": [{"serial": "L"}], "log": {"source": "x"}})
    facts, _rows = gather([filler, Giving("replace", {"host": {"python": "seen"}})], facts={"devices": []})
    assert facts == {"host": {"python": "seen"}, "devices": [{"serial": "L"}], "log": {"source": "x"}}
