"""PyTorch files in the legacy (non-zip) torch.save formats: read by content, judged for both toolkit lines.

Real files: tests/data/torch_legacy/*.pth were written by a real torch (2.13.0+cpu) with
`_use_new_zipfile_serialization=False` (make_fixtures.py there says how). Files the tests vary are written
here with the stdlib pickler exactly as torch/serialization.py `_legacy_save` does (github:pytorch/pytorch@v2.14.1):
pickle.dump of MAGIC_NUMBER, PROTOCOL_VERSION, sys_info, the object (storages and nn.Module classes as
persistent ids), the sorted storage keys, then each storage as an int64 little-endian element count and its
elements. `test_stdlib_writer_matches_the_real_torch_bytes` proves that writer byte-identical to real torch.
The tar format (torch <= 0.1.10) is written as that torch's `_save` did: a tar of sys_info, pickle, tensors,
storages. When torch itself is importable, it writes a file too.
"""
from __future__ import annotations

import collections
import io
import json
import pickle
import pickletools
import struct
import sys
import tarfile
import types
from contextlib import contextmanager
from pathlib import Path

import pytest

from core_helpers import run_cli
from rknn_envcheck.model.source import read_source_model
from rknn_envcheck.model.pickle_walk import MAX_OPCODES, MAX_STACK

DATA = Path(__file__).resolve().parent / "data" / "torch_legacy"
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C


class Storage:
    """A torch storage as _legacy_save sees it: its class name, key, element size and raw bytes."""

    def __init__(self, key: str, data: bytes, type_name: str = "FloatStorage", element: int = 4, numel: int | None = None):
        self.key, self.data, self.type_name, self.element = key, data, type_name, element
        self.numel = len(data) // element if numel is None else numel  # numel > len(data): the rest is a hole (benchmarks)


class Tensor:
    """A tensor: pickled through torch._utils._rebuild_tensor_v2, as torch.Tensor.__reduce_ex__ does."""

    def __init__(self, storage: Storage, size: tuple):
        self.storage, self.size = storage, size

    def __reduce__(self):
        stride = tuple(int(_prod(self.size[i + 1:])) for i in range(len(self.size)))
        torch = sys.modules["torch"]
        return (torch._utils._rebuild_tensor_v2, (self.storage, 0, self.size, stride, False, collections.OrderedDict()))


class Module:
    """An nn.Module subclass instance: its class goes out as a ('module', class, file, source) persistent id."""


class Net(Module):
    pass


def _prod(values) -> int:
    out = 1
    for v in values:
        out *= v
    return out


@contextmanager
def _fake_torch():
    """torch, torch._utils and torch.<T>Storage as importable names, so the stdlib pickler writes the same GLOBALs."""
    saved = {name: sys.modules.get(name) for name in ("torch", "torch._utils")}
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called: the tests never unpickle")

    _rebuild_tensor_v2.__module__, _rebuild_tensor_v2.__qualname__ = "torch._utils", "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in ("FloatStorage", "HalfStorage", "LongStorage", "WeirdStorage"):
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    sys.modules.update({"torch": torch, "torch._utils": utils})
    try:
        yield torch
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def legacy_save(obj, path: Path, protocol: int = 2, magic: int = MAGIC_NUMBER, version: int = 1001) -> Path:
    """torch/serialization.py _legacy_save, with the stdlib pickler (storages declaring more elements than
    their data leave the rest as a sparse hole)."""
    storages: dict = {}
    sent_classes: set = set()
    with _fake_torch() as torch:
        class LegacyPickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, type) and issubclass(obj, Module):
                    if obj in sent_classes:
                        return None
                    sent_classes.add(obj)
                    return ("module", obj, __file__, f"class {obj.__name__}(Module):\n    pass\n")
                if isinstance(obj, Storage):
                    storages.setdefault(obj.key, obj)
                    return ("storage", getattr(torch, obj.type_name), obj.key, "cpu", obj.numel, None)
                return None

        out = io.BytesIO()
        pickle.dump(magic, out, protocol=protocol)
        pickle.dump(version, out, protocol=protocol)
        pickle.dump({"protocol_version": version, "little_endian": sys.byteorder == "little",
                     "type_sizes": {"short": 2, "int": 4, "long": 4}}, out, protocol=protocol)
        LegacyPickler(out, protocol=protocol).dump(obj)
        keys = sorted(storages)
        pickle.dump(keys, out, protocol=protocol)
    with open(path, "wb") as handle:
        handle.write(out.getvalue())
        for key in keys:
            storage = storages[key]
            handle.write(struct.pack("<q", storage.numel) + storage.data)
            handle.seek(storage.numel * storage.element - len(storage.data), 1)
        handle.truncate()
    return path


