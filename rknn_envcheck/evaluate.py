"""Facts → Report: the one place that decides which rules run on which part of the facts.

`check --facts`, `device`, the doctor and `explain` all end here, so a saved facts file judged
anywhere gives exactly the verdict the live run gave.
"""
from __future__ import annotations

from rknn_envcheck.report import Report
from rknn_envcheck.rules.toolkit import installed_toolkit, parse_toolkit_option


def host_heading(host: dict) -> str:
    python = host.get("python") or {}
    bits = [x for x in (f"Python {python['version']}" if python.get("version") else None, host.get("os"), host.get("arch")) if x]
    exe = python.get("executable")
    return f"Host ({', '.join(bits)}{'; ' + exe if exe else ''})" if bits else "Host"


def host_toolkit(facts: dict, matrix, toolkit: str | None):
    if toolkit is not None:
        return parse_toolkit_option(toolkit, matrix)
    return installed_toolkit(facts.get("host") or {})


def remember_toolkit(facts: dict, toolkit: str | None) -> str | None:
    """`--toolkit` is part of what was judged: saved facts carry it (`judged_for`) so that
    `check --facts` replays the same verdict; an explicit --toolkit on replay still wins."""
    if toolkit is not None:
        facts["judged_for"] = toolkit
        return toolkit
    return facts.get("judged_for")


def evaluate(facts: dict, matrix, command: str, toolkit: str | None = None, host: bool = True, devices: bool = True) -> Report:
    from rknn_envcheck.rules.device import heading_of, judge_device, subject_of
    from rknn_envcheck.rules.host import judge_host

    toolkit = remember_toolkit(facts, toolkit)
    report = Report(command=command, matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
    host_facts = facts.get("host") or {}
    target = host_toolkit(facts, matrix, toolkit)
    if host and host_facts:
        report.subjects["host"] = host_heading(host_facts)
        report.extend(judge_host(facts, matrix, toolkit))
    if devices:
        for device in facts.get("devices") or []:
            report.subjects[subject_of(device)] = heading_of(device)
            # A board judged on itself (lite users) compares against its own lite package.
            board_toolkit = target
            if device.get("transport") == "local" and not toolkit:
                lite = [(p, v) for p, v in ((device.get("python") or {}).get("packages") or {}).items() if p.startswith("rknn-toolkit")]
                board_toolkit = lite[0] if lite else target
            report.extend(judge_device(device, board_toolkit, matrix))
    if host and devices and host_facts:
        from rknn_envcheck.rules.connection import judge_connection

        connection = judge_connection(facts, matrix, target)
        if connection:
            report.subjects.setdefault("connection", "Connection (adb, USB, NTB)")
            report.extend(connection)
    return report
