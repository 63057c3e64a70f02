"""Will this TFLite model / TensorFlow GraphDef or SavedModel convert with that toolkit? Pure: a
SourceModel (model/tflite_reader.py, model/tf_reader.py), the judged toolkit, the packages beside it
and the matrix ([[framework]] rows of toolkit1/2.toml; [[source_ops]], [[tf_newer_attr]],
[[tf_model_versions]], [[dynamic_input]], [[source_format]] of source_models.toml) in, Checks out.
"""
from __future__ import annotations

import re

from rknn_envcheck.report import FAIL, OK, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.rules.source_model import _rows, _upper_bound
from rknn_envcheck.shellcmd import PYTHON, Command, cmd

# Graph plumbing every frozen graph has (inputs, weights, pass-through): the vendor tables list
# computation operators, so these are not compared against them.
GRAPH_PLUMBING = frozenset({"Placeholder", "Const", "Identity", "NoOp"})
TF_PACKAGES = ("tensorflow", "tensorflow-gpu", "tensorflow-cpu")


def judge_tf(model, package: str, version: str, tk: str, packages: dict, matrix, context: dict) -> list:
    framework = model.framework  # "tflite" / "tensorflow"
    checks = [_format_check(model, package, version, tk, matrix, context)]
    if model.format == "tflite":
        checks.append(_schema_check(model, package, version, tk, matrix, context))
    else:
        checks += _newer_attr_checks(model, package, version, tk, packages, matrix, context)
        checks.append(_writer_version_check(model, package, version, tk, packages, matrix, context))
    checks.append(_ops_check(model, package, version, tk, framework, matrix, context))
    checks.append(_dynamic_check(model, package, version, tk, matrix, context))
    return checks


def _installed_tf(packages: dict) -> tuple[str | None, str]:
    for name in TF_PACKAGES:
        if packages.get(name):
            return str(packages[name]), name
    return None, "tensorflow"


def _format_check(model, package, version, tk, matrix, context) -> Check:
    title = f"{model.framework} models on {tk}"
    if model.tf_kind == "savedmodel":
        rows = [r for r in _rows(matrix, "source_format", package) if r["framework"] == "tensorflow-savedmodel"]
        if rows:
            code = f"import tensorflow as tf; open({'model.tflite'!r}, 'wb').write(tf.lite.TFLiteConverter.from_saved_model({model.path!r}).convert())"
            return Check("source.tensorflow", title, FAIL, observed=f"SavedModel directory {model.path}", how=model.how,
                         expected="a frozen GraphDef .pb (rknn.load_tensorflow(tf_pb=…))", source=rows[0]["source"],
                         message=f"{tk} loads TensorFlow models as a frozen GraphDef file, not a SavedModel directory",
                         fix=Fix(rows[0]["fix"], [Command([code], shell=PYTHON, note="convert to TFLite, then rknn.load_tflite('model.tflite')"),
                                                  cmd("python3", "-m", "tf2onnx.convert", "--saved-model", model.path, "--output", "model.onnx",
                                                      note="or convert to ONNX (pip install tf2onnx), then rknn.load_onnx('model.onnx')")]),
                         **context)
    frame = _rows(matrix, "framework", package, version, framework=model.framework)
    if not frame:
        return Check(f"source.{model.framework}", title, UNKNOWN, observed=model.summary(), how=model.how,
                     source="API-TK2-2.3.2 §1.3", message=f"the matrix has no {model.framework} row for {tk}",
                     fix=Fix("name a toolkit release the matrix knows", [cmd("rknn-envcheck", "matrix")]), **context)
    row = frame[0]
    if not row.get("supported", True):
        return Check(f"source.{model.framework}", title, FAIL, observed=model.summary(), how=model.how, expected=f"a format {tk} loads",
                     source=row["source"], message=f"{tk} does not load {model.framework} models", **context)
    return Check(f"source.{model.framework}", title, OK, observed=model.summary(), how=model.how,
                 expected=f"{model.framework} {row.get('specifier') or row.get('detail') or ''}".strip(), source=row["source"],
                 message=f"{tk} loads {model.framework} models", **context)


