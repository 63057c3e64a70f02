"""PyTorch and Keras zip archives, read without unpickling or inflating anything large.

The end-of-central-directory record is checked first (central directory at most 16 MiB, at most
100,000 members) so a crafted archive cannot make `zipfile` allocate its listing; then only small
members are read, each capped: `<archive>/version` and `<archive>/.data/version` (the
file-format version torch writes, caffe2/serialize/inline_container.h), Keras `metadata.json`,
and the opcodes of `<archive>/data.pkl` through `pickletools.genops` (never `pickle.load`).
A TorchScript archive's `<archive>/code/**/*.py` (the module source torch's python_print writes:
`x0 = torch._convolution(x, ...)`, `ops.quantized.conv2d(...)`) is scanned as text for operator calls,
at most MAX_CODE_MEMBERS files and MAX_CODE_BYTES of inflated text in all; never executed.
"""
from __future__ import annotations

import io
import json
import pickletools
import re
import struct
import zipfile

from rknn_envcheck.model.errors import ModelFileError
from rknn_envcheck.model.source import SourceModel

MAX_CENTRAL_DIRECTORY = 16 * 1024 * 1024
MAX_MEMBERS = 100_000
MAX_SMALL_MEMBER = 4096
MAX_PICKLE_BYTES = 8 * 1024 * 1024
MAX_GLOBALS = 20
_EOCD = b"PK\x05\x06"
MAX_CODE_MEMBERS = 1000
MAX_CODE_BYTES = 16 * 1024 * 1024
# torch.<op>( is an aten operator, ops.<namespace>.<op>( any other; a preceding '.' or word character is a
# qualified class name (__torch__.torch.nn.modules.conv.Conv2d), not a call of the torch namespace.
_CALL = re.compile(rb"(?<![\w.])(?:torch\.([A-Za-z_]\w*)|ops\.([A-Za-z_]\w*)\.([A-Za-z_]\w*))\s*\(")
# Printed in the torch namespace but language plumbing, not operators a vendor list names (inferred).
_NOT_OPERATORS = frozenset({"device", "dtype", "Tensor", "Size", "append", "len", "dim", "format", "warn", "list"})


def read_zip_model(path: str, size: int) -> SourceModel:
    with open(path, "rb") as handle:
        tail_size = min(size, 65536 + 22)
        handle.seek(size - tail_size)
        tail = handle.read(tail_size)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise ModelFileError(f"model file {path} starts like a ZIP archive but has no end-of-central-directory record (truncated?)")
    members, cd_size, cd_offset = struct.unpack_from("<HII", tail, at + 10)
    if cd_size > MAX_CENTRAL_DIRECTORY or members > MAX_MEMBERS:
        raise ModelFileError(f"model file {path}: ZIP central directory of {cd_size} bytes / {members} members exceeds the "
                             f"{MAX_CENTRAL_DIRECTORY >> 20} MiB / {MAX_MEMBERS} members a model archive may have")
    if cd_offset + cd_size > size:
        raise ModelFileError(f"model file {path}: ZIP central directory runs past the end of the file (truncated?)")
    try:
        with zipfile.ZipFile(path) as archive:
            return _read_archive(archive, path, size)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError, struct.error) as exc:
        raise ModelFileError(f"model file {path}: unreadable ZIP archive: {exc}") from None


