"""Source models (the files a toolkit converts): recognise by content, read bounded, never run.

`read_source_model(path)` returns a SourceModel, raises ModelFileError for a hostile or
unreadable file of a recognised format, and returns None when the content is none of the
formats below (the caller then tries `.rknn`, and refuses the file naming every format tried).

Formats read here: ONNX (onnx_reader.py, bounded protobuf), TFLite (tflite_reader.py, bounded
FlatBuffers), TensorFlow GraphDef / SavedModel (tf_reader.py), PyTorch zip archives and Keras
`.keras` zips (zip_reader.py: the central directory and small members only, pickles never
unpickled), PyTorch legacy torch.save files, the pickle stream and the older tar
(torch_legacy_reader.py: opcodes only, storage payloads seeked over), Keras HDF5 by its signature (h5py is not needed to recognise it), and the two-file
formats Caffe, Darknet and MXNet (model/pairs.py: each file by content; a structure file and its
weights file are paired into one model by pair_models).
"""
from __future__ import annotations

import os
import stat
from rknn_envcheck.records import asdict, dataclass, field

from rknn_envcheck.model.errors import ModelFileError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
FORMATS_TRIED = ("ONNX, PyTorch (zip; legacy torch.save pickle stream or tar), Keras (.keras zip, HDF5 .h5), TFLite, TensorFlow (GraphDef .pb, SavedModel directory), "
                 "Caffe (.prototxt, .caffemodel), Darknet (.cfg, .weights), MXNet (-symbol.json, .params), RKNN")
_EXTENSIONS = {"onnx": (".onnx",), "pytorch": (".pt", ".pth", ".torchscript", ".ptl"), "keras": (".keras", ".h5", ".hdf5"),
               "tflite": (".tflite",), "tensorflow": (".pb",),
               # legacy torch.save files (torch_legacy_reader.py): checkpoints are also named .pth.tar, .pkl, .ckpt, .bin
               "pytorch/pickle": (".pt", ".pth", ".pkl", ".tar", ".ckpt", ".bin"), "pytorch/tar": (".pt", ".pth", ".tar"),
               # two-file formats: "format/role" (model/pairs.py)
               "caffe/structure": (".prototxt", ".pbtxt"), "caffe/weights": (".caffemodel",), "darknet/structure": (".cfg",),
               "darknet/weights": (".weights", ".weight"), "mxnet/structure": (".json",), "mxnet/weights": (".params",)}


