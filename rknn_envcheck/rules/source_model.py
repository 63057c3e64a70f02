"""Will this source model (ONNX / PyTorch / Keras) convert with that toolkit? Pure: a SourceModel
(model/source.py), the judged toolkit (package, version), the packages beside it and the matrix
(matrices/source_models.toml, the [[framework]] rows of toolkit1/2.toml) in, Checks out.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.shellcmd import PYTHON, Command, cmd, path_arg

ONNX_OPSET_SOURCE = "github:onnx/onnx@v1.18.0 docs/Versioning.md (Released Versions)"


def _rows(matrix, table: str, package: str, version: str | None = None, framework: str | None = None) -> list:
    from rknn_envcheck.versions import in_versions

    out = []
    for row in matrix.rows(table):
        if row.get("package") != package or (framework is not None and row.get("framework") != framework):
            continue
        if version is not None and "versions" in row and not in_versions(version, row["versions"]):
            continue
        out.append(row)
    return out


def _onnx_limits(matrix, onnx_version: str) -> dict | None:
    """IR/opset the onnx release knows: the newest [[onnx_release]] at or below it."""
    from rknn_envcheck.versions import release_numbers

    wanted = release_numbers(onnx_version)
    best, best_release = None, None
    for row in matrix.rows("onnx_release"):
        have = release_numbers(row["onnx"])
        if wanted is not None and have is not None and have <= wanted and (best_release is None or have >= best_release):
            best, best_release = row, have
    return best


def _upper_bound(specifier: str) -> str | None:
    import re

    found = re.findall(r"(?:<=|==)\s*([0-9][0-9.]*)", specifier or "")
    return found[-1] if found else None


def _export_fix(opset: int | None = None, ir: int | None = None) -> Fix:
    parts = []
    if opset is not None:
        code = f"torch.onnx.export(model, example, {'model.onnx'!r}, opset_version={opset!r})"
        parts.append(Command([code], shell=PYTHON, note="from PyTorch: re-export with this opset"))
        code = ("import onnx; from onnx import version_converter; "
                f"onnx.save(version_converter.convert_version(onnx.load({'model.onnx'!r}), {opset!r}), {'model_opset.onnx'!r})")
        parts.append(Command([code], shell=PYTHON, note="or convert the existing file"))
    if ir is not None:
        code = f"import onnx; m = onnx.load({'model.onnx'!r}); m.ir_version = {ir!r}; onnx.save(m, {'model_ir.onnx'!r})"
        parts.append(Command([code], shell=PYTHON, note="lower the IR version (valid when no newer IR feature is used)"))
    targets = ([f"opset {opset}"] if opset is not None else []) + ([f"IR version {ir}"] if ir is not None else [])
    text = "re-export the model" + (" with " + " and ".join(targets) if targets else "")
    return Fix(text=text, commands=parts)


MACHINE_CHECK = "source.host_arch"  # rules/source_arch.py


def judge_source_model(model, toolkit, toolkit_how: str, packages: dict, device: dict | None, matrix, host: dict | None = None) -> list:
    """Checks for one source model; `toolkit` is (package, version) or None (then rows are unknown).
    `host`: the judged host's facts (facts_model.Host: its arch decides which loaders the build has)."""
    checks = _judge_source_model(model, toolkit, toolkit_how, packages, device, matrix, host)
    machine = next((c for c in checks if c.id == MACHINE_CHECK and c.status == FAIL), None)
    if machine is not None:
        # The release's loader rows judge what the release loads (on the builds that have the
        # loader); beside a machine that has no such build, an unqualified `ok` reads as a contradiction.
        for check in checks:
            if check.status == OK and check.id in (f"source.{model.framework}", f"source.{model.format}_loader"):
                check.message += f" (on a machine with that build; not this one: see '{machine.title}')"
    return checks


