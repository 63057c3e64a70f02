"""Real TFLite FlatBuffers written with the `flatbuffers` builder and the `tflite` package's
generated schema code (github.com/zhenhuaw-me/tflite, generated from TensorFlow's schema.fbs)."""
from __future__ import annotations

import importlib

import flatbuffers


def _m(name):
    return importlib.import_module(f"tflite.{name}")  # the generated module, not the class the package re-exports


def _ints(builder, start, values):
    start(builder, len(values))
    for v in reversed(values):
        builder.PrependInt32(v)
    return builder.EndVector()


def _offsets(builder, start, offsets):
    start(builder, len(offsets))
    for o in reversed(offsets):
        builder.PrependUOffsetTRelative(o)
    return builder.EndVector()


def build_tflite(ops=("CONV_2D", "RELU"), inputs=(("input", [1, 224, 224, 3], None),), version=3, custom=(),
                 weights_bytes=1024, description="MLIR Converted.", deprecated_only=False, tensor_type="FLOAT32") -> bytes:
    """ops: builtin names (looked up in tflite.BuiltinOperator); inputs: (name, shape, shape_signature or None);
    custom: custom op names; each op is used once by one Operator of subgraph 0."""
    import tflite

    builder = flatbuffers.Builder(1024)
    BO, TT = tflite.BuiltinOperator, tflite.TensorType
    Tensor, Buffer, Operator, SubGraph, OperatorCode, Model = (_m(n) for n in ("Tensor", "Buffer", "Operator", "SubGraph", "OperatorCode", "Model"))
    # buffers: 0 is the empty sentinel, 1 holds "weights" (never read by the reader under test)
    payload = builder.CreateByteVector(b"\xAB" * weights_bytes)
    Buffer.BufferStart(builder)
    empty = Buffer.BufferEnd(builder)
    Buffer.BufferStart(builder)
    Buffer.BufferAddData(builder, payload)
    weights = Buffer.BufferEnd(builder)
    tensors = []
    for name, shape, signature in list(inputs) + [("weights", [8, 3, 3, 3], None), ("output", [1, 8], None)]:
        name_off = builder.CreateString(name)
        shape_off = _ints(builder, Tensor.TensorStartShapeVector, list(shape))
        sig_off = _ints(builder, Tensor.TensorStartShapeSignatureVector, list(signature)) if signature is not None else None
        Tensor.TensorStart(builder)
        Tensor.TensorAddShape(builder, shape_off)
        Tensor.TensorAddType(builder, getattr(TT, tensor_type) if name != "weights" else TT.INT8)
        Tensor.TensorAddName(builder, name_off)
        Tensor.TensorAddBuffer(builder, 1 if name == "weights" else 0)
        if sig_off is not None:
            Tensor.TensorAddShapeSignature(builder, sig_off)
        tensors.append(Tensor.TensorEnd(builder))
    codes = [getattr(BO, op) for op in ops] + [BO.CUSTOM] * len(custom)
    operators = []
    for index in range(len(codes)):
        ins = _ints(builder, Operator.OperatorStartInputsVector, [0, len(inputs)])
        outs = _ints(builder, Operator.OperatorStartOutputsVector, [len(inputs) + 1])
        Operator.OperatorStart(builder)
        Operator.OperatorAddOpcodeIndex(builder, index)
        Operator.OperatorAddInputs(builder, ins)
        Operator.OperatorAddOutputs(builder, outs)
        operators.append(Operator.OperatorEnd(builder))
    tensors_vec = _offsets(builder, SubGraph.SubGraphStartTensorsVector, tensors)
    inputs_vec = _ints(builder, SubGraph.SubGraphStartInputsVector, list(range(len(inputs))))
    outputs_vec = _ints(builder, SubGraph.SubGraphStartOutputsVector, [len(inputs) + 1])
    ops_vec = _offsets(builder, SubGraph.SubGraphStartOperatorsVector, operators)
    sg_name = builder.CreateString("main")
    SubGraph.SubGraphStart(builder)
    SubGraph.SubGraphAddTensors(builder, tensors_vec)
    SubGraph.SubGraphAddInputs(builder, inputs_vec)
    SubGraph.SubGraphAddOutputs(builder, outputs_vec)
    SubGraph.SubGraphAddOperators(builder, ops_vec)
    SubGraph.SubGraphAddName(builder, sg_name)
    subgraph = SubGraph.SubGraphEnd(builder)
    code_offsets = []
    custom_names = [builder.CreateString(c) for c in custom]
    for index, code in enumerate(codes):
        OperatorCode.OperatorCodeStart(builder)
        # schema 3a writers (TF >= 2.4) fill both fields; the byte one saturates at 127
        OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(builder, min(code, 127))
        if not deprecated_only:
            OperatorCode.OperatorCodeAddBuiltinCode(builder, code)
        OperatorCode.OperatorCodeAddVersion(builder, 1)
        if code == BO.CUSTOM:
            OperatorCode.OperatorCodeAddCustomCode(builder, custom_names[index - len(ops)])
        code_offsets.append(OperatorCode.OperatorCodeEnd(builder))
    codes_vec = _offsets(builder, Model.ModelStartOperatorCodesVector, code_offsets)
    subgraphs_vec = _offsets(builder, Model.ModelStartSubgraphsVector, [subgraph])
    buffers_vec = _offsets(builder, Model.ModelStartBuffersVector, [empty, weights])
    desc = builder.CreateString(description)
    Model.ModelStart(builder)
    Model.ModelAddVersion(builder, version)
    Model.ModelAddOperatorCodes(builder, codes_vec)
    Model.ModelAddSubgraphs(builder, subgraphs_vec)
    Model.ModelAddDescription(builder, desc)
    Model.ModelAddBuffers(builder, buffers_vec)
    builder.Finish(Model.ModelEnd(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