def state_dict(prefix: str = "9468566386") -> collections.OrderedDict:
    shapes = {"conv.weight": (4, 3, 3, 3), "conv.bias": (4,), "fc.weight": (2, 4), "fc.bias": (2,)}
    out = collections.OrderedDict()
    for index, (name, shape) in enumerate(shapes.items()):
        out[name] = Tensor(Storage(f"{prefix}{7440 + index}", bytes(4 * _prod(shape))), shape)
    out._metadata = _metadata()
    return out


def _metadata() -> collections.OrderedDict:
    """Module.state_dict() sets `_metadata` (each submodule's version) on the OrderedDict it returns."""
    return collections.OrderedDict((name, {"version": 1}) for name in ("", "conv", "fc"))


def net_module() -> Net:
    net = Net()
    net.__dict__.update(training=True, _parameters=collections.OrderedDict(), _buffers=collections.OrderedDict(),
                        _modules=collections.OrderedDict(conv=state_dict()["conv.weight"]))
    return net


def legacy_tar(path: Path, members=("sys_info", "pickle", "tensors", "storages"), protocol_version: int = 1000) -> Path:
    """torch <= 0.1.10 _save: each part pickled into a tar member (storages/tensors hold a count, then records)."""
    with _fake_torch():
        parts = {"sys_info": pickle.dumps({"protocol_version": protocol_version, "little_endian": True,
                                           "type_sizes": {"short": 2, "int": 4, "long": 8}}, protocol=2)}

        sent_classes: set = set()

        class TarPickler(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, type) and issubclass(obj, Module) and obj not in sent_classes:
                    sent_classes.add(obj)
                    return (obj, __file__, "class Net(Module):\n    pass\n")
                return "140245" if isinstance(obj, Storage) else None

        body = io.BytesIO()
        TarPickler(body, protocol=2).dump(net_module())
        parts["pickle"] = body.getvalue()
        parts["tensors"] = pickle.dumps(0, protocol=2)
        parts["storages"] = pickle.dumps(1, protocol=2) + pickle.dumps(("140245", "cpu", None), protocol=2) + struct.pack("<q", 2) + bytes(8)
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in members:
            info = tarfile.TarInfo(name)
            info.size = len(parts[name])
            tar.addfile(info, io.BytesIO(parts[name]))
    return path


def judge(capsys, path, toolkit):
    code, out, err = run_cli(capsys, "model", str(path), "--json", "--toolkit", toolkit)
    assert code != 2, err
    return code, {c["id"]: c for c in json.loads(out)["checks"]}


def _exit_2(capsys, path) -> str:
    code, _, err = run_cli(capsys, "model", str(path), "--toolkit", "rknn-toolkit==1.7.5")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    return err


# --- the real files -------------------------------------------------------------------------------

def _pickles(data: bytes) -> list:
    stream, starts = io.BytesIO(data), []
    for _ in range(5):
        starts.append(stream.tell())
        for _op in pickletools.genops(stream):
            pass
    return starts + [stream.tell()]


