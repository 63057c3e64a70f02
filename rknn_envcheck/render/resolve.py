"""Renderings of `rknn-envcheck resolve`'s result (not a Report: a recommendation, the releases
that fit, and why the others do not): json (schema rknn-envcheck/resolve/1), text, markdown."""
from __future__ import annotations

import json


def render_resolution(result: dict, fmt: str = "text", verbose: bool = False) -> str:
    if fmt == "json":
        return json.dumps(result, indent=2) + "\n"
    from rknn_envcheck.render.common import clean

    # One sanitising point: the inputs echo the command line and --matrix DIR text (JSON stays exact).
    return clean(_text(result, verbose, markdown=fmt == "markdown"), keep_newlines=True)


def _text(result: dict, verbose: bool, markdown: bool) -> str:
    inputs = ", ".join(f"{k} {v}" for k, v in result["inputs"].items())
    bullet = "- " if markdown else "  "
    out = [f"{'## ' if markdown else ''}rknn-envcheck resolve · {inputs} · matrix {result['matrix']['version']} ({result['matrix']['date']})", ""]
    best = result["recommended"]
    if best:
        out.append(f"Recommended: {best['package']}=={best['version']}")
        for fw in best["frameworks"]:
            if fw["supported"] and fw["specifier"]:
                out.append(f"{bullet}{fw['framework']}: {fw['specifier']}" + (f" ({fw['detail']})" if fw["detail"] else ""))
            elif fw["supported"] and fw["detail"]:
                # No version range in the vendor's table: the row names a format revision instead.
                out.append(f"{bullet}{fw['framework']}: {fw['detail']}")
            elif not fw["supported"]:
                out.append(f"{bullet}{fw['framework']}: not supported")
        if best.get("install_note"):
            out.append(f"{bullet}not on PyPI: {best['install_note']}")
        out.append(f"{bullet}pin everything: {best['constraints_command']}")
        out.append("")
        also = result.get("also_fit", [])
        for item in also:
            if item.get("not_recommended"):
                out.append(f"Not recommended: {item['candidate']}: {item['not_recommended']}")
        # A release is listed once: under "Not recommended" (with why) or under "Also fit".
        names = [item["candidate"] + (" (vendor wheel only)" if item.get("install_from") == "vendor" else "") for item in also
                 if not item.get("not_recommended")]
        out.append(f"Also fit: {', '.join(names) or 'none'}")
    else:
        out.append("No toolkit release fits these inputs.")
        ways = result.get("ways_out") or []
        if ways:
            out.append("")
            out.append("Ways out (each checked: with the change, a release fits):")
            for way in ways:
                out.append(f"{bullet}{way['change']}: {way['fits']} fits")
                out.append(f"{bullet}  $ {way['command']}")
        else:
            out.append("No one-step change of the Python or the board's runtime makes a release fit; see the reasons below.")
    rejected = result["rejected"]
    if rejected:
        out.append("")
        out.append(f"Rejected ({len(rejected)}):")
        for item in rejected if verbose or not best else rejected[:8]:
            out.append(f"{bullet}{item['candidate']}: {'; '.join(item['reasons'])}")
        if best and not verbose and len(rejected) > 8:
            out.append(f"{bullet}… {len(rejected) - 8} more (-v lists all)")
    return "\n".join(out) + "\n"
