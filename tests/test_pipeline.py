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
