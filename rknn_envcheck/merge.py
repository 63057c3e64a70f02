"""Many facts files and JSON reports → one fleet table: which board runs which stack, which checks
fail where. Boards are keyed by (host name, serial), so the same serial on two hosts (two labs'
RK3588s flashed from one image, two emulators on one port) stays two rows.

Pure: documents in (already read and validated), a merged view out; render/merge.py shows it.
"""
from __future__ import annotations

from rknn_envcheck.records import dataclass, field

from rknn_envcheck.report import FAIL, WARN

FACTS_PREFIX = "rknn-envcheck/facts/"
REPORT_PREFIX = "rknn-envcheck/report/"
MERGE_SCHEMA = "rknn-envcheck/merge/1"


@dataclass
class BoardRow:
    host: str
    serial: str
    chip: str = ""
    rknn_server: str = ""
    runtime: str = ""
    driver: str = ""
    host_toolkit: str = ""
    verdict: str = "NOT CHECKED"
    failing: list[str] = field(default_factory=list)
    warning: list[str] = field(default_factory=list)


@dataclass
class HostRow:
    host: str
    source: str
    python: str = ""
    toolkit: str = ""
    verdict: str = "NOT CHECKED"
    failing: list[str] = field(default_factory=list)
    warning: list[str] = field(default_factory=list)


@dataclass
class Fleet:
    sources: list[str] = field(default_factory=list)
    hosts: list[HostRow] = field(default_factory=list)
    boards: list[BoardRow] = field(default_factory=list)
    # check id -> ["host / subject", ...] where it failed
    failing_where: dict[str, list[str]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        from rknn_envcheck.records import asdict

        return {"schema": MERGE_SCHEMA, "sources": list(self.sources), "hosts": [asdict(h) for h in self.hosts],
                "boards": [asdict(b) for b in self.boards], "failing_where": dict(self.failing_where)}

    def exit_code(self) -> int:
        if any(h.failing for h in self.hosts) or any(b.failing for b in self.boards):
            return 1
        return 0


def _toolkit_of(host_facts: dict) -> str:
    packages = host_facts.get("packages") if isinstance(host_facts, dict) else None
    if not isinstance(packages, dict):
        return ""
    found = [f"{name} {packages[name]}" for name in sorted(packages) if isinstance(name, str) and name.startswith("rknn-toolkit")]
    return ", ".join(found)


def _verdict(statuses: set) -> str:
    if FAIL in statuses:
        return "FAIL"
    if WARN in statuses:
        return "WARN"
    if statuses & {"unknown", "crashed"}:
        return "UNKNOWN"
    return "OK" if statuses - {"skipped"} else "NOT CHECKED"


def merge_documents(documents: list[tuple[str, dict, list[dict]]]) -> Fleet:
    """documents: (source name, facts dict, check dicts) — a facts file judged here, or a report's
    own checks and facts."""
    fleet = Fleet()
    for source, facts, checks in documents:
        fleet.sources.append(source)
        host_name = facts.get("hostname") if isinstance(facts.get("hostname"), str) and facts.get("hostname") else f"({source})"
        host_facts = facts.get("host") if isinstance(facts.get("host"), dict) else {}
        by_subject: dict[str, list[dict]] = {}
        for check in checks:
            by_subject.setdefault(str(check.get("subject", "host")), []).append(check)
        board_subjects = set()
        for device in facts.get("devices") or []:
            if not isinstance(device, dict):
                continue
            serial = str(device.get("serial", "?"))
            subject = f"device:{serial}"
            board_subjects.add(subject)
            own = by_subject.get(subject, [])
            fleet.boards.append(BoardRow(
                host=host_name, serial=serial, chip=str(device.get("chip") or ""),
                rknn_server=str(device.get("rknn_server") or ""), runtime=str(device.get("librknn_runtime") or ""),
                driver=str(device.get("npu_driver") or ""), host_toolkit=_toolkit_of(host_facts),
                verdict=_verdict({c.get("status") for c in own}),
                failing=[str(c.get("id")) for c in own if c.get("status") == FAIL],
                warning=[str(c.get("id")) for c in own if c.get("status") == WARN]))
        rest = [c for subject, items in by_subject.items() if subject not in board_subjects for c in items]
        python = host_facts.get("python") if isinstance(host_facts.get("python"), dict) else {}
        fleet.hosts.append(HostRow(
            host=host_name, source=source, python=str(python.get("version") or ""), toolkit=_toolkit_of(host_facts),
            verdict=_verdict({c.get("status") for c in rest}),
            failing=[str(c.get("id")) for c in rest if c.get("status") == FAIL],
            warning=[str(c.get("id")) for c in rest if c.get("status") == WARN]))
        for check in checks:
            if check.get("status") == FAIL:
                fleet.failing_where.setdefault(str(check.get("id")), []).append(f"{host_name} / {check.get('subject', 'host')}")
    return fleet