def _small(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> bytes:
    if info.file_size > MAX_SMALL_MEMBER:
        raise ModelFileError(f"model file {path}: member {info.filename} declares {info.file_size} bytes; at most {MAX_SMALL_MEMBER} expected")
    with archive.open(info) as member:
        return member.read(MAX_SMALL_MEMBER + 1)[:MAX_SMALL_MEMBER]


def _read_archive(archive: zipfile.ZipFile, path: str, size: int) -> SourceModel:
    infos = archive.infolist()
    names = {info.filename: info for info in infos}
    if "metadata.json" in names and "config.json" in names:
        model = SourceModel(path=path, size=size, format="keras", framework="keras", how="ZIP members metadata.json + config.json (Keras v3 .keras)")
        try:
            model.keras_version = str(json.loads(_small(archive, names["metadata.json"], path)).get("keras_version") or "")
        except (ValueError, AttributeError):
            model.keras_version = ""
        model.keras_layers = _keras_layers(archive, names["config.json"], path)
        return model
    model = SourceModel(path=path, size=size, format="pytorch", framework="torch")
    parts = [name.split("/") for name in names]
    roots = {p[0] for p in parts if len(p) > 1}
    if len(roots) != 1:
        raise ModelFileError(f"model file {path} is a ZIP archive but neither a PyTorch archive (one top folder with data.pkl or "
                             f"constants.pkl) nor a Keras .keras file (metadata.json + config.json)")
    root = roots.pop()
    for member in (f"{root}/.data/version", f"{root}/version"):
        if member in names:
            raw = _small(archive, names[member], path).decode("ascii", "replace").strip()
            if not raw.isdigit():
                raise ModelFileError(f"model file {path}: {member} holds {raw[:20]!r}, not a version number")
            model.archive_version, model.archive_version_member = int(raw), member
            break
    has_code = any(n.startswith(f"{root}/code/") for n in names)
    model.torchscript = has_code and f"{root}/constants.pkl" in names
    how = [f"ZIP archive, top folder {root}/", f"version from {model.archive_version_member or 'no version member'}",
           "TorchScript: code/ and constants.pkl present" if model.torchscript else "no code/ + constants.pkl: not TorchScript"]
    data = names.get(f"{root}/data.pkl")
    if data is None and not model.torchscript:
        raise ModelFileError(f"model file {path} is a ZIP archive with top folder {root}/ but no data.pkl or code/: not a PyTorch archive")
    if data is not None:
        model.pickle_globals = _pickle_globals(archive, data, path)
        how.append("data.pkl opcodes read with pickletools (never unpickled)")
    if model.torchscript:
        model.operators, scanned, model.code_scan_complete = _code_operators(archive, [i for i in infos if i.filename.startswith(f"{root}/code/")
                                                             and i.filename.endswith(".py")])
        how.append(f"operators from calls in {scanned} (text, not run)")
    model.how = "; ".join(how)
    return model


def _keras_layers(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> dict:
    from rknn_envcheck.model.keras_reader import MAX_CONFIG_BYTES, layer_classes

    if info.file_size > MAX_CONFIG_BYTES:
        raise ModelFileError(f"model file {path}: config.json declares {info.file_size} bytes; at most {MAX_CONFIG_BYTES >> 20} MiB expected")
    with archive.open(info) as member:
        data = member.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:  # the central directory understated it
        raise ModelFileError(f"model file {path}: config.json inflates past {MAX_CONFIG_BYTES >> 20} MiB")
    return layer_classes(data.decode("utf-8", "replace"), f"model file {path} (config.json)")


def _pickle_globals(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> list:
    if info.file_size > MAX_PICKLE_BYTES:
        return []  # a large pickle is a big module; its classes are not needed for the verdict
    with archive.open(info) as member:
        data = member.read(MAX_PICKLE_BYTES + 1)[:MAX_PICKLE_BYTES]
    found: list = []
    strings: list = []
    try:
        for opcode, arg, _pos in pickletools.genops(io.BytesIO(data)):
            if opcode.name in ("SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "BINUNICODE8"):
                strings = (strings + [arg])[-2:]
            elif opcode.name in ("GLOBAL", "INST"):
                name = str(arg).replace(" ", ".")
                if name not in found:
                    found.append(name)
            elif opcode.name == "STACK_GLOBAL" and len(strings) == 2:
                name = f"{strings[0]}.{strings[1]}"
                if name not in found:
                    found.append(name)
            if len(found) >= MAX_GLOBALS:
                break
    except (ValueError, EOFError, UnicodeDecodeError, struct.error) as exc:
        raise ModelFileError(f"model file {path}: {info.filename} is not a readable pickle stream: {exc}") from None
    return found


def _code_operators(archive: zipfile.ZipFile, infos: list) -> tuple:
    """{"aten::_convolution": calls, "quantized::conv2d": calls} from the TorchScript source members; prim:: calls
    (control flow, constants) are not operators. Bounded: members and inflated bytes are capped, reads are streamed."""
    found: dict = {}
    budget, read = MAX_CODE_BYTES, 0
    for info in infos[:MAX_CODE_MEMBERS]:
        if budget <= 0:
            break
        with archive.open(info) as member:
            text = member.read(budget)
        budget -= len(text)
        read += 1
        for aten, namespace, name in _CALL.findall(text):
            if aten:
                op = aten.decode()
                if op.startswith("__") or op in _NOT_OPERATORS:
                    continue
                key = f"aten::{op}"
            elif namespace == b"prim":
                continue
            else:
                key = f"{namespace.decode()}::{name.decode()}"
            found[key] = found.get(key, 0) + 1
    complete = read == len(infos) and budget > 0
    what = f"{read} of {len(infos)} code/*.py members" + ("" if complete else f" (capped at {MAX_CODE_MEMBERS} files / {MAX_CODE_BYTES >> 20} MiB)")
    return found, what, complete
