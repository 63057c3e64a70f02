"""`rknn-envcheck host --all-pythons`: every Python on this machine that holds an RKNN toolkit (or
its frameworks) judged, one block each (subject `host:PATH`) — the answer to "I installed
rknn-toolkit2, why does `import rknn` fail?" (it is in another Python).

The probes run concurrently (each is another interpreter: the machine's cores work in parallel);
USB, processes and tools are read once and shared by every block. No facts file is saved: a facts
file describes one environment (`host --python PATH --save-facts FILE`).
"""
from __future__ import annotations

MAX_PROBES_AT_ONCE = 8  # a machine with 30 conda environments must not start 30 interpreters at once


def run_all_pythons(args) -> int:
    import platform

    from rknn_envcheck.commands._common import emit, load_matrix_for
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.facts import FACTS_SCHEMA
    from rknn_envcheck.pipeline import gather_every_python
    from rknn_envcheck.report import Report

    if args.python is not None:
        raise UsageError(f"--all-pythons judges every Python found, --python {args.python} judges one: give only one of them")
    if getattr(args, "save_facts", None):
        raise UsageError("--all-pythons saves no facts file (a facts file describes one environment); "
                         "save one with: rknn-envcheck host --python PATH --save-facts FILE")
    found, results, system_host = gather_every_python(args.timeout, lambda: load_matrix_for(args), MAX_PROBES_AT_ONCE)
    matrix = load_matrix_for(args)
    facts = {"schema": FACTS_SCHEMA, "hostname": platform.node()}
    report = Report(command="host --all-pythons", matrix_version=matrix.version, matrix_date=matrix.date, facts=facts)
    if not found:
        report.notes.append("no Python on this machine has an RKNN toolkit or its frameworks (onnx with torch or tensorflow) "
                            "installed: looked on PATH, in pyenv, conda, ~/.virtualenvs, WORKON_HOME, pipenv, poetry, ./.venv and ./venv")
        report.if_nothing_judged = ("no environment to judge was found; judge one Python with: rknn-envcheck host --python PATH "
                                    "(or activate its venv and run: rknn-envcheck host)")
    for env, (probe, problem) in zip(found, results):
        _judge_one(report, env, probe, problem, system_host, facts, matrix, args.toolkit)
    return emit(report, args)


def _judge_one(report, env, probe, problem, system_host, facts, matrix, toolkit) -> None:
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.report import UNKNOWN, Check, Fix
    from rknn_envcheck.shellcmd import cmd

    subject = f"host:{env.python}"
    holds = ", ".join(f"{name} {version}".strip() for name, version in env.holds)
    if probe is None:
        report.subjects[subject] = f"Host ({env.python}; found in {env.where})"
        report.add(Check("host.probe", "Python environment", UNKNOWN, component="python", subject=subject,
                         observed=None, how=f"{env.python} -c <source of rknn_envcheck/probes/host_probe.py>",
                         expected="the probe's one JSON line",
                         message=f"this environment (which holds {holds}, by its dist-info folders) could not be read: {problem}",
                         fix=Fix("run the probe on this interpreter alone and read what it prints",
                                 [cmd("rknn-envcheck", "host", "--python", env.python)])))
        report.notes.append(f"{env.python} ({env.where}; {holds}): could not be read")
        return
    host = {**system_host, **probe}
    host["how"] = {**(system_host.get("how") or {}), **(probe.get("how") or {})}
    host["probe_errors"] = list(probe.get("probe_errors") or []) + list(system_host.get("probe_errors") or [])
    one = {"schema": facts["schema"], "hostname": facts["hostname"], "host": host,
           "judged_environment": {"python": env.python, "reason": f"found in {env.where}", "kind": "discovered"}}
    judged = evaluate(one, matrix, command="host", toolkit=toolkit, devices=False)
    report.subjects[subject] = f"{judged.subjects.get('host', 'Host')}, found in {env.where}"
    for check in judged.checks:
        if check.subject == "host":
            check.subject = subject
        report.add(check)
    counts = judged.counts()
    summary = ", ".join(f"{counts[s]} {s}" for s in ("fail", "warn", "unknown", "crashed") if counts[s]) or "no problems found"
    report.notes.append(f"{env.python} ({env.where}; {holds}): {summary}")
    for problem in host["probe_errors"]:
        report.notes.append(f"{env.python}: could not read part of the environment ({problem.get('section')}): {problem.get('problem')}")