def _schema_check(model, package, version, tk, matrix, context) -> Check:
    frame = _rows(matrix, "framework", package, version, framework="tflite")
    found = re.search(r"Schema version\s*=\s*(\d+)", (frame[0].get("detail") or "") if frame else "")
    observed = f"schema version {model.schema_version}"
    if found is None:
        return Check("source.tflite_schema", "TFLite schema version", UNKNOWN, observed=observed, how=model.how,
                     source="API-TK2-2.3.2 §1.3", message=f"no TFLite schema version is known for {tk}", **context)
    wanted = int(found.group(1))
    if model.schema_version != wanted:
        return Check("source.tflite_schema", "TFLite schema version", FAIL, observed=observed, how=model.how,
                     expected=f"schema version {wanted}", source=frame[0]["source"],
                     message=f"{tk} reads TFLite schema version {wanted}; this model has schema version {model.schema_version}",
                     fix=Fix("convert the model again with a TFLite converter that writes schema version 3 (TensorFlow >= 1.x tf.lite.TFLiteConverter)"),
                     **context)
    return Check("source.tflite_schema", "TFLite schema version", OK, observed=observed, how=model.how,
                 expected=f"schema version {wanted}", source=frame[0]["source"], message=f"schema version {wanted} is what {tk} reads", **context)


def _newer_attr_checks(model, package, version, tk, packages, matrix, context) -> list:
    """A NodeDef attribute only TensorFlow >= `since` writes fails to load in an older TensorFlow:
    judged against the installed TensorFlow, else against the range the toolkit supports."""
    from rknn_envcheck.versions import release_numbers

    checks = []
    installed, tf_name = _installed_tf(packages)
    frame = _rows(matrix, "framework", package, version, framework="tensorflow")
    spec = frame[0]["specifier"] if frame else ""
    upper = _upper_bound(spec)
    looked = ", ".join(f"{r['op']}.{r['attr']}" for r in matrix.rows("tf_newer_attr"))
    for row in matrix.rows("tf_newer_attr"):
        if row["attr"] not in model.op_attrs.get(row["op"], ()):
            continue
        since = row["since"]
        observed = f"{row['op']} nodes carry attribute {row['attr']!r} (written by TensorFlow >= {since})"
        install = cmd("python3", "-m", "pip", "install", f"tensorflow=={since}", note="convert with a TensorFlow that knows the attribute")
        title = f"TensorFlow attribute {row['attr']}"
        if installed is not None:
            old = release_numbers(installed) < release_numbers(since)
            checks.append(Check("source.tf_attr", title, FAIL if old else OK, component=tf_name, subject=context["subject"], observed=observed,
                                how=model.how + f"; {tf_name} {installed} from the judged Python's metadata",
                                expected=f"TensorFlow >= {since} at conversion", source=row["source"],
                                message=(f"{tf_name} {installed} fails on this model: NodeDef mentions attr '{row['attr']}' not in Op<name={row['op']}>"
                                         if old else f"{tf_name} {installed} knows {row['op']}.{row['attr']}"),
                                fix=Fix(f"install TensorFlow {since} or newer beside {tk} (or export the model with TensorFlow < {since})", [install]) if old else None))
        elif upper is not None and release_numbers(upper) < release_numbers(since):
            newer = _first_release_with(matrix, package, since)
            fix = Fix(f"convert with {package} {newer} or newer and TensorFlow {since}, or train and export with TensorFlow < {since}",
                      [cmd("python3", "-m", "pip", "install", f"{package}=={newer}"), install] if newer else [install])
            checks.append(Check("source.tf_attr", title, FAIL, observed=observed, how=model.how,
                                expected=f"TensorFlow >= {since}; {tk} supports TensorFlow {spec}", source=f"{row['source']}; {frame[0]['source']}",
                                message=f"{tk} converts with TensorFlow {spec}, which fails on this model "
                                        f"(NodeDef mentions attr '{row['attr']}' not in Op<name={row['op']}>)", fix=fix, **context))
        else:
            checks.append(Check("source.tf_attr", title, UNKNOWN, observed=observed, how=model.how + "; no TensorFlow in the judged Python",
                                expected=f"TensorFlow >= {since} at conversion", source=row["source"],
                                message=f"the model needs TensorFlow >= {since} to convert; {tk} allows TensorFlow {spec or '(range unknown)'} "
                                        "and no installed TensorFlow was found to check",
                                fix=Fix("see which TensorFlow the toolkit will use, and install one that reads the model",
                                        [cmd("python3", "-m", "pip", "show", "tensorflow"), install]), **context))
    if not checks:
        checks.append(Check("source.tf_attr", "TensorFlow attributes from newer releases", OK,
                            observed="none of " + (looked or "the listed attributes"), how=model.how,
                            expected="no attribute an older TensorFlow rejects", source="; ".join(r["source"] for r in matrix.rows("tf_newer_attr")) or "seed §4.4",
                            message="no NodeDef attribute that needs a newer TensorFlow was found", **context))
    return checks


