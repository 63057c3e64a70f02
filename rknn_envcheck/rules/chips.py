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
