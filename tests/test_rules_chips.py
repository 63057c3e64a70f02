"""One place for chip facts (issue 13): the rules ask the matrix's [[chip]] rows (name, aliases,
line, npu) instead of keeping their own lists of chip names."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.rules.chips import model_chip_names, model_runs_on, v1_families, v1_family_names, v1_npu_family
from rknn_envcheck.rules.connection import _ntb_switch_fix
from rknn_envcheck.rules.model_needs import ENCRYPTED_MIN, encrypted_minimum

PACKAGE = Path(__file__).resolve().parent.parent / "rknn_envcheck"
CHIP_NAME = re.compile(r"^(rk|rv)\d{4}[a-z]?$", re.I)
# Literal collections of chip names still in rules/ or the fix planner, each with why it is not a matrix lookup yet.
KNOWN_LISTS: set = set()


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


def test_model_sharing_is_the_matrix_field(matrix):
    sharing = {r["name"]: r["shares_models_with"] for r in matrix.rows("chip") if r.get("shares_models_with")}
    assert sharing == {"RK3566": ["RK3568"], "RK3568": ["RK3566"]}  # toolkit2.md §4.5, cited in the rows' source
    for name, others in sharing.items():
        assert "resnet18_for_rk3566_rk3568" in matrix.chip(name)["source"]
        for other in others:
            assert model_runs_on(matrix, name.lower(), other) and model_runs_on(matrix, other, name)
    assert not model_runs_on(matrix, "rk3566", "RK3588") and not model_runs_on(matrix, "rk3562", "RK3566")
    assert model_runs_on(matrix, "rk3588s", "RK3588") and model_chip_names(None, "rk3566") == {"rk3566"}


def test_a_new_sharing_row_changes_the_model_and_log_verdicts_without_code():
    from rknn_envcheck.explain.diagnose import cross_checks

    class Sharing(_OneChipMatrix):
        ROW = {**_OneChipMatrix.ROW, "line": "rknn-toolkit2", "shares_models_with": ["RK9998"]}
        OTHER = {"name": "RK9998", "line": "rknn-toolkit2", "aliases": []}

        def chip(self, name):
            return self.OTHER if name and name.lower() == "rk9998" else super().chip(name)

    assert model_runs_on(Sharing(), "rv9999", "RK9998") and not model_runs_on(_OneChipMatrix(), "rv9999", "RK9998")
    facts = {"log": {"model_chip": "RV9999"}, "devices": [{"serial": "log", "chip": "RK9998"}]}
    assert not [c for c in cross_checks(facts, {}, "log:x", Sharing()) if c.id == "log.model_chip_vs_board"]
    assert [c for c in cross_checks(facts, {}, "log:x", _OneChipMatrix()) if c.id == "log.model_chip_vs_board"]


def test_runtime_folders_come_from_the_chip_rows(matrix):
    from rknn_envcheck.fixplan import BoardPlan

    v1 = [r for r in _v1_rows(matrix) if r.get("rknpu_driver_folder")]
    assert {r["name"] for r in v1} == {"RK1808", "RK1806", "RV1109", "RV1126"}  # RK3399Pro: its own firmware repository
    for row in v1:
        assert row["rknpu_driver_folder"] in row["source"] and row["rknpu_kernel_module"] in row["source"]
    renamed = {**matrix.chip("RV1126"), "rknpu_driver_folder": "linux-made-up", "rknpu_kernel_module": "made_up.ko"}
    plan = BoardPlan(device={"serial": "S1", "chip": "RV1126", "arch": "armv7l"}, line="rknn-toolkit", wanted="1.7.3", release="1.7.3", chip=renamed)
    argv = " ".join(" ".join(c.argv) for c in plan.install_fix().commands)
    assert "drivers/linux-made-up/usr" in argv and "npu_ko/made_up.ko" in argv
    old_v2 = {**matrix.chip("RK3568"), "rknpu2_runtime_folder": "MADEUP"}
    plan = BoardPlan(device={"serial": "S1", "chip": "RK3568", "arch": "aarch64", "os": "linux"}, line="rknn-toolkit2", wanted="1.5.2", release="1.5.2", chip=old_v2)
    assert "rknpu2/runtime/MADEUP/Linux/" in " ".join(" ".join(c.argv) for c in plan.install_fix().commands)
