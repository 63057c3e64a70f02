"""The Prometheus text exposition format, for node_exporter's textfile collector (fleets of boards
running `device --local`, CI runners with boards attached).

Each check is a state set (the pattern of node_exporter's systemd unit states): one series per
status, the check's own status 1 and the others 0, so a query like
`rknn_envcheck_check_status{status="fail"} == 1` finds every failing check across a fleet. Label
sets are unique: a check id that repeats within a subject gets an `index` label. Versions are
`…_info` series. Write it with `-o FILE` (atomic: the collector never reads half a file).
"""
from __future__ import annotations

import time

from rknn_envcheck import __version__
from rknn_envcheck.render.common import grouped, report_hostname
from rknn_envcheck.report import STATUSES
from rknn_envcheck.shellcmd import escape_unsafe

PREFIX = "rknn_envcheck"
# Device facts shown as version info series, and the host's.
_DEVICE_VERSIONS = ("rknn_server", "librknn_runtime", "npu_driver")


def _label_value(value) -> str:
    # Control characters (OSC 52, CR, ESC[2J) are shown escaped first: the file is read by people
    # with `cat` and `curl :9100/metrics` too, not only by the collector.
    text = escape_unsafe("" if value is None else str(value))
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs) -> str:
    return "{" + ",".join(f'{name}="{_label_value(value)}"' for name, value in pairs) + "}"


def _family(lines: list[str], name: str, kind: str, help_text: str) -> None:
    lines.append(f"# HELP {PREFIX}_{name} {help_text}")
    lines.append(f"# TYPE {PREFIX}_{name} {kind}")


def render_prometheus(report, strict: bool = False, now: float | None = None) -> str:
    host = report_hostname(report) or ""
    lines: list[str] = []
    _family(lines, "check_status", "gauge", "One rknn-envcheck check; state set: 1 for the check's status, 0 for the others.")
    for subject, _heading, checks in grouped(report):
        seen: dict[str, int] = {}
        for check in checks:
            index = seen.get(check.id, 0)
            seen[check.id] = index + 1
            base = [("host", host), ("subject", subject), ("check", check.id)]
            if index or sum(1 for c in checks if c.id == check.id) > 1:
                base.append(("index", index))
            for status in STATUSES:
                lines.append(f"{PREFIX}_check_status{_labels(base + [('status', status)])} {1 if check.status == status else 0}")
    counts = report.counts()
    _family(lines, "checks", "gauge", "Number of checks per status in the report.")
    for status in STATUSES:
        lines.append(f"{PREFIX}_checks{_labels([('host', host), ('status', status)])} {counts[status]}")
    _family(lines, "exit_code", "gauge", "The exit code rknn-envcheck returned for this report (0 ok, 1 fail, 3 unknown).")
    lines.append(f"{PREFIX}_exit_code{_labels([('host', host), ('command', report.command)])} {report.exit_code(strict)}")
    _family(lines, "info", "gauge", "rknn-envcheck and matrix versions that produced the report.")
    lines.append(f"{PREFIX}_info{_labels([('host', host), ('version', __version__), ('matrix_version', report.matrix_version), ('matrix_date', report.matrix_date)])} 1")
    _family(lines, "component_info", "gauge", "Versions observed: the host's toolkit and Python, each board's rknn_server, runtime and NPU driver.")
    for labels in _component_labels(report, host):
        lines.append(f"{PREFIX}_component_info{_labels(labels)} 1")
    _family(lines, "report_timestamp_seconds", "gauge", "When the report was made (Unix time).")
    lines.append(f"{PREFIX}_report_timestamp_seconds{_labels([('host', host)])} {now if now is not None else time.time():.3f}")
    return "\n".join(lines) + "\n"


def _component_labels(report, host: str):
    facts = report.facts or {}
    host_facts = facts.get("host") or {}
    python = (host_facts.get("python") or {}) if isinstance(host_facts, dict) else {}
    if isinstance(python, dict) and python.get("version"):
        yield [("host", host), ("subject", "host"), ("component", "python"), ("version", python["version"])]
    packages = host_facts.get("packages") if isinstance(host_facts, dict) else None
    if isinstance(packages, dict):
        for name in sorted(p for p in packages if isinstance(p, str) and p.startswith("rknn-toolkit")):
            yield [("host", host), ("subject", "host"), ("component", name), ("version", packages[name])]
    for device in facts.get("devices") or []:
        if not isinstance(device, dict):
            continue
        subject = f"device:{device.get('serial', '?')}"
        for component in _DEVICE_VERSIONS:
            if device.get(component):
                yield [("host", host), ("subject", subject), ("component", component), ("version", device[component]),
                       ("chip", device.get("chip") or "")]
