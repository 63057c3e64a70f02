"""Caffe / Darknet / MXNet source models against the converting toolkit (pure: facts + matrix in,
Checks out). Shared here: does the release load the framework ([[framework]] rows of
toolkit1/2.toml, [[source_loader]] of source_models.toml), were both files given, and the layer
types against the vendor's operator list ([[source_ops]]). Format details: source_caffe.py,
source_darknet.py, source_mxnet.py.
"""
from __future__ import annotations

import re

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.shellcmd import PYTHON, Command, cmd, path_arg

FRAMEWORK_NAMES = {"caffe": "Caffe", "darknet": "Darknet", "mxnet": "MXNet"}
HALVES = {"caffe": (".prototxt", ".caffemodel"), "darknet": (".cfg", ".weights"), "mxnet": ("-symbol.json", ".params")}


def judge_two_file(model, package: str, version: str, tk: str, matrix, context: dict) -> list:
    from rknn_envcheck.rules import source_caffe, source_darknet, source_mxnet
    from rknn_envcheck.rules.source_model import _rows

    loader_rows = _rows(matrix, "source_loader", package, framework=model.framework)
    loader = loader_rows[0] if loader_rows else None
    loads = _loader_check(model, package, version, tk, loader, matrix, context)
    checks = [loads]
    if loads.status == FAIL:
        return checks
    checks.append(_pair_check(model, tk, loader, context))
    judge = {"caffe": source_caffe.judge, "darknet": source_darknet.judge, "mxnet": source_mxnet.judge}[model.format]
    return checks + judge(model, package, version, tk, matrix, context)


def _loader_check(model, package, version, tk, loader, matrix, context) -> Check:
    from rknn_envcheck.rules import source_mxnet
    from rknn_envcheck.rules.source_model import _rows

    name = FRAMEWORK_NAMES[model.format]
    title = f"{name} models on the toolkit"
    check_id = f"source.{model.format}_loader"
    frame = _rows(matrix, "framework", package, version, framework=model.framework)
    if loader is not None and not loader.get("supported", True):
        return Check(check_id, title, FAIL, observed=model.summary(), how=model.how, expected=f"a framework {tk} loads",
                     source=loader["source"], message=f"{package} has no {name} loader: {tk} cannot convert this model",
                     fix=source_mxnet.onnx_export_fix(model, loader["fix"]) if model.format == "mxnet" else Fix(loader["fix"]), **context)
    if frame and not frame[0].get("supported", True):
        since = _first_supported(matrix, package, model.framework)
        text = f"use {package} {since} or later" if since else f"convert with a release that loads {name}"
        fixes = [source_mxnet.export_command(model)] if model.format == "mxnet" else []
        return Check(check_id, title, FAIL, observed=f"{tk}", how="the judged toolkit", expected=f"a release whose framework table lists {name}",
                     source=frame[0]["source"], message=f"{tk} does not support {name} models (vendor framework table)",
                     fix=Fix(text + (", or export to ONNX" if fixes else ""), fixes), **context)
    if not frame:
        return Check(check_id, title, UNKNOWN, observed=f"{tk}", how="the judged toolkit", expected=f"a [[framework]] row for {name}",
                     source=(loader or {}).get("source") or "API-TK2-2.3.2 §1.3",
                     message=f"the vendor framework table has no {name} entry for {tk}: whether it loads {name} models is not known",
                     fix=Fix("try the loader of the installed toolkit", [_load_command(model, loader)] if loader else []), **context)
    detail = frame[0].get("detail") or frame[0].get("specifier") or "supported"
    return Check(check_id, title, OK, observed=f"{tk}", how="the judged toolkit", expected=f"{name}: {detail}", source=frame[0]["source"],
                 message=f"{tk} loads {name} models" + (f" with rknn.{loader['call']}()" if loader and loader.get("call") else ""), **context)


def _first_supported(matrix, package: str, framework: str) -> str | None:
    from rknn_envcheck.versions import try_parse

    versions = [v for row in matrix.rows("framework") if row.get("package") == package and row.get("framework") == framework
                and row.get("supported") for v in row.get("versions", [])]
    return min(versions, key=try_parse) if versions else None


def _load_command(model, loader) -> Command:
    structure = model.path if model.role == "structure" else f"model{HALVES[model.format][0]}"
    weights = model.weights_path or (model.path if model.role == "weights" else f"model{HALVES[model.format][1]}")
    args = [f"{loader['structure_arg']}={structure!r}", f"{loader['weights_arg']}={weights!r}"] + ([loader["extra"]] if loader.get("extra") else [])
    return Command([f"ret = rknn.{loader['call']}({', '.join(args)})"], shell=PYTHON, note="the load call in your conversion script")


