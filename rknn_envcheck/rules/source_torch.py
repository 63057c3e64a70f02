"""Will the torch beside the toolkit load this PyTorch archive? Pure: a SourceModel (model/source.py),
the judged toolkit, the packages beside it and the matrix ([[torch_archive]] in torch_archive.toml,
generated from caffe2/serialize of each torch release; [[framework]] torch rows; [[source_format]]
torch-pickle rows) in, Checks out.

Two facts decide: whether the file is TorchScript (rknn.load_pytorch takes only a TorchScript
module) and whether its archive file-format version is within what the reading torch accepts
(kMin/kMaxSupportedFileFormatVersion; a `.data/version` record is only looked for by releases whose
header names it). The reading torch is the one installed beside the toolkit, else every torch
minor the toolkit's [[framework]] range allows.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules.source_model import _onnx_limits, _rows, _upper_bound
from rknn_envcheck.shellcmd import PYTHON, Command, cmd, path_arg

PICKLE_SOURCE = {"rknn-toolkit": "UG-1.7.5 §7.3.6 (load_pytorch: a model in the torchscript format)",
                 "rknn-toolkit2": "API-TK2-2.3.2 §2.3.6 (load_pytorch: a model in the torchscript format)"}


def _series(version: str) -> str | None:
    from rknn_envcheck.versions import release_numbers

    numbers = release_numbers(version)
    return f"{numbers[0]}.{numbers[1]}" if numbers and len(numbers) >= 2 else None


def _archive_rows(matrix) -> dict:
    return {row["torch"]: row for row in matrix.rows("torch_archive")}


def _key(series: str) -> tuple:
    return tuple(int(part) for part in series.split("."))


def _reads(row: dict, version: int, member: str) -> bool:
    if member.endswith(".data/version") and not row.get("data_version_member"):
        return False
    return row.get("min_readable", 1) <= version <= row["max_readable"]


def _first_reader(rows: dict, version: int, member: str) -> str | None:
    readers = [s for s, r in rows.items() if _reads(r, version, member)]
    return min(readers, key=_key) if readers else None


def _onnx_opset(matrix, package: str, version: str) -> int | None:
    doc = _rows(matrix, "onnx_opset", package, version)
    if doc and (doc[0].get("max_opset") or doc[0].get("opset")):
        return doc[0].get("max_opset") or doc[0].get("opset")
    frame = _rows(matrix, "framework", package, version, framework="onnx")
    upper = _upper_bound(frame[0]["specifier"]) if frame else None
    limits = _onnx_limits(matrix, upper) if upper else None
    return limits["opset"] if limits else None


def _resave_fix(matrix, package: str, version: str, torch_pin: str | None, reason: str) -> Fix:
    commands = []
    if torch_pin:
        commands.append(cmd("python", "-m", "pip", "install", f"torch=={torch_pin}",
                            note="in the toolkit's Python: the torch that reads the archive"))
    trace = f"import torch; torch.jit.trace(model.eval(), example).save({'model_traced.pt'!r})"
    commands.append(Command([trace], shell=PYTHON, note="where `model` and `example` (an input tensor) are defined"))
    commands.append(Command([f"rknn.load_pytorch(model={'model_traced.pt'!r}, input_size_list=[[3, 224, 224]])"], shell=PYTHON,
                            note="input_size_list: your input shape"))
    opset = _onnx_opset(matrix, package, version)
    if opset is not None:
        export = f"import torch; torch.onnx.export(model.eval(), example, {'model.onnx'!r}, opset_version={opset!r})"
        commands.append(Command([export], shell=PYTHON, note=f"or export to ONNX (opset {opset} for {package} {version}) and use rknn.load_onnx"))
    return Fix(reason + (" with torch " + torch_pin if torch_pin else "") + ", or export it to ONNX", commands)


def _pickle_kind(model) -> str:
    classes = [g for g in model.pickle_globals if not g.startswith(("collections.", "torch.", "builtins.", "_codecs.", "numpy."))]
    if classes:
        return f"a pickled module (classes {', '.join(classes[:3])}), not TorchScript"
    return "a pickled state dict (tensors only), not TorchScript"


def judge_torch(model, package: str, version: str, tk: str, packages: dict, matrix, context: dict) -> list:
    how = model.how
    frame = _rows(matrix, "framework", package, version, framework="torch")
    checks = []
    if frame and not frame[0]["supported"]:
        checks.append(Check("source.torch", "PyTorch model on " + tk, FAIL, observed=model.summary(), how=how,
                            expected="a release with rknn.load_pytorch", source=frame[0]["source"],
                            message=f"{tk} cannot load PyTorch models ({frame[0].get('note') or 'no PyTorch column'})",
                            fix=_resave_fix(matrix, package, version, None, "export the model to ONNX"), **context))
        return checks
    if getattr(model, "torch_legacy", ""):  # a legacy torch.save file (model/torch_legacy_reader.py)
        from rknn_envcheck.rules.source_torch_legacy import judge_torch_legacy

        return checks + judge_torch_legacy(model, package, version, tk, matrix, context)
    if model.torchscript is False:
        pickle_rows = [r for r in _rows(matrix, "source_format", package) if r["framework"] == "torch-pickle"]
        source = "; ".join([PICKLE_SOURCE.get(package, PICKLE_SOURCE["rknn-toolkit2"])] + [r["source"] for r in pickle_rows])
        checks.append(Check("source.torch", "TorchScript module", FAIL, observed=_pickle_kind(model), how=how,
                            expected="a TorchScript module (torch.jit.trace / torch.jit.script, then .save)", source=source,
                            message=f"{tk} rknn.load_pytorch loads TorchScript modules only; this file is {_pickle_kind(model)} "
                                    "(torch.save of a module or a state dict) and fails to load",
                            fix=_resave_fix(matrix, package, version, None, "trace the model with torch.jit.trace and save it as TorchScript"), **context))
    else:
        checks.append(Check("source.torch", "TorchScript module", OK, observed="TorchScript module (code/ and constants.pkl)", how=how,
                            expected="a TorchScript module", source=PICKLE_SOURCE.get(package, PICKLE_SOURCE["rknn-toolkit2"]),
                            message="the archive is a TorchScript module, as rknn.load_pytorch expects", **context))
    checks.append(_archive_check(model, package, version, tk, packages, matrix, frame, context))
    if model.torchscript:
        from rknn_envcheck.rules.source_torch_ops import torch_ops_check

        checks.append(torch_ops_check(model, package, version, tk, matrix, context))
    return checks


def _archive_check(model, package, version, tk, packages, matrix, frame, context) -> Check:
    title = "PyTorch archive version"
    rows = _archive_rows(matrix)
    number, member = model.archive_version, model.archive_version_member or "archive/version"
    observed = f"file-format version {number} (in {member})" if number is not None else "no version record"
    how = model.how
    if number is None:
        return Check("source.torch_archive", title, UNKNOWN, observed=observed, how=how, source="github:pytorch/pytorch@v2.4.0 caffe2/serialize/versions.h",
                     message="the archive has neither <root>/.data/version nor <root>/version, so no torch release can be matched", **context)
    writer = _first_reader(rows, number, member)
    saved_by = f"saved by torch >= {writer}" if writer else "newer than every torch release in the matrix"
    installed = packages.get("torch")
    if installed:
        series = _series(installed)
        row = rows.get(series or "")
        how_torch = f"torch {installed} installed beside {tk} (dist-info metadata of the judged Python)"
        if row is None:
            return Check("source.torch_archive", title, UNKNOWN, observed=observed, how=f"{how}; {how_torch}",
                         source="github:pytorch/pytorch@v2.4.0 caffe2/serialize/versions.h",
                         message=f"torch {installed} is not in the [[torch_archive]] table; load the file with it to check",
                         fix=Fix("try loading it", [Command([f"import torch; torch.jit.load({model.path!r})"], shell=PYTHON)]), **context)
        expected = f"version {row.get('min_readable', 1)}..{row['max_readable']}" + ("" if row.get("data_version_member") else " in <root>/version")
        if _reads(row, number, member):
            return Check("source.torch_archive", title, OK, observed=observed, how=f"{how}; {how_torch}", expected=expected, source=row["source"],
                         message=f"torch {installed} reads archive version {number}", **context)
        reader = _reader_in_range(rows, frame, number, member)
        fix = (Fix(f"install the torch that reads it within {tk}'s range ({reader})", [cmd("python", "-m", "pip", "install", reader)]) if reader
               else _resave_fix(matrix, package, version, _upper_bound(frame[0]["specifier"]) if frame else None, "re-save the model (torch.jit.trace, then .save)"))
        return Check("source.torch_archive", title, FAIL, observed=observed, how=f"{how}; {how_torch}", expected=expected, source=row["source"],
                     message=_newer_message(number, member, saved_by, f"torch {installed}", row), fix=fix, **context)
    if not frame or not frame[0].get("specifier"):
        return Check("source.torch_archive", title, UNKNOWN, observed=observed, how=how, source="github:pytorch/pytorch@v2.4.0 caffe2/serialize/versions.h",
                     message=f"no torch is installed beside {tk} and no torch range is known for it",
                     fix=Fix("install the toolkit's requirements, then check again", [cmd("rknn-envcheck", "model", path_arg(model.path))]), **context)
    allowed = _allowed_series(rows, frame[0]["specifier"])
    how_torch = f"no torch installed beside {tk}; its range torch{frame[0]['specifier']} ({frame[0]['source']})"
    source = "; ".join([frame[0]["source"]] + [rows[s]["source"] for s in allowed[-1:]])
    if not allowed:
        return Check("source.torch_archive", title, UNKNOWN, observed=observed, how=f"{how}; {how_torch}", source=source,
                     message=f"no torch release in the [[torch_archive]] table falls in torch{frame[0]['specifier']}", **context)
    reading = [s for s in allowed if _reads(rows[s], number, member)]
    newest = rows[allowed[-1]]
    expected = f"version <= {newest['max_readable']} (torch {allowed[-1]}, the newest the toolkit supports)"
    if len(reading) == len(allowed):
        return Check("source.torch_archive", title, OK, observed=observed, how=f"{how}; {how_torch}", expected=expected, source=source,
                     message=f"every torch {allowed[0]}..{allowed[-1]} that {tk} supports reads archive version {number}", **context)
    if not reading:
        return Check("source.torch_archive", title, FAIL, observed=observed, how=f"{how}; {how_torch}", expected=expected, source=source,
                     message=_newer_message(number, member, saved_by, f"{tk}'s torch <= {allowed[-1]}", newest),
                     fix=_resave_fix(matrix, package, version, _upper_bound(frame[0]["specifier"]), "re-save the model (torch.jit.trace, then .save)"), **context)
    return Check("source.torch_archive", title, WARN, observed=observed, how=f"{how}; {how_torch}", expected=expected, source=source,
                 message=f"archive version {number} ({saved_by}) is read by torch {reading[0]}..{reading[-1]} only, not by "
                         f"{', '.join(s for s in allowed if s not in reading)} that {tk} also allows",
                 fix=Fix(f"use torch {reading[-1]} beside the toolkit", [cmd("python", "-m", "pip", "install", _pin(frame[0]["specifier"], reading[-1]))]),
                 **context)


def _newer_message(number: int, member: str, saved_by: str, reader: str, row: dict) -> str:
    if member.endswith(".data/version") and not row.get("data_version_member"):
        return (f"the archive keeps its version in {member} ({saved_by}); {reader} only looks for <root>/version and fails "
                "with 'file not found'")
    if number < row.get("min_readable", 1):
        return f"archive version {number} is older than {reader} reads (from {row.get('min_readable', 1)})"
    return f"archive version {number} is {saved_by}; {reader} reads up to {row['max_readable']} and refuses it"


def _allowed_series(rows: dict, specifier: str) -> list:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        return []
    return sorted((s for s in rows if spec.contains(f"{s}.0") or spec.contains(f"{s}.1")), key=_key)


def _reader_in_range(rows: dict, frame: list, number: int, member: str) -> str | None:
    """The newest torch release in the toolkit's range that reads the archive (None: none does)."""
    if not frame or not frame[0].get("specifier"):
        return None
    reading = [s for s in _allowed_series(rows, frame[0]["specifier"]) if _reads(rows[s], number, member)]
    return _pin(frame[0]["specifier"], reading[-1]) if reading else None


def _pin(specifier: str, series: str) -> str:
    """A requirement for the newest patch of `series` inside the toolkit's range (pip joins the clauses)."""
    return f"torch{specifier},=={series}.*"
