"""Renderings of one Report: text (one screen), json (versioned schema), markdown (bug reports)."""
from __future__ import annotations


def render(report, fmt: str = "text", verbose: bool = False) -> str:
    if fmt == "json":
        from rknn_envcheck.render.json_out import render_json

        return render_json(report)
    if fmt == "markdown":
        from rknn_envcheck.render.markdown import render_markdown

        return render_markdown(report, verbose)
    from rknn_envcheck.render.text import render_text

    return render_text(report, verbose)
