"""Source models (the files a toolkit converts): recognise by content, read bounded, never run.

`read_source_model(path)` returns a SourceModel, raises ModelFileError for a hostile or
unreadable file of a recognised format, and returns None when the content is none of the
formats below (the caller then tries `.rknn`, and refuses the file naming every format tried).

Formats read here: ONNX (onnx_reader.py, bounded protobuf), PyTorch zip archives and Keras
`.keras` zips (zip_reader.py: the central directory and small members only, pickles never
unpickled), Keras HDF5 by its signature (h5py is not needed to recognise it).
"""
from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass, field

from rknn_envcheck.model.header import ModelFileError

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
FORMATS_TRIED = "ONNX, PyTorch (zip), Keras (.keras zip, HDF5 .h5), RKNN"
_EXTENSIONS = {"onnx": (".onnx",), "pytorch": (".pt", ".pth", ".torchscript", ".ptl"), "keras": (".keras", ".h5", ".hdf5")}


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
    pickle_globals: list = field(default_factory=list)  # module.name pairs named by the data.pkl opcodes
    keras_version: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        if self.format == "onnx":
            opsets = ", ".join(f"{d} {v}" for d, v in sorted(self.opsets.items())) or "none"
            text = (f"ONNX model, IR version {self.ir_version}, opsets {opsets}, producer {self.producer or '?'} "
                    f"{self.producer_version}".rstrip() + f", {self.node_count} nodes, {len(self.operators)} operator types, "
                    f"{self.initializer_count} initializers")
        elif self.format == "pytorch":
            kind = {True: "TorchScript module", False: "pickled module / state dict (not TorchScript)", None: "zip archive"}[self.torchscript]
            text = f"PyTorch {kind}, archive file-format version {self.archive_version if self.archive_version is not None else '?'}"
        else:
            text = f"Keras model ({'HDF5' if self.how.startswith('HDF5') else '.keras zip'})" + (f", Keras {self.keras_version}" if self.keras_version else "")
        return text + (f" — {self.renamed}" if self.renamed else "")


def read_source_model(path) -> SourceModel | None:
    path_text = os.fspath(path)
    try:
        st = os.stat(path_text)
    except OSError:
        return None  # the .rknn reader words missing/unreadable files
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
        model = SourceModel(path=path, size=size, format="keras", framework="keras",
                            how="HDF5 signature at byte 0 (a Keras .h5 model); layers not read: h5py is not used")
    elif looks_like_onnx(head):
        try:
            model = read_onnx(handle, path, size)
        except WireError as exc:
            raise ModelFileError(f"model file {path} looks like an ONNX model (protobuf ModelProto) but is not readable: {exc}") from None
        except RecursionError:
            raise ModelFileError(f"model file {path}: ONNX graph nested too deeply") from None
    else:
        return None
    _note_renamed(model)
    return model


def _note_renamed(model: SourceModel) -> None:
    extension = os.path.splitext(model.path)[1].lower()
    expected = _EXTENSIONS.get(model.format, ())
    if extension not in expected:
        model.renamed = f"named {extension or 'without an extension'} but its content is {model.format} (expected {', '.join(expected)})"