@dataclass
class SourceModel:
    path: str
    size: int
    format: str  # onnx / pytorch / keras
    framework: str  # the [[framework]] name in the matrix: onnx / torch / keras
    how: str = ""
    renamed: str = ""  # "named .pt but its content is ONNX"
    # ONNX
    ir_version: int | None = None
    producer: str = ""
    producer_version: str = ""
    opsets: dict = field(default_factory=dict)  # domain ("ai.onnx" for the default) -> version
    operators: dict = field(default_factory=dict)  # op type ("domain::Op" outside ai.onnx) -> count
    node_count: int = 0
    initializer_count: int = 0
    inputs: list = field(default_factory=list)  # [{"name", "shape": [int | "sym" | "?"] or None}]
    dynamic_inputs: list = field(default_factory=list)
    external_data: list = field(default_factory=list)
    external_outside: list = field(default_factory=list)
    # PyTorch / Keras zips
    archive_version: int | None = None
    archive_version_member: str = ""
    torchscript: bool | None = None  # True: code/ + constants.pkl; False: a pickled module or state dict
    code_scan_complete: bool | None = None  # TorchScript: every code/*.py member was scanned for operator calls (zip_reader.py)
    pickle_globals: list = field(default_factory=list)  # module.name pairs named by the data.pkl opcodes
    # PyTorch legacy torch.save files (torch_legacy_reader.py); torchscript is False, pickle_globals as above
    torch_legacy: str = ""  # "pickle" (stream: torch < 1.6, or _use_new_zipfile_serialization=False) / "tar" (torch <= 0.1.10)
    legacy_protocol: int | None = None  # the pickled PROTOCOL_VERSION (1001); the tar's sys_info protocol_version (1000)
    pickle_kind: str = ""  # module / state dict / tensors; "" = neither recognised
    module_classes: list = field(default_factory=list)  # nn.Module classes of the ('module', class, file, source) persistent ids
    pickle_keys: list = field(default_factory=list)  # top-level string keys when the object is a dict (a checkpoint's)
    sys_info: dict | None = None  # little_endian, type_sizes as torch.save pickled them
    keras_version: str = ""
    # TFLite (tflite_reader.py); operators/inputs/node_count/producer (the description) shared with ONNX
    schema_version: int | None = None
    custom_ops: list = field(default_factory=list)  # custom_code of CUSTOM operator codes
    tensor_types: dict = field(default_factory=dict)  # TensorType name -> tensors of the main subgraph
    # TensorFlow GraphDef / SavedModel (tf_reader.py); operators = NodeDef op types, inputs = Placeholders
    tf_kind: str = ""  # graphdef / savedmodel
    tf_producer: int | None = None  # GraphDef versions.producer (TF_GRAPH_DEF_VERSION of the writer)
    tf_min_consumer: int | None = None
    tf_version: str = ""  # SavedModel meta_info_def.tensorflow_version
    tf_stripped_default_attrs: bool = False
    saved_model_tags: list = field(default_factory=list)
    op_attrs: dict = field(default_factory=dict)  # op type -> attribute names seen on its nodes
    # Caffe / Darknet / MXNet, two files each (caffe_reader.py, darknet_reader.py, mxnet_reader.py; paired in pairs.py);
    # operators = layer types / .cfg sections / symbol ops, node_count = layers, inputs as for ONNX
    role: str = ""  # "structure" (.prototxt / .cfg / -symbol.json) or "weights" (.caffemodel / .weights / .params)
    weights_path: str = ""  # the weights file given with this structure file ("" = not given)
    weights_how: str = ""
    weights_version: str = ""  # Darknet .weights header major.minor.revision; MXNet NDArray format of the .params
    weights_detail: str = ""
    activations: dict = field(default_factory=dict)  # Darknet: activation= values -> layers
    legacy_layers: list = field(default_factory=list)  # Caffe: "V1 (`layers`) in FILE" / V0
    legacy_input: list = field(default_factory=list)  # Caffe: NetParameter-level input / input_dim / input_shape fields
    layer_names_invalid: list = field(default_factory=list)  # Caffe layer names beginning with "_"
    round_mode_layers: list = field(default_factory=list)  # Caffe pooling_param round_mode users
    mxnet_version: int | None = None  # symbol attrs mxnet_version (10500 = 1.5.0)
    # Keras (.keras config.json / .h5 root attributes through h5py: model/keras_reader.py); keras_version is above
    keras_layers: dict = field(default_factory=dict)  # layer class_name -> count (InputLayer and containers left out)
    keras_backend: str = ""
    keras_unread: str = ""  # why the version and layers were not read (h5py missing, weights-only file); "" = read

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        if self.format == "onnx":
            opsets = ", ".join(f"{d} {v}" for d, v in sorted(self.opsets.items())) or "none"
            text = (f"ONNX model, IR version {self.ir_version}, opsets {opsets}, producer {self.producer or '?'} "
                    f"{self.producer_version}".rstrip() + f", {self.node_count} nodes, {len(self.operators)} operator types, "
                    f"{self.initializer_count} initializers")
        elif self.format == "pytorch" and self.torch_legacy:
            what = {"pickle": "pickle stream", "tar": "tar archive of torch <= 0.1.10"}[self.torch_legacy]
            kind = {"module": "a pickled module", "state dict": "a state dict", "tensors": "tensors"}.get(self.pickle_kind, "contents not recognised")
            text = (f"PyTorch legacy torch.save file ({what}, protocol version {self.legacy_protocol if self.legacy_protocol is not None else '?'}): "
                    f"{kind}" + (f" ({', '.join(self.module_classes[:3])})" if self.module_classes else "")
                    + (f" (keys {', '.join(self.pickle_keys[:3])}{', …' if len(self.pickle_keys) > 3 else ''})" if self.pickle_keys and not self.module_classes else "")
                    + ", not TorchScript")
        elif self.format == "pytorch":
            kind = {True: "TorchScript module", False: "pickled module / state dict (not TorchScript)", None: "zip archive"}[self.torchscript]
            text = f"PyTorch {kind}, archive file-format version {self.archive_version if self.archive_version is not None else '?'}"
        elif self.format == "tflite":
            text = (f"TFLite model, schema version {self.schema_version}, {self.node_count} operators, "
                    f"{len(self.operators)} builtin operator types" + (f", custom {', '.join(self.custom_ops)}" if self.custom_ops else ""))
        elif self.format == "tensorflow":
            kind = "SavedModel" if self.tf_kind == "savedmodel" else "frozen GraphDef"
            text = (f"TensorFlow {kind}, GraphDef producer {self.tf_producer if self.tf_producer is not None else '?'}"
                    + (f", written by TensorFlow {self.tf_version}" if self.tf_version else "")
                    + f", {self.node_count} nodes, {len(self.operators)} op types")
        elif self.role:
            from rknn_envcheck.model.pairs import describe

            text = describe(self)
        else:
            text = (f"Keras model ({'HDF5' if self.how.startswith('HDF5') else '.keras zip'})" + (f", Keras {self.keras_version}" if self.keras_version else "")
                    + (f", {sum(self.keras_layers.values())} layers of {len(self.keras_layers)} classes" if self.keras_layers else ""))
        return text + (f" — {self.renamed}" if self.renamed else "")


