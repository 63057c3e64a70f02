"""PyTorch files in the legacy (non-zip) torch.save formats, judged. Pure: a SourceModel read by
model/torch_legacy_reader.py, the judged toolkit and the matrix ([[torch_legacy_format]] in
matrices/torch_legacy.toml; [[source_format]] torch-pickle rows) in, Checks out.

rknn.load_pytorch takes a TorchScript module (torch.jit.trace + save, a zip archive); torch.jit.load reads
no legacy file, so a pickled module or state dict fails to load, with the fix already used for zip pickles:
load it with torch.load (which every release still reads it with: the [[torch_legacy_format]] row), trace,
save. A legacy file whose object is neither a module nor tensors is `unknown`, naming what was looked at.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, UNKNOWN, Check, Fix
from rknn_envcheck.shellcmd import PYTHON, Command

KIND_TEXT = {"module": "a pickled nn.Module", "state dict": "a state dict (a dict of tensors)", "tensors": "tensors without a module"}


def _load_command(model) -> Command:
    """Python that turns the legacy file into `model` (the trace step that follows needs it)."""
    load = f"torch.load({model.path!r}, map_location={'cpu'!r})"
    if model.pickle_kind == "module":
        own = [c for c in model.module_classes if not c.startswith("torch.")]
        needs = f"; the classes it pickled ({', '.join(own[:3])}) must be importable there" if own else ""
        return Command([f"import torch; model = {load}"], shell=PYTHON,
                       note=f"in the torch that saved it, or any later one{needs}; torch >= 2.6 needs weights_only=False here "
                            "(only for a file you trust: loading runs its pickle)")
    state = f"{load}[{'state_dict'!r}]" if "state_dict" in model.pickle_keys else load
    return Command([f"import torch; model = Net(); model.load_state_dict({state})"], shell=PYTHON,
                   note="Net: the model class whose state this is (the file holds weights only, not the class)")


def judge_torch_legacy(model, package: str, version: str, tk: str, matrix, context: dict) -> list:
    from rknn_envcheck.rules.source_model import _rows
    from rknn_envcheck.rules.source_torch import PICKLE_SOURCE, _resave_fix

    rows = {row["format"]: row for row in matrix.rows("torch_legacy_format")}
    row = rows.get(model.torch_legacy)
    how = model.how
    pickle_rows = [r for r in _rows(matrix, "source_format", package) if r["framework"] == "torch-pickle"]
    doc_source = PICKLE_SOURCE.get(package, PICKLE_SOURCE["rknn-toolkit2"])
    source = "; ".join([doc_source] + [r["source"] for r in pickle_rows])
    title = "TorchScript module"
    kind = KIND_TEXT.get(model.pickle_kind)
    classes = f" (classes {', '.join(model.module_classes[:3])})" if model.module_classes else ""
    keys = f" (keys {', '.join(model.pickle_keys[:4])})" if model.pickle_keys and model.pickle_kind != "module" else ""
    saved_as = {"pickle": "the legacy torch.save pickle stream", "tar": "the torch <= 0.1.10 tar format"}[model.torch_legacy]
    checks = []
    if model.pickle_kind in ("module", "state dict"):
        fix = _resave_fix(matrix, package, version, None, "load it with torch.load, trace it with torch.jit.trace and save it as TorchScript")
        checks.append(Check("source.torch", title, FAIL, observed=f"{kind}{classes}{keys} in {saved_as}", how=how,
                            expected="a TorchScript module (torch.jit.trace / torch.jit.script, then .save)", source=source,
                            message=f"{tk} rknn.load_pytorch loads TorchScript modules only (torch.jit.load of a zip archive); this file is "
                                    f"{kind}{classes} saved by torch.save in {saved_as}, which torch.jit.load refuses",
                            fix=Fix(fix.text, [_load_command(model)] + fix.commands), **context))
    else:
        looked = "the tar members and their pickle" if model.torch_legacy == "tar" else "the object pickle's opcodes"
        found = f"{kind}{keys}" if kind else "neither an nn.Module nor a dict of tensors"
        checks.append(Check("source.torch", title, UNKNOWN, observed=f"{found} in {saved_as}", how=how,
                            expected="a TorchScript module", source=source,
                            message=f"{looked} hold {found} (classes named: {', '.join(model.pickle_globals[:4]) or 'none'}); whatever it holds, "
                                    f"{tk} rknn.load_pytorch needs a TorchScript module, which this file is not",
                            fix=Fix("save the model itself as TorchScript (torch.jit.trace(model, example).save(path))"), **context))
    checks.append(_format_check(model, row, how, context))
    return checks


def _format_check(model, row: dict | None, how: str, context: dict) -> Check:
    title = "PyTorch file format"
    protocol = model.legacy_protocol
    observed = (f"legacy torch.save {model.torch_legacy} format, protocol version {protocol if protocol is not None else '?'}"
                f", sys_info {model.sys_info}" if model.sys_info else
                f"legacy torch.save {model.torch_legacy} format, protocol version {protocol if protocol is not None else '?'}")
    if row is None:
        return Check("source.torch_archive", title, UNKNOWN, observed=observed, how=how, source="github:pytorch/pytorch@v2.14.1 torch/serialization.py",
                     message=f"no [[torch_legacy_format]] row for the {model.torch_legacy} format in the matrix", **context)
    expected = f"protocol version {row['protocol_version']} ({row['written_by']})"
    if protocol is None:
        return Check("source.torch_archive", title, UNKNOWN, observed=observed, how=how, expected=expected, source=row["source"],
                     message="the file names no protocol version (the tar has no readable sys_info member), so its writer cannot be told", **context)
    if protocol != row["protocol_version"] and model.torch_legacy == "pickle":  # _legacy_load checks it; legacy_load (tar) does not
        return Check("source.torch_archive", title, FAIL, observed=observed, how=how, expected=expected, source=row["source"],
                     message=f"protocol version {protocol} is not the {row['protocol_version']} torch.load expects: it refuses the file "
                             "('Invalid protocol version'), so it cannot even be re-saved",
                     fix=Fix("re-save the model from its source with torch.jit.trace(model, example).save(path)"), **context)
    if protocol != row["protocol_version"]:
        return Check("source.torch_archive", title, UNKNOWN, observed=observed, how=how, expected=expected, source=row["source"],
                     message=f"sys_info names protocol version {protocol}, not the {row['protocol_version']} of torch <= 0.1.10's tar: "
                             "an unknown writer", **context)
    return Check("source.torch_archive", title, OK, observed=observed, how=how, expected=expected, source=row["source"],
                 message=f"torch.load reads this format in {row['read_by']}: the torch beside the toolkit can load it to re-save it as TorchScript",
                 **context)
