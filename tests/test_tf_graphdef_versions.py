"""scripts/gen_tf_graphdef_versions.py against the real version.h headers it stored (tests/data/tf_version_h,
read out of the PyPI tensorflow wheels with HTTP range requests): the shipped matrix is what they give."""
from __future__ import annotations

import importlib.util
import json
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADERS = ROOT / "tests" / "data" / "tf_version_h"


def generator():
    spec = importlib.util.spec_from_file_location("gen_tf_graphdef_versions", ROOT / "scripts" / "gen_tf_graphdef_versions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_offline_regeneration_reproduces_the_shipped_table(tmp_path):
    out = tmp_path / "tf_graphdef.toml"
    assert generator().main(["--offline", str(HEADERS), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (ROOT / "matrices" / "tf_graphdef.toml").read_text(encoding="utf-8")


def test_every_minor_release_the_toolkits_allow_has_a_row():
    from rknn_envcheck.matrix import load_matrix
    from rknn_envcheck.versions import release_numbers

    matrix = load_matrix()
    series = {tuple(release_numbers(r["tensorflow"])[:2]) for r in matrix.rows("tf_graphdef")}
    bounds = [r["specifier"] for r in matrix.rows("framework") if r["framework"] == "tensorflow" and r.get("specifier")]
    for spec in bounds:
        for bound in spec.replace(">=", "").replace("<=", "").split(","):
            assert tuple(release_numbers(bound)[:2]) in series, (spec, sorted(series))
    manifest = json.loads((HEADERS / "manifest.json").read_text())
    assert len(manifest) == len(matrix.rows("tf_graphdef"))


def test_header_is_found_in_a_wheel_layout_and_missing_macros_are_refused(tmp_path):
    gen = generator()
    header = (HEADERS / "tensorflow-1.15.0-version.h").read_text()
    wheel = tmp_path / "tensorflow-1.15.0-cp37-cp37m-manylinux2010_x86_64.whl"
    member = "tensorflow-1.15.0.data/purelib/tensorflow_core/include/tensorflow/core/public/version.h"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("tensorflow_core/__init__.py", "")
        archive.writestr(member, header)
    with open(wheel, "rb") as handle:
        assert gen.header_from_wheel(handle) == (member, header)
    numbers = gen.graphdef_numbers(header)
    assert numbers["producer"] > numbers["min_consumer"] >= 0
    try:
        gen.graphdef_numbers(header.replace("TF_GRAPH_DEF_VERSION_MIN_CONSUMER", "X"))
    except ValueError as exc:
        assert "TF_GRAPH_DEF_VERSION_MIN_CONSUMER" in str(exc)
    else:
        raise AssertionError("a header without the macro was accepted")


def test_pick_wheel_prefers_linux_and_first_release_skips_missing_patch_zero():
    gen = generator()
    files = {"1.13.1": [{"filename": "tensorflow-1.13.1-cp36-cp36m-win_amd64.whl", "size": 1},
                        {"filename": "tensorflow-1.13.1-cp36-cp36m-manylinux1_x86_64.whl", "size": 9}],
             "1.13.2": [{"filename": "tensorflow-1.13.2-cp36-cp36m-manylinux1_x86_64.whl", "size": 9}],
             "1.13.0rc0": [{"filename": "tensorflow-1.13.0rc0-cp36-cp36m-manylinux1_x86_64.whl", "size": 9}]}
    assert gen.first_release(files, "1.13") == "1.13.1"
    assert gen.pick_wheel(files["1.13.1"])["filename"].endswith("manylinux1_x86_64.whl")
