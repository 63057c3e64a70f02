"""The JSON rendering: `Report.to_dict()` (schema "rknn-envcheck/report/1", docs/report.md)."""
import json


def render_json(report) -> str:
    return json.dumps(report.to_dict(), indent=2, default=str, ensure_ascii=False) + "\n"
