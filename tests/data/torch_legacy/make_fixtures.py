"""Write the real legacy torch.save files tests/test_source_torch_legacy.py reads (run with a real torch):

    python -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch
    /tmp/torchvenv/bin/python tests/data/torch_legacy/make_fixtures.py tests/data/torch_legacy

Written by torch 2.13.0+cpu (Python 3.11) with _use_new_zipfile_serialization=False, i.e. torch/serialization.py
_legacy_save, the same format torch < 1.6 wrote by default. The weights are torch.manual_seed(0) values.
"""
import os
import sys

import torch


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


def main(out: str) -> None:
    torch.manual_seed(0)
    net = Net()
    legacy = dict(_use_new_zipfile_serialization=False)
    torch.save(net.state_dict(), os.path.join(out, "state_dict.pth"), **legacy)
    torch.save(net.state_dict(), os.path.join(out, "state_dict_p4.pth"), pickle_protocol=4, **legacy)
    torch.save(net, os.path.join(out, "module.pth"), **legacy)
    torch.save({"epoch": 3, "state_dict": net.state_dict()}, os.path.join(out, "checkpoint.pth.tar"), **legacy)
    with open(os.path.join(out, "VERSION"), "w") as handle:
        handle.write(f"torch {torch.__version__} (git_version {torch.version.git_version}), Python {sys.version.split()[0]}\n")


if __name__ == "__main__":
    main(sys.argv[1])
