"""`rknn-envcheck model FILE…` for source models: judge each against the converting toolkit.

The toolkit is `--toolkit V`, else the one in the `--facts` file's host, else the one installed
in `--python PATH` (default: this Python), gathered by the same host source as `host`.
"""
from __future__ import annotations


def _toolkit(args, matrix, facts: dict | None):
    """((package, version) or None, how it was found, the packages beside it)."""
    from rknn_envcheck.rules.toolkit import installed_toolkit, parse_toolkit_option

    if args.toolkit:
        package, version = parse_toolkit_option(args.toolkit, matrix)
        host = (facts or {}).get("host") or {}
        return (package, version), f"--toolkit {args.toolkit}", dict(host.get("packages") or {})
    if facts is not None and facts.get("host"):
        host = facts["host"]
        where = f"the host in --facts {args.facts}"
    else:
        from rknn_envcheck.pipeline import HostSource, gather

        gathered, _ = gather([HostSource(getattr(args, "python", None), getattr(args, "timeout", 5.0) * 2, matrix)])
        host = gathered.get("host") or {}
        judged = gathered.get("judged_environment") or {}
        where = f"the Python {judged.get('python') or 'running rknn-envcheck'} ({judged.get('reason') or 'this tool'}; dist-info metadata)"
    found = installed_toolkit(host)
    return (tuple(found) if found else None), f"installed toolkit in {where}", dict(host.get("packages") or {})


def run_sources(args, models: list, pick_board) -> int:
    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.report import Report

    matrix = load_matrix_for(args)
    # Board sources (and the pipeline module) only when a board is asked for: startup time counts.
    device, facts = pick_board(args, matrix) if (args.facts or args.device or args.emulate) else (None, None)
    report = Report(command="model", matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
    add_source_models(report, args, models, matrix, device, facts)
    return emit(report, args)


def add_source_models(report, args, models: list, matrix, device: dict | None, facts: dict | None) -> None:
    """One subject per source model, judged against the toolkit found once for all of them."""
    from rknn_envcheck.report import run_guarded
    from rknn_envcheck.rules.source_model import judge_source_model

    toolkit, how, packages = _toolkit(args, matrix, facts if args.facts else None)
    for model in models:
        subject = f"model:{model.path}"
        heading = f"Model: {model.path} — {model.summary()}"
        if toolkit:
            heading += f" · converted with {toolkit[0]} {toolkit[1]} ({how})"
        if device is not None:
            heading += f" · board {device.get('serial') or '?'} ({device.get('chip') or 'chip unknown'})"
        report.subjects[subject] = heading
        report.extend(run_guarded("model", "Source model preflight", subject,
                                  lambda model=model: judge_source_model(model, toolkit, how, packages, device, matrix)))