def _first_release_with(matrix, package: str, since: str) -> str | None:
    from rknn_envcheck.versions import release_numbers, try_parse

    found = []
    for row in _rows(matrix, "framework", package, framework="tensorflow"):
        upper = _upper_bound(row.get("specifier", ""))
        if upper and release_numbers(upper) >= release_numbers(since) and isinstance(row.get("versions"), list):
            found += row["versions"]
    found = [v for v in found if try_parse(v) is not None]
    return min(found, key=try_parse) if found else None


def _writer_version_check(model, package, version, tk, packages, matrix, context) -> Check:
    from rknn_envcheck.versions import matches, release_numbers

    rows = _rows(matrix, "tf_model_versions", package)
    title = "TensorFlow version that wrote the model"
    producer = f"GraphDef producer {model.tf_producer}" if model.tf_producer is not None else "no GraphDef versions"
    if not rows:
        return Check("source.tf_version", title, UNKNOWN, observed=producer, how=model.how, source="seed §1.3.1",
                     message=f"no statement of the TensorFlow versions {tk} converts is in the matrix", **context)
    row = rows[0]
    ranges = " or ".join(row["ranges"])
    if model.tf_version:
        newer = _newer_than_reader(model, package, version, tk, packages, matrix, context, title)
        if newer is not None:
            return newer
        inside = any(matches(model.tf_version, r) for r in row["ranges"])
        return Check("source.tf_version", title, OK if inside else WARN, observed=f"TensorFlow {model.tf_version} (SavedModel meta_info_def)",
                     how=model.how, expected=f"TensorFlow {ranges}", source=row["source"],
                     message=(f"TensorFlow {model.tf_version} is within what {tk} states it converts" if inside else
                              f"{tk} states it converts pb files of TensorFlow {ranges}; this model was written by TensorFlow {model.tf_version}"),
                     fix=None if inside else Fix(f"export the model with a TensorFlow in {ranges}, or convert it to ONNX/TFLite"), **context)
    if model.tf_producer is not None:
        dated = _graphdef_writer_check(model, package, version, tk, packages, matrix, context, row)
        if dated is not None:
            return dated
    # A producer the [[tf_graphdef]] table cannot date: the attributes give a lower bound.
    floors = [r["since"] for r in matrix.rows("tf_newer_attr") if r["attr"] in model.op_attrs.get(r["op"], ())]
    floor = max(floors, key=release_numbers) if floors else None
    if floor is not None and not any(_range_allows_at_least(r, floor) for r in row["ranges"]):
        return Check("source.tf_version", title, WARN, observed=f"{producer}; attributes of TensorFlow >= {floor}", how=model.how,
                     expected=f"TensorFlow {ranges}", source=row["source"],
                     message=f"{tk} states it converts pb files of TensorFlow {ranges}; this graph was written by TensorFlow >= {floor}",
                     fix=Fix(f"export the graph with a TensorFlow in {ranges}"), **context)
    return Check("source.tf_version", title, UNKNOWN, observed=producer + (f"; attributes of TensorFlow >= {floor}" if floor else ""), how=model.how,
                 expected=f"TensorFlow {ranges}", source=row["source"],
                 message=f"a frozen GraphDef records its producer number ({model.tf_producer}), not the TensorFlow release, "
                         f"and {_table_span(matrix)}; {tk} states it converts pb files of TensorFlow {ranges}",
                 fix=Fix("check the TensorFlow version the graph was exported with", [Command(["import tensorflow as tf; print(tf.__version__)"], shell=PYTHON)]),
                 **context)


