"""`rknn-envcheck merge FILE.json…`: facts files (--save-facts) and JSON reports (--json) from
many hosts in, one table out — which board runs which stack, which checks fail where."""
from __future__ import annotations

MERGE_FORMATS = ("text", "markdown", "json")


def add_arguments(parser) -> None:
    from rknn_envcheck.options import output_path

    parser.add_argument("files", metavar="FILE.json", nargs="+", help="facts files (--save-facts) or JSON reports (--json)")
    parser.add_argument("--format", choices=MERGE_FORMATS, default="text", help="output format (default text)")
    parser.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    parser.add_argument("-o", "--output", metavar="FILE", type=output_path, help="write the table to FILE instead of standard output")
    parser.add_argument("--matrix", metavar="DIR", help="judge facts files with the matrix files in DIR")


def _report_checks(data: dict, source: str) -> list[dict]:
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.report import STATUSES

    checks = data.get("checks")
    if not isinstance(checks, list):
        raise UsageError(f"{source}: a report's 'checks' must be a list")
    for index, check in enumerate(checks):
        if not isinstance(check, dict) or not all(isinstance(check.get(k), str) for k in ("id", "status", "subject")):
            raise UsageError(f"{source}: checks[{index}] must be an object with 'id', 'status' and 'subject' strings")
        if check["status"] not in STATUSES:
            raise UsageError(f"{source}: checks[{index}].status {check['status'][:40]!r} is not one of {', '.join(STATUSES)}")
    return checks


def load_document(path: str, judge):
    """(source, facts, checks) from a facts file (judged here) or a JSON report (its own checks)."""
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.facts import validate_facts
    from rknn_envcheck.inputlimits import MAX_FACTS_BYTES, cut, decode, loads, read_regular_file
    from rknn_envcheck.merge import FACTS_PREFIX, REPORT_PREFIX

    source = f"merge input {cut(str(path), 200)}"
    # A report is a facts file plus its checks: the same limits serve both.
    data = loads(decode(read_regular_file(path, "merge input", MAX_FACTS_BYTES), source), source)
    schema = data.get("schema") if isinstance(data, dict) else None
    if isinstance(schema, str) and schema.startswith(FACTS_PREFIX):
        facts = validate_facts(data, path)
        return path, facts, judge(facts, path)
    if isinstance(schema, str) and schema.startswith(REPORT_PREFIX):
        facts = data.get("facts")
        facts = validate_facts(facts, f"{path}: facts") if facts is not None else {}
        if isinstance(data.get("hostname"), str) and not facts.get("hostname"):
            facts = {**facts, "hostname": data["hostname"]}
        return path, facts, _report_checks(data, path)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: is {_json_kind(data)}, not a facts or report object "
                         "(save one with `--save-facts FILE` or `--json -o FILE`)")
    raise UsageError(f"{path}: not a facts file or a JSON report of rknn-envcheck (its 'schema' is {cut(repr(schema))}; "
                     f"expected {FACTS_PREFIX}N or {REPORT_PREFIX}N)")


def _json_kind(value) -> str:
    if isinstance(value, list):
        return "a JSON list"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, (int, float)):
        return "a JSON number"
    return "JSON null" if value is None else "not a JSON object"


def run(args) -> int:
    import sys

    from rknn_envcheck.commands._common import load_matrix_for
    from rknn_envcheck.evaluate import evaluate
    from rknn_envcheck.merge import merge_documents
    from rknn_envcheck.render.merge import render_merge

    matrix = []

    def judge(facts: dict, path: str) -> list[dict]:
        if not matrix:
            matrix.append(load_matrix_for(args))
        report = evaluate(facts, matrix[0], command=f"check --facts {path}")
        return [c.to_dict() for c in report.checks]

    documents = [load_document(path, judge) for path in args.files]
    fleet = merge_documents(documents)
    text = render_merge(fleet, args.format)
    if args.output:
        from rknn_envcheck.safeio import write_text

        write_text(args.output, text)
    else:
        sys.stdout.write(text)
    return fleet.exit_code()