def _judge_source_model(model, toolkit, toolkit_how: str, packages: dict, device: dict | None, matrix, host: dict | None) -> list:
    subject = f"model:{model.path}"
    how_file = model.how
    checks = [Check("source.format", "Source model format", OK, component=model.format, subject=subject, observed=model.summary(),
                    how=how_file, expected="a model file the toolkit loads", source="inferred from API-TK2-2.3.2 §1.3",
                    message=model.summary())]
    if toolkit is None:
        checks.append(Check("source.toolkit", "Converting toolkit", UNKNOWN, component="rknn-toolkit2", subject=subject, observed="none found",
                            how=toolkit_how, expected="an RKNN toolkit release", source="API-TK2-2.3.2 §1.3",
                            message="no RKNN toolkit is installed in the judged Python, so the model cannot be judged against one",
                            fix=Fix("name the toolkit you will convert with", [cmd("rknn-envcheck", "model", path_arg(model.path), "--toolkit", "rknn-toolkit2==2.3.2")])))
        return checks
    package, version = toolkit
    tk = f"{package} {version}"
    context = dict(subject=subject, component=package)
    from rknn_envcheck.rules.source_arch import arch_check

    checks += [c for c in (arch_check(model, package, version, tk, host, matrix, context),) if c is not None]
    if model.format in ("pytorch", "keras"):  # rules/source_torch.py, rules/source_keras.py read their [[source_format]] rows
        from rknn_envcheck.rules.source_keras import judge_keras
        from rknn_envcheck.rules.source_torch import judge_torch

        judge = judge_torch if model.format == "pytorch" else judge_keras
        return checks + judge(model, package, version, tk, packages, matrix, context) + _judge_board(model, package, tk, device, matrix, context)
    format_rows = [r for r in _rows(matrix, "source_format", package) if r["framework"] == model.framework]
    for row in format_rows:
        checks.append(Check(f"source.{model.framework}", f"{model.format} model on {tk}", FAIL, observed=model.summary(), how=how_file,
                            expected=f"a format {tk} loads", source=row["source"],
                            message=f"{tk} cannot load this {model.summary()}", fix=Fix(row["fix"]), **context))
    if format_rows:
        return checks
    if model.format == "onnx":
        checks += _judge_onnx(model, package, version, tk, packages, matrix, context)
    elif model.format in ("tflite", "tensorflow"):
        from rknn_envcheck.rules.source_tf import judge_tf

        checks += judge_tf(model, package, version, tk, packages, matrix, context)
    elif model.role:  # Caffe / Darknet / MXNet, two files each (rules/source_twofile.py)
        from rknn_envcheck.rules.source_twofile import judge_two_file

        checks += judge_two_file(model, package, version, tk, matrix, context)
    checks += _judge_board(model, package, tk, device, matrix, context)
    return checks


def _judge_onnx(model, package, version, tk, packages, matrix, context) -> list:
    checks = []
    opset = model.opsets.get("ai.onnx")
    how = model.how
    frame = _rows(matrix, "framework", package, version, framework="onnx")
    upper = _upper_bound(frame[0]["specifier"]) if frame else None
    limits = _onnx_limits(matrix, upper) if upper else None
    doc = _rows(matrix, "onnx_opset", package, version)
    doc_row = doc[0] if doc else None
    # IR version: the onnx release the toolkit supports (vendor table) bounds what it parses.
    max_ir = (doc_row or {}).get("ir") or (limits or {}).get("ir")
    ir_source = (doc_row or {}).get("source") if (doc_row or {}).get("ir") else ((frame[0]["source"] + "; " + ONNX_OPSET_SOURCE) if limits else "")
    if model.ir_version is None or max_ir is None:
        checks.append(Check("source.onnx_ir", "ONNX IR version", UNKNOWN, observed=model.ir_version, how=how, source=ir_source or ONNX_OPSET_SOURCE,
                            message=f"{tk}: no IR limit is known for this release", **context))
    elif model.ir_version > max_ir:
        checks.append(Check("source.onnx_ir", "ONNX IR version", FAIL, observed=f"IR version {model.ir_version}", how=how,
                            expected=f"IR version <= {max_ir}", source=ir_source,
                            message=f"{tk} reads ONNX IR versions up to {max_ir}; this model has IR {model.ir_version} and fails to load",
                            fix=_export_fix(ir=max_ir), **context))
    else:
        checks.append(Check("source.onnx_ir", "ONNX IR version", OK, observed=f"IR version {model.ir_version}", how=how,
                            expected=f"IR version <= {max_ir}", source=ir_source, message=f"IR {model.ir_version} is readable by {tk}", **context))
    checks.append(_opset_check(model, opset, tk, doc_row, limits, frame, how, context))
    installed = packages.get("onnx")
    if installed and opset is not None:
        have = _onnx_limits(matrix, installed)
        if have and (opset > have["opset"] or (model.ir_version or 0) > have["ir"]):
            checks.append(Check("source.onnx_package", "onnx package beside the toolkit", FAIL, component="onnx",
                                subject=context["subject"], observed=f"onnx {installed} (opset <= {have['opset']}, IR <= {have['ir']})",
                                how="installed onnx from the judged Python's metadata", expected=f"opset {opset}, IR {model.ir_version}",
                                source=have["source"], message=f"the installed onnx {installed} does not know opset {opset} / IR {model.ir_version}",
                                fix=_export_fix(opset=have["opset"], ir=have["ir"])))
    checks.append(_ops_check(model, package, version, tk, matrix, how, context))
    checks.append(_dynamic_check(model, package, version, tk, matrix, how, context))
    if model.external_data:
        outside = model.external_outside
        checks.append(Check("source.external_data", "ONNX external data", FAIL if outside else OK, observed=", ".join(model.external_data), how=how,
                            expected="external data files beside the model", source="github:onnx/onnx@v1.18.0 docs/ExternalData.md",
                            message=(f"external data outside the model's directory: {', '.join(outside)} (not opened)" if outside
                                     else f"weights in external files {', '.join(model.external_data)} (not opened; copy them with the model)"),
                            fix=Fix("store the weights inside the model or beside it") if outside else None, **context))
    return checks


