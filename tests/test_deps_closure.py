"""The installed toolkit judged by its own METADATA (issue 12 §1): real venvs, real dist-info.

The toolkit's METADATA is the vendor's real file (tests/data/metadata/, taken from the PyPI
wheels); its dependencies are minimal installed distributions (dist-info with Name, Version and
Requires-Dist lines like the real ones), so no test needs torch. The probe runs inside each venv's
own interpreter, exactly as `rknn-envcheck host --python ENV` does.
"""
from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from rknn_envcheck.matrix import load_matrix
from rknn_envcheck.probes.host import run_probe
from rknn_envcheck.report import FAIL, OK, UNKNOWN
from rknn_envcheck.rules.host import judge_host
from tests.test_host_venvs import add_dist, make_venv

METADATA = Path(__file__).parent / "data" / "metadata"
TOOLKIT_232 = METADATA / "rknn_toolkit2-2.3.2-cp311-cp311-manylinux_2_17_x86_64.METADATA"
TOOLKIT_220 = METADATA / "rknn_toolkit2-2.2.0-cp311-cp311-manylinux_2_17_x86_64.METADATA"
TOOLKIT_250 = METADATA / "rknn_toolkit2-2.5.0-cp311-cp311-manylinux_2_17_x86_64.METADATA"
PY311 = "/root/.pyenv/versions/3.11.7/bin/python3"
PY312 = "/root/.pyenv/versions/3.12.1/bin/python3"

# What a correct rknn-toolkit2 2.3.2 environment on Python 3.11 / linux x86_64 holds: each
# dependency with Requires-Dist lines as its real wheel declares them (markers included), so the
# walk goes through torch, onnx, scipy, jinja2, sympy… as it does in a real environment.
TORCH_240 = ["filelock", "typing-extensions>=4.8.0", "sympy", "networkx", "jinja2", "fsspec",
             'setuptools ; python_version >= "3.12"',
             'nvidia-cudnn-cu12==9.1.0.70 ; platform_system == "Linux" and platform_machine == "x86_64"',
             'triton==3.0.0 ; platform_system == "Linux" and platform_machine == "x86_64" and python_version < "3.13"',
             'opt-einsum>=3.3 ; extra == "opt-einsum"', 'optree>=0.11.0 ; extra == "optree"']
HEALTHY_232 = {
    "protobuf": ("4.25.4", []),
    "psutil": ("5.9.8", []),
    "ruamel.yaml": ("0.18.6", ['ruamel.yaml.clib>=0.2.7; platform_python_implementation == "CPython" and python_version < "3.13"']),
    "ruamel.yaml.clib": ("0.2.8", []),
    "scipy": ("1.13.1", ["numpy<2.3,>=1.22.4", 'pytest; extra == "test"']),
    "tqdm": ("4.66.4", ['colorama; platform_system == "Windows"']),
    "opencv-python": ("4.10.0.84", ['numpy>=1.21.2; python_version >= "3.10"', 'numpy>=1.23.5; python_version >= "3.11"']),
    "fast-histogram": ("0.14", ["numpy"]),
    "numpy": ("1.26.4", []),
    "onnx": ("1.16.1", ["numpy>=1.20", "protobuf>=3.20.2", 'google-re2; python_version < "3.13" and extra == "reference"']),
    "onnxruntime": ("1.18.0", ["coloredlogs", "flatbuffers", "numpy>=1.21.6", "packaging", "protobuf", "sympy"]),
    "coloredlogs": ("15.0.1", ["humanfriendly>=9.1"]),
    "humanfriendly": ("10.0", []),
    "flatbuffers": ("24.3.25", []),
    "packaging": ("24.1", []),
    "torch": ("2.4.0", TORCH_240),
    "filelock": ("3.15.4", []),
    "typing-extensions": ("4.12.2", []),
    "sympy": ("1.13.1", ["mpmath<1.4,>=1.1.0"]),
    "mpmath": ("1.3.0", []),
    "networkx": ("3.3", []),
    "jinja2": ("3.1.4", ["MarkupSafe>=2.0"]),
    "markupsafe": ("2.1.5", []),
    "fsspec": ("2024.6.1", []),
    "nvidia-cudnn-cu12": ("9.1.0.70", ["nvidia-cublas-cu12"]),
    "nvidia-cublas-cu12": ("12.1.3.1", []),
    "triton": ("3.0.0", ["filelock"]),
    "setuptools": ("80.9.0", []),
}