def test_stdlib_writer_matches_the_real_torch_bytes(tmp_path):
    real = (DATA / "state_dict.pth").read_bytes()
    starts = _pickles(real)
    keys = [arg for op, arg, _ in pickletools.genops(io.BytesIO(real[starts[4]:])) if op.name == "BINUNICODE"]
    payload, at, storages = real[starts[5]:], 0, {}
    for key in keys:  # the element counts and data real torch wrote, in key order
        count = struct.unpack_from("<q", payload, at)[0]
        storages[key] = payload[at + 8:at + 8 + 4 * count]
        at += 8 + 4 * count
    assert at == len(payload)
    shapes = {"conv.weight": (4, 3, 3, 3), "conv.bias": (4,), "fc.weight": (2, 4), "fc.bias": (2,)}
    written = collections.OrderedDict((name, Tensor(Storage(key, storages[key]), shape)) for (name, shape), key in zip(shapes.items(), keys))
    written._metadata = _metadata()
    assert legacy_save(written, tmp_path / "mine.pth").read_bytes() == real


@pytest.mark.parametrize("name,kind,classes,keys", [
    ("state_dict.pth", "state dict", [], ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]),
    ("state_dict_p4.pth", "state dict", [], ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]),
    ("module.pth", "module", ["__main__.Net", "torch.nn.modules.conv.Conv2d", "torch.nn.modules.linear.Linear"], []),
    ("checkpoint.pth.tar", "state dict", [], ["epoch", "state_dict"]),
])
def test_real_torch_files_are_read(name, kind, classes, keys):
    model = read_source_model(DATA / name)
    assert (model.format, model.torch_legacy, model.legacy_protocol, model.torchscript) == ("pytorch", "pickle", 1001, False)
    assert (model.pickle_kind, model.module_classes, model.pickle_keys) == (kind, classes, keys)
    assert model.sys_info == {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    assert "storage payloads skipped by seeking" in model.how and f"({(DATA / name).stat().st_size} bytes accounted for)" in model.how
    assert not model.renamed


def test_with_torch_itself_when_importable(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "m.pth"
    torch.save(torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3)), path, _use_new_zipfile_serialization=False)
    model = read_source_model(path)
    assert model.pickle_kind == "module" and "torch.nn.modules.container.Sequential" in model.module_classes


# --- verdicts for both lines ---------------------------------------------------------------------

@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.3", "rknn-toolkit==1.7.5",
                                     "rknn-toolkit2==1.6.0", "rknn-toolkit2==2.3.2", "rknn-toolkit2==2.5.0"])
@pytest.mark.parametrize("name", ["module.pth", "state_dict.pth", "checkpoint.pth.tar"])
def test_legacy_files_fail_with_the_trace_fix(capsys, toolkit, name):
    code, checks = judge(capsys, DATA / name, toolkit)
    check = checks["source.torch"]
    assert code == 1 and check["status"] == "fail", check["message"]
    assert ("§7.3.6" if toolkit.startswith("rknn-toolkit==") else "§2.3.6") in json.dumps(check, ensure_ascii=False)
    commands = [c["argv"][0] for c in check["fix"]["commands"]]
    assert f"torch.load({str(DATA / name)!r}, map_location='cpu')" in commands[0] and "torch.jit.trace" in commands[1]
    if name == "module.pth":
        assert "__main__.Net" in check["observed"] and "model = torch.load(" in commands[0]
    else:
        assert "state dict" in check["observed"] and "load_state_dict" in commands[0]
        assert ("['state_dict']" in commands[0]) == (name == "checkpoint.pth.tar")
    fmt = checks["source.torch_archive"]
    assert fmt["status"] == "ok" and "protocol version 1001" in fmt["observed"] and "pytorch/pytorch" in json.dumps(fmt)


def test_toolkit_without_load_pytorch_fails_before_the_format(capsys):
    _, checks = judge(capsys, DATA / "module.pth", "rknn-toolkit==1.2.0")
    assert checks["source.torch"]["status"] == "fail" and "source.torch_archive" not in checks