def _pair_check(model, tk, loader, context) -> Check:
    structure_ext, weights_ext = HALVES[model.format]
    title = "Structure and weights files"
    source = (loader or {}).get("source") or "API-TK2-2.3.2 §2.3"
    call = f"rknn.{loader['call']}()" if loader and loader.get("call") else "the toolkit's loader"
    if model.role == "structure" and model.weights_path:
        return Check("source.model_files", title, OK, observed=f"{model.path} + {model.weights_path}", how=f"{model.how}; {model.weights_how}",
                     expected=f"the {structure_ext} and its {weights_ext}", source=source,
                     message=f"both files were given and read; {call} takes them together", **context)
    if model.role == "structure":
        missing, given_role = weights_ext, "weights"
    else:
        missing, given_role = structure_ext, "structure"
    optional = model.role == "structure" and loader is not None and loader.get("weights_optional")
    note = f" ({tk} accepts no weights file, then converts with random weights: no use on a board)" if optional else ""
    again = [path_arg(model.path), f"model{missing}"] if model.role == "structure" else [f"model{missing}", path_arg(model.path)]
    fixes = [cmd("rknn-envcheck", "model", *again, "--toolkit", tk.replace(" ", "=="), note=f"give the {missing} file too")]
    if loader is not None and loader.get("call"):
        fixes.append(_load_command(model, loader))
    return Check("source.model_files", title, UNKNOWN, observed=f"only {model.path}", how=model.how,
                 expected=f"the {structure_ext} and its {weights_ext}", source=source,
                 message=f"the {given_role} file ({missing}) was not given, so it was not read{note}; {call} needs both",
                 fix=Fix(f"run the check with both files (the {missing} beside this one)", fixes), **context)


def _equivalence(remark: str) -> bool:
    """'same as onnx Conv' / 'according to <repo>' (each <br />-separated part, after a **Label**:) name what the
    layer maps to, not a limit of it; 'kernel height/width: [1, 8]' is a limit."""
    parts = [re.sub(r"^\s*\*\*[^*]*\*\*\s*:?\s*", "", part) for part in re.split(r"<br\s*/?>", remark)]
    return all(re.match(r"\s*(same as|according to)\b", part, flags=re.IGNORECASE) for part in parts)


def normal(name: str) -> str:
    """Operator names as the vendor lists compare: 'bn (BatchNorm + Scale)' → 'bn', 'INNER_PRODUCT' → 'innerproduct'."""
    return re.sub(r"[^a-z0-9]", "", name.split(" (")[0].lower())


def ops_check(model, package, version, tk, matrix, context, observed: dict, what: str) -> Check:
    """`observed`: the vendor-list name of each layer kind in the file → the file's own words for it."""
    from rknn_envcheck.rules.source_model import _rows

    rows = _rows(matrix, "source_ops", package, version, framework=model.framework)
    check_id, title = f"source.{model.format}_ops", f"{FRAMEWORK_NAMES[model.format]} {what}"
    shown = sorted(observed.values())
    if not rows:
        return Check(check_id, title, UNKNOWN, observed=", ".join(shown), how=model.how, source="API-TK2-2.3.2 §1.3",
                     message=f"no vendor {FRAMEWORK_NAMES[model.format]} operator list for {tk} is in the matrix", **context)
    row = rows[0]
    supported = {normal(op) for op in row["supported"]}
    unsupported = {normal(op) for op in row["unsupported"]}
    remarks = {normal(op): text for op, text in row.get("remarks", {}).items() if not _equivalence(text)}
    refused = [observed[k] for k in sorted(observed) if normal(k) in unsupported]
    unlisted = [observed[k] for k in sorted(observed) if normal(k) not in supported and normal(k) not in unsupported]
    limited = [f"{observed[k]} ({remarks[normal(k)]})" for k in sorted(observed) if normal(k) in remarks]
    if refused:
        return Check(check_id, title, FAIL, observed=", ".join(refused), how=model.how, expected=f"{what} the toolkit supports",
                     source=row["source"], message=f"{tk} marks {', '.join(refused)} as Not Supported",
                     fix=Fix("replace these layers (or use a release that supports them)"), **context)
    if unlisted:
        return Check(check_id, title, WARN, observed=", ".join(unlisted), how=model.how, expected=f"{what} in the vendor list ({row['count']} rows)",
                     source=row["source"], message=f"{', '.join(unlisted)} are not in the {tk} operator list: conversion may fail on them",
                     fix=Fix("replace these layers, or remove them and run them on the CPU after inference"), **context)
    return Check(check_id, title, WARN if limited else OK, observed=f"{len(observed)} {what}", how=model.how,
                 expected=f"{what} of the {row['count']}-row vendor list", source=row["source"],
                 message=("all are listed, with limits: " + "; ".join(limited)) if limited else f"all {len(observed)} {what} are in the {tk} list",
                 **context)