def _metadata(name: str, version: str, requires: list[str]) -> str:
    lines = [f"Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    lines += [f"Requires-Dist: {r}" for r in requires]
    return "\n".join(lines) + "\n\nA minimal installed distribution for rknn-envcheck tests.\n"


def build_env(root: Path, toolkit_metadata: Path, deps: dict, python: str = PY311) -> str:
    """A real venv with the vendor's METADATA for the toolkit and `deps` {name: (version, requires)}."""
    env_python, site = make_venv(root, python)
    text = toolkit_metadata.read_text()
    name = next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("Name:"))
    version = next(l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("Version:"))
    add_dist(site, name, version, module="rknn", metadata=text)
    for dep, (dep_version, requires) in deps.items():
        add_dist(site, dep, dep_version, module=dep.replace("-", "_").replace(".", "_"), metadata=_metadata(dep, dep_version, requires))
    return env_python


def judge(python: str, toolkit: str | None = None, facts_edit=None) -> list:
    host = run_probe(python)
    facts = {"schema": "rknn-envcheck/facts/1", "host": host, "devices": []}
    if facts_edit:
        facts_edit(host)
    return judge_host(facts, load_matrix(), toolkit)


def argv(command) -> tuple:
    """A fix command's arguments (a shellcmd.Command, or a display string from rules not converted yet)."""
    return tuple(command.argv) if hasattr(command, "argv") else tuple(shlex.split(str(command)))


def fails_by_component(checks) -> dict:
    out: dict = {}
    for c in checks:
        if c.status == FAIL:
            out.setdefault(c.component, []).append(c)
    return out


def with_changes(base: dict, **changes) -> dict:
    """`base` with deps replaced (name=(version, requires)) or removed (name=None); `_` for `-`/`.`."""
    deps = dict(base)
    for key, value in changes.items():
        name = {k.replace("-", "_").replace(".", "_"): k for k in base}.get(key, key.replace("_", "-"))
        if value is None:
            deps.pop(name, None)
        else:
            deps[name] = value
    return deps


# ----------------------------------------------------------------------------------------------
# the environments of issue 12
# ----------------------------------------------------------------------------------------------
def test_no_deps_install_with_wrong_versions_and_missing_packages(tmp_path):
    """2.3.2 installed with --no-deps, then numpy 2.1.3, onnx 1.15.0, protobuf 5.28.3, psutil 5.8.0;
    no scipy, onnxruntime, torch: pip check reports 7 problems — so must host, each as a fail."""
    deps = with_changes(HEALTHY_232, numpy=("2.1.3", []), onnx=("1.15.0", ["numpy>=1.20", "protobuf>=3.20.2"]),
                        protobuf=("5.28.3", []), psutil=("5.8.0", []), scipy=None, onnxruntime=None, torch=None)
    checks = judge(build_env(tmp_path / "env", TOOLKIT_232, deps))
    fails = fails_by_component(checks)
    for dist in ("numpy", "onnx", "protobuf", "psutil", "scipy", "onnxruntime", "torch"):
        assert dist in fails, (dist, sorted(fails))
    torch = next(c for c in fails["torch"] if c.id == "host.requirement.torch")
    assert torch.observed == "not installed"
    assert "rknn-toolkit2 2.3.2 requires `torch <=2.4.0,>=1.10.1` (its METADATA Requires-Dist); torch is not installed" in torch.message
    # one pip command for every failing requirement (pip resolves them together), torch's range in it
    assert torch.fix.commands[0].argv[1:4] == ("-m", "pip", "install") and "torch>=1.10.1,<=2.4.0" in torch.fix.commands[0].argv
    assert torch.fix.commands[0].argv[0].endswith("/bin/python")
    psutil = next(c for c in fails["psutil"] if c.id == "host.requirement.psutil")
    assert "requires `psutil >=5.9.0`" in psutil.message and "psutil 5.8.0 is installed" in psutil.message
    # numpy 2: the pitfall names the crash; the plain Requires-Dist finding is not said a second time
    assert [c.id for c in fails["numpy"]] == ["pitfall.numpy2-toolkit2"]
    assert not any(c.id == "host.requirements" and c.status == OK for c in checks)


