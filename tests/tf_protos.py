"""TensorFlow GraphDef / SavedModel messages serialised by the real protobuf runtime, from a
descriptor built here with the field numbers of TensorFlow's public protos (v2.14.0):
tensorflow/core/framework/{graph,node_def,attr_value,tensor_shape,tensor,versions,function}.proto,
tensorflow/core/protobuf/{saved_model,meta_graph}.proto. Only the fields the reader uses (and a
Const tensor payload) are declared; TensorFlow itself is not installed."""
from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

F = descriptor_pb2.FieldDescriptorProto
_MESSAGES = {
    "TensorShapeProto.Dim": [("size", 1, F.TYPE_INT64, None, False), ("name", 2, F.TYPE_STRING, None, False)],
    "TensorShapeProto": [("dim", 2, F.TYPE_MESSAGE, "TensorShapeProto.Dim", True), ("unknown_rank", 3, F.TYPE_BOOL, None, False)],
    "TensorProto": [("dtype", 1, F.TYPE_ENUM, "DataType", False), ("tensor_shape", 2, F.TYPE_MESSAGE, "TensorShapeProto", False),
                    ("tensor_content", 4, F.TYPE_BYTES, None, False)],
    "AttrValue.ListValue": [("i", 3, F.TYPE_INT64, None, True)],
    "AttrValue": [("list", 1, F.TYPE_MESSAGE, "AttrValue.ListValue", False), ("s", 2, F.TYPE_BYTES, None, False),
                  ("i", 3, F.TYPE_INT64, None, False), ("type", 6, F.TYPE_ENUM, "DataType", False),
                  ("shape", 7, F.TYPE_MESSAGE, "TensorShapeProto", False), ("tensor", 8, F.TYPE_MESSAGE, "TensorProto", False)],
    "NodeDef.AttrEntry": [("key", 1, F.TYPE_STRING, None, False), ("value", 2, F.TYPE_MESSAGE, "AttrValue", False)],
    "NodeDef": [("name", 1, F.TYPE_STRING, None, False), ("op", 2, F.TYPE_STRING, None, False), ("input", 3, F.TYPE_STRING, None, True),
                ("device", 4, F.TYPE_STRING, None, False), ("attr", 5, F.TYPE_MESSAGE, "NodeDef.AttrEntry", True)],
    "VersionDef": [("producer", 1, F.TYPE_INT32, None, False), ("min_consumer", 2, F.TYPE_INT32, None, False)],
    "FunctionDef": [("node_def", 3, F.TYPE_MESSAGE, "NodeDef", True)],
    "FunctionDefLibrary": [("function", 1, F.TYPE_MESSAGE, "FunctionDef", True)],
    "GraphDef": [("node", 1, F.TYPE_MESSAGE, "NodeDef", True), ("library", 2, F.TYPE_MESSAGE, "FunctionDefLibrary", False),
                 ("versions", 4, F.TYPE_MESSAGE, "VersionDef", False)],
    "MetaGraphDef.MetaInfoDef": [("meta_graph_version", 1, F.TYPE_STRING, None, False), ("tags", 4, F.TYPE_STRING, None, True),
                                 ("tensorflow_version", 5, F.TYPE_STRING, None, False),
                                 ("tensorflow_git_version", 6, F.TYPE_STRING, None, False),
                                 ("stripped_default_attrs", 7, F.TYPE_BOOL, None, False)],
    "MetaGraphDef": [("meta_info_def", 1, F.TYPE_MESSAGE, "MetaGraphDef.MetaInfoDef", False), ("graph_def", 2, F.TYPE_MESSAGE, "GraphDef", False)],
    "SavedModel": [("saved_model_schema_version", 1, F.TYPE_INT64, None, False), ("meta_graphs", 2, F.TYPE_MESSAGE, "MetaGraphDef", True)],
}
_NESTED = {"TensorShapeProto.Dim", "AttrValue.ListValue", "NodeDef.AttrEntry", "MetaGraphDef.MetaInfoDef"}
DT_FLOAT, DT_INT32 = 1, 3