def _table_span(matrix) -> str:
    table = matrix.rows("tf_graphdef")
    if not table:
        return "the matrix has no [[tf_graphdef]] table to date it"
    low, high = min(table, key=lambda r: r["producer"]), max(table, key=lambda r: r["producer"])
    return (f"it is outside the [[tf_graphdef]] table (graph-def versions {low['producer']} of TensorFlow {low['tensorflow']} "
            f"to {high['producer']} of TensorFlow {high['tensorflow']})")


def _graphdef_writer_check(model, package, version, tk, packages, matrix, context, stated) -> Check | None:
    """The producer dated by [[tf_graphdef]] (rules/tf_graphdef.py), judged against the installed
    TensorFlow, else the newest the toolkit's [[framework]] row allows; None when it cannot be dated."""
    from rknn_envcheck.rules.tf_graphdef import CHECK_VERSIONS, FORWARD_WINDOW, describe_writers, reader_verdict, row_of_release, writers_of
    from rknn_envcheck.versions import matches

    table = matrix.rows("tf_graphdef")
    found = writers_of(model.tf_producer, table)
    if found is None:
        return None
    writers, exact = found
    title, written = "TensorFlow version that wrote the model", describe_writers(writers, exact)
    min_consumer = model.tf_min_consumer or 0
    observed = f"GraphDef producer {model.tf_producer}, min_consumer {min_consumer}: {written}"
    how = model.how + "; producer dated by matrices/tf_graphdef.toml (version.h of each TensorFlow wheel)"
    writer_source = "; ".join(r["source"] for r in writers)
    installed, name = _installed_tf(packages)
    frame = _rows(matrix, "framework", package, version, framework="tensorflow")
    spec = frame[0]["specifier"] if frame else ""
    reader_release = installed or _upper_bound(spec)
    reader = row_of_release(reader_release, table) if reader_release else None
    if reader is not None:
        where = f"the installed {name} {installed}" if installed else f"TensorFlow {reader_release}, the newest of {tk}'s range {spec}"
        reader_source = reader["source"] + ("" if installed else f"; {frame[0]['source']}")
        verdict = reader_verdict(model.tf_producer, min_consumer, reader)
        if verdict == "refused":
            why = (f"GraphDef min consumer version {min_consumer} above current version {reader['producer']}" if min_consumer > reader["producer"]
                   else f"GraphDef producer version {model.tf_producer} below min producer {reader['min_producer']}")
            return Check("source.tf_version", title, FAIL, observed=observed, how=how,
                         expected=f"min_consumer <= {reader['producer']} and producer >= {reader['min_producer']} (version.h of {where})",
                         source=f"{CHECK_VERSIONS}; {reader_source}", message=f"{where} refuses this graph: {why}",
                         fix=Fix(f"export the graph with TensorFlow <= {reader_release}, or convert it to ONNX/TFLite"), **context)
        if verdict == "newer":
            return Check("source.tf_version", title, WARN, observed=observed, how=how,
                         expected=f"graph-def version <= {reader['producer']} ({where})", source=f"{writer_source}; {reader_source}; {FORWARD_WINDOW}",
                         message=f"this graph was written by {written}, newer than {where} (graph-def version {reader['producer']}): "
                                 "TensorFlow imports it, but an op or attribute the older reader lacks fails to load",
                         fix=Fix(f"export the graph with TensorFlow <= {reader_release}, or convert it to ONNX/TFLite"), **context)
    elif reader_release:
        how += f"; no graph-def version of TensorFlow {reader_release} (the reader) is in the table"
    ranges = " or ".join(stated["ranges"])
    inside = exact and any(matches(r["tensorflow"], spec_) for r in writers for spec_ in stated["ranges"])
    return Check("source.tf_version", title, OK if inside else WARN, observed=observed, how=how,
                 expected=f"TensorFlow {ranges}", source=f"{stated['source']}; {writer_source}",
                 message=(f"written by {written}, within what {tk} states it converts" if inside else
                          f"{tk} states it converts pb files of TensorFlow {ranges}; this graph was written by {written}"),
                 fix=None if inside else Fix(f"export the graph with a TensorFlow in {ranges}, or convert it to ONNX/TFLite"), **context)


