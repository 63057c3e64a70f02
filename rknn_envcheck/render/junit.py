"""JUnit XML for CI servers (Jenkins, GitLab, GitHub Actions): the engine a lab already runs.

One testsuite per subject (host, connection, usb, udev, each board, model, log), one testcase per
check. fail → <failure>, crashed → <error>, unknown and skipped → <skipped> with the reason, warn →
passed with the warning in <system-out> (a <failure> under --strict). The shape follows the
Jenkins xUnit plugin's junit-10.xsd, which the tests validate against.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from rknn_envcheck import __version__
from rknn_envcheck.render.common import PROMPTS, cited, command_language, command_lines, describe, grouped, per, report_hostname
from rknn_envcheck.report import CRASHED, FAIL, SKIPPED, UNKNOWN, WARN
from rknn_envcheck.shellcmd import escape_unsafe


def _xml_text(value) -> str:
    """XML 1.0 cannot carry most control characters at all: show them escaped, keep newlines."""
    return "\n".join(escape_unsafe(line) for line in str(value).split("\n"))


def _details(check, host_shell: str) -> str:
    lines = []
    if check.message:
        lines.append(check.message)
    if check.observed is not None or check.how:
        lines.append(f"observed: {describe(check.observed)}" + (f" (read from {check.how})" if check.how else ""))
    if check.expected is not None:
        lines.append(f"expected: {describe(check.expected)}" + (f" ({per(check.source, cited(check.source))})" if check.source else ""))
    elif check.source:
        lines.append(f"source: {cited(check.source)}")
    lines += [f"evidence: {item}" for item in check.evidence[:20]]
    if check.fix:
        lines.append(f"fix: {check.fix.text}")
        lines += [f"  {PROMPTS[command_language(c, host_shell)]} {line}" for c in check.fix.commands for line in command_lines(c, host_shell)]
    return _xml_text("\n".join(lines))


def _suite_name(subject: str) -> str:
    return _xml_text(subject)


def render_junit(report, strict: bool = False) -> str:
    host_shell = report.host_shell
    hostname = _xml_text(report_hostname(report) or "")
    timestamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", name=f"rknn-envcheck {report.command}")
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for index, (subject, heading, checks) in enumerate(grouped(report)):
        failures = sum(1 for c in checks if c.status == FAIL or (strict and c.status == WARN))
        errors = sum(1 for c in checks if c.status == CRASHED)
        skipped = sum(1 for c in checks if c.status in (UNKNOWN, SKIPPED))
        seconds = sum(c.duration_ms for c in checks) / 1000.0
        suite = ET.SubElement(root, "testsuite", name=_suite_name(subject), tests=str(len(checks)), failures=str(failures),
                              errors=str(errors), skipped=str(skipped), time=f"{seconds:.3f}", timestamp=timestamp,
                              id=str(index), package="rknn-envcheck")
        if hostname:
            suite.set("hostname", hostname)
        properties = ET.SubElement(suite, "properties")
        for name, value in (("heading", heading), ("matrix_version", report.matrix_version), ("matrix_date", report.matrix_date),
                            ("rknn_envcheck_version", __version__)):
            ET.SubElement(properties, "property", name=name, value=_xml_text(value or ""))
        for check in checks:
            case = ET.SubElement(suite, "testcase", name=_xml_text(f"{check.id}: {check.title}"),
                                 classname=_xml_text(f"rknn_envcheck.{subject}"), time=f"{check.duration_ms / 1000.0:.3f}")
            message = _xml_text(check.message or check.title)
            details = _details(check, host_shell)
            if check.status == FAIL or (strict and check.status == WARN):
                element = ET.SubElement(case, "failure", type=check.status, message=message)
                element.text = details
            elif check.status == CRASHED:
                element = ET.SubElement(case, "error", type="crashed", message=message)
                element.text = details
            elif check.status in (UNKNOWN, SKIPPED):
                element = ET.SubElement(case, "skipped", type=check.status, message=message)
                element.text = details
            elif check.status == WARN:
                ET.SubElement(case, "system-out").text = "warning: " + details
        totals["tests"] += len(checks)
        totals["failures"] += failures
        totals["errors"] += errors
        totals["time"] += seconds
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", str(totals["errors"]))
    root.set("time", f"{totals['time']:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
