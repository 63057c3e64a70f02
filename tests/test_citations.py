"""Sources a user can open: every citation in the matrices and in the rules resolves to a document of
matrices/documents.toml, and reports render title, version, section and URL from it."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from core_helpers import device, facts, run_cli, write_facts
from rknn_envcheck.citations import Registry, split_source
from rknn_envcheck.matrix import load_matrix

ROOT = Path(__file__).resolve().parent.parent
NOTES_FILES = re.compile(r"\btoolkit[12]\.md\b|shared/reference|\.\./shared")


@pytest.fixture(scope="module")
def registry():
    return Registry.from_matrix(load_matrix(ROOT / "matrices"))


def _rows_with_source(matrix):
    for table, rows in matrix.tables.items():
        for row in rows:
            if isinstance(row, dict) and isinstance(row.get("source"), str):
                yield table, row


def test_every_matrix_row_cites_registered_documents(registry):
    matrix = load_matrix(ROOT / "matrices")
    bad = []
    for table, row in _rows_with_source(matrix):
        unknown = registry.unknown_keys(row["source"])
        if unknown or NOTES_FILES.search(row["source"]):
            bad.append(f"{row.get('_file')} [[{table}]] row {row.get('_row')}: {unknown or row['source'][:80]}")
    assert not bad, f"{len(bad)} rows cite keys that are not in matrices/documents.toml:\n" + "\n".join(bad[:40])


def _source_literals():
    """String literals passed as source=… or assigned to *SOURCE* names in the tool's code."""
    for path in sorted((ROOT / "rknn_envcheck").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            values = []
            if isinstance(node, ast.keyword) and node.arg == "source":
                values.append(node.value)
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and ("SOURCE" in t.id or t.id.startswith("SRC") or t.id.endswith(("_CONSISTENT", "_SRC"))) for t in node.targets):
                values.append(node.value)
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and value.value:
                    yield f"{path.relative_to(ROOT)}:{value.lineno}", value.value
                elif isinstance(value, ast.JoinedStr):
                    text = "".join(v.value for v in value.values if isinstance(v, ast.Constant))
                    if text.strip():
                        yield f"{path.relative_to(ROOT)}:{value.lineno}", text


def test_sources_in_the_rules_cite_registered_documents(registry):
    bad = []
    for where, text in _source_literals():
        if NOTES_FILES.search(text):
            bad.append(f"{where}: {text[:90]}")
    assert not bad, "sources in code name our notes instead of vendor documents:\n" + "\n".join(bad[:40])


def test_the_registry_renders_title_version_section_and_url(registry):
    [ts] = registry.cite("TS-1.7.5 Table 8-1")
    assert ts.known and ts.text() == ("Rockchip RKNN-Toolkit Troubleshooting Guide v1.7.5, Table 8-1 — "
                                      "https://github.com/rockchip-linux/rknn-toolkit/blob/v1.7.5/doc/Rockchip_Trouble_Shooting_RKNN_Toolkit_V1.7.5_EN.pdf")
    [path] = registry.cite("AR@42aa1d4 rknn-toolkit2/packages/x86_64/requirements_cp311-2.3.2.txt")
    assert path.url == "https://github.com/airockchip/rknn-toolkit2/blob/42aa1d4/rknn-toolkit2/packages/x86_64/requirements_cp311-2.3.2.txt"
    [issue] = registry.cite("AR#85")
    assert issue.url == "https://github.com/airockchip/rknn-toolkit2/issues/85"
    [wheel] = registry.cite("PyPI:rknn_toolkit2-2.3.2-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl METADATA Requires-Dist")
    assert wheel.url == "https://pypi.org/project/rknn_toolkit2/2.3.2/#files" and wheel.section == "METADATA Requires-Dist"
    inferred = registry.cite("inferred from seed §1.7.2")[0]
    assert inferred.inferred and inferred.text().startswith("inferred from Rockchip RKNN-Toolkit Troubleshooting Guide")
    assert registry.unknown_keys("toolkit1.md §3.1") == ["toolkit1.md"]


def test_split_keeps_semicolons_inside_quotes_and_parentheses():
    parts = split_source("TS-1.7.5 §8 (`a; b`); seed §1.7.2 (x; y); inferred from AR#1")
    assert [(i, k) for i, k, _ in parts] == [(False, "TS-1.7.5"), (False, "seed"), (True, "AR#1")]


def test_reports_show_documents_not_keys(tmp_path, capsys):
    facts_file = write_facts(tmp_path, facts({"rknn-toolkit2": "2.3.2"}, [device(chip="RK3588", rknn_server="1.5.2", librknn_runtime="1.5.2")]))
    code, out, _ = run_cli(capsys, "check", "--facts", str(facts_file))
    assert "toolkit1.md" not in out and "toolkit2.md" not in out and "https://github.com/" in out
    code, out, _ = run_cli(capsys, "check", "--facts", str(facts_file), "--json")
    import json

    data = json.loads(out)
    cited = [c for check in data["checks"] for c in check.get("citations", [])]
    assert cited and all(c["known"] for c in cited)


def test_docs_sources_md_is_generated_from_the_registry(registry):
    from rknn_envcheck.citations import sources_doc

    assert (ROOT / "docs" / "sources.md").read_text(encoding="utf-8") == sources_doc(registry), "run scripts/gen_sources_doc.py"


def test_a_family_is_skipped_by_its_literal_start_only_when_it_could_not_match():
    """Registry.resolve skips (and never compiles) a family whose pattern's literal start the key
    lacks: every key a family pattern matches must start with that literal start."""
    import re as _re

    from hypothesis import given, settings, strategies as st

    from rknn_envcheck.citations import _literal_prefix
    from rknn_envcheck.matrix import load_matrix

    patterns = [row["pattern"] for row in load_matrix().rows("document_family")]
    patterns += ["^ab?c", "^ab*d", "^ab{2}", "^ab+c", "^(?P<x>a)b", r"^a\.b", "^a|^b", "no-anchor"]
    for pattern in patterns:
        prefix = _literal_prefix(pattern)
        assert not _re.search(r"[\\^$*+?{}\[\]|()]", prefix), (pattern, prefix)

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(patterns), st.data())
    def check(pattern, data):
        key = data.draw(st.from_regex(_re.compile(pattern), fullmatch=False)) if pattern != "no-anchor" else "no-anchor"
        if _re.match(pattern, key):
            assert key.startswith(_literal_prefix(pattern)), (pattern, key)

    check()