def test_tensors_only_or_unrecognised_content_is_unknown(capsys, tmp_path):
    _, checks = judge(capsys, legacy_save([Tensor(Storage("1", bytes(8)), (2,))], tmp_path / "t.pth"), "rknn-toolkit2==2.3.2")
    assert checks["source.torch"]["status"] == "unknown" and "tensors" in checks["source.torch"]["observed"]
    code, checks = judge(capsys, legacy_save({"lr": 0.1, "names": ["a", "b"]}, tmp_path / "cfg.pth"), "rknn-toolkit==1.7.5")
    check = checks["source.torch"]
    assert code == 3 and check["status"] == "unknown" and "neither an nn.Module nor a dict of tensors" in check["observed"]
    assert "object pickle's opcodes" in check["message"]


def test_wrong_protocol_version_fails_as_torch_load_would(capsys, tmp_path):
    _, checks = judge(capsys, legacy_save(state_dict(), tmp_path / "v.pth", version=1002), "rknn-toolkit==1.7.5")
    assert checks["source.torch_archive"]["status"] == "fail" and "Invalid protocol version" in checks["source.torch_archive"]["message"]


@pytest.mark.parametrize("protocol", [1, 2, 3, 4, 5])  # 0 cannot carry torch's tuple persistent ids
def test_every_pickle_protocol_is_recognised(tmp_path, protocol):
    model = read_source_model(legacy_save(state_dict(), tmp_path / "p.pt", protocol=protocol))
    assert (model.torch_legacy, model.pickle_kind, model.legacy_protocol) == ("pickle", "state dict", 1001)


def test_module_recognised_by_its_persistent_id(tmp_path):
    model = read_source_model(legacy_save(net_module(), tmp_path / "m.pt"))
    assert model.pickle_kind == "module" and model.module_classes == ["test_source_torch_legacy.Net"]


def test_renamed_file_is_said(capsys, tmp_path):
    path = legacy_save(state_dict(), tmp_path / "weights.onnx")
    model = read_source_model(path)
    assert model.torch_legacy == "pickle" and "named .onnx" in model.renamed and "pytorch" in model.renamed
    assert not read_source_model(legacy_save(state_dict(), tmp_path / "model_best.pth.tar")).renamed
    _, checks = judge(capsys, path, "rknn-toolkit2==2.3.2")
    assert "named .onnx" in checks["source.format"]["observed"]


# --- the tar format of torch <= 0.1.10 -------------------------------------------------------------

def test_tar_format_is_recognised_and_judged(capsys, tmp_path):
    model = read_source_model(legacy_tar(tmp_path / "old.pth"))
    assert (model.torch_legacy, model.legacy_protocol, model.pickle_kind) == ("tar", 1000, "module")
    assert model.module_classes == ["test_source_torch_legacy.Net"] and "tar archive" in model.summary()
    _, checks = judge(capsys, tmp_path / "old.pth", "rknn-toolkit==1.7.5")
    assert checks["source.torch"]["status"] == "fail" and "tar format" in checks["source.torch"]["observed"]
    assert checks["source.torch_archive"]["status"] == "ok" and "weights_only" in checks["source.torch_archive"]["message"]


def test_tar_missing_members_is_unknown(capsys, tmp_path):
    _, checks = judge(capsys, legacy_tar(tmp_path / "part.pth", members=("sys_info", "pickle")), "rknn-toolkit==1.7.5")
    assert checks["source.torch"]["status"] == "unknown" and "missing tensors, storages" in checks["source.torch"]["how"]


# --- hostile files: exit 2, one line ---------------------------------------------------------------

def test_truncated_anywhere_is_refused(capsys, tmp_path):
    data = (DATA / "state_dict.pth").read_bytes()
    for cut in (14, 100, 600, len(data) - 500, len(data) - 1):
        (tmp_path / "cut.pth").write_bytes(data[:cut])
        assert "legacy PyTorch file" in _exit_2(capsys, tmp_path / "cut.pth")


