"""Spot-checks of the shipped matrices against the reference documents they were written from.

The reference tables are parsed straight from ../shared (toolkit1.md, toolkit2.md and the seed
manual) and compared row by row with matrices/*.toml, so a typo in either the data or a later
edit of the data shows up here. The TOML is read with tomllib directly, independently of
rknn_envcheck/matrix.py; the last tests also run the real loader over the shipped set.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
MATRICES = REPO / "matrices"
SHARED = Path(__file__).resolve().parents[2] / "shared"
TOOLKIT1_MD = SHARED / "reference" / "toolkit1.md"
TOOLKIT2_MD = SHARED / "reference" / "toolkit2.md"
SEED = SHARED / "seed" / "000_22048f458f44a434.txt"

needs_shared = pytest.mark.skipif(not TOOLKIT1_MD.is_file(), reason=f"reference documents not found at {SHARED} (../shared beside the repository)")


def load(name: str) -> dict:
    with open(MATRICES / name, "rb") as fh:
        return tomllib.load(fh)


def merged(*names: str) -> dict:
    """Several files of the set read as one, as the loader does (toolkit2.toml + the generated wheel rows)."""
    out: dict = {}
    for name in names:
        for key, value in load(name).items():
            if isinstance(value, list):
                out.setdefault(key, []).extend(value)
            else:
                out.setdefault(key, {}).update(value)
    return out


TK1 = load("toolkit1.toml")
TK2 = merged("toolkit2.toml", "wheels_toolkit2.toml")
WHEELS_TK2 = load("wheels_toolkit2.toml")
PIT = load("pitfalls.toml")
USB = load("usb.toml")
META = load("matrix.toml")
ALL_FILES = {"toolkit1.toml": TK1, "toolkit2.toml": load("toolkit2.toml"), "wheels_toolkit2.toml": WHEELS_TK2, "pitfalls.toml": PIT, "usb.toml": USB}


# ----------------------------------------------------------------------------- helpers

def md_table(text: str, header_prefix: str) -> list[list[str]]:
    """Rows (as stripped cells) of the markdown table whose header line starts with header_prefix."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_prefix))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    assert rows, f"table {header_prefix!r} is empty"
    return rows


def covers(versions, version: str) -> bool:
    if isinstance(versions, str):
        return SpecifierSet(versions).contains(Version(version), prereleases=True)
    return any(Version(v) == Version(version) for v in versions)


def rows_for(data: dict, table: str, package: str, version: str, **match) -> list[dict]:
    out = []
    for row in data.get(table, []):
        if row.get("package") != package or not covers(row["versions"], version):
            continue
        if all(row.get(k) == v for k, v in match.items()):
            out.append(row)
    return out


def releases(data: dict, package: str) -> list[str]:
    return [r["version"] for r in data["release"] if r["package"] == package]


def cp_to_python(tag: str) -> str:
    return f"{tag[2]}.{tag[3:]}"


def python_tags(cell: str) -> set[str]:
    """'cp35, cp36' / 'cp36–cp311' / 'cp38 only' -> {'3.5', '3.6', ...}."""
    span = re.search(r"cp3(\d+)\s*[–-]\s*\**cp3(\d+)", cell)
    if span:
        return {f"3.{m}" for m in range(int(span.group(1)), int(span.group(2)) + 1)}
    return {cp_to_python(t) for t in re.findall(r"cp3\d+", cell)}


def same_spec(a: str, b: str) -> bool:
    return SpecifierSet(a) == SpecifierSet(b)


# ----------------------------------------------------------------------------- every row

def test_every_row_names_a_source():
    for fname, data in ALL_FILES.items():
        for table, rows in data.items():
            assert isinstance(rows, list), f"{fname}: [{table}] must be an array of tables"
            for i, row in enumerate(rows, 1):
                assert str(row.get("source", "")).strip(), f"{fname} [[{table}]] row {i} has no source"


def test_matrix_meta_and_sources():
    # The set's version moves with every data change; it starts with the date of the change.
    import re
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", META["matrix"]["date"])
    assert META["matrix"]["version"].startswith(META["matrix"]["date"].replace("-", "."))
    for key in ("seed", "toolkit1.md", "toolkit2.md", "TK", "NPU", "AR", "PyPI", "CL-2.3.2", "API-TK2-2.3.2"):
        assert META["sources"].get(key, "").strip(), f"[sources] lacks {key}"


def test_versions_lists_name_declared_releases():
    declared = {}
    for data in (TK1, TK2):
        for row in data["release"]:
            declared.setdefault(row["package"], set()).add(Version(row["version"]))
    checked = 0
    for fname, data in ALL_FILES.items():
        for table, rows in data.items():
            for i, row in enumerate(rows, 1):
                for field in ("versions", "produced_by"):
                    if field not in row or "package" not in row:
                        continue
                    value, known = row[field], declared[row["package"]]
                    if isinstance(value, list):
                        missing = [v for v in value if Version(v) not in known]
                        assert not missing, f"{fname} [[{table}]] row {i}: {field} {missing} are not releases of {row['package']}"
                    else:
                        spec = SpecifierSet(value)
                        assert any(spec.contains(v, prereleases=True) for v in known), \
                            f"{fname} [[{table}]] row {i}: {field} {value!r} matches no release of {row['package']}"
                    checked += 1
    assert checked > 500


