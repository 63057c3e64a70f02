"""Ways out of a dead end: when no toolkit release fits the inputs, the smallest change of one
input (the Python, the board's runtime, both) after which one does, with the `resolve` command
that shows it. Every suggestion is checked by resolving again with the changed inputs, so a
suggested command never answers "No toolkit release fits" itself.

Pure: matrix + inputs in, suggestions out (rknn_envcheck.resolver does the judging).
"""
from __future__ import annotations

from rknn_envcheck.rules.toolkit import LINE_OF
from rknn_envcheck.versions import parse_version, try_parse


def best_fit(matrix, *, toolkit=None, chip_name=None, runtime=None, python=None, platform=None):
    """The recommended release for these inputs, or None (inputs already validated)."""
    from rknn_envcheck.resolver import candidates_for, recommend

    cands, _inputs = candidates_for(matrix, toolkit=toolkit, chip_name=chip_name, runtime=runtime, python=python, platform=platform)
    return recommend(cands, matrix)


def pythons_offered(matrix, packages, platform: str) -> list[str]:
    """Every Python X.Y some release of `packages` has a wheel for on `platform`, newest first."""
    found = {py for package in packages for row in matrix.rows("wheel", package) if row["platform"] == platform for py in row["python"]}
    return sorted((p for p in found if try_parse(p) is not None), key=parse_version, reverse=True)


def _packages(matrix, toolkit, chip_name) -> tuple:
    if toolkit:
        from rknn_envcheck.rules.toolkit import parse_toolkit_option

        return (parse_toolkit_option(toolkit, matrix)[0],)
    chip = matrix.chip(chip_name) if chip_name else None
    return (chip["line"],) if chip else ("rknn-toolkit2",)


def resolve_argv(*, toolkit=None, chip_name=None, runtime=None, python=None, platform=None) -> list[str]:
    argv = ["rknn-envcheck", "resolve"]
    for flag, value in (("--toolkit", toolkit), ("--chip", chip_name), ("--runtime", runtime), ("--python", python), ("--platform", platform)):
        if value:
            argv += [flag, str(value)]
    return argv


def _closest(pythons: list[str], python: str) -> list[str]:
    """The Pythons to try, nearest to the asked one first (3.11 asked: 3.10, 3.12, 3.9, …)."""
    asked = parse_version(python)

    def distance(p: str):
        v = parse_version(p)
        return (abs((v.major - asked.major) * 100 + v.minor - asked.minor), -v.minor)
    return sorted((p for p in pythons if p != python), key=distance)


def ways_out(matrix, *, toolkit=None, chip_name=None, runtime=None, python: str, platform: str) -> list[dict]:
    """[{change, fits, argv}] — each a one-step change that makes a release fit, verified."""
    fixed = {"toolkit": toolkit, "chip_name": chip_name, "platform": platform}
    out = []
    pythons = _closest(pythons_offered(matrix, _packages(matrix, toolkit, chip_name), platform), python)
    for other in pythons:  # keep the board as it is, change the Python
        best = best_fit(matrix, runtime=runtime, python=other, **fixed)
        if best is not None:
            out.append({"change": f"use Python {other} (no release fits Python {python} with these inputs)",
                        "fits": f"{best.package}=={best.version}", "argv": resolve_argv(runtime=runtime, python=other, **fixed)})
            break
    if runtime is not None:  # keep the Python, update the board
        best = best_fit(matrix, python=python, **fixed)
        if best is None:
            for other in pythons:
                best = best_fit(matrix, python=other, **fixed)
                if best is not None:
                    python_change = other
                    break
        else:
            python_change = None
        if best is not None:
            board = ("librknn_runtime and the NPU driver of the same release" if LINE_OF.get(best.package) == "rknn-toolkit"
                     else "librknnrt and rknn_server")
            used = python_change or python
            out.append({"change": f"update the board's runtime from {runtime} to {best.version} ({board})"
                                  + (f" and use Python {python_change}" if python_change else ""),
                        "fits": f"{best.package}=={best.version}",
                        "argv": resolve_argv(runtime=best.version, python=used, **fixed)})
    return [way for way in out if best_fit(matrix, **_inputs_of(way["argv"])) is not None]


def _inputs_of(argv: list[str]) -> dict:
    names = {"--toolkit": "toolkit", "--chip": "chip_name", "--runtime": "runtime", "--python": "python", "--platform": "platform"}
    return {names[flag]: value for flag, value in zip(argv[2::2], argv[3::2]) if flag in names}