def test_every_dependency_but_torch_is_a_fail_not_no_problems(tmp_path):
    checks = judge(build_env(tmp_path / "env", TOOLKIT_232, with_changes(HEALTHY_232, torch=None)))
    fails = fails_by_component(checks)
    assert sorted(fails) == ["torch"], [(c.id, c.message) for c in checks if c.status == FAIL]
    # torch's own requirements are not walked (it is not installed), so nothing is said about them
    assert not any(c.component in ("filelock", "triton", "nvidia-cudnn-cu12") and c.status != OK for c in checks)


def test_220_with_onnx_1_14_0_fails_on_the_exact_pin(tmp_path):
    """2.2.0's wheel requires onnx==1.14.1 and onnxruntime==1.16.0, protobuf<=4.25.4: all fail."""
    deps = with_changes(HEALTHY_232, onnx=("1.14.0", ["numpy", "protobuf>=3.20.2"]), protobuf=("5.28.3", []),
                        psutil=("5.8.0", []), onnxruntime=("1.18.0", ["numpy>=1.21.6", "protobuf", "sympy"]), torch=("2.1.0", TORCH_240))
    checks = judge(build_env(tmp_path / "env", TOOLKIT_220, deps))
    fails = fails_by_component(checks)
    for dist, line in (("onnx", "onnx ==1.14.1"), ("onnxruntime", "onnxruntime ==1.16.0"), ("protobuf", "protobuf <=4.25.4,>=4.21.0"),
                       ("psutil", "psutil >=5.9.0")):
        assert dist in fails, (dist, sorted(fails))
        finding = next(c for c in fails[dist] if c.id == f"host.requirement.{dist}")
        assert f"rknn-toolkit2 2.2.0 requires `{line}`" in finding.message
    assert not any(c.status == "warn" and c.component in ("onnx", "protobuf", "psutil", "onnxruntime") for c in checks)


def test_250_on_python_311_is_checked_from_its_metadata(tmp_path):
    deps = with_changes(HEALTHY_232, onnx=("1.19.0", ["numpy>=1.22", "protobuf>=4.25.1"]), protobuf=("5.28.3", []),
                        psutil=("5.8.0", []), onnxruntime=None)
    checks = judge(build_env(tmp_path / "env", TOOLKIT_250, deps))
    fails = fails_by_component(checks)
    assert {"onnx", "protobuf", "psutil", "onnxruntime"} <= set(fails), sorted(fails)
    onnx = next(c for c in fails["onnx"] if c.id == "host.requirement.onnx")
    assert "rknn-toolkit2 2.5.0 requires `onnx <=1.18.0,>=1.16.1`" in onnx.message
    # onnx 1.19.0 also violates onnx's dependants? no: the second declarer line is named when it fails
    protobuf = next(c for c in fails["protobuf"] if c.id == "host.requirement.protobuf")
    assert "protobuf>=4.25.1,<=4.25.4" in protobuf.fix.commands[0].argv  # every declarer's range at once


@pytest.mark.parametrize("setuptools", ["82.0.1", None])
def test_setuptools_without_pkg_resources_is_a_fail_pip_check_misses(tmp_path, setuptools):
    deps = with_changes(HEALTHY_232, setuptools=(setuptools, []) if setuptools else None)
    python = build_env(tmp_path / "env", TOOLKIT_232, deps)
    checks = judge(python)
    pitfall = [c for c in checks if c.id == "pitfall.toolkit2-needs-pkg-resources"]
    assert [c.status for c in pitfall] == [FAIL]
    assert pitfall[0].observed == (f"setuptools {setuptools}" if setuptools else "setuptools not installed")
    assert argv(pitfall[0].fix.commands[0])[-3:] == ("pip", "install", "setuptools<82")
    pip_check = subprocess.run([sys.executable, "-m", "pip", "--python", python, "check"], capture_output=True, text=True)
    assert pip_check.returncode == 0 and "setuptools" not in pip_check.stdout, pip_check.stdout