def test_pitfall_ids_unique_and_kebab_case():
    ids = [p["id"] for p in PIT["pitfall"]]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    for pid in ids:
        assert re.fullmatch(r"[a-z0-9]+(?:[-.][a-z0-9]+)*", pid), pid


def test_pitfall_conditions_are_well_formed():
    from rknn_envcheck.matrix import PITFALL_WHEN_KEYS as allowed
    from packaging.requirements import Requirement

    for p in PIT["pitfall"]:
        when = p["when"]
        assert when and set(when) <= allowed, (p["id"], when)
        assert ("dist" in when) == ("specifier" in when), p["id"]
        if "specifier" in when:
            SpecifierSet(when["specifier"])
        if "python" in when:
            SpecifierSet(when["python"])
        if "needs" in when:
            assert not Requirement(when["needs"]).marker, p["id"]
        assert set(when.get("os", [])) <= {"linux", "windows", "darwin"}, p["id"]
        assert p["level"] in ("fail", "warn", "info")
        assert p["message"].strip() and p["fix"].strip()
        assert all(isinstance(c, str) and c.strip() for c in p.get("commands", []))


@pytest.mark.parametrize("pid, package, version_in, version_out, when", [
    ("numpy-allow-pickle-toolkit-lt-1.0", "rknn-toolkit", "0.9.9", "1.0.0", {"dist": "numpy", "specifier": ">=1.16.3"}),
    ("logging-conflict-toolkit-lt-1.2.1", "rknn-toolkit", "1.2.0", "1.2.1", {"always": True}),
    ("windows-pythonlegacywindowsstdio-1.2.0", "rknn-toolkit", "1.2.0", "1.2.1", {"os": ["windows"], "env_unset": "PYTHONLEGACYWINDOWSSTDIO"}),
    ("batch-size-default-1.2.0", "rknn-toolkit", "1.2.0", "1.2.1", {"always": True}),
    ("dilated-conv-needs-toolkit-gt-1.4.0", "rknn-toolkit", "1.4.0", "1.6.0", {"always": True}),
    ("onnx-mapping-removed", "rknn-toolkit2", "2.3.2", "2.5.0", {"dist": "onnx", "specifier": ">=1.19.0"}),
    ("legacy-version-pip-24.1", "rknn-toolkit2", "1.4.0", "1.5.0", {"dist": "pip", "specifier": ">=24.1"}),
])
def test_seed_pitfalls_encode_the_seed_conditions(pid, package, version_in, version_out, when):
    p = next(p for p in PIT["pitfall"] if p["id"] == pid)
    assert p["package"] == package and p["when"] == when
    assert covers(p["versions"], version_in) and not covers(p["versions"], version_out)


def test_required_pitfalls_present():
    ids = {p["id"] for p in PIT["pitfall"]}
    for pid in ("tf-explicit-paddings", "dilated-conv-needs-tf-gt-1.14", "pre-compile-needs-gcc", "pre-compile-absent-aarch64",
                "channel-mean-value-before-1.3.0", "mean-std-values-from-1.4.0", "output-layout-change-1.0.0",
                "precompiled-before-1.0.0-vs-driver", "networkx-must-be-1.11", "h5py-3-breaks-load-keras",
                "torch-lt-1.6-jit-pass-inline", "numpy2-toolkit2", "macos-apple-silicon-unsupported",
                "adb-debugging-linux-x86-64-only-os", "macos-one-device-at-a-time", "windows-python-must-be-3.6"):
        assert pid in ids, pid
    by_id = {p["id"]: p for p in PIT["pitfall"]}
    assert by_id["pre-compile-needs-gcc"]["when"] == {"gcc": False}
    assert by_id["tf-explicit-paddings"]["when"] == {"dist": "tensorflow", "specifier": "<=1.13.2"}
    assert by_id["numpy-allow-pickle-toolkit-lt-1.0"]["commands"] == ['pip install "numpy==1.16.2"']
    assert SpecifierSet(by_id["numpy2-toolkit2"]["when"]["specifier"]).contains("2.0.0")


# ----------------------------------------------------------------------------- toolkit v1

@needs_shared
def test_toolkit1_releases_match_changelog_table():
    rows = md_table(TOOLKIT1_MD.read_text(encoding="utf-8"), "| version | changelog date |")
    expected = [r[0] for r in rows]
    assert releases(TK1, "rknn-toolkit") == expected
    for r in rows:
        row = next(x for x in TK1["release"] if x["package"] == "rknn-toolkit" and x["version"] == r[0])
        assert row["date"] == (r[1] if r[1] != "–" else "")
    for ghost in ("1.3.1", "1.5.0", "1.5.1", "1.5.2", "1.7.2", "1.7.4"):
        assert ghost not in releases(TK1, "rknn-toolkit")
    assert releases(TK1, "rknn-toolkit-lite") == ["1.4.0", "1.6.0", "1.6.1", "1.7.0", "1.7.1", "1.7.3", "1.7.5"]


