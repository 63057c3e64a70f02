"""`rknn-envcheck model FILE…` for source models: judge each against the converting toolkit.

The toolkit is `--toolkit V`, else the one in the `--facts` file's host, else the one installed
in `--python PATH` (default: this Python), gathered by the same host source as `host`.
"""
from __future__ import annotations


def _toolkit(args, matrix, facts: dict | None):
    """((package, version) or None, how it was found, the judged host's facts: the packages beside
    the toolkit and the machine (os/arch); with --toolkit and neither --facts nor --python, only
    the os/arch of the machine running rknn-envcheck)."""
    from rknn_envcheck.rules.toolkit import installed_toolkit, parse_toolkit_option

    if args.toolkit:
        package, version = parse_toolkit_option(args.toolkit, matrix)
        host = (facts or {}).get("host") or {}
        if not host and getattr(args, "python", None):  # --toolkit with --python: that Python's machine and packages
            host = _gather_host(args, matrix)[0]
        elif not host:
            host = _this_machine()
        return (package, version), f"--toolkit {args.toolkit}", host
    if facts is not None and facts.get("host"):
        host = facts["host"]
        where = f"the host in --facts {args.facts}"
    else:
        host, where = _gather_host(args, matrix)
    found = installed_toolkit(host)
    return (tuple(found) if found else None), f"installed toolkit in {where}", host


def _this_machine() -> dict:
    """`--toolkit V` alone: the machine running rknn-envcheck is taken as the converting one (as
    `--python` defaults to this Python), observed the way the host probe does it — no packages,
    no subprocess. `--facts F` / `--python PATH` judge another machine or environment."""
    from rknn_envcheck.probes.host_probe import os_facts

    try:
        system, arch = os_facts()
    except OSError:
        return {}
    where = "platform.machine() (os.uname().machine) of the machine running rknn-envcheck, taken as the converting one (--facts F judges another)"
    return {"os": system, "arch": arch, "how": {"arch": where, "os": "sys.platform of the machine running rknn-envcheck"}}


def _gather_host(args, matrix) -> tuple[dict, str]:
    """The host facts of --python PATH (default: this Python), and where they were read."""
    from rknn_envcheck.pipeline import HostSource, gather

    gathered, _ = gather([HostSource(getattr(args, "python", None), getattr(args, "timeout", 5.0) * 2, matrix)])
    judged = gathered.get("judged_environment") or {}
    where = f"the Python {judged.get('python') or 'running rknn-envcheck'} ({judged.get('reason') or 'this tool'}; dist-info metadata)"
    return gathered.get("host") or {}, where


def run_sources(args, models: list, pick_board) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.report import Report

    matrix = load_matrix_for(args)
    # Board sources (and the pipeline module) only when a board is asked for: startup time counts.
    # A facts file saved by `host --save-facts` has no board: its host alone judges source models.
    device, facts = pick_board(args, matrix, need_board=False) if (args.facts or args.device or args.emulate) else (None, None)
    report = Report(command="model", matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
    add_source_models(report, args, models, matrix, device, facts)
    return emit(report, args)


def add_source_models(report, args, models: list, matrix, device: dict | None, facts: dict | None) -> None:
    """One subject per source model, judged against the toolkit found once for all of them."""
    from rknn_envcheck.report import run_guarded
    from rknn_envcheck.rules.source_model import judge_source_model

    toolkit, how, host = _toolkit(args, matrix, facts if args.facts else None)
    packages = dict(host.get("packages") or {})
    for model in models:
        subject = f"model:{model.path}"
        heading = f"Model: {model.path} — {model.summary()}"
        if toolkit:
            heading += f" · converted with {toolkit[0]} {toolkit[1]} ({how})"
        if device is not None:
            heading += f" · board {device.get('serial') or '?'} ({device.get('chip') or 'chip unknown'})"
        report.subjects[subject] = heading
        report.extend(run_guarded("model", "Source model preflight", subject,
                                  lambda model=model: judge_source_model(model, toolkit, how, packages, device, matrix, host=host)))
