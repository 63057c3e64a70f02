"""Darknet networks against the converting toolkit (pure): the .cfg's sections and activations in
the vendor's Darknet operator names, and the .weights header version."""
from __future__ import annotations

from rknn_envcheck.report import OK, Check

PARSER_SOURCE = "github:pjreddie/darknet@810d7f7 src/parser.c"
# .cfg section (string_to_layer_type in parser.c, aliases included) -> the vendor's Darknet operator name
SECTION_OPS = {"convolutional": "convolutional", "conv": "convolutional", "convolutional groups>1": "depthwise_convolutional",
               "maxpool": "pooling", "max": "pooling", "avgpool": "pooling", "avg": "pooling", "connected": "fullconnect",
               "conn": "fullconnect", "upsample": "upsampling", "route": "route", "shortcut": "shortcut", "softmax": "softmax",
               "soft": "softmax", "reorg": "reorg", "region": "region", "batchnorm": "batchnormalize",
               "batch_normalize=1": "batchnormalize"}
ACTIVATION_OPS = {"leaky": "leakyrelu", "logistic": "logistic", "mish": "mish", "swish": "swish", "linear": None}
# [yolo] is the detection head: the vendor's own yolov3 example converts a .cfg that ends in [yolo] sections
# (the converted model outputs the tensors before them), so it is not an operator to look up.
STRUCTURAL = {"yolo"}


def judge(model, package: str, version: str, tk: str, matrix, context: dict) -> list:
    from rknn_envcheck.rules.source_twofile import ops_check

    checks = []
    if model.role == "structure":
        observed = {}
        for section in model.operators:
            if section in STRUCTURAL:
                continue
            observed[SECTION_OPS.get(section, section)] = f"[{section}]" if section in SECTION_OPS or "=" not in section else section
        for activation in model.activations:
            if activation in ACTIVATION_OPS:
                if ACTIVATION_OPS[activation]:
                    observed[ACTIVATION_OPS[activation]] = f"activation={activation}"
            else:
                observed[activation] = f"activation={activation}"
        checks.append(ops_check(model, package, version, tk, matrix, context, observed, "layers and activations"))
    if model.weights_version:  # a .cfg alone: the missing .weights is the model-files row
        checks.append(_weights_header(model, tk, context))
    return checks


def _weights_header(model, tk, context) -> Check:
    title = "Darknet .weights header"
    how = model.weights_how or model.how
    return Check("source.darknet_weights", title, OK, observed=f"version {model.weights_version} ({model.weights_detail})", how=how,
                 expected="a header load_weights_upto reads (seen is 64-bit from version 0.2)", source=f"{PARSER_SOURCE} load_weights_upto",
                 message=f"the .weights header version {model.weights_version} is one darknet 810d7f7 (the vendor's base) reads", **context)