@needs_shared
def test_toolkit1_wheels_match_reference_table():
    text = TOOLKIT1_MD.read_text(encoding="utf-8")
    cols = ["linux_x86_64", "linux_aarch64", "macosx_x86_64", "win_amd64"]
    for r in md_table(text, "| version | linux_x86_64 | linux_aarch64 | macOS | win_amd64 |"):
        for version in [v.strip() for v in r[0].split(",")]:
            for platform, cell in zip(cols, r[1:]):
                got = {p for w in rows_for(TK1, "wheel", "rknn-toolkit", version, platform=platform) for p in w["python"]}
                assert got == python_tags(cell), (version, platform, cell, got)
    lite_cols = ["linux_x86_64", "linux_aarch64", "linux_armv7l", "macosx_x86_64", "win_amd64"]
    for r in md_table(text, "| version | x86_64 | aarch64 | armv7l |"):
        for platform, cell in zip(lite_cols, r[1:]):
            got = {p for w in rows_for(TK1, "wheel", "rknn-toolkit-lite", r[0], platform=platform) for p in w["python"]}
            assert got == python_tags(cell), (r[0], platform, cell, got)


# Documented disagreements: the row holds the safer value and its note names both sides.
TK1_FRAMEWORK_DISAGREEMENTS = {
    ("1.7.0", "torch"): (">1.2.0,<=1.6.0", ["1.2.0"]),
    ("1.7.5", "onnx"): (">=1.7.0,<=1.10.0", ["1.10.0", "1.7.0"]),
}


def _tk1_framework(version, framework):
    rows = rows_for(TK1, "framework", "rknn-toolkit", version, framework=framework)
    assert len(rows) == 1, (version, framework, rows)
    return rows[0]


@needs_shared
def test_toolkit1_framework_table_row_by_row():
    rows = md_table(TOOLKIT1_MD.read_text(encoding="utf-8"), "| toolkit | TensorFlow | ONNX (release) |")
    assert [r[0] for r in rows] == ["1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.3.0", "1.3.2", "1.4.0", "1.6.0", "1.6.1", "1.7.0", "1.7.1", "1.7.3", "1.7.5"]
    for r in rows:
        version = r[0]
        for framework, cell in zip(("tensorflow", "onnx", "torch", "mxnet", "keras"), r[1:]):
            row = _tk1_framework(version, framework)
            if (version, framework) in TK1_FRAMEWORK_DISAGREEMENTS:
                spec, mentioned = TK1_FRAMEWORK_DISAGREEMENTS[(version, framework)]
                assert row["specifier"] == spec
                assert all(m in row["note"] for m in mentioned), row["note"]
                continue
            if cell == "not supported":
                assert row["supported"] is False and row["specifier"] == "", (version, framework)
                continue
            assert row["supported"] is True
            if framework == "onnx":
                assert row["specifier"] == "==" + cell, (version, cell)
            else:
                assert same_spec(row["specifier"], cell.replace("-tf", "").replace(" ", "")), (version, framework, cell, row["specifier"])
        for framework in ("caffe", "tflite", "darknet"):
            assert _tk1_framework(version, framework)["supported"] is True
    assert "810d7f7" in _tk1_framework("1.7.5", "darknet")["detail"]
    assert "Schema version = 3" in _tk1_framework("1.0.0", "tflite")["detail"]


@needs_shared
def test_toolkit1_onnx_opset_detail():
    assert "opset 8" in _tk1_framework("1.1.0", "onnx")["detail"] and "IR version 3" in _tk1_framework("1.1.0", "onnx")["detail"]
    assert "opset 9" in _tk1_framework("1.4.0", "onnx")["detail"]
    assert "opset 11, IR version 6" in _tk1_framework("1.6.0", "onnx")["detail"]
    assert "opset 12, IR version 7" in _tk1_framework("1.7.5", "onnx")["detail"]


@needs_shared
def test_toolkit1_framework_table_of_the_seed():
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("RKNN Toolkit\tTensorFlow\tTF Lite"))
    seen = []
    for i in range(start + 1, start + 15):
        cells = lines[i].split("\t")
        if not re.fullmatch(r"\d+\.\d+\.\d+", cells[0]):
            continue
        version = cells[0]
        seen.append(version)
        tf, onnx_cell, torch, mxnet = cells[1], cells[4] + " " + lines[i + 2], cells[6], cells[7]
        assert same_spec(_tk1_framework(version, "tensorflow")["specifier"], tf.replace(" ", ""))
        onnx = re.search(r"\d+\.\d+\.\d+", onnx_cell).group(0)
        assert _tk1_framework(version, "onnx")["specifier"] == "==" + onnx, (version, onnx)
        for framework, cell in (("torch", torch), ("mxnet", mxnet)):
            row = _tk1_framework(version, framework)
            if cell == "不支持":
                assert row["supported"] is False
            else:
                assert same_spec(row["specifier"], cell.replace(" ", ""))
    assert seen == ["1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.3.0", "1.3.2", "1.4.0"]


