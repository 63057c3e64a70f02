"""One place for chip facts (issue 13): the rules ask the matrix's [[chip]] rows (name, aliases,
line, npu) instead of keeping their own lists of chip names."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.rules.chips import v1_families, v1_family_names, v1_npu_family
from rknn_envcheck.rules.connection import _ntb_switch_fix
from rknn_envcheck.rules.model_needs import ENCRYPTED_MIN, encrypted_minimum

PACKAGE = Path(__file__).resolve().parent.parent / "rknn_envcheck"
CHIP_NAME = re.compile(r"^(rk|rv)\d{4}[a-z]?$", re.I)
# Literal collections of chip names still in rules/ or the fix planner, each with why it is not a matrix lookup yet.
KNOWN_LISTS = {
    ("rules/model_common.py", ("rk3566", "rk3568")),  # V2_SHARED: model sharing has no matrix field yet
}


@pytest.fixture(scope="module")
def matrix():
    return load_matrix()


def _v1_rows(matrix):
    return [r for r in matrix.rows("chip") if r.get("line") == "rknn-toolkit"]


def test_every_v1_chip_and_alias_has_its_matrix_family(matrix):
    rows = _v1_rows(matrix)
    assert {r["npu"] for r in rows} == {"LION", "PUMA"}
    families = v1_families(matrix)
    for row in rows:
        for name in (row["name"], *row.get("aliases", [])):
            assert v1_npu_family(matrix, name) == row["npu"] and v1_npu_family(matrix, name.upper()) == row["npu"]
            assert name.lower() in families[row["npu"]]
    v2 = next(r for r in matrix.rows("chip") if r.get("line") == "rknn-toolkit2")
    assert v1_npu_family(matrix, v2["name"]) is None and v1_npu_family(matrix, "no-such-chip") is None


def test_ntb_switch_and_encrypted_minimum_follow_the_matrix_row(matrix):
    for row in _v1_rows(matrix):
        for name in (row["name"], *row.get("aliases", [])):
            text, commands = _ntb_switch_fix({"chip": name, "serial": "S1"}, matrix)
            if row["npu"] == "PUMA":
                assert "usb_ntb_en" in text and commands, name
                assert encrypted_minimum(name, matrix) == ENCRYPTED_MIN["PUMA"]
            else:
                assert not commands and ("ADB only" in text if row["name"] == "RK3399PRO" else "NTB is on by default" in text), name
                assert encrypted_minimum(name, matrix) == ENCRYPTED_MIN["other"]


class _OneChipMatrix:
    """A matrix with one made-up PUMA chip: the rules must follow the data, not a name list."""

    ROW = {"name": "RV9999", "line": "rknn-toolkit", "npu": "PUMA", "aliases": ["rk9999"]}

    def chip(self, name):
        return self.ROW if name and name.lower() in ("rv9999", "rk9999") else None

    def rows(self, table):
        return [self.ROW] if table == "chip" else []


def test_a_new_matrix_row_changes_the_verdicts_without_code():
    fake = _OneChipMatrix()
    text, commands = _ntb_switch_fix({"chip": "rk9999", "serial": "S1"}, fake)
    assert "usb_ntb_en" in text and commands
    assert encrypted_minimum("RV9999", fake) == ENCRYPTED_MIN["PUMA"]
    assert v1_families(fake) == {"PUMA": ("rv9999", "rk9999")} and v1_family_names(fake, "PUMA") == ["rv9999"]
    assert _ntb_switch_fix({"chip": "RV1126", "serial": "S1"}, fake)[1] == []  # not in this matrix: no PUMA fix


def _chip_lists():
    for path in sorted((PACKAGE / "rules").glob("*.py")) + [PACKAGE / "fixplan.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                names = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                if len(names) >= 2 and len(names) == len(node.elts) and all(CHIP_NAME.match(n) for n in names):
                    yield path.relative_to(PACKAGE).as_posix(), tuple(sorted(names))


def test_no_rule_keeps_its_own_list_of_chip_names():
    found = set(_chip_lists())
    assert found - KNOWN_LISTS == set(), "chip facts belong in the matrix [[chip]] rows; look them up (rules/chips.py)"
    assert KNOWN_LISTS - found == set(), "a listed chip-name list is gone: remove it from KNOWN_LISTS"