def _build():
    fdp = descriptor_pb2.FileDescriptorProto(name="rknn_envcheck_test_tf.proto", package="tensorflow", syntax="proto3")
    enum = fdp.enum_type.add(name="DataType")
    for name, number in (("DT_INVALID", 0), ("DT_FLOAT", 1), ("DT_INT32", 3)):
        enum.value.add(name=name, number=number)
    protos = {}
    for full in sorted(_MESSAGES, key=lambda name: name in _NESTED):  # outer messages first
        if full in _NESTED:
            outer, inner = full.split(".")
            protos[full] = protos[outer].nested_type.add(name=inner)
            if inner == "AttrEntry":
                protos[full].options.map_entry = True
        else:
            protos[full] = fdp.message_type.add(name=full)
    for full, fields in _MESSAGES.items():
        for name, number, kind, type_name, repeated in fields:
            field = protos[full].field.add(name=name, number=number, type=kind,
                                           label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if type_name:
                field.type_name = ".tensorflow." + type_name
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName("tensorflow." + name))
            for name in ("GraphDef", "NodeDef", "SavedModel", "AttrValue", "TensorShapeProto")}


CLASSES = _build()
GraphDef, NodeDef, SavedModel = CLASSES["GraphDef"], CLASSES["NodeDef"], CLASSES["SavedModel"]


def placeholder(graph, name: str, dims, unknown_rank: bool = False):
    node = graph.node.add(name=name, op="Placeholder")
    node.attr["dtype"].type = DT_FLOAT
    shape = node.attr["shape"].shape
    if unknown_rank:
        shape.unknown_rank = True
    for d in dims:
        shape.dim.add(size=d)
    return node


def conv_graph(producer: int = 27, explicit_paddings: bool = False, input_dims=(1, 224, 224, 3), extra_ops=(),
               weights_bytes: int = 4096, unknown_rank: bool = False, min_consumer: int = 0):
    """A frozen graph as tf.compat.v1.graph_util.convert_variables_to_constants writes it:
    Placeholder → Conv2D (weights in a Const node) → Relu, versions.producer as given."""
    graph = GraphDef()
    placeholder(graph, "input", input_dims, unknown_rank)
    weights = graph.node.add(name="conv/weights", op="Const")
    weights.attr["dtype"].type = DT_FLOAT
    tensor = weights.attr["value"].tensor
    tensor.dtype = DT_FLOAT
    for d in (3, 3, 3, 8):
        tensor.tensor_shape.dim.add(size=d)
    tensor.tensor_content = b"\x01" * weights_bytes
    conv = graph.node.add(name="conv/Conv2D", op="Conv2D", input=["input", "conv/weights"])
    conv.attr["T"].type = DT_FLOAT
    conv.attr["padding"].s = b"SAME"
    conv.attr["strides"].list.i.extend([1, 1, 1, 1])
    if explicit_paddings:
        conv.attr["explicit_paddings"].list.SetInParent()  # TF >= 1.14 writes the attribute, empty
    previous = "conv/Conv2D"
    for index, op in enumerate(("Relu",) + tuple(extra_ops)):
        graph.node.add(name=f"n{index}/{op}", op=op, input=[previous])
        previous = f"n{index}/{op}"
    graph.versions.producer = producer
    graph.versions.min_consumer = min_consumer
    return graph


def saved_model(graph, tensorflow_version: str = "2.9.1", tags=("serve",), function_ops=()):
    """A SavedModel around `graph`; ops in `function_ops` are put in a library function, as TF2 does."""
    model = SavedModel(saved_model_schema_version=1)
    meta = model.meta_graphs.add()
    meta.meta_info_def.meta_graph_version = "v" + tensorflow_version
    meta.meta_info_def.tags.extend(tags)
    meta.meta_info_def.tensorflow_version = tensorflow_version
    meta.meta_info_def.tensorflow_git_version = "unknown"
    meta.graph_def.CopyFrom(graph)
    if function_ops:
        function = meta.graph_def.library.function.add()
        for index, op in enumerate(function_ops):
            function.node_def.add(name=f"f{index}", op=op)
    return model