def _stack(version, component):
    rows = rows_for(TK1, "board_stack", "rknn-toolkit", version, component=component)
    assert len(rows) == 1, (version, component, rows)
    return rows[0]


def _component_versions(cell: str) -> list[str]:
    return re.findall(r"\d+\.\d+\.\d+", cell)


@needs_shared
def test_toolkit1_board_matrix_table_8_1():
    rows = md_table(TOOLKIT1_MD.read_text(encoding="utf-8"), "| RKNN Toolkit | rknn_server | NPU Driver (galcore) |")
    assert len(rows) == 13
    for version, server, driver, runtime in rows:
        for component, cell in (("rknn_server", server), ("librknn_runtime", runtime)):
            spec = SpecifierSet(_stack(version, component)["specifier"])
            for v in _component_versions(cell):
                assert spec.contains(v), (version, component, v)
            assert not spec.contains("9.9.9")
        galcore = _stack(version, "npu_driver")
        # a real (binary-verified) value must be accepted; a garbled table value must be explained
        assert driver in galcore["accepted"] or (driver in galcore["note"] and re.search(r"garbled|transcription", galcore["note"])), (version, driver)


def test_toolkit1_galcore_accepts_binary_verified_strings():
    for version in ("1.3.0", "1.3.2", "1.4.0"):
        assert "6.4.0.227915" in _stack(version, "npu_driver")["accepted"]
    for version in ("1.6.0", "1.6.1"):
        assert _stack(version, "npu_driver")["accepted"] == ["6.4.3.5.293908"]
    for version in ("1.7.0", "1.7.1", "1.7.3", "1.7.5"):
        assert _stack(version, "npu_driver")["accepted"] == ["6.4.6.5.351518"]
    assert "6.4.0.213404" in _stack("1.2.1", "npu_driver")["accepted"]


@needs_shared
def test_toolkit1_board_table_of_the_seed():
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("RKNN Toolkit\trknn_server\tNPU"))
    seen = []
    for line in lines[start + 1:]:
        cells = line.split("\t")
        if not re.fullmatch(r"\d+\.\d+\.\d+", cells[0]):
            break
        version, server, driver, runtime = cells
        seen.append(version)
        for v in server.split("/"):
            assert SpecifierSet(_stack(version, "rknn_server")["specifier"]).contains(v)
        for v in runtime.split("/"):
            assert SpecifierSet(_stack(version, "librknn_runtime")["specifier"]).contains(v)
        accepted = _stack(version, "npu_driver")["accepted"]
        assert driver in accepted or driver.replace(", ", ".") in accepted, (version, driver)
    assert seen == ["1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.3.0", "1.3.2", "1.4.0"]


def test_toolkit1_target_platforms_and_chips():
    tps = {t["name"]: t for t in TK1["target_platform"]}
    assert {n: tps[n]["since"] for n in ("rk1808", "rk3399pro", "rv1109", "rv1126", "rk1806")} == \
        {"rk1808": "1.3.2", "rk3399pro": "1.3.2", "rv1109": "1.3.2", "rv1126": "1.3.2", "rk1806": "1.4.0"}
    assert {tps[n]["family"] for n in ("rk1808", "rk1806", "rk3399pro")} == {"LION"}
    assert {tps[n]["family"] for n in ("rv1109", "rv1126")} == {"PUMA"}
    chips = {c["name"]: c for c in TK1["chip"]}
    assert set(chips) == {"RK1808", "RK1806", "RK3399PRO", "RV1109", "RV1126"}
    for c in chips.values():
        assert c["line"] == "rknn-toolkit" and c["driver"] == "galcore" and c["runtime_library"] == "librknn_runtime.so"
        assert "/usr/lib/librknn_runtime.so" in c["runtime_paths"]["linux"]
        assert c["server_paths"]["linux"] == ["/usr/bin/rknn_server"]
    assert chips["RK1808"]["compatible"] == ["rockchip,rk1808"] and chips["RV1126"]["compatible"] == ["rockchip,rv1126"]
    assert chips["RV1126"]["npu"] == "PUMA" and chips["RK1808"]["npu"] == "LION"


def test_toolkit1_model_formats():
    fmts = {m["format"]: m for m in TK1["model_format"]}
    assert set(fmts) == {1, 2} and all(m["header_size"] == 24 for m in fmts.values())


