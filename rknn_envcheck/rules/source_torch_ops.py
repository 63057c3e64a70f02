"""The operators a TorchScript module calls (model/zip_reader.py reads them from code/*.py as text)
against the release's PyTorch list ([[source_ops]] framework "torch" of source_models.toml). Pure.

Two kinds of vendor list: the `aten::<op>` tables (toolkit v1 RKNN_OP_Support_V1.6.0…1.7.1.md, every
toolkit2 document) are compared name by name; the v1.7.5 sheet (RKNN_OP_Support_And_Limit.xlsx) names
PyTorch functions in words ("convolution 2D", "max_pool2d"), so only the names that are spelled the
same are compared, and the rest is `unknown` with the sheet to read, never `ok`.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix

TITLE = "PyTorch operators"


def _aten_listed(op: str, names: set) -> bool:
    """aten::relu_ (the in-place form TorchScript records) is the listed aten::relu (inferred)."""
    return op in names or (op.endswith("_") and op.rstrip("_") in names)


def torch_ops_check(model, package: str, version: str, tk: str, matrix, context: dict) -> Check:
    from rknn_envcheck.rules.source_model import _rows, no_ops_list, try_convert_fix

    ops = sorted(model.operators)
    how = model.how
    rows = _rows(matrix, "source_ops", package, version, framework="torch")
    if not rows:
        message, source = no_ops_list(matrix, package, version, "torch", tk)
        return Check("source.torch_ops", TITLE, UNKNOWN, observed=", ".join(ops), how=how, source=source, message=message,
                     fix=try_convert_fix(model, "torch"), **context)
    row = rows[0]
    if not ops:
        return Check("source.torch_ops", TITLE, UNKNOWN, observed="no operator calls found in code/", how=how, source=row["source"],
                     message="no torch.<op>( or ops.<namespace>.<op>( call was found in the module's code/ files", **context)
    by_word = not any("::" in name for name in row["supported"] + row["unsupported"])
    if by_word:  # the v1.7.5 sheet: "relu", "max_pool2d", "convolution 2D"
        supported = {name.lower() for name in row["supported"]}
        unsupported = {name.lower() for name in row["unsupported"]}
        bare = {op: op.split("::", 1)[1].rstrip("_").lower() for op in ops}
        refused = [op for op in ops if bare[op] in unsupported]
        unmatched = [op for op in ops if bare[op] not in supported and bare[op] not in unsupported]
    else:
        names = set(row["supported"])
        refused = [op for op in ops if op in row["unsupported"] or (op.endswith("_") and op.rstrip("_") in row["unsupported"])]
        unmatched = [op for op in ops if op not in refused and not _aten_listed(op, names)]
    if refused:
        return Check("source.torch_ops", TITLE, FAIL, observed=", ".join(refused), how=how, expected="operators the toolkit supports",
                     source=row["source"], message=f"{tk} marks {', '.join(refused)} as not supported",
                     fix=Fix("replace these operations in the model before tracing (or export to ONNX and check its list)"), **context)
    if unmatched and by_word:
        return Check("source.torch_ops", TITLE, UNKNOWN, observed=", ".join(unmatched), how=how, expected=f"the {row['count']} rows of the sheet",
                     source=row["source"], message=f"the {tk} sheet names PyTorch functions in words (e.g. 'convolution 2D'); "
                                                   f"{', '.join(unmatched)} are not spelled as any of its rows: compare by hand",
                     fix=try_convert_fix(model, "torch"), **context)
    if unmatched:
        return Check("source.torch_ops", TITLE, WARN, observed=", ".join(unmatched), how=how, expected=f"operators of the {row['count']}-row vendor table",
                     source=row["source"], message=f"{', '.join(unmatched)}: not in the {tk} PyTorch operator list (conversion may stop at them)",
                     fix=Fix("replace them before tracing, or export to ONNX and check the ONNX list"), **context)
    if not model.code_scan_complete:
        return Check("source.torch_ops", TITLE, UNKNOWN, observed=f"{len(ops)} operators in the scanned part", how=how, source=row["source"],
                     message="code/ is larger than the scan reads; the operators found are listed, the rest was not read", **context)
    return Check("source.torch_ops", TITLE, OK, observed=f"{len(ops)} operators", how=how, expected=f"operators of the {row['count']}-row vendor table",
                 source=row["source"], message=f"all {len(ops)} operators the module calls are in the {tk} list", **context)