def read_source_model(path) -> SourceModel | None:
    path_text = os.fspath(path)
    try:
        st = os.stat(path_text)
    except OSError:
        return None  # the .rknn reader words missing/unreadable files
    if stat.S_ISDIR(st.st_mode):
        return _read_saved_model_dir(path_text)
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        with open(path_text, "rb", buffering=0) as handle:  # the readers keep their own windows
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(64)
            return _dispatch(handle, head, path_text, size)
    except OSError as exc:
        raise ModelFileError(f"cannot read model file {path_text}: {exc.strerror or exc}") from None


def _dispatch(handle, head: bytes, path: str, size: int) -> SourceModel | None:
    from rknn_envcheck.model.onnx_reader import looks_like_onnx, read_onnx
    from rknn_envcheck.model.protowire import WireError

    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        from rknn_envcheck.model.zip_reader import read_zip_model

        model = read_zip_model(path, size)
    elif head.startswith(HDF5_MAGIC):
        from rknn_envcheck.model.keras_reader import read_keras_h5

        model = SourceModel(path=path, size=size, format="keras", framework="keras", how="HDF5 signature at byte 0 (a Keras .h5 model)")
        read_keras_h5(model)  # h5py when importable, else model.keras_unread says why not
    elif head[4:8] == b"TFL3":
        from rknn_envcheck.model.tflite_reader import TFLiteError, read_tflite

        try:
            model = read_tflite(handle, path, size)
        except TFLiteError as exc:
            raise ModelFileError(f"model file {path} looks like a TensorFlow Lite model (identifier TFL3 at byte 4) but is not readable: {exc}") from None
    elif _looks_like_tensorflow(handle, head):
        model = _read_tensorflow(handle, head, path, size)
    elif _torch_legacy_kind(head):
        from rknn_envcheck.model.torch_legacy_reader import read_torch_legacy

        model = read_torch_legacy(handle, path, size, _torch_legacy_kind(head))
    elif looks_like_onnx(head):
        try:
            model = read_onnx(handle, path, size)
        except WireError as exc:
            raise ModelFileError(f"model file {path} looks like an ONNX model (protobuf ModelProto) but is not readable: {exc}") from None
        except RecursionError:
            raise ModelFileError(f"model file {path}: ONNX graph nested too deeply") from None
    else:
        from rknn_envcheck.model.pairs import read_two_file_model

        model = read_two_file_model(handle, head, path, size)  # Caffe / Darknet / MXNet, or None
        if model is None:
            return None
    _note_renamed(model)
    return model


