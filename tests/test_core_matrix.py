import shutil
from pathlib import Path

import pytest

from core_helpers import facts, run_cli, write_facts
from rknn_envcheck.errors import UsageError
from rknn_envcheck.matrix import load_matrix

SHIPPED = Path(__file__).resolve().parents[1] / "matrices"


@pytest.fixture
def matrix_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("RKNN_ENVCHECK_CACHE", str(tmp_path / "cache"))
    target = tmp_path / "matrices"
    shutil.copytree(SHIPPED, target)
    return target


def test_shipped_set_loads_with_version_and_date():
    matrix = load_matrix()
    assert matrix.version and matrix.date
    for table in ("release", "wheel", "framework", "requirement", "board_stack", "target_platform", "chip", "model_format", "pitfall"):
        assert matrix.rows(table), f"no [[{table}]] rows shipped"


def test_every_shipped_row_names_its_source():
    matrix = load_matrix()
    for table, rows in matrix.tables.items():
        if table in ("message", "document", "document_family"):
            continue  # messages are checked by the explain tests; documents are what sources cite
        for row in rows:
            assert str(row.get("source", "")).strip(), f"{row.get('_file')} [[{table}]] row {row.get('_row')} has no source"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("file, old, new, words", [
    ("toolkit1.toml", 'package = "rknn-toolkit"', 'package = "rknn-tolkit"', ["toolkit1.toml", "package", "rknn-tolkit"]),
    ("toolkit2.toml", 'kind = "user-guide"', 'kind = "user_guide"', ["toolkit2.toml", "[[requirement]]", "kind"]),
    ("pitfalls.toml", "level = ", "levle = ", ["pitfalls.toml", "[[pitfall]]", "'level' is missing"]),
])
def test_a_typo_names_file_row_and_field(matrix_copy, capsys, tmp_path, file, old, new, words):
    _edit(matrix_copy / file, old, new)
    with pytest.raises(UsageError) as info:
        load_matrix(matrix_copy)
    for word in words:
        assert word in str(info.value)
    code, _out, err = run_cli(capsys, "check", "--facts", str(write_facts(tmp_path, facts())), "--matrix", str(matrix_copy))
    assert code == 2 and "row" in err and "Traceback" not in err


def test_invalid_toml_and_missing_dir(matrix_copy, tmp_path):
    (matrix_copy / "broken.toml").write_text("[[release]\nx = ")
    with pytest.raises(UsageError) as info:
        load_matrix(matrix_copy)
    assert "broken.toml" in str(info.value) and "not valid TOML" in str(info.value)
    with pytest.raises(UsageError):
        load_matrix(tmp_path / "nowhere")


def test_matrix_dir_replaces_the_shipped_set(matrix_copy, capsys, tmp_path):
    # A new vendor release is a data change: add rknn-toolkit2 9.9.9 and judge it.
    with open(matrix_copy / "toolkit2.toml", "a") as handle:
        handle.write('\n[[release]]\npackage = "rknn-toolkit2"\nversion = "9.9.9"\ndate = "2030-01-01"\nsource = "test"\n')
    _edit(matrix_copy / "matrix.toml", 'version = "', 'version = "test-')
    path = write_facts(tmp_path, facts({"rknn-toolkit2": "9.9.9"}))
    code, out, _err = run_cli(capsys, "check", "--facts", str(path), "--matrix", str(matrix_copy))
    assert "matrix test-" in out and "rknn-toolkit2 9.9.9" in out
    code, out, _err = run_cli(capsys, "check", "--facts", str(path))
    assert "not in matrix" in out and code == 3


def test_cache_is_invalidated_by_an_edit(matrix_copy):
    first = load_matrix(matrix_copy)
    load_matrix.__wrapped__ if hasattr(load_matrix, "__wrapped__") else None
    from rknn_envcheck import matrix as matrix_module

    matrix_module._load.cache_clear()
    _edit(matrix_copy / "matrix.toml", 'version = "', 'version = "edited-')
    second = load_matrix(matrix_copy)
    assert second.version.startswith("edited-") and not first.version.startswith("edited-")


def test_chip_lookup_by_compatible_and_alias():
    matrix = load_matrix()
    assert matrix.chip_from_compatible("rockchip,rk3588s-orangepi-5\x00rockchip,rk3588\x00")["name"] == "RK3588"
    assert matrix.chip_from_compatible("rockchip,rk3566-firefly-roc-pc\x00rockchip,rk3566\x00")["name"] == "RK3566"
    assert matrix.chip("rk3588s")["name"] == "RK3588"
    assert matrix.chip_from_compatible("vendor,something-else") is None
