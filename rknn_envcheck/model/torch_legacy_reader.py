"""PyTorch files in the legacy (non-zip) torch.save formats, read without unpickling anything.

Layout, from github:pytorch/pytorch@v2.14.1 torch/serialization.py (`_legacy_save`, `_legacy_load`;
checked against files written by torch 2.13 with `_use_new_zipfile_serialization=False`):

- pickle stream (torch.save before 1.6, and any later torch with `_use_new_zipfile_serialization=False`):
  five pickles back to back — MAGIC_NUMBER 0x1950a86a20f9469cfc6c, PROTOCOL_VERSION 1001, the sys_info
  dict (protocol_version, little_endian, type_sizes), the object pickle (storages are persistent ids
  `('storage', torch.<T>Storage, key, location, numel, view)`, nn.Module classes
  `('module', class, source_file, source)`), the sorted storage keys — then for each key an int64
  little-endian element count and the raw elements. `_legacy_load` reads the same sequence.
- tar (torch <= 0.1.10): a tar with members `sys_info` (protocol_version 1000), `pickle` (modules as
  `(class, source_file, source)` persistent ids, tensors as string keys), `tensors`, `storages`;
  `legacy_load` inside `_legacy_load` still opens it at v2.14.1.

Every pickle is walked with `pickletools.genops` and a symbolic stack that keeps only names, strings,
numbers and small containers (never `pickle.load`): at most MAX_PICKLE_WINDOW bytes, MAX_OPCODES
opcodes and MAX_STACK stack entries (model/pickle_walk.py), so a hostile stream ends in ModelFileError, not in memory or time.
Storage payloads are skipped by seeking over their declared sizes (which must stay inside the file).
"""
from __future__ import annotations

from rknn_envcheck.model.errors import ModelFileError
from rknn_envcheck.model.pickle_walk import Obj, Scan, walk_pickle
from rknn_envcheck.model.source import SourceModel

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
TAR_MEMBERS = ("sys_info", "pickle", "tensors", "storages")
MAX_PICKLE_WINDOW = 16 * 1024 * 1024
MAX_STORAGES = 100_000
MAX_TAR_MEMBERS = 16
# torch.<Name>Storage -> bytes per element (torch/storage.py _dtype_to_storage_type_map; UntypedStorage is bytes)
ELEMENT_SIZES = {"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8, "IntStorage": 4,
                 "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "ComplexDoubleStorage": 16,
                 "ComplexFloatStorage": 8, "QInt8Storage": 1, "QUInt8Storage": 1, "QInt32Storage": 4, "QUInt4x2Storage": 1,
                 "QUInt2x4Storage": 1, "UntypedStorage": 1}


def _error(path: str, what: str) -> ModelFileError:
    return ModelFileError(f"model file {path} is a legacy PyTorch file (torch.save without zip) but {what}")


def _walk(window: bytes, start: int, path: str, what: str) -> Scan:
    return walk_pickle(window, start, what, lambda text: _error(path, text))


def read_torch_legacy(handle, path: str, size: int, kind: str) -> SourceModel:
    """`kind` is "pickle" or "tar" (model/source.py recognised it by its first bytes)."""
    model = SourceModel(path=path, size=size, format="pytorch", framework="torch", torchscript=False, torch_legacy=kind)
    if kind == "tar":
        _read_tar(handle, path, size, model)
    else:
        _read_stream(handle, path, size, model)
    return model


def _read_stream(handle, path: str, size: int, model: SourceModel) -> None:
    handle.seek(0)
    window = handle.read(min(size, MAX_PICKLE_WINDOW))
    cut = " (only its first 16 MiB are read)" if size > len(window) else ""
    magic = _walk(window, 0, path, "magic-number pickle")
    if magic.value != MAGIC_NUMBER:
        raise _error(path, f"its first pickle holds {str(magic.value)[:30]!r}, not the magic number {MAGIC_NUMBER:#x}")
    protocol = _walk(window, magic.end, path, "protocol-version pickle")
    model.legacy_protocol = protocol.value if isinstance(protocol.value, int) else None
    sys_info = _walk(window, protocol.end, path, "sys_info pickle")
    model.sys_info = _plain(sys_info.value)
    scan = _walk(window, sys_info.end, path, "object pickle" + cut)
    keys = _walk(window, scan.end, path, "storage-key pickle" + cut)
    _classify(model, scan)
    key_list = [k for k in keys.value.items if isinstance(k, str)] if isinstance(keys.value, Obj) and keys.value.kind == "list" else None
    how = [f"pickle stream: magic number {MAGIC_NUMBER:#x}, protocol version {model.legacy_protocol}",
           f"object pickle of {scan.end - sys_info.end} bytes walked with pickletools (never unpickled)"]
    if key_list is None:
        raise _error(path, "its storage-key pickle is not a list of keys")
    how.append(_skip_storages(handle, path, size, keys.end, key_list, scan.storages))
    model.how = "; ".join(how)