def test_storage_past_the_end_is_refused(capsys, tmp_path):
    data = bytearray((DATA / "state_dict.pth").read_bytes())
    starts = _pickles(bytes(data))
    struct.pack_into("<q", data, starts[5], 1 << 40)  # the first storage declares 2**40 elements
    (tmp_path / "big.pth").write_bytes(bytes(data))
    assert "declares 1099511627776 elements" in _exit_2(capsys, tmp_path / "big.pth")


def test_huge_opcode_stream_and_nesting_bomb_are_refused(capsys, tmp_path):
    head = pickle.dumps(MAGIC_NUMBER, protocol=2) + pickle.dumps(1001, protocol=2) + pickle.dumps({}, protocol=2)
    (tmp_path / "ops.pth").write_bytes(head + b"\x80\x02" + b"N0" * MAX_OPCODES + b"N.")  # NONE, POP, ... past the cap
    assert f"exceeds {MAX_OPCODES} opcodes" in _exit_2(capsys, tmp_path / "ops.pth")
    (tmp_path / "nest.pth").write_bytes(head + b"\x80\x02" + b"]" * 200_000 + b"a" * 199_999 + b".")  # lists in lists
    assert f"nests past {MAX_STACK} stack entries" in _exit_2(capsys, tmp_path / "nest.pth")
    (tmp_path / "marks.pth").write_bytes(head + b"\x80\x02" + b"(" * 200_000 + b"N.")
    assert f"nests past {MAX_STACK} stack entries" in _exit_2(capsys, tmp_path / "marks.pth")


def test_malformed_pickles_are_refused(capsys, tmp_path):
    head = pickle.dumps(MAGIC_NUMBER, protocol=2) + pickle.dumps(1001, protocol=2) + pickle.dumps({}, protocol=2)
    for body, words in ((b"\x80\x02h\x05.", "memo entry 5"), (b"\x80\x02a.", "pops below"), (b"\x80\x02NN.", "2 values"),
                        (b"\x80\x02\xff.", "not a readable pickle"), (b"\x80\x02X\xff\xff\xff\x7fab.", "not a readable pickle")):
        (tmp_path / "bad.pth").write_bytes(head + body + pickle.dumps([], protocol=2))
        assert words in _exit_2(capsys, tmp_path / "bad.pth")
    (tmp_path / "magic.pth").write_bytes(pickle.dumps(MAGIC_NUMBER, protocol=2)[:-1] + b"N.")
    assert "malformed" in _exit_2(capsys, tmp_path / "magic.pth") or "magic" in _exit_2(capsys, tmp_path / "magic.pth")


def test_hostile_tars_are_refused(capsys, tmp_path):
    data = bytearray(legacy_tar(tmp_path / "ok.pth").read_bytes())
    bad = bytearray(data)
    bad[130] ^= 0x01  # the first member's size: checksum no longer matches
    (tmp_path / "sum.pth").write_bytes(bytes(bad))
    assert "bad checksum" in _exit_2(capsys, tmp_path / "sum.pth")
    for cut, words in ((700, "without the end-of-archive blocks"), (1100, "cut short"), (1600, "runs past the end")):
        (tmp_path / "cut.pth").write_bytes(bytes(data[:cut]))  # inside: sys_info's padding, the pickle header, its data
        assert words in _exit_2(capsys, tmp_path / "cut.pth")


def test_fix_commands_are_argv_python_snippets(capsys, tmp_path):
    path = legacy_save(state_dict(), tmp_path / "it's here.pth")  # a quote in the path stays quoted by repr
    _, checks = judge(capsys, path, "rknn-toolkit2==2.3.2")
    first = checks["source.torch"]["fix"]["commands"][0]
    assert first["argv"] == [f"import torch; model = Net(); model.load_state_dict(torch.load({str(path)!r}, map_location='cpu'))"]
