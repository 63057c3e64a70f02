"""Does the toolkit's build for the converting machine's architecture have a loader for this source
model? Pure: the model's format, the judged toolkit, the judged host facts (`arch`, and how it was
observed) and the [[arch_formats]] rows of matrices/source_models.toml in, at most one Check out.

A row says: from `since` (the first release with wheels for `arch`) the build for `arch` loads only
`formats`; before it the vendor ships no build for `arch` at all. ONNX and PyTorch on toolkit2's
ARM64 build are judged as on x86_64 (no row), a TensorFlow / TFLite / Caffe / Darknet / Keras / MXNet
model is `fail` there (the loader is absent), and `unknown` only when the architecture is not
known and would decide it.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, UNKNOWN, Check, Fix
from rknn_envcheck.shellcmd import PYTHON, Command, cmd, path_arg

CHECK_ID = "source.host_arch"
FORMAT_NAMES = {"onnx": "ONNX", "pytorch": "PyTorch", "tflite": "TensorFlow Lite", "tensorflow": "TensorFlow", "caffe": "Caffe",
                "darknet": "Darknet", "keras": "Keras", "mxnet": "MXNet"}


def _names(formats) -> str:
    names = [FORMAT_NAMES.get(f, f) for f in formats]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


def _model_paths(model) -> list[str]:
    return [model.path] + ([model.weights_path] if getattr(model, "weights_path", "") else [])


def _to_onnx(model) -> list[Command]:
    """The converter call that turns this format into ONNX, where one is published (tf2onnx for TFLite)."""
    if model.format == "tflite":
        return [cmd("python3", "-m", "pip", "install", "tf2onnx", "tensorflow",
                    note="the TFLite-to-ONNX converter; tf2onnx.convert imports tensorflow, which tf2onnx does not require"),
                cmd("python3", "-m", "tf2onnx.convert", "--tflite", path_arg(model.path), "--output", "model.onnx"),
                Command([f"rknn.load_onnx(model={'model.onnx'!r})"], shell=PYTHON)]
    return []


def arch_check(model, package: str, version: str, tk: str, host: dict | None, matrix, context: dict) -> Check | None:
    """The [[arch_formats]] verdict for `model` converted by `package version` on `host`; None when no
    row applies (another line, or a known architecture without a row, or a format every build loads)."""
    from rknn_envcheck.rules.toolkit import host_platform, wheel_rows
    from rknn_envcheck.versions import try_parse

    rows = matrix.rows("arch_formats", package)
    if not rows:
        return None
    host = host or {}
    arch = str(host.get("arch") or "").strip()
    notes = host.get("how") if isinstance(host.get("how"), dict) else {}
    how = notes.get("arch") or "the judged host's facts (platform.machine())"
    name = FORMAT_NAMES.get(model.format, model.format)
    parsed = try_parse(version)
    # the rows whose build exists for this release and lacks this format's loader
    restricting = [r for r in rows if model.format not in r["formats"] and parsed is not None and parsed >= try_parse(r["since"])]
    if not arch:
        # Unknown matters only where a row would restrict this model on a build that exists for it.
        if not restricting:
            return None
        row = restricting[0]
        paths = _model_paths(model)
        return Check(CHECK_ID, "Loader on the converting machine's architecture", UNKNOWN, observed="host architecture not known",
                     how=("the host facts have no arch" if host else "no host facts: --toolkit names the release only"), expected=f"a machine whose {tk} build loads {name} models",
                     source=row["source"],
                     message=f"the {'/'.join(row['arch'])} build of {tk} loads only {_names(row['formats'])} "
                             f"models; whether this {name} model converts depends on the machine that runs the conversion, which was not observed",
                     fix=Fix("observe the converting machine's architecture (aarch64/arm64 = ARM64), or judge with its host facts",
                             [cmd("uname", "-m", note="on the machine that will convert"),
                              cmd("rknn-envcheck", "host", "--save-facts", "host.json", note="there, in the Python that will convert"),
                              cmd("rknn-envcheck", "model", *map(path_arg, paths), "--toolkit", f"{package}=={version}", "--facts", "host.json")]),
                     **context)
    matching = [r for r in rows if arch.lower() in (a.lower() for a in r["arch"])]
    platform = host_platform(host)
    wheels = wheel_rows(matrix, package, version)
    platforms = sorted({w["platform"] for w in wheels})
    # Linux ARM64 before the row's first aarch64 release: the row's own verdict (with its pip fix) below
    early_arm = bool(matching) and parsed is not None and parsed < try_parse(matching[0]["since"]) and (platform or "").startswith("linux_")
    if platform and platforms and platform not in platforms and not early_arm:
        return _no_build(model, tk, platform, platforms, wheels, how, context)
    if not matching:
        # only releases that have a restricted build say anything (before it, every build is x86_64),
        # and `ok` only for a platform the release is known to have a build for
        if not restricting or platform not in platforms:
            return None
        return Check(CHECK_ID, "Loader on the converting machine's architecture", OK, observed=f"host architecture {arch}", how=how,
                     expected=f"not {'/'.join(restricting[0]['arch'])} (those builds of {package} load only "
                              f"{_names(restricting[0]['formats'])})",
                     source=restricting[0]["source"], message=f"the {arch} build of {tk} has the {name} loader", **context)
    row = matching[0]
    if parsed is not None and parsed < try_parse(row["since"]):
        allowed = model.format in row["formats"]
        commands = [cmd("python3", "-m", "pip", "install", f"{package}>={row['since']}",
                        note=f"its {arch} build loads {name} models")] if allowed else []
        return Check(CHECK_ID, "Loader on the converting machine's architecture", FAIL, observed=f"host architecture {arch}; {tk}", how=how,
                     expected=f"{package} >= {row['since']} on {arch} (the first release with {arch} wheels), or an x86_64 machine",
                     source=row["source"],
                     message=f"the vendor publishes no {arch} build of {tk} (the first is {row['since']}), so it cannot convert on this machine",
                     fix=Fix((f"install {package} {row['since']} or newer here (its {arch} build loads {name}), or convert on an x86_64 Linux PC"
                              if allowed else f"{row['fix']} ({package} {row['since']} or newer on this machine)"),
                             commands if allowed else _to_onnx(model)), **context)
    if model.format in row["formats"]:
        return None
    loads = _names(row["formats"])
    return Check(CHECK_ID, "Loader on the converting machine's architecture", FAIL, observed=f"host architecture {arch}; {name} model", how=how,
                 expected=f"{loads} models (what the {arch} build of {package} >= {row['since']} loads)", source=row["source"],
                 message=f"the {arch} build of {tk} loads only {loads} models: its {name} loader is absent on this machine, so this model cannot convert here",
                 fix=Fix(row["fix"], _to_onnx(model)), **context)


def _no_build(model, tk: str, platform: str, platforms: list, wheels: list, how: str, context: dict) -> Check:
    """The release has [[wheel]] rows and none is for this machine's platform (Windows, macOS,
    armv7l, ARM64 on another OS): no build, so no loader at all."""
    name = FORMAT_NAMES.get(model.format, model.format)
    return Check(CHECK_ID, "Loader on the converting machine's architecture", FAIL, observed=f"host platform {platform}", how=how,
                 expected=f"a machine {tk} has a build for: {', '.join(platforms)}", source="; ".join(w["source"] for w in wheels[:2]),
                 message=f"the vendor publishes no {platform} build of {tk} (its wheels: {', '.join(platforms)}), so no {name} loader "
                         "can run on this machine",
                 fix=Fix(f"convert on a machine with a {tk} build ({', '.join(platforms)}): an x86_64 Linux PC, or WSL2 on Windows"),
                 **context)
