"""Will this Keras model convert with that toolkit? Pure: a SourceModel (model/keras_reader.py fills
the Keras version and layer classes), the judged toolkit and the matrix in, Checks out.

toolkit2 has no load_keras ([[source_format]] keras row): fail with the export-to-ONNX fix. toolkit
v1 has rknn.load_keras from 1.6.0 for `.h5` files (UG §7.3.3): the Keras version is judged against
the release's [[framework]] keras row and the layer classes against its [[source_ops]] keras list.
"""
from __future__ import annotations

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.shellcmd import PYTHON, Command, cmd, path_arg

LOAD_KERAS_V1 = "UG-1.7.5 §7.3.3 (load_keras: the path of a Keras model file suffixed with .h5)"
LOAD_TK2 = "API-TK2-2.3.2 §2.3 (Loading model: Caffe, TensorFlow, TensorFlow Lite, ONNX, DarkNet, PyTorch; no load_keras)"


def _onnx_fix(model, matrix, package: str, version: str, text: str) -> Fix:
    from rknn_envcheck.rules.source_torch import _onnx_opset

    opset = _onnx_opset(matrix, package, version)
    convert = (f"import tensorflow as tf, tf2onnx; model = tf.keras.models.load_model({model.path!r}); "
               f"tf2onnx.convert.from_keras(model, opset={opset!r}, output_path={'model.onnx'!r})")
    return Fix(text + (f" (opset {opset} for {package} {version})" if opset else ""),
               [cmd("python", "-m", "pip", "install", "tf2onnx", note="beside the TensorFlow the model was saved with"),
                Command([convert], shell=PYTHON), Command([f"rknn.load_onnx(model={'model.onnx'!r})"], shell=PYTHON)])


def judge_keras(model, package: str, version: str, tk: str, packages: dict, matrix, context: dict) -> list:
    from rknn_envcheck.rules.source_model import _rows

    how = model.how
    title = f"Keras model on {tk}"
    refused = [r for r in _rows(matrix, "source_format", package) if r["framework"] == "keras"]
    if refused:
        source = "; ".join([LOAD_TK2] + [r["source"] for r in refused])
        return [Check("source.keras", title, FAIL, observed=model.summary(), how=how, expected=f"a format {tk} loads (not Keras)", source=source,
                      message=f"{tk} has no Keras loader (rknn.load_keras exists only in rknn-toolkit); this {model.summary()} cannot be loaded",
                      fix=_onnx_fix(model, matrix, package, version, "export the Keras model to ONNX and load it with rknn.load_onnx"), **context)]
    frame = _rows(matrix, "framework", package, version, framework="keras")
    if not frame:
        return [Check("source.keras", title, UNKNOWN, observed=model.summary(), how=how, source=LOAD_KERAS_V1,
                      message=f"no Keras row for {tk} in the matrix", **context)]
    row = frame[0]
    if not row["supported"]:
        return [Check("source.keras", title, FAIL, observed=model.summary(), how=how, expected="rknn-toolkit >= 1.6.0 (load_keras)",
                      source=row["source"], message=f"{tk} has no rknn.load_keras",
                      fix=_onnx_fix(model, matrix, package, version, "export the Keras model to ONNX"), **context)]
    if not model.how.startswith("HDF5"):
        return [Check("source.keras", title, FAIL, observed=model.summary(), how=how, expected="a Keras .h5 (HDF5) model", source=LOAD_KERAS_V1,
                      message=f"{tk} rknn.load_keras reads .h5 (HDF5) models; this is a .keras zip (Keras >= 2.13), which it cannot open",
                      fix=_onnx_fix(model, matrix, package, version, "export the model to ONNX"), **context)]
    checks = [Check("source.keras", title, OK, observed=model.summary(), how=how, expected="a Keras .h5 model", source=LOAD_KERAS_V1,
                    message=f"{tk} loads Keras .h5 models with rknn.load_keras", **context)]
    if model.keras_unread.startswith("h5py"):
        checks.append(Check("source.keras_version", "Keras version and layers", UNKNOWN, observed="not read", how=how,
                            expected=f"Keras {row['specifier']}", source=row["source"],
                            message=f"{model.keras_unread}: the Keras version and layers in the .h5 file were not read",
                            fix=Fix("install the optional h5 extra, then check again",
                                    [cmd("python", "-m", "pip", "install", "rknn-envcheck[h5]"), cmd("rknn-envcheck", "model", path_arg(model.path))]),
                            **context))
        return checks
    if model.keras_unread:
        checks.append(Check("source.keras_version", "Keras model config", FAIL, observed=model.keras_unread, how=how,
                            expected="a whole model (model.save), with its config", source=LOAD_KERAS_V1,
                            message=f"{model.keras_unread}: rknn.load_keras needs the architecture too",
                            fix=Fix("save the whole model", [Command([f"model.save({'model.h5'!r})"], shell=PYTHON)]), **context))
        return checks
    checks.append(_version_check(model, row, how, context))
    checks.append(_layers_check(model, package, version, tk, matrix, how, context))
    return checks


def _version_check(model, row: dict, how: str, context: dict) -> Check:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import InvalidVersion, Version

    title = "Keras version of the file"
    written = model.keras_version
    plain = written.split("-")[0]  # "2.2.4-tf": tf.keras; the vendor row drops "-tf" too
    try:
        fits = Version(plain) in SpecifierSet(row["specifier"])
    except (InvalidVersion, InvalidSpecifier):
        return Check("source.keras_version", title, UNKNOWN, observed=written or "no keras_version attribute", how=how,
                     expected=f"Keras {row['specifier']}", source=row["source"], message="the file names no comparable Keras version", **context)
    if fits:
        return Check("source.keras_version", title, OK, observed=f"Keras {written}", how=how, expected=f"Keras {row['specifier']}",
                     source=row["source"], message=f"saved by Keras {written}, within the toolkit's Keras {row['specifier']}", **context)
    status = FAIL if row.get("level") == "fail" else WARN
    return Check("source.keras_version", title, status, observed=f"Keras {written}", how=how, expected=f"Keras {row['specifier']}",
                 source=row["source"], message=f"saved by Keras {written}; the toolkit supports Keras {row['specifier']}",
                 fix=Fix("save the model again with a Keras in the supported range"), **context)


def _layers_check(model, package: str, version: str, tk: str, matrix, how: str, context: dict) -> Check:
    from rknn_envcheck.rules.source_model import _rows

    title = "Keras layers"
    layers = sorted(model.keras_layers)
    rows = _rows(matrix, "source_ops", package, version, framework="keras")
    if not rows:
        return Check("source.keras_layers", title, UNKNOWN, observed=", ".join(layers), how=how, source=LOAD_KERAS_V1,
                     message=f"no vendor Keras operator list for {tk} is in the matrix", **context)
    row = rows[0]
    unlisted = [name for name in layers if name not in row["supported"]]
    if unlisted:
        return Check("source.keras_layers", title, WARN, observed=", ".join(unlisted), how=how, expected=f"layers of the {row['count']}-row vendor list",
                     source=row["source"], message=f"{', '.join(unlisted)} {'is' if len(unlisted) == 1 else 'are'} not in the {tk} list of supported Keras OPs",
                     fix=Fix("replace these layers, or export the model to ONNX and check its operators"), **context)
    return Check("source.keras_layers", title, OK, observed=f"{len(layers)} layer classes", how=how, expected=f"layers of the {row['count']}-row vendor list",
                 source=row["source"], message=f"every layer class ({', '.join(layers)}) is in the {tk} Keras list", **context)
