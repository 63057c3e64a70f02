"""Renderings of one Report: text (one screen), json (versioned schema), markdown (bug reports),
junit (CI servers), prometheus (node_exporter's textfile collector)."""
from __future__ import annotations


def render(report, fmt: str = "text", verbose: bool = False, strict: bool = False) -> str:
    from rknn_envcheck.render.common import prose_cited

    report = prose_cited(report)
    if fmt == "junit":
        from rknn_envcheck.render.junit import render_junit

        return render_junit(report, strict)
    if fmt == "prometheus":
        from rknn_envcheck.render.prometheus import render_prometheus

        return render_prometheus(report, strict)
    if fmt == "json":
        from rknn_envcheck.render.json_out import render_json

        return render_json(report)
    if fmt == "markdown":
        from rknn_envcheck.render.markdown import render_markdown

        return render_markdown(report, verbose)
    from rknn_envcheck.render.text import render_text

    return render_text(report, verbose)