def _opset_check(model, opset, tk, doc_row, limits, frame, how, context) -> Check:
    title = "ONNX opset (ai.onnx)"
    if opset is None:
        return Check("source.onnx_opset", title, UNKNOWN, observed="no ai.onnx opset_import", how=how, source=ONNX_OPSET_SOURCE,
                     message="the model imports no default-domain opset", **context)
    low = (doc_row or {}).get("min_opset")
    high = (doc_row or {}).get("max_opset") or (limits or {}).get("opset")
    source = (doc_row or {}).get("source") if (doc_row or {}).get("max_opset") else ((frame[0]["source"] + "; " + ONNX_OPSET_SOURCE) if limits else "")
    if high is not None and opset > high or low is not None and opset < low:
        target = high if opset > (high or opset) else low
        return Check("source.onnx_opset", title, FAIL, observed=f"opset {opset}", how=how, expected=f"opset {low or 1}..{high}", source=source,
                     message=f"{tk} converts ONNX opsets {low or 1}..{high}; this model uses opset {opset}", fix=_export_fix(opset=target), **context)
    recommended = (doc_row or {}).get("opset")
    if recommended is not None and opset != recommended:
        return Check("source.onnx_opset", title, WARN, observed=f"opset {opset}", how=how, expected=f"opset {recommended}", source=doc_row["source"],
                     message=f"the {tk} operator document corresponds to opset {recommended}; opset {opset} may convert differently",
                     fix=_export_fix(opset=recommended), **context)
    if high is None and recommended is None:
        return Check("source.onnx_opset", title, UNKNOWN, observed=f"opset {opset}", how=how, source=ONNX_OPSET_SOURCE,
                     message=f"no opset limit is known for {tk}", **context)
    return Check("source.onnx_opset", title, OK, observed=f"opset {opset}", how=how, expected=f"opset <= {high or recommended}",
                 source=source or doc_row["source"], message=f"opset {opset} is within what {tk} converts", **context)


def no_ops_list(matrix, package: str, version: str, framework: str, tk: str) -> tuple[str, str]:
    """(message, source) of an operators row that has no vendor list: the [[source_ops_absent]] row says which
    documents of that release were read and what they hold; without one, that the matrix has none."""
    absent = _rows(matrix, "source_ops_absent", package, version, framework=framework)
    if absent:
        return f"{tk} has no vendor {framework} operator table: {absent[0]['looked_at']}", absent[0]["source"]
    return f"no vendor {framework} operator list for {tk} is in the matrix", "API-TK2-2.3.2 §1.3"


LOADERS = {"onnx": ("load_onnx", {}), "tflite": ("load_tflite", {}),
           "torch": ("load_pytorch", {"input_size_list": [[1, 3, 224, 224]]})}


def try_convert_fix(model, framework: str) -> Fix | None:
    """Without a vendor list, converting is the observation: load and build (float) with the toolkit itself
    (rknn.config() left default: toolkit2's target_platform defaults to rk3566, v1's to rk1808)."""
    if framework not in LOADERS:
        return None
    call, extra = LOADERS[framework]
    args = ", ".join([f"model={model.path!r}"] + [f"{key}={value!r}" for key, value in extra.items()])
    code = f"from rknn.api import RKNN; rknn = RKNN(); rknn.config(); print(rknn.{call}({args})); print(rknn.build(do_quantization=False))"
    note = "0 and 0 printed: the toolkit loads and builds every operator" + ("; use the model's input shape" if extra else "")
    return Fix("convert it once with the toolkit (float build) to see whether every operator is accepted",
               [Command([code], shell=PYTHON, note=note)])


def _listed_name(name: str) -> str:
    """'Upsample (resize)' in a vendor table is the Upsample operator (the parenthesis says how it is converted);
    case-blind, since a table may write 'cast' for Cast (ONNX has no two operators differing only in case)."""
    return name.split(" (")[0].lower()