def test_healthy_environment_has_no_fail_and_an_ok_closure_row(tmp_path):
    python = build_env(tmp_path / "env", TOOLKIT_232, HEALTHY_232)
    checks = judge(python)
    assert [(c.id, c.message) for c in checks if c.status == FAIL] == []
    closure = [c for c in checks if c.id == "host.requirements"]
    assert [c.status for c in closure] == [OK]
    # the walk went through torch into jinja2 → markupsafe and onnxruntime → coloredlogs → humanfriendly
    assert "over 2" in closure[0].observed or int(closure[0].observed.split(" over ")[1].split()[0]) >= 25
    pip_check = subprocess.run([sys.executable, "-m", "pip", "--python", python, "check"], capture_output=True, text=True)
    assert pip_check.returncode == 0, pip_check.stdout  # the reference agrees it is healthy
    # the real CLI: no fail, and the closure row is in the JSON report
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", "host", "--python", python, "--json"], capture_output=True, text=True, timeout=60)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, (proc.stderr, [c for c in report["checks"] if c["status"] != "ok"])
    assert not [c for c in report["checks"] if c["status"] == "fail"]
    assert [c["status"] for c in report["checks"] if c["id"] == "host.requirements"] == ["ok"]


# ----------------------------------------------------------------------------------------------
# markers, extras, torch's own requirements
# ----------------------------------------------------------------------------------------------
def test_torch_requirements_are_walked_with_markers_for_the_judged_interpreter(tmp_path):
    """On Linux x86_64 torch 2.4.0 needs triton (marker true); `setuptools; python_version >= "3.12"`
    does not apply on 3.11; jinja2's own MarkupSafe requirement is reached through torch."""
    deps = with_changes(HEALTHY_232, triton=None, markupsafe=("1.1.1", []), setuptools=("80.9.0", []))
    checks = judge(build_env(tmp_path / "env", TOOLKIT_232, deps))
    fails = fails_by_component(checks)
    assert sorted(fails) == ["markupsafe", "triton"], sorted(fails)
    triton = fails["triton"][0]
    assert "torch 2.4.0 requires `triton==3.0.0 ; platform_system == \"Linux\"" in triton.message
    assert "jinja2 3.1.4 requires `MarkupSafe>=2.0`" in fails["markupsafe"][0].message


@pytest.mark.skipif(not Path(PY312).exists(), reason="needs the pyenv Python 3.12")
def test_python_312_marker_makes_torch_need_setuptools_said_once(tmp_path):
    """On 3.12 torch's `setuptools; python_version >= "3.12"` applies; a 3.12 venv has no setuptools:
    the pitfall (it names the pkg_resources crash) and the Requires-Dist line are one finding."""
    deps = with_changes(HEALTHY_232, setuptools=None)
    checks = judge(build_env(tmp_path / "env", TOOLKIT_232, deps, python=PY312))
    fails = fails_by_component(checks)
    assert [c.id for c in fails.get("setuptools", [])] == ["pitfall.toolkit2-needs-pkg-resources"], sorted(fails)


def test_extras_are_followed_only_where_a_requirement_names_them(tmp_path):
    deps = dict(HEALTHY_232)
    deps["onnx"] = ("1.16.1", ["numpy>=1.20", "protobuf>=3.20.2", "onnx-helper[fast]>=1.0"])
    deps["onnx-helper"] = ("1.2", ['speedups>=2; extra == "fast"', 'docs-only; extra == "docs"'])
    checks = judge(build_env(tmp_path / "env", TOOLKIT_232, deps))
    fails = fails_by_component(checks)
    assert sorted(fails) == ["speedups"], sorted(fails)
    assert "onnx-helper 1.2 requires `speedups>=2; extra == \"fast\"`" in fails["speedups"][0].message


# ----------------------------------------------------------------------------------------------
# matrix rows for a release that is not installed; facts without Requires-Dist
# ----------------------------------------------------------------------------------------------
def test_planned_release_uses_matrix_rows_missing_is_no_finding_violation_is_fail(tmp_path):
    python, site = make_venv(tmp_path / "env", PY311)
    add_dist(site, "onnx", "1.14.0", metadata=_metadata("onnx", "1.14.0", ["numpy"]))
    add_dist(site, "psutil", "5.8.0", metadata=_metadata("psutil", "5.8.0", []))
    checks = judge(python, toolkit="rknn-toolkit2==2.5.0")
    fails = fails_by_component(checks)
    assert {"psutil", "onnx"} <= set(fails), sorted(fails)
    assert "the wheel requires onnx>=1.16.1,<=1.18.0" in fails["onnx"][0].message  # the matrix row of 2.5.0's wheel
    # not installed: pip installs them with the toolkit, so no finding (setuptools: the pitfall pip misses)
    assert not any(c.component in ("torch", "scipy", "numpy", "onnxruntime") and c.status == FAIL for c in checks)
    assert not any(c.id == "host.requirements" for c in checks)  # no closure for a toolkit that is not installed