# 0x1950a86a20f9469cfc6c, the first pickle of a legacy torch.save (torch/serialization.py MAGIC_NUMBER): LONG1 payload
_TORCH_MAGIC = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def _torch_legacy_kind(head: bytes) -> str:
    """"pickle" when `head` is pickle.dumps(MAGIC_NUMBER) of any protocol, "tar" when a tar's first member is a
    torch <= 0.1.10 member; "" otherwise (bytes only: the reader is imported when one matches)."""
    if (head[:2] in (b"\x80\x02", b"\x80\x03") and head[2:14] == _TORCH_MAGIC
            or head[:3] in (b"\x80\x04\x95", b"\x80\x05\x95") and head[11:23] == _TORCH_MAGIC
            or head.startswith(b"L119547037146038801333356L\n")):
        return "pickle"
    if head[:100].split(b"\0", 1)[0] in (b"sys_info", b"pickle", b"tensors", b"storages"):
        return "tar"
    return ""


def _looks_like_tensorflow(handle, head: bytes) -> bool:
    from rknn_envcheck.model.tf_reader import looks_like_graphdef, looks_like_saved_model

    return looks_like_saved_model(head) or looks_like_graphdef(handle)


def _read_tensorflow(handle, head: bytes, path: str, size: int, shown: str | None = None) -> SourceModel:
    from rknn_envcheck.model.protowire import WireError
    from rknn_envcheck.model.tf_reader import looks_like_saved_model, read_graphdef, read_saved_model

    saved = looks_like_saved_model(head)
    try:
        return read_saved_model(handle, path, size, shown) if saved else read_graphdef(handle, path, size)
    except WireError as exc:
        kind = "a TensorFlow SavedModel (saved_model.proto)" if saved else "a TensorFlow GraphDef (graph.proto)"
        raise ModelFileError(f"model file {path} looks like {kind} but is not readable: {exc}") from None


def _read_saved_model_dir(directory: str) -> SourceModel:
    """`model DIR`: a TensorFlow SavedModel directory is read through its saved_model.pb."""
    from rknn_envcheck.model.tf_reader import looks_like_saved_model, saved_model_file

    pb = saved_model_file(directory)
    if not os.path.isfile(pb):
        text = " (a text-format saved_model.pbtxt is not read)" if os.path.isfile(pb + "txt") else ""
        raise ModelFileError(f"{directory} is a directory but not a TensorFlow SavedModel: looked for {pb}, which is missing{text}; "
                             f"give a model file, or a SavedModel directory")
    try:
        with open(pb, "rb", buffering=0) as handle:
            size = os.fstat(handle.fileno()).st_size
            head = handle.read(64)
            if not looks_like_saved_model(head):
                raise ModelFileError(f"{pb} is not a SavedModel protobuf (saved_model_schema_version 1 and meta_graphs expected)")
            return _read_tensorflow(handle, head, pb, size, shown=directory)
    except OSError as exc:
        raise ModelFileError(f"cannot read {pb}: {exc.strerror or exc}") from None


def _note_renamed(model: SourceModel) -> None:
    if model.tf_kind == "savedmodel":
        return  # a directory (or its saved_model.pb): no extension to compare
    extension = os.path.splitext(model.path)[1].lower()
    expected = _EXTENSIONS.get(f"{model.format}/{model.role or model.torch_legacy}") or _EXTENSIONS.get(model.format, ())
    if extension not in expected:
        model.renamed = f"named {extension or 'without an extension'} but its content is {model.format} (expected {', '.join(expected)})"