def _ops_check(model, package, version, tk, matrix, how, context) -> Check:
    rows = _rows(matrix, "source_ops", package, version, framework="onnx")
    ops = sorted(model.operators)
    if not rows:
        message, source = no_ops_list(matrix, package, version, "onnx", tk)
        return Check("source.onnx_ops", "ONNX operators", UNKNOWN, observed=", ".join(ops), how=how, source=source, message=message,
                     fix=try_convert_fix(model, "onnx"), **context)
    row = rows[0]
    supported = {_listed_name(op) for op in row["supported"]}
    unsupported = [op for op in ops if op in row["unsupported"]]
    unlisted = [op for op in ops if op not in row["unsupported"] and op.lower() not in supported]
    remarks = {_listed_name(op): text for op, text in row.get("remarks", {}).items()}
    limited = [f"{op} ({remarks[op.lower()]})" for op in ops if op.lower() in remarks and op not in unlisted]
    if unsupported:
        return Check("source.onnx_ops", "ONNX operators", FAIL, observed=", ".join(unsupported), how=how, expected="operators the toolkit supports",
                     source=row["source"], message=f"{tk} marks {', '.join(unsupported)} as Not Supported",
                     fix=Fix("replace these operators before export (or use a release that supports them)"), **context)
    if unlisted:
        return Check("source.onnx_ops", "ONNX operators", WARN, observed=", ".join(unlisted), how=how, expected="operators the document lists",
                     source=row["source"], message=f"{', '.join(unlisted)} are not in the {tk} operator list", **context)
    return Check("source.onnx_ops", "ONNX operators", WARN if limited else OK, observed=f"{len(ops)} operator types", how=how,
                 expected=f"operators of the {row['count']}-row vendor table", source=row["source"],
                 message=("all operators are supported, with limits: " + "; ".join(limited)) if limited else f"all {len(ops)} operator types are supported by {tk}",
                 **context)


def _dynamic_check(model, package, version, tk, matrix, how, context) -> Check:
    from rknn_envcheck.versions import try_parse

    title = "Dynamic input shapes"
    shapes = "; ".join(f"{i['name']} {i['shape']}" for i in model.inputs)
    if not model.dynamic_inputs:
        return Check("source.dynamic", title, OK, observed=shapes or "no inputs", how=how, expected="fixed shapes", source="API-TK2-2.3.2 §1.3",
                     message="every graph input has a fixed shape", **context)
    rows = _rows(matrix, "dynamic_input", package)
    row = rows[0] if rows else None
    dims = ", ".join(model.dynamic_inputs)
    if row is None:
        return Check("source.dynamic", title, UNKNOWN, observed=shapes, how=how, source="API-TK2-2.3.2 §1.3", message=f"dynamic inputs {dims}", **context)
    shape_fix = Fix("fix the input shapes at export (e.g. torch.onnx.export without dynamic_axes)")
    if not row["supported"] or try_parse(version) < try_parse(row["since"]):
        return Check("source.dynamic", title, FAIL, observed=shapes, how=how, expected="fixed input shapes", source=row["source"],
                     message=f"{tk} does not support dynamic input shapes; inputs {dims} are dynamic", fix=shape_fix, **context)
    example = "rknn.config(dynamic_input=[[[1, 3, 224, 224]], [[1, 3, 320, 320]]])"
    return Check("source.dynamic", title, WARN, observed=shapes, how=how, expected=f"fixed shapes, or rknn.config({row['config']}=…)",
                 source=row["source"], message=f"inputs {dims} are dynamic: list the shapes in {example}; the board needs runtime >= {row['min_runtime']}",
                 fix=Fix("list each input shape set", [Command([f"rknn.config(dynamic_input={[[[1, 3, 224, 224]]]!r})"], shell=PYTHON)]), **context)


def _judge_board(model, package, tk, device, matrix, context) -> list:
    if device is None:
        return []
    chip = (device.get("chip") or "").lower()
    row = matrix.chip(chip) if chip else None
    if row is None:
        return [Check("source.board_line", "Toolkit line vs board", UNKNOWN, observed=chip or "unknown chip", how="board facts",
                      source="API-TK2-2.3.2 §1.3", message="the board's chip is not known", **context)]
    status = OK if row["line"] == package else FAIL
    return [Check("source.board_line", "Toolkit line vs board", status, observed=f"{tk}, chip {chip} ({row['line']})", how="board facts",
                  expected=f"{row['line']} for {chip}", source="API-TK2-2.3.2 §1.3",
                  message=f"{chip} runs {row['line']} models" + ("" if status == OK else f"; converting with {tk} gives a model it cannot load"), **context)]