def _skip_storages(handle, path: str, size: int, offset: int, keys: list, storages: dict) -> str:
    if len(keys) > MAX_STORAGES:
        raise _error(path, f"it lists {len(keys)} storages; at most {MAX_STORAGES} are read")
    for key in keys:
        if key not in storages:
            raise _error(path, f"storage key {key[:24]!r} is listed but no tensor of the object pickle refers to it")
        type_name, numel = storages[key]
        element = ELEMENT_SIZES.get(type_name.rsplit(".", 1)[-1])
        if element is None:
            return f"{len(keys)} storages; payload sizes not checked past storage type {type_name}"
        handle.seek(offset)
        head = handle.read(8)
        if len(head) < 8:
            raise _error(path, f"storage {key[:24]!r} starts at byte {offset}, past the end of the file (truncated?)")
        count = int.from_bytes(head, "little", signed=True)
        if count < 0 or (numel is not None and count != numel):
            raise _error(path, f"storage {key[:24]!r} declares {count} elements where its tensor says {numel}")
        offset += 8 + count * element
        if offset > size:
            raise _error(path, f"storage {key[:24]!r} of {count} x {element} bytes runs past the end of the file (truncated?)")
    trailing = f", {size - offset} trailing bytes" if offset < size else ""
    return f"{len(keys)} storage payloads skipped by seeking ({offset} bytes accounted for{trailing})"


def _classify(model: SourceModel, scan: Scan) -> None:
    model.pickle_globals = [str(g) for g in scan.globals]
    model.module_classes = [str(m) for m in scan.modules]
    top = scan.value
    if isinstance(top, Obj) and top.kind == "dict":
        model.pickle_keys = [k for k, _ in top.items if isinstance(k, str)][:8]
    has_tensors = bool(scan.storages or scan.string_ids or scan.tensors)
    if scan.modules or (isinstance(top, Obj) and "_modules" in top.state_keys):
        model.pickle_kind = "module"
    elif isinstance(top, Obj) and top.kind == "dict" and has_tensors:
        model.pickle_kind = "state dict"
    elif has_tensors:
        model.pickle_kind = "tensors"


def _plain(value):
    """A sys_info dict as plain data (keys and leaves only; anything else dropped)."""
    if isinstance(value, Obj) and value.kind == "dict":
        return {k: _plain(v) for k, v in value.items if isinstance(k, str)}
    return value if isinstance(value, (bool, int, str)) else None


def _read_tar(handle, path: str, size: int, model: SourceModel) -> None:
    members = _tar_members(handle, path, size)
    seen = [m for m in TAR_MEMBERS if m in members]
    how = [f"tar archive (torch <= 0.1.10 torch.save) with members {', '.join(members)}"]
    if "sys_info" in members:
        offset, length = members["sys_info"]
        handle.seek(offset)
        info = _walk(handle.read(min(length, 4096)), 0, path, "sys_info member")
        model.sys_info = _plain(info.value)
        if isinstance(model.sys_info, dict) and isinstance(model.sys_info.get("protocol_version"), int):
            model.legacy_protocol = model.sys_info["protocol_version"]
    if "pickle" in members:
        offset, length = members["pickle"]
        handle.seek(offset)
        window = handle.read(min(length, MAX_PICKLE_WINDOW))
        _classify(model, _walk(window, 0, path, "pickle member" + (" (only its first 16 MiB are read)" if length > len(window) else "")))
        how.append("pickle member walked with pickletools (never unpickled)")
    if len(seen) < len(TAR_MEMBERS):
        how.append(f"missing {', '.join(m for m in TAR_MEMBERS if m not in members)}: torch's legacy_load needs all of "
                   f"{', '.join(TAR_MEMBERS[1:])}")
        model.pickle_kind = ""
    how.append("tensors and storages members skipped by seeking")
    model.how = "; ".join(how)


def _tar_members(handle, path: str, size: int) -> dict:
    """name -> (data offset, size) of the tar's regular files, headers checked (checksum, ustar magic, sizes inside the file)."""
    members: dict = {}
    offset = 0
    for _ in range(MAX_TAR_MEMBERS * 2):  # a pax header may precede each member
        handle.seek(offset)
        header = handle.read(512)
        if len(header) < 512:
            raise _error(path, f"its tar header at byte {offset} is cut short (truncated?)")
        if header == b"\0" * 512:
            return members
        stored = header[148:156].split(b"\0", 1)[0].strip()
        if not stored or any(c not in b"01234567" for c in stored) or int(stored, 8) != sum(header[:148]) + 256 + sum(header[156:]):
            raise _error(path, f"its tar header at byte {offset} has a bad checksum")
        if header[257:262] != b"ustar":
            raise _error(path, f"its tar header at byte {offset} lacks the ustar magic")
        length = _tar_size(header[124:136], path, offset)
        name = header[:100].split(b"\0", 1)[0].decode("utf-8", "replace")
        prefix = header[345:500].split(b"\0", 1)[0].decode("utf-8", "replace")
        data = offset + 512
        if data + length > size:
            raise _error(path, f"tar member {name!r} of {length} bytes runs past the end of the file (truncated?)")
        if header[156:157] in (b"0", b"\0"):
            if len(members) >= MAX_TAR_MEMBERS:
                raise _error(path, f"its tar holds more than {MAX_TAR_MEMBERS} members; torch's has {len(TAR_MEMBERS)}")
            members[f"{prefix}/{name}" if prefix else name] = (data, length)
        offset = data + (length + 511) // 512 * 512
        if offset >= size:  # tarfile (as torch used it) always closes with zero blocks
            raise _error(path, f"its tar ends at byte {size} without the end-of-archive blocks (truncated?)")
    raise _error(path, f"its tar holds more than {MAX_TAR_MEMBERS} members; torch's has {len(TAR_MEMBERS)}")


def _tar_size(field: bytes, path: str, offset: int) -> int:
    if field[0] & 0x80:  # GNU base-256
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip()
    if text and any(c not in b"01234567" for c in text):
        raise _error(path, f"its tar header at byte {offset} has a size field that is not octal")
    return int(text, 8) if text else 0
