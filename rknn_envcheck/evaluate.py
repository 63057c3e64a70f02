"""Facts → Report: the one place that decides which rules run on which part of the facts.

`check --facts`, `device`, the doctor and `explain` all end here, so a saved facts file judged
anywhere gives exactly the verdict the live run gave.
"""
from __future__ import annotations

from rknn_envcheck.inputlimits import cut
from rknn_envcheck.report import Report
from rknn_envcheck.rules.toolkit import installed_toolkit, parse_toolkit_option
from rknn_envcheck.versions import try_parse


def host_heading(host: dict) -> str:
    python = host.get("python") or {}
    bits = [x for x in (f"Python {python['version']}" if python.get("version") else None, host.get("os"), host.get("arch")) if x]
    exe = python.get("executable")
    return f"Host ({', '.join(bits)}{'; ' + exe if exe else ''})" if bits else "Host"


def judged_note(facts: dict) -> str:
    """Which Python was judged and why (facts["judged_environment"], so a replay says the same)."""
    judged = facts.get("judged_environment")
    if not isinstance(judged, dict) or not judged.get("python"):
        return ""
    return f"judged {cut(str(judged['python']), 400)}: {cut(str(judged.get('reason') or ''), 400)}"


def elsewhere_note(facts: dict) -> str:
    """One line when another active or PATH environment than the judged one holds a toolkit
    (facts["other_pythons"], gathered by the doctor): "why does `import rknn` fail?" — it is there."""
    judged = facts.get("judged_environment") if isinstance(facts.get("judged_environment"), dict) else {}
    others = [env for env in facts.get("other_pythons") or []
              if isinstance(env, dict) and env.get("holds") and env.get("prefix") != judged.get("prefix")]
    if not others:
        return ""
    where = "; ".join(f"{cut(str(env.get('python')), 200)} ({env.get('where')}: "
                      f"{', '.join(f'{n} {v}' for n, v in sorted(env['holds'].items()))})" for env in others)
    return f"another Python on this machine has an RKNN toolkit: {where}; judge every one with `rknn-envcheck host --all-pythons`"


JUDGED_FOR_FIELD = "the facts' 'judged_for' field"


def host_toolkit(facts: dict, matrix, toolkit: str | None, option: str = "--toolkit"):
    """`option`: where `toolkit` came from, for errors (--toolkit, or JUDGED_FOR_FIELD on replay)."""
    if toolkit is not None:
        return parse_toolkit_option(toolkit, matrix, option)
    return installed_toolkit(facts.get("host") or {})


def remember_toolkit(facts: dict, toolkit: str | None) -> str | None:
    """`--toolkit` is part of what was judged: saved facts carry it (`judged_for`) so that
    `check --facts` replays the same verdict; an explicit --toolkit on replay still wins."""
    if toolkit is not None:
        facts["judged_for"] = toolkit
        return toolkit
    return facts.get("judged_for")


def evaluate(facts: dict, matrix, command: str, toolkit: str | None = None, host: bool = True, devices: bool = True) -> Report:
    from rknn_envcheck.fixplan import board_toolkit, plan_for
    from rknn_envcheck.rules.device import heading_of, judge_device, subject_of

    option = "--toolkit" if toolkit is not None else JUDGED_FOR_FIELD
    toolkit = remember_toolkit(facts, toolkit)
    report = Report(command=command, matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
    host_facts = facts.get("host") or {}
    target = host_toolkit(facts, matrix, toolkit, option)
    if target is not None and try_parse(target[1]) is None:
        # The host row says the version does not parse (unknown); boards are not judged against it.
        report.notes.append(f"the host's {target[0]} version {cut(repr(target[1]))} is not a version: boards are checked for internal consistency only")
        target = None
    if host and host_facts:
        report.subjects["host"] = host_heading(host_facts)
        for note in (judged_note(facts), elsewhere_note(facts)):
            if note:
                report.notes.append(note)
        from rknn_envcheck.rules.host import judge_host  # imported only when a host is judged (~15 ms)

        report.extend(judge_host(facts, matrix, toolkit))
    if devices:
        for device in facts.get("devices") or []:
            report.subjects[subject_of(device)] = heading_of(device)
            # A board judged on itself (lite users) compares against its own lite package.
            judged_for = board_toolkit(device, target, bool(toolkit))
            plan = plan_for(facts, device, judged_for, matrix)  # the board's one install plan for this report
            report.extend(judge_device(device, judged_for, matrix, facts, plan))
            if device.get("state", "device") == "device" and not device.get("probe_error"):
                report.plans[subject_of(device)] = plan.as_dict()
    if devices and (host_facts or facts.get("adb") or facts.get("ntb")):
        from rknn_envcheck.rules.connection import judge_connection

        # The adb / NTB listing rows need only the listing; the rest needs the host judged too.
        connection = judge_connection(facts, matrix, target, host_judged=host and bool(host_facts))
        if connection:
            report.subjects.setdefault("connection", "Connection (adb, USB, NTB)")
            report.extend(connection)
    return report