@needs_shared
def test_toolkit1_requirements_files_section_2_3():
    rows = md_table(TOOLKIT1_MD.read_text(encoding="utf-8"), "| toolkit | requirements-cpu.txt |")
    checked = 0
    for r in rows:
        versions = [v.strip() for v in r[0].split(",")]
        for cell, py38 in ((r[1], False), (r[2], False), (r[3], True)):
            if not re.match(r"tensorflow(-gpu)?==", cell):
                continue
            pins = [p.strip() for p in cell.split(",")]
            for version in versions:
                for pin in pins:
                    found = [x for x in rows_for(TK1, "requirement", "rknn-toolkit", version, kind="requirements-file")
                             if x["requirement"] == pin and ("3.8" in x.get("python", [])) == py38]
                    assert found, (version, pin, "py38 file" if py38 else "cpu/gpu file")
                    checked += 1
    assert checked == 80


def test_toolkit1_user_guide_pins_spot_check():
    def has(version, requirement, **kw):
        return any(r["requirement"] == requirement for r in rows_for(TK1, "requirement", "rknn-toolkit", version, **kw))
    assert has("1.4.0", "numpy==1.16.3") and has("1.4.0", "networkx==1.11") and has("1.4.0", "onnx==1.4.1")
    assert has("1.7.5", "numpy==1.19.5") and has("1.7.5", "onnx==1.10.0") and has("1.7.5", "protobuf==3.13.0")
    assert has("1.7.3", "numpy==1.19.5", python=["3.8"], platform=["linux_x86_64"])
    assert has("0.9.8", "numpy>=1.14.3")
    for version in ("1.4.0", "1.6.0", "1.7.1"):
        assert has(version, "numpy==1.16.3") and not has(version, "numpy==1.19.5")
    lite = [r["requirement"] for r in rows_for(TK1, "requirement", "rknn-toolkit-lite", "1.7.1", kind="requires-dist")]
    assert sorted(lite) == ["numpy==1.16.3", "psutil==5.6.2", "ruamel.yaml==0.15.81"]


# ----------------------------------------------------------------------------- toolkit2

@needs_shared
def test_toolkit2_releases_match_reference():
    text = TOOLKIT2_MD.read_text(encoding="utf-8")
    tk2 = [re.match(r"\S+", r[0]).group(0) for r in md_table(text, "| version (wheel version string) |")]
    assert releases(TK2, "rknn-toolkit2") == tk2
    assert {"1.1.1", "2.0.0b0", "2.2.1", "2.5.0"} <= set(tk2)
    lite2 = [r[0] for r in md_table(text, "| version | [AR]/[RL] commit date |")]
    assert releases(TK2, "rknn-toolkit-lite2") == lite2
    row_140 = next(r for r in TK2["release"] if r["package"] == "rknn-toolkit2" and r["version"] == "1.4.0")
    assert "1.4.0-22dcfef4" in row_140["note"]


@needs_shared
def test_toolkit2_wheel_python_tags():
    text = TOOLKIT2_MD.read_text(encoding="utf-8")
    for r in md_table(text, "| version (wheel version string) |"):
        version = re.match(r"\S+", r[0]).group(0)
        got = {p for w in rows_for(TK2, "wheel", "rknn-toolkit2", version, platform="linux_x86_64") for p in w["python"]}
        assert got == python_tags(r[3]), (version, r[3], got)
        has_arm = bool(rows_for(TK2, "wheel", "rknn-toolkit2", version, platform="linux_aarch64"))
        assert has_arm == ("aarch64" in r[4]), version
    for r in md_table(text, "| version | [AR]/[RL] commit date |"):
        got = {p for w in rows_for(TK2, "wheel", "rknn-toolkit-lite2", r[0], platform="linux_aarch64") for p in w["python"]}
        assert got == python_tags(r[3]), (r[0], r[3], got)


TK2_COLS = ["numpy", "protobuf", "onnx", "onnxruntime", "onnxoptimizer", "torch", "torchvision", "tensorflow", "tflite", "opencv-python"]
ARCH = {"x86_64": "linux_x86_64", "aarch64": "linux_aarch64"}


def _tk2_reqs(version, python, platform):
    return [r for r in rows_for(TK2, "requirement", "rknn-toolkit2", version)
            if python in r.get("python", [python]) and platform in r.get("platform", [platform])]


def _on_pypi(package, version, python, platform):
    return any(python in w["python"] and w.get("on_pypi") for w in rows_for(TK2, "wheel", package, version, platform=platform))