def _newer_than_reader(model, package, version, tk, packages, matrix, context, title) -> Check | None:
    """A graph written by a newer TensorFlow than the one that reads it may use ops/attributes the
    reader lacks: the installed TensorFlow, else the newest the toolkit's [[framework]] row allows."""
    from rknn_envcheck.versions import release_numbers

    written = model.tf_version
    installed, name = _installed_tf(packages)
    frame = _rows(matrix, "framework", package, version, framework="tensorflow")
    reader = installed or (_upper_bound(frame[0]["specifier"]) if frame else None)
    if reader is None or release_numbers(written) <= release_numbers(reader):
        return None
    where = f"the installed {name} {installed}" if installed else f"TensorFlow <= {reader} ({tk} supports {frame[0]['specifier']})"
    return Check("source.tf_version", title, WARN, observed=f"TensorFlow {written} (SavedModel meta_info_def)", how=model.how,
                 expected=f"written by TensorFlow <= {reader}", source=frame[0]["source"] if frame else "seed §1.3.1",
                 message=f"this model was written by TensorFlow {written}, newer than {where} that reads it; newer ops or attributes fail to load",
                 fix=Fix(f"export the model with TensorFlow <= {reader}, or convert it to ONNX/TFLite"), **context)


def _range_allows_at_least(spec: str, floor: str) -> bool:
    upper = re.findall(r"<=?\s*([0-9][0-9.]*)", spec)
    if not upper:
        return True
    from rknn_envcheck.versions import release_numbers

    bound = release_numbers(upper[-1])
    return bound > release_numbers(floor) or ("<=" in spec and bound == release_numbers(floor))


# The toolkit-v1 TFLite list names the transposed convolution CONV_2D_TRANSPOSE; schema.fbs has no
# such name, its builtin is TRANSPOSE_CONV (67) (inferred).
VENDOR_ALIASES = {"TRANSPOSE_CONV": "CONV_2D_TRANSPOSE"}


def _listed(op: str, names: set) -> bool:
    """Exact, or after dropping a kernel suffix TensorFlow adds (DepthwiseConv2dNative, ConcatV2):
    the vendor tables name some ops without it (inferred)."""
    if op in names or VENDOR_ALIASES.get(op) in names:
        return True
    bare = re.sub(r"(Native|V[0-9]+)$", "", op)
    return bare in names or bare.lower() in {n.lower() for n in names}


def _ops_check(model, package, version, tk, framework, matrix, context) -> Check:
    title = f"{'TFLite' if framework == 'tflite' else 'TensorFlow'} operators"
    ops = sorted(op for op in model.operators if op not in GRAPH_PLUMBING or framework == "tflite")
    rows = _rows(matrix, "source_ops", package, version, framework=framework)
    custom = list(model.custom_ops)
    if not rows:
        from rknn_envcheck.rules.source_model import no_ops_list, try_convert_fix

        message, source = no_ops_list(matrix, package, version, framework, tk)
        return Check(f"source.{framework}_ops", title, UNKNOWN, observed=", ".join(ops + [f"custom {c}" for c in custom]), how=model.how,
                     source=source, message=message, fix=try_convert_fix(model, framework), **context)
    row = rows[0]
    names = set(row["supported"]) | set(row["unsupported"])
    if any(name.startswith("tf.") for name in row["supported"]):
        return Check(f"source.{framework}_ops", title, UNKNOWN, observed=", ".join(ops), how=model.how, source=row["source"],
                     message=f"the {tk} operator document lists Python API names (e.g. tf.nn.conv2d), not graph op types: "
                             f"compare these {len(ops)} op types with its {row['count']} rows by hand", **context)
    unsupported = [op for op in ops if op in row["unsupported"]]
    unlisted = [op for op in ops if not _listed(op, names)]
    if unsupported:
        return Check(f"source.{framework}_ops", title, FAIL, observed=", ".join(unsupported), how=model.how, expected="operators the toolkit supports",
                     source=row["source"], message=f"{tk} marks {', '.join(unsupported)} as Not Supported",
                     fix=Fix("replace these operators before export (or use a release that supports them)"), **context)
    if unlisted or custom:
        listed = ", ".join(unlisted + [f"custom op {c}" for c in custom])
        return Check(f"source.{framework}_ops", title, WARN, observed=listed, how=model.how,
                     expected=f"operators of the {row['count']}-row vendor table", source=row["source"],
                     message=f"{listed}: not in the {tk} operator list (conversion may stop at them)",
                     fix=Fix("replace them before export, or convert through ONNX where the list is longer"), **context)
    return Check(f"source.{framework}_ops", title, OK, observed=f"{len(ops)} operator types", how=model.how,
                 expected=f"operators of the {row['count']}-row vendor table", source=row["source"],
                 message=f"all {len(ops)} operator types are in the {tk} operator list", **context)