def test_toolkit_option_naming_the_installed_release_judges_its_metadata(tmp_path):
    python = build_env(tmp_path / "env", TOOLKIT_232, with_changes(HEALTHY_232, torch=None))
    fails = fails_by_component(judge(python, toolkit="rknn-toolkit2==2.3.2"))
    assert "torch" in fails and "installed with --no-deps" in fails["torch"][0].message


def test_facts_without_requires_dist_make_the_closure_unknown_never_ok(tmp_path):
    python = build_env(tmp_path / "env", TOOLKIT_232, HEALTHY_232)
    checks = judge(python, facts_edit=lambda host: host.pop("requires_dist"))
    closure = [c for c in checks if c.id == "host.requirements"]
    assert [c.status for c in closure] == [UNKNOWN]
    assert closure[0].fix.commands[0].argv[:2] == ("rknn-envcheck", "host") and "--save-facts" in closure[0].fix.commands[0].argv
    assert python in closure[0].fix.commands[0].argv


def test_saved_facts_replay_the_closure(tmp_path):
    python = build_env(tmp_path / "env", TOOLKIT_232, with_changes(HEALTHY_232, torch=None))
    facts = tmp_path / "facts.json"
    saving = subprocess.run([sys.executable, "-m", "rknn_envcheck", "host", "--python", python, "--save-facts", str(facts)],
                            capture_output=True, text=True, timeout=60)
    assert facts.exists(), (saving.returncode, saving.stderr[-2000:], saving.stdout[:300])
    saved = json.loads(facts.read_text())
    assert saved["host"]["requires_dist"]["rknn-toolkit2"][-1] == "torch <=2.4.0,>=1.10.1"
    assert saved["host"]["python"]["marker_env"]["python_version"] == "3.11"
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", "check", "--facts", str(facts), "--json"], capture_output=True, text=True, timeout=60)
    report = json.loads(proc.stdout)
    assert proc.returncode == 1, proc.stderr
    assert [c["status"] for c in report["checks"] if c["id"] == "host.requirement.torch"] == ["fail"]


@pytest.mark.parametrize("package,version,packages,expected", [
    ("rknn-toolkit2", "2.3.2", {"setuptools": "81.0.0"}, False),
    ("rknn-toolkit2", "2.3.2", {"setuptools": "82.0.0"}, True),
    ("rknn-toolkit2", "2.5.0", {}, True),  # no setuptools at all (a Python >= 3.12 venv)
    ("rknn-toolkit2", "2.3.2", None, None),  # the package list was not observed: cannot tell
    ("rknn-toolkit2", "2.1.0", {"setuptools": "84.2.1"}, False),  # not verified for releases before 2.2.0
    ("rknn-toolkit-lite2", "2.3.2", {}, False),  # lite2 imports pkg_resources inside try/except
])
def test_setuptools_pitfall_condition(package, version, packages, expected):
    from rknn_envcheck.rules.host import pitfall_applies

    row = next(r for r in load_matrix().rows("pitfall") if r["id"] == "toolkit2-needs-pkg-resources")
    host = {} if packages is None else {"packages": packages}
    assert pitfall_applies(row, host, (package, version)) is expected


def test_facts_without_marker_env_judge_plain_lines_and_leave_marker_lines_unknown(tmp_path):
    python = build_env(tmp_path / "env", TOOLKIT_232, with_changes(HEALTHY_232, psutil=None))
    checks = judge(python, facts_edit=lambda host: host["python"].pop("marker_env"))
    assert "psutil" in fails_by_component(checks)  # the toolkit's plain lines are still judged
    closure = [c for c in checks if c.id == "host.requirements"]
    assert [c.status for c in closure] == [UNKNOWN]  # torch's `; platform_system == …` lines could not be
    environment_lines = [r for _v, reqs in HEALTHY_232.values() for r in reqs if ";" in r and "extra" not in r]
    assert closure[0].message.startswith(f"{len(environment_lines)} Requires-Dist line(s)") and "marker_env" in closure[0].message
    assert "reference" not in closure[0].message  # `python_version < "3.13" and extra == "reference"` is False anyway