@needs_shared
def test_toolkit2_requirement_files_every_pinned_column():
    rows = md_table(TOOLKIT2_MD.read_text(encoding="utf-8"), "| tk2 | py | arch |")
    assert len(rows) >= 68
    checked = 0
    for r in rows:
        versions = r[0].split("/")
        python, platform = cp_to_python(r[1]), ARCH[r[2]]
        for version in versions:
            have = {Requirement(x["requirement"]).name.lower(): x for x in _tk2_reqs(version, python, platform)}
            for column, cell in zip(TK2_COLS, r[3:13]):
                if cell == "—":
                    assert column not in have, (version, python, platform, column, have.get(column))
                    continue
                row = have.get(column)
                assert row is not None, (version, python, platform, column)
                expected = column + cell.strip("()")
                assert str(Requirement(row["requirement"])) == str(Requirement(expected)), (version, python, platform, row["requirement"], expected)
                # Where PyPI has the wheel, the generator keeps its METADATA (identical pins) instead of the file.
                file_kind = "requires-dist" if _on_pypi("rknn-toolkit2", version, python, platform) else "requirements-file"
                assert row["kind"] == ("user-guide" if cell.startswith("(") else file_kind), (version, python, platform, column, row["kind"])
                checked += 1
    assert checked > 500


@needs_shared
def test_toolkit2_requirement_files_other_pins_spot_check():
    def pins(version, python, platform):
        return {x["requirement"] for x in _tk2_reqs(version, python, platform)}
    assert {"PuLP==2.4", "tensorboard==1.14.0", "mxnet==1.7.0"} <= pins("1.0.0", "3.6", "linux_x86_64")
    assert {"bfloat16==1.1", "scikit_image==0.17.2"} <= pins("1.1.1", "3.6", "linux_x86_64")
    assert "Pillow>=10.0.1" in pins("1.6.0", "3.11", "linux_x86_64") and "Pillow>=10.0.1" not in pins("1.6.0", "3.10", "linux_x86_64")
    assert "fast-histogram>=0.11" in pins("2.3.2", "3.12", "linux_aarch64")


@needs_shared
def test_toolkit2_requires_dist_as_read_from_pypi():
    rows = md_table(TOOLKIT2_MD.read_text(encoding="utf-8"), "| wheel | Requires-Dist |")
    checked = 0
    for label, cell in rows:
        if cell.startswith(("same as", "as ")):
            continue
        m = re.match(r"(lite2 )?([\d.]+)(?: / ([\d.]+))?(?: (cp\d+))?(?: \(?(x86_64|aarch64)\)?)?", label)
        package = "rknn-toolkit-lite2" if m.group(1) else "rknn-toolkit2"
        versions = [v for v in (m.group(2), m.group(3)) if v]
        python = cp_to_python(m.group(4)) if m.group(4) else None
        platform = ARCH[m.group(5) or "aarch64"]
        for version in versions:
            got = {x["requirement"] for x in rows_for(TK2, "requirement", package, version, kind="requires-dist")
                   if (python is None or python in x.get("python", [python])) and platform in x.get("platform", [platform])}
            want = {p.strip().replace("*", "") for p in cell.split(";")}
            assert got == want, (label, got ^ want)
            checked += 1
    assert checked >= 6


@needs_shared
def test_toolkit2_target_platforms_section_5():
    rows = md_table(TOOLKIT2_MD.read_text(encoding="utf-8"), "| target string | first toolkit2 release")
    tps = {t["name"]: t for t in TK2["target_platform"]}
    seen = set()
    for r in rows:
        for name in re.findall(r"`(\w+)`", r[0]):
            seen.add(name)
            first = re.search(r"\d+\.\d+\.\d+(?:b\d+)?", r[1]).group(0)
            if name == "rk2118":
                # CHANGELOG says 2.0.0b0, the API reference only from 2.1.0: the safer 'since' is kept
                assert first == "2.0.0b0" and tps[name]["since"] == "2.1.0" and "2.0.0b0" in tps[name]["note"]
            else:
                assert tps[name]["since"] == first, (name, first)
    assert seen == set(tps)


def test_toolkit2_framework_rows():
    for version in ("1.4.0", "1.5.0", "1.5.2", "1.6.0", "2.0.0b0", "2.1.0", "2.2.0", "2.3.0", "2.3.2"):
        for framework in ("tensorflow", "onnx", "torch", "caffe", "tflite", "darknet"):
            assert len(rows_for(TK2, "framework", "rknn-toolkit2", version, framework=framework)) == 1, (version, framework)
    onnx = rows_for(TK2, "framework", "rknn-toolkit2", "2.3.2", framework="onnx")[0]
    assert same_spec(onnx["specifier"], ">=1.7.0,<=1.17.0")
    torch = rows_for(TK2, "framework", "rknn-toolkit2", "1.6.0", framework="torch")[0]
    assert same_spec(torch["specifier"], ">=1.6.0,<=1.13.1")


