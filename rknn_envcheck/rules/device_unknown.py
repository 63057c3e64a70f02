"""Device rows that cannot judge: a version in no known shape, or a toolkit release the matrix
does not list. Both are `unknown` with what the vendor's rule wants and the command that shows
the fact (split from rules/device.py). Pure."""
from __future__ import annotations

from rknn_envcheck.fixplan import on_board_script
from rknn_envcheck.report import UNKNOWN, Check, Fix
from rknn_envcheck.rules.device_common import QS_CONSISTENT, TS_CONSISTENT, _raw
from rknn_envcheck.rules.toolkit import LINE_OF
from rknn_envcheck.shellcmd import PYTHON, Command

_FIELD_OF = {"device.rknn_server": "rknn_server", "device.runtime": "librknn_runtime", "device.driver": "npu_driver"}
_READ_AGAIN = {"rknn_server": "strings /usr/bin/rknn_server | grep -E 'build[:@]|version'",
               "librknn_runtime": "strings /usr/lib/librknnrt.so /usr/lib/librknn_runtime.so 2>/dev/null | grep -E 'build[:@]|version'",
               "npu_driver": "cat /sys/kernel/debug/rknpu/version 2>/dev/null; dmesg | grep -i -E 'galcore|rknpu'"}
CHIPS_SOURCE = "AR README.md (supported platforms); TK README.md (supported platforms)"


def unreadable(device: dict, check_id: str, title: str, component: str, value: str, how: str, expected: str, source: str, field: str) -> Check:
    """A version string in no shape this tool knows: unknown, with what the vendor's rule wants
    and the board command that shows the version line to read by eye."""
    return Check(check_id, title, UNKNOWN, component=component, observed=value, how=how, expected=expected, source=source,
                 message=f"the {component} version {value!r} is in a format this tool does not know; cannot compare",
                 evidence=_raw(device, field),
                 fix=Fix(f"read the {component} version line on the board and compare it by hand (or report the format to rknn-envcheck)",
                         [on_board_script(device, _READ_AGAIN[field])]))


def not_listed(device: dict, chip, host_toolkit, matrix, component: str, value: str, how: str, title: str, check_id: str, evidence_field: str) -> Check:
    """The board's version against a toolkit release the matrix does not list: unknown, never ok
    (what the release needs is not known), with what would observe it — the toolkit itself."""
    package, version = host_toolkit
    target = str((chip or {}).get("name") or device.get("chip") or "rk3588").lower()
    serial = str(device.get("serial") or "")
    connect = (f"from rknn.api import RKNN; rknn = RKNN(); rknn.load_rknn({'model.rknn'!r}); "
               f"print(rknn.init_runtime(target={target!r}, device_id={serial!r})); print(rknn.get_sdk_version())")
    return Check(check_id, title, UNKNOWN, component=component, observed=value, how=how,
                 expected=f"what {package} {version} needs of {component} (not in matrix {matrix.version})",
                 source=QS_CONSISTENT if LINE_OF[package] == "rknn-toolkit2" else TS_CONSISTENT, evidence=_raw(device, evidence_field),
                 message=f"{package} {version} is not a release in matrix {matrix.version} ({matrix.date}): whether {component} {value} fits it is unknown",
                 fix=Fix(f"update rknn-envcheck (or pass --matrix DIR with a matrix that lists {package} {version}); until then the toolkit "
                         "itself is the judge: connect it to the board with any model it built (init_runtime prints the rknn_server and "
                         "runtime versions and refuses a server it does not accept)",
                         [Command([connect], shell=PYTHON, note=f"in the Python that has {package} {version}, with a .rknn model it built")]))
