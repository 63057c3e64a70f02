"""Caffe nets against the converting toolkit (pure). The vendor's Caffe pitfalls are those of the
troubleshooting manual (seed §3): old-style V0/V1 layers (§3.7), the deprecated NetParameter
input fields (§3.1), `round_mode` in pooling_param (§3.2), layer names beginning with "_" (§3.3),
DetectionOutput (§3.4); each judged for the line the evidence covers.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, WARN, Check, Fix
from rknn_envcheck.shellcmd import cmd

PROTO_TK2 = "github:BVLC/caffe@828dd10 src/caffe/proto/caffe.proto"  # API-TK2-2.3.2 §1.3 note 3: toolkit2's proto base
STRUCTURAL = {"input"}  # the Input layer feeds the graph (seed §3.1 asks for it); it is not an operator
SEED_UNSUPPORTED = {"detectionoutput": "seed §3.4 (not supported: remove it and run it on the CPU)"}
EXAMPLE_TK2_INPUT = "AR@v2.3.2 rknn-toolkit2/examples/caffe/mobilenet_v2/mobilenet_v2_deploy.prototxt (the vendor example uses input/input_dim)"


def judge(model, package: str, version: str, tk: str, matrix, context: dict) -> list:
    from rknn_envcheck.rules.source_twofile import normal, ops_check

    v1_line = package == "rknn-toolkit"
    checks = [_legacy_layers(model, tk, v1_line, context), _input_style(model, tk, v1_line, context)]
    if model.round_mode_layers:
        checks.append(_round_mode(model, tk, v1_line, context))
    if v1_line:
        checks.append(_layer_names(model, tk, context))
    observed = {t: t for t in model.operators if normal(t) not in STRUCTURAL}
    seed_refused = sorted(t for t in observed if normal(t) in SEED_UNSUPPORTED)
    if v1_line and seed_refused:
        checks.append(Check("source.caffe_ops", "Caffe layer types", FAIL, observed=", ".join(seed_refused), how=model.how,
                            expected="layers the toolkit converts", source=SEED_UNSUPPORTED[normal(seed_refused[0])].split(" (")[0],
                            message=f"{tk} does not support {', '.join(seed_refused)} layers",
                            fix=Fix("delete the DetectionOutput layer from the .prototxt and do that step on the CPU after inference"), **context))
    else:
        checks.append(ops_check(model, package, version, tk, matrix, context, observed, "layer types"))
    return checks


def _legacy_layers(model, tk, v1_line, context) -> Check:
    title = "Caffe layer format (V2 `layer`)"
    if not model.legacy_layers:
        return Check("source.caffe_layer_format", title, OK, observed="`layer` entries (LayerParameter)", how=model.how,
                     expected="the current format (`layer`, not V0/V1 `layers`)", source="seed §3.7",
                     message="the net uses the current Caffe layer format", **context)
    observed = "; ".join(model.legacy_layers)
    files = [(model.path, "upgrade_net_proto_text" if model.role == "structure" else "upgrade_net_proto_binary")]
    if model.weights_path:
        files.append((model.weights_path, "upgrade_net_proto_binary"))
    fixes = []
    for path, tool in files:
        base, dot, ext = path.rpartition(".")
        fixes.append(cmd(f"./build_release/tools/{tool}", path, f"{base}_upgraded.{ext}" if dot else f"{path}_upgraded",
                         note="in a BVLC Caffe build (github.com/BVLC/caffe)"))
    fix = Fix("upgrade the net and its weights to the current layer format with Caffe's upgrade tools", fixes)
    if v1_line:
        return Check("source.caffe_layer_format", title, FAIL, observed=observed, how=model.how, expected="`layer` entries (V2)",
                     source="seed §3.7; TK#431", message=f"{tk} refuses old-style Caffe nets: 'Not supported caffe net model "
                                                        "version(v0 layer or v1 layer). Please use the newest model version.'",
                     fix=fix, **context)
    return Check("source.caffe_layer_format", title, WARN, observed=observed, how=model.how, expected="`layer` entries (V2)",
                 source="inferred from seed §3.7",
                 message=f"old-style Caffe layers: toolkit v1 refuses them (seed §3.7); no {tk} document says toolkit2 reads them",
                 fix=fix, **context)


def _input_style(model, tk, v1_line, context) -> Check:
    title = "Caffe input declaration"
    shapes = "; ".join(f"{i['name']} {i['shape']}" for i in model.inputs) or "no input declared"
    if not model.legacy_input:
        return Check("source.caffe_input", title, OK, observed=f"Input layer: {shapes}", how=model.how, expected="an Input layer",
                     source="seed §3.1", message="the input is an Input layer with input_param shape", **context)
    fields = ", ".join(model.legacy_input)
    if not v1_line:
        return Check("source.caffe_input", title, OK, observed=f"NetParameter {fields}: {shapes}", how=model.how,
                     expected="an Input layer or NetParameter input fields", source=EXAMPLE_TK2_INPUT,
                     message=f"{tk}'s own Caffe example declares its input this way", **context)
    return Check("source.caffe_input", title, FAIL, observed=f"NetParameter {fields}: {shapes}", how=model.how, expected="an Input layer",
                 source="seed §3.1", message=f"{tk} stops with 'Deprecated caffe input usage' on the net-level {fields} fields",
                 fix=Fix("replace the net-level input fields with a layer { name: \"data\" type: \"Input\" top: \"data\" "
                         "input_param { shape { dim: 1 dim: 3 dim: 224 dim: 224 } } } (your shape)"), **context)


def _round_mode(model, tk, v1_line, context) -> Check:
    title = "Caffe pooling round_mode"
    layers = ", ".join(model.round_mode_layers[:10])
    if not v1_line:
        return Check("source.caffe_round_mode", title, OK, observed=f"round_mode in {layers}", how=model.how,
                     expected="PoolingParameter fields of the toolkit's caffe.proto", source=f"{PROTO_TK2} (PoolingParameter round_mode = 13)",
                     message=f"{tk}'s Caffe proto base has PoolingParameter.round_mode", **context)
    return Check("source.caffe_round_mode", title, FAIL, observed=f"round_mode in {layers}", how=model.how,
                 expected="no round_mode (the toolkit v1 proto predates it)", source="seed §3.2",
                 message=f"{tk} stops with 'Message type \"caffe.PoolingParameter\" has no field named \"round_mode\"'",
                 fix=Fix("delete `round_mode: CEIL` (ceil is the default) or write `ceil_mode: true` instead"), **context)


def _layer_names(model, tk, context) -> Check:
    title = "Caffe layer names"
    if not model.layer_names_invalid:
        return Check("source.caffe_layer_names", title, OK, observed="no layer name begins with '_'", how=model.how,
                     expected="names matching [A-Za-z0-9.][A-Za-z0-9._\\-/]*", source="seed §3.3",
                     message="layer names are valid scope names", **context)
    names = ", ".join(model.layer_names_invalid)
    return Check("source.caffe_layer_names", title, FAIL, observed=names, how=model.how,
                 expected="names matching [A-Za-z0-9.][A-Za-z0-9._\\-/]*", source="seed §3.3",
                 message=f"{tk} stops with \"'{model.layer_names_invalid[0]}' is not a valid scope name\"",
                 fix=Fix("rename these layers (and their top/bottom references) so they do not begin with '_'"), **context)