def test_toolkit2_board_stack_rules():
    fail = [r for r in TK2["board_stack"] if r["level"] == "fail"]
    # librknn_api.so of 2.2.0 / 2.3.2 / 2.5.0 refuses only rknn_server <= 1.2.0 (read from the binaries)
    server = [r for r in fail if r["component"] == "rknn_server"]
    assert len(server) == 1 and server[0]["specifier"] == ">1.2.0" and "WHL" in server[0]["source"]
    assert all(covers(server[0]["versions"], v) for v in ("2.2.0", "2.3.2", "2.5.0")) and not covers(server[0]["versions"], "2.1.0")
    assert not SpecifierSet(server[0]["specifier"]).contains("1.2.0") and SpecifierSet(server[0]["specifier"]).contains("2.0.0b0", prereleases=True)
    # format-6 models (toolkit2 >= 1.5.2) cannot load on librknnrt < 1.5.2: a hard boundary
    rt = [r for r in fail if r["component"] == "librknnrt"]
    assert len(rt) == 1 and covers(rt[0]["versions"], "1.5.2") and not covers(rt[0]["versions"], "1.5.0")
    assert not SpecifierSet(rt[0]["specifier"]).contains("1.5.0") and SpecifierSet(rt[0]["specifier"]).contains("1.5.2")
    # no 2.5.0 board runtime is published: its rows ask for the newest published one (2.3.2)
    for package in ("rknn-toolkit2", "rknn-toolkit-lite2"):
        for r in rows_for(TK2, "board_stack", package, "2.5.0"):
            if r["component"] in ("librknnrt", "librknnmrt", "rknn_server") and r["level"] == "warn":
                assert SpecifierSet(r["specifier"]).contains("2.3.2") and "newest published" in r["note"], r
    # librknnmrt 1.3.0b0 is the only 1.3.x RV1106 runtime: toolkit2 1.3.0's row must accept it
    mrt = rows_for(TK2, "board_stack", "rknn-toolkit2", "1.3.0", component="librknnmrt")
    assert mrt and all(SpecifierSet(r["specifier"]).contains("1.3.0b0", prereleases=True) for r in mrt)
    drv = [r for r in rows_for(TK2, "board_stack", "rknn-toolkit2", "2.3.2", component="npu_driver")]
    assert drv and all(r["level"] == "warn" for r in drv) and any(r["specifier"] == ">=0.9.2" for r in drv)
    for version in releases(TK2, "rknn-toolkit2"):
        assert rows_for(TK2, "board_stack", "rknn-toolkit2", version, component="librknnrt"), version
    assert any("<= 0.8.0" in r.get("note", "") for r in rows_for(TK2, "board_stack", "rknn-toolkit2", "2.0.0b0", component="npu_driver"))


def test_toolkit2_chips():
    chips = {c["name"]: c for c in TK2["chip"]}
    assert set(chips) == {"RK3566", "RK3568", "RK3588", "RK3562", "RK3576", "RV1103", "RV1106", "RV1103B", "RV1106B", "RV1126B", "RK2118"}
    assert chips["RK3588"]["aliases"] == ["rk3588s"] and chips["RK3588"]["npu_node"] == "fdab0000.npu"
    for name in ("RV1103", "RV1106", "RV1103B", "RV1106B"):
        assert chips[name]["runtime_library"] == "librknnmrt.so"
        assert chips[name]["runtime_paths"]["linux"] == ["/oem/usr/lib/librknnmrt.so"]
    for name in ("RK3566", "RK3568", "RK3588", "RK3562", "RK3576"):
        assert chips[name]["runtime_paths"]["linux"] == ["/usr/lib/librknnrt.so"] and chips[name]["driver"] == "rknpu"
    assert {chips[n]["npu_node"] for n in ("RK3566", "RK3568")} == {"fde40000.npu"}
    assert chips["RK3562"]["npu_node"] == "ff300000.npu" and chips["RK3576"]["npu_node"] == "27700000.npu"
    v1 = {c["name"] for c in TK1["chip"]}
    assert not v1 & set(chips)


def test_toolkit2_model_formats():
    fmts = {m["format"]: m for m in TK2["model_format"]}
    assert fmts[1]["header_size"] == 24 and fmts[2]["header_size"] == 64 and fmts[6]["header_size"] == 64
    assert fmts[6]["min_runtime"] == "1.5.2" and covers(fmts[6]["produced_by"], "2.3.2") and not covers(fmts[6]["produced_by"], "1.5.0")


# ----------------------------------------------------------------------------- usb

@needs_shared
def test_usb_ids_and_udev_rule():
    ids = {(u["vid"], u["pid"]): u["mode"] for u in USB["usb_id"]}
    assert ids[("2207", "0006")] == "adb" and ids[("2207", "1808")] == "ntb" and ids[("2207", "0018")] == "compute-stick-ntb"
    assert ids[("2207", "*")] == "unknown-rockchip"
    rule = USB["udev_rule"][0]
    text = TOOLKIT1_MD.read_text(encoding="utf-8")
    assert f"`{rule['rule']}`" in text and f"**`{rule['file']}`**" in text
    assert rule["file"] == "91-rk1808-ai-cs.rules" and rule["install_dir"] == "/etc/udev/rules.d"


# ----------------------------------------------------------------------------- the real loader

