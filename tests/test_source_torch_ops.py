"""TorchScript operators: the archive's code/*.py members (the module source torch's python_print
writes; members and text below follow torch.jit.trace output of torch 1.10-2.x, e.g.
`input0 = torch._convolution(input, weight, bias, [1, 1], ...)` in code/__torch__/torch/nn/modules/conv.py)
are scanned as text and compared with each release's PyTorch list."""
from __future__ import annotations

import json
import pickle
import zipfile

import pytest

from core_helpers import run_cli
from rknn_envcheck.model import zip_reader
from rknn_envcheck.model.source import read_source_model

CONV = '''class Conv2d(Module):
  __parameters__ = ["weight", "bias", ]
  __buffers__ = []
  weight : Tensor
  bias : Tensor
  training : bool
  _is_full_backward_hook : Optional[bool]
  def forward(self: __torch__.torch.nn.modules.conv.Conv2d,
    input: Tensor) -> Tensor:
    bias = self.bias
    weight = self.weight
    input0 = torch._convolution(input, weight, bias, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, False, False, True, True)
    return input0
'''


def net(extra: str = "") -> str:
    return f'''class Net(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  _is_full_backward_hook : Optional[bool]
  conv : __torch__.torch.nn.modules.conv.Conv2d
  def forward(self: __torch__.Net,
    x: Tensor) -> Tensor:
    conv = self.conv
    input = torch.relu_((conv).forward(x, ))
    x0 = torch.max_pool2d(input, [3, 3], [2, 2], [1, 1], [1, 1])
    x1 = torch.flatten(torch.cat([x0, x0], 1), 1){extra}
    return x1
'''


def write_script(path, code: str, more: dict | None = None):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("net/version", "3\n")
        out.writestr("net/data.pkl", pickle.dumps({"training": False}, protocol=2))
        out.writestr("net/constants.pkl", pickle.dumps((), protocol=2))
        out.writestr("net/code/__torch__.py", code)
        out.writestr("net/code/__torch__/torch/nn/modules/conv.py", CONV)
        for name, text in (more or {}).items():
            out.writestr(name, text)
    return path


def judge(capsys, path, toolkit):
    code, out, err = run_cli(capsys, "model", str(path), "--toolkit", toolkit, "--json")
    assert code in (0, 1, 3), err
    return {c["id"]: c for c in json.loads(out)["checks"]}


def test_reader_collects_aten_and_namespaced_calls_not_classes_or_prim(tmp_path):
    extra = "\n    _0 = ops.prim.NumToTensor(torch.size(x1, 0))\n    _1 = ops.quantized.add(x1, x1, 0.5, 0)\n    _2 = torch.__isnot__(x1, None)"
    model = read_source_model(write_script(tmp_path / "m.pt", net(extra)))
    assert model.torchscript and model.code_scan_complete
    assert model.operators == {"aten::_convolution": 1, "aten::relu_": 1, "aten::max_pool2d": 1, "aten::flatten": 1, "aten::cat": 1,
                               "aten::size": 1, "quantized::add": 1}
    assert "2 of 2 code/*.py members" in model.how


def test_scan_is_capped_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(zip_reader, "MAX_CODE_MEMBERS", 1)
    model = read_source_model(write_script(tmp_path / "m.pt", net()))
    assert model.code_scan_complete is False and "capped" in model.how


@pytest.mark.parametrize("toolkit", ["rknn-toolkit==1.6.0", "rknn-toolkit==1.7.1", "rknn-toolkit2==0.6.0", "rknn-toolkit2==1.4.0",
                                     "rknn-toolkit2==2.3.2"])
def test_listed_operators_pass_and_an_unlisted_one_is_named(capsys, tmp_path, toolkit):
    check = judge(capsys, write_script(tmp_path / "ok.pt", net()), toolkit)["source.torch_ops"]
    assert check["status"] == "ok" and check["observed"] == "5 operators" and "OP_Support" in check["source"]
    check = judge(capsys, write_script(tmp_path / "einsum.pt", net("\n    x2 = torch.einsum(\"ij->ji\", [x1])")), toolkit)["source.torch_ops"]
    # toolkit2 >= 1.4.0 tables mark aten::einsum "Not Supported"; older tables and v1 do not list it
    expected = "fail" if toolkit in ("rknn-toolkit2==1.4.0", "rknn-toolkit2==2.3.2") else "warn"
    assert check["status"] == expected and check["observed"] == "aten::einsum"


def test_toolkit1_1_7_5_sheet_compares_the_names_spelled_alike(capsys, tmp_path):
    check = judge(capsys, write_script(tmp_path / "ok.pt", net()), "rknn-toolkit==1.7.5")["source.torch_ops"]
    # relu/max_pool2d/flatten/cat are sheet rows; aten::_convolution is "convolution 2D" in words: unknown, never ok
    assert check["status"] == "unknown" and check["observed"] == "aten::_convolution" and "RKNN_OP_Support_And_Limit.xlsx" in check["source"]
    check = judge(capsys, write_script(tmp_path / "topk.pt", net("\n    x2 = torch.topk(x1, 5)")), "rknn-toolkit==1.7.5")["source.torch_ops"]
    assert check["status"] == "fail" and check["observed"] == "aten::topk"


def test_toolkit1_1_7_3_has_no_pytorch_list_and_says_what_was_read(capsys, tmp_path):
    check = judge(capsys, write_script(tmp_path / "ok.pt", net()), "rknn-toolkit==1.7.3")["source.torch_ops"]
    assert check["status"] == "unknown" and "RKNN_OP_Support_V1.7.3.md" in check["message"] and "holds no .xlsx" in check["message"]
    assert "rknn.load_pytorch(model=" in check["fix"]["commands"][0]["argv"][0]


def test_zip_bomb_in_code_is_read_only_up_to_the_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(zip_reader, "MAX_CODE_BYTES", 64 * 1024)
    bomb = "    x = torch.relu(x)\n" * 200_000  # ~4.4 MB inflated from a few KB
    model = read_source_model(write_script(tmp_path / "bomb.pt", net(), {"net/code/__torch__/big.py": bomb}))
    assert model.code_scan_complete is False and model.operators["aten::relu"] < 4000
