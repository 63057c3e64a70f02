"""Chip facts for the rules, looked up in the matrix ([[chip]] rows of matrices/toolkit1.toml and
toolkit2.toml: `name`, `aliases`, `line`, `npu`), never copied into a rule as a list of names
(issue 13: one place for chip facts). Pure: the matrix is passed in.
"""
from __future__ import annotations

LINE_V1 = "rknn-toolkit"
RK3399PRO = "RK3399PRO"  # the matrix row name; its NPU is a separate chip with its own firmware and ADB only


def chip_row(matrix, name: str | None) -> dict | None:
    """The matrix row of a chip name or alias (any case), or None."""
    return matrix.chip(str(name)) if matrix is not None and name else None


def v1_npu_family(matrix, name: str | None) -> str | None:
    """"LION" or "PUMA" for an rknn-toolkit (v1) chip, None for any other or unknown chip."""
    row = chip_row(matrix, name)
    return row.get("npu") if row and row.get("line") == LINE_V1 else None


def is_rk3399pro(matrix, name: str | None) -> bool:
    row = chip_row(matrix, name)
    return bool(row) and row["name"] == RK3399PRO


def v1_families(matrix) -> dict[str, tuple[str, ...]]:
    """{"LION": (...), "PUMA": (...)}: the lower-case names and aliases of the rknn-toolkit (v1)
    chips by NPU family, rows sorted by name (LION: rk1806, rk1808, rk3399pro)."""
    families: dict[str, list[str]] = {}
    for row in sorted(matrix.rows("chip") if matrix is not None else [], key=lambda r: r["name"]):
        if row.get("line") == LINE_V1 and row.get("npu"):
            names = families.setdefault(row["npu"], [])
            for name in (row["name"], *row.get("aliases", [])):
                if name.lower() not in names:
                    names.append(name.lower())
    return {family: tuple(names) for family, names in families.items()}


def v1_family_names(matrix, family: str) -> list[str]:
    """The lower-case row names (no aliases) of one toolkit-v1 NPU family, sorted: PUMA → rv1109, rv1126."""
    return sorted(r["name"].lower() for r in (matrix.rows("chip") if matrix is not None else [])
                  if r.get("line") == LINE_V1 and r.get("npu") == family)


def model_chip_names(matrix, name: str) -> set[str]:
    """The lower-case chip names a model exported for `name` runs on: the name, its row's name and
    aliases, and the chips the row shares models with (`shares_models_with`: RK3566 ↔ RK3568)."""
    row = chip_row(matrix, name)
    names = {str(name).lower(), *_row_names(row)}
    for other in (row or {}).get("shares_models_with", []):
        names |= {other.lower(), *_row_names(chip_row(matrix, other))}
    return names


def _row_names(row: dict | None) -> set[str]:
    return {row["name"].lower(), *(a.lower() for a in row.get("aliases", []))} if row else set()


def model_runs_on(matrix, model_chip: str, board_chip: str) -> bool:
    """Whether a model exported for `model_chip` loads on a `board_chip` board (same chip, an alias,
    or chips that share models). Without a matrix only the same name matches."""
    return str(board_chip).lower() in model_chip_names(matrix, model_chip)