def test_shipped_set_loads_with_the_validator():
    import rknn_envcheck.matrix as matrix_mod
    m = matrix_mod.load_matrix(MATRICES)
    assert m.version == META["matrix"]["version"] and m.date == META["matrix"]["date"]
    assert len(m.rows("requirement")) == len(TK1["requirement"]) + len(TK2["requirement"])
    assert m.is_release("rknn-toolkit2", "1.4.0-22dcfef4") and not m.is_release("rknn-toolkit", "1.5.0")
    assert m.chip_from_compatible("rockchip,rv1126b-evb\x00rockchip,rv1126b\x00")["name"] == "RV1126B"
    assert m.chip_from_compatible("rockchip,rk3588s-orangepi-5\x00rockchip,rk3588\x00")["name"] == "RK3588"


# ----------------------------------------------------------------------------- severity policy (docs/checks.md)

# What a `fail` row must cite: the wheel's metadata, a vendor binary, a release note, a vendor
# document stating the condition does not work, or a reproduced breakage.
HARD_EVIDENCE = ("Requires-Dist", "METADATA", "[WHL", "objdump", "strings", "Invalid RKNN model version", "CHANGELOG",
                 "note 3", "reproduced", "observed", "seed §")
# The vendor's version tables only recommend.
RECOMMENDATION_TABLES = ("API-TK2-2.3.2] §1.3", "UG-1.7.5 Tables", "TS-1.7.5 Tables", "QS-1.6.0] §3.4")


def _all_rows(table):
    for name, data in ALL_FILES.items():
        for row in data.get(table, []):
            yield name, row


def test_severity_policy_framework_rows():
    seen = 0
    for name, row in _all_rows("framework"):
        assert row.get("level") in ("fail", "warn"), (name, row)
        if row["level"] == "fail":
            assert any(e in row["source"] for e in HARD_EVIDENCE), (name, row["source"])
            assert not any(t in row["source"] for t in RECOMMENDATION_TABLES), (name, row["source"])
        if any(t in row["source"] for t in RECOMMENDATION_TABLES):
            assert row["level"] == "warn", (name, row)  # a table value stricter than the wheel, never reproduced
        seen += 1
    assert seen >= 40


def test_severity_policy_board_stack_rows():
    fails = 0
    for name, row in _all_rows("board_stack"):
        if row["level"] == "fail":
            fails += 1
            assert any(e in row["source"] for e in HARD_EVIDENCE), (name, row["source"])
            assert "(inferred)" not in row["source"], (name, row)
        elif any(t in row["source"] for t in RECOMMENDATION_TABLES):
            assert row["level"] == "warn"
    assert fails >= 2


def test_severity_policy_requirement_kinds():
    """`requires-dist` (pip enforces it: fail) only from a wheel's own METADATA; the rest only recommend."""
    kinds = set()
    for name, row in _all_rows("requirement"):
        kinds.add(row["kind"])
        if row["kind"] == "requires-dist":
            assert any(e in row["source"] for e in ("Requires-Dist", "METADATA")), (name, row["source"])
    assert kinds == {"requires-dist", "requirements-file", "user-guide"}


def test_severity_policy_pitfall_fail_rows_cite_evidence():
    for row in PIT["pitfall"]:
        if row["level"] == "fail":
            assert row["source"].strip() and "(inferred)" not in row["source"], row["id"]


def test_generated_wheel_rows_are_marked_and_complete():
    text = (MATRICES / "wheels_toolkit2.toml").read_text(encoding="utf-8")
    assert text.startswith("# GENERATED by scripts/import_wheel_metadata.py") and "do not edit by hand" in text.splitlines()[0]
    files = {f for row in WHEELS_TK2["wheel"] for f in row["files"]}
    # every wheel row names its files; vendor-only ones say where to download them
    for row in WHEELS_TK2["wheel"]:
        assert len(row["files"]) == len(row["python"]) or row["package"] == "rknn-toolkit-lite2", row
        if not row["on_pypi"]:
            assert len(row["download"]) == len(row["files"]) and all(u.startswith("https://github.com/airockchip/rknn-toolkit2/raw/") for u in row["download"])
    assert "rknn_toolkit2-2.2.0-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" in files
    pypi_220 = [r for r in WHEELS_TK2["wheel"] if r["versions"] == ["2.2.0"] and r["package"] == "rknn-toolkit2" and r["on_pypi"]]
    assert len(pypi_220) == 1 and "3.8" not in pypi_220[0]["python"]  # PyPI's cp38 build is 2.2.1
    # 2.5.0: one requires-dist set per Python, and cp36 differs from cp38+
    onnx_250 = {tuple(r["python"]): r["requirement"] for r in WHEELS_TK2["requirement"]
                if r["package"] == "rknn-toolkit2" and r["versions"] == ["2.5.0"] and r["platform"] == ["linux_x86_64"]
                and Requirement(r["requirement"]).name == "onnx"}
    assert onnx_250 == {("3.6",): "onnx>=1.10.0,<=1.11.0", ("3.7",): "onnx>=1.10.0,<=1.18.0",
                        ("3.8", "3.9", "3.10", "3.11", "3.12"): "onnx>=1.16.1,<=1.18.0"}