def test_lite2_is_judged_by_its_own_metadata_and_needs_no_setuptools(tmp_path):
    """rknn-toolkit-lite2 2.3.2 (aarch64 wheel METADATA: numpy, psutil, ruamel.yaml unpinned) without psutil."""
    lite = METADATA / "rknn_toolkit_lite2-2.3.2-cp311-cp311-manylinux_2_17_aarch64.METADATA"
    deps = {"numpy": ("1.26.4", []), "ruamel.yaml": ("0.18.6", [])}
    checks = judge(build_env(tmp_path / "env", lite, deps))
    fails = fails_by_component(checks)
    assert sorted(fails) == ["psutil"], sorted(fails)
    assert "rknn-toolkit-lite2 2.3.2 requires `psutil`" in fails["psutil"][0].message
    assert not any(c.id == "pitfall.toolkit2-needs-pkg-resources" for c in checks)


# ----------------------------------------------------------------------------------------------
# one thing judged once (review of issue 12/13): no ok next to a fail, one pip command
# ----------------------------------------------------------------------------------------------
def test_framework_table_row_is_not_ok_where_the_wheels_pin_fails(tmp_path):
    """2.2.0 with onnx 1.14.0: the vendor's table accepts it, the wheel's `onnx==1.14.1` does not;
    the report says the Requires-Dist fail only, never `[ok] onnx … in the supported range`."""
    deps = with_changes(HEALTHY_232, onnx=("1.14.0", ["numpy", "protobuf>=3.20.2"]), torch=("2.1.0", TORCH_240))
    checks = judge(build_env(tmp_path / "env", TOOLKIT_220, deps))
    onnx = [(c.id, c.status) for c in checks if c.component == "onnx"]
    assert onnx == [("host.requirement.onnx", FAIL)], onnx


def test_facts_without_requires_dist_report_no_missing_package_but_a_violating_one(tmp_path):
    """A facts file without Requires-Dist (hand-written, older probe): the closure is unknown, an
    absent name is not observed as absent (no fail), an installed one outside the wheel's rows is."""
    deps = with_changes(HEALTHY_232, scipy=None, onnxruntime=None, protobuf=("5.28.3", []))
    checks = judge(build_env(tmp_path / "env", TOOLKIT_232, deps), facts_edit=lambda host: host.pop("requires_dist"))
    assert [c.status for c in checks if c.id == "host.requirements"] == [UNKNOWN]
    assert not [c.id for c in checks if c.status == FAIL and c.observed == "not installed"]
    protobuf = [c for c in checks if c.id == "host.requirement.protobuf"]
    assert [c.status for c in protobuf] == [FAIL] and "protobuf 5.28.3" in protobuf[0].message


def test_several_failing_requirements_get_one_combined_pip_command(tmp_path):
    """vA of the review: --no-deps toolkit, numpy 2, setuptools 84, nothing else: one pip command
    with every requirement (pip resolves them together); the other rows keep their own text."""
    python = build_env(tmp_path / "env", TOOLKIT_232, {"numpy": ("2.1.3", []), "setuptools": ("84.2.1", [])})
    checks = judge(python)
    failing = [c for c in checks if c.status == FAIL]
    commands = [argv(command) for c in failing for command in (c.fix.commands if c.fix else [])]
    installs = sorted(set(a for a in commands if a[1:4] == ("-m", "pip", "install")))
    assert len(installs) == 1, installs
    specs = installs[0][4:]
    for spec in ("protobuf>=4.21.6,<=4.25.4", "torch>=1.10.1,<=2.4.0", "numpy<=1.26.4", "setuptools<82", "onnx>=1.16.1"):
        assert spec in specs, (spec, specs)
    assert installs[0][0] == python
    # every failing row carries that one fix (text output shows it once, then "the same as for … above"),
    # while each row's message still names its own requirement line
    assert all(c.fix == failing[0].fix for c in failing)
    assert all(f"requires `{c.component}" in c.message.replace("ruamel.yaml", "ruamel-yaml") for c in failing if c.id.startswith("host.requirement."))