def _dynamic_check(model, package, version, tk, matrix, context) -> Check:
    from rknn_envcheck.versions import try_parse

    title = "Dynamic input shapes"
    shapes = "; ".join(f"{i['name']} {i['shape'] if i['shape'] is not None else 'unknown rank'}" for i in model.inputs) or "no inputs found"
    if not model.dynamic_inputs:
        return Check("source.dynamic", title, OK, observed=shapes, how=model.how, expected="fixed shapes", source="API-TK2-2.3.2 §1.3",
                     message="every input has a fixed shape", **context)
    names = ", ".join(model.dynamic_inputs)
    rows = _rows(matrix, "dynamic_input", package)
    row = rows[0] if rows else None
    if model.format == "tensorflow":
        # load_tensorflow takes input_size_list, which fixes Placeholder dims at load time
        example = f"rknn.load_tensorflow(tf_pb={model.path!r}, inputs={model.dynamic_inputs!r}, outputs=[...], input_size_list=[[1, 224, 224, 3]])"
        return Check("source.dynamic", title, WARN, observed=shapes, how=model.how, expected="input_size_list given at load",
                     source="AR@v2.3.2 rknn-toolkit2/examples/tensorflow/ssd_mobilenet_v1/test.py (input_size_list)",
                     message=f"Placeholders {names} have unknown dimensions: give each input's shape in input_size_list",
                     fix=Fix("fix the shapes when loading", [Command([example], shell=PYTHON)]), **context)
    if row is None:
        return Check("source.dynamic", title, UNKNOWN, observed=shapes, how=model.how, source="API-TK2-2.3.2 §1.3",
                     message=f"dynamic inputs {names}", **context)
    fix = Fix("convert with fixed input shapes (e.g. TFLiteConverter from a concrete function with a fixed input signature)")
    no_dynamic = not row["supported"] or try_parse(version) < try_parse(row["since"])
    stored = [i for i in model.inputs if i["name"] in model.dynamic_inputs and i.get("stored_shape") and all(d > 0 for d in i["stored_shape"])]
    if no_dynamic and len(stored) == len(model.dynamic_inputs):
        # shape_signature marks the dims dynamic, but Tensor.shape holds concrete values a static converter uses
        used = "; ".join(f"{i['name']} {i['stored_shape']}" for i in stored)
        return Check("source.dynamic", title, WARN, observed=shapes, how=model.how, expected="fixed input shapes", source=row["source"],
                     message=f"{tk} has no dynamic input shapes: inputs {names} are converted with their stored shapes {used}", fix=fix, **context)
    if no_dynamic:
        return Check("source.dynamic", title, FAIL, observed=shapes, how=model.how, expected="fixed input shapes", source=row["source"],
                     message=f"{tk} does not support dynamic input shapes; inputs {names} are dynamic (-1 in shape_signature)", fix=fix, **context)
    return Check("source.dynamic", title, WARN, observed=shapes, how=model.how, expected=f"fixed shapes, or rknn.config({row['config']}=…)",
                 source=row["source"], message=f"inputs {names} are dynamic: list the shapes in rknn.config({row['config']}=[[[1, 224, 224, 3]]]); "
                                               f"the board needs runtime >= {row['min_runtime']}",
                 fix=Fix("list each input shape set", [Command([f"rknn.config(dynamic_input={[[[1, 224, 224, 3]]]!r})"], shell=PYTHON)]), **context)
