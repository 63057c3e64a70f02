"""What the probe records for the Requires-Dist check, against the references: the email parser
(how importlib.metadata / pip read METADATA headers) and packaging.markers (pip's vendored copy
inside each judged interpreter, and the tool's own copy for the marker reader)."""
from __future__ import annotations

import email
import itertools
import json
import subprocess
from pathlib import Path

import pytest
from packaging.markers import Marker as ReferenceMarker
from packaging.markers import default_environment

from rknn_envcheck.probes import host_probe
from rknn_envcheck.probes.host import run_probe
from rknn_envcheck.rules.markers import Marker, Unsupported, split_line
from rknn_envcheck.rules.requirements import parse_requirement, simplest
from tests.test_host_venvs import add_dist, make_venv

METADATA = Path(__file__).parent / "data" / "metadata"
PYENV = Path("/root/.pyenv/versions")
# The oldest, the tool's own and the newest interpreter this machine has (each costs a venv).
PYTHONS = [str(PYENV / v / "bin" / "python3") for v in ("3.6.15", "3.11.7", "3.13.0") if (PYENV / v / "bin" / "python3").exists()]


def _reference_headers(path: Path):
    message = email.message_from_bytes(path.read_bytes())
    return message["Name"], message["Version"], [r.strip() for r in message.get_all("Requires-Dist") or []]


@pytest.mark.parametrize("path", sorted(METADATA.glob("*.METADATA")), ids=lambda p: p.name)
def test_requires_dist_of_the_vendor_metadata_files_as_the_email_parser_reads_them(path):
    assert host_probe.read_header_fields(str(path)) == _reference_headers(path)


def test_requires_dist_headers_in_crlf_lowercase_and_after_long_descriptions(tmp_path):
    path = tmp_path / "METADATA"
    text = ("Metadata-Version: 2.1\r\nName: odd\r\nVersion: 1.0\r\n" + "Classifier: X :: Y\r\n" * 60 +
            "requires-dist: numpy<2\r\nRequires-Dist: torch ; extra == \"t\"\r\n\r\nRequires-Dist: not-a-header\r\n")
    path.write_bytes(text.encode())
    assert host_probe.read_header_fields(str(path)) == _reference_headers(path) == ("odd", "1.0", ["numpy<2", 'torch ; extra == "t"'])


def test_requires_dist_is_bounded(tmp_path):
    path = tmp_path / "METADATA"
    path.write_text("Name: big\nVersion: 1\n" + "".join(f"Requires-Dist: dep{i}\n" for i in range(300)) +
                    "Requires-Dist: " + "x" * 2000 + "\n\n")
    _name, _version, requires = host_probe.read_header_fields(str(path))
    assert len(requires) == host_probe.MAX_REQUIRES_LINES and requires[-1] == "dep199"


def test_egg_info_requires_txt_sections_become_markers(tmp_path):
    python, site = make_venv(tmp_path / "env")
    egg = site / "legacy-1.0-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: legacy\nVersion: 1.0\n\n")
    (egg / "requires.txt").write_text('numpy>=1.20\n\n[:python_version < "3.8"]\nimportlib-metadata\n\n[speed]\nujson\n\n[speed:sys_platform == "linux"]\nuvloop\n')
    host = run_probe(python)
    assert host["requires_dist"]["legacy"] == ["numpy>=1.20", 'importlib-metadata; (python_version < "3.8")', 'ujson; extra == "speed"',
                                               'uvloop; (sys_platform == "linux") and extra == "speed"']


@pytest.mark.parametrize("python", PYTHONS or ["python3"])
def test_marker_env_is_what_packaging_gives_in_that_interpreter(python, tmp_path):
    """Compared with pip's vendored packaging.markers.default_environment() run in the same interpreter."""
    reference = subprocess.run([python, "-c", "import json; from pip._vendor.packaging.markers import default_environment as d; print(json.dumps(d()))"],
                               capture_output=True, text=True)
    if reference.returncode != 0:
        pytest.skip(f"{python} has no pip: {reference.stderr.strip()[-200:]}")
    env_python, site = make_venv(tmp_path / "env", python)
    add_dist(site, "rknn-toolkit2", "2.3.2", module="rknn", metadata=(METADATA / "rknn_toolkit2-2.3.2-cp311-cp311-manylinux_2_17_x86_64.METADATA").read_text())
    host = run_probe(env_python)
    assert host["python"]["marker_env"] == json.loads(reference.stdout)
    assert host["requires_dist"]["rknn-toolkit2"][-1] == "torch <=2.4.0,>=1.10.1"


# ----------------------------------------------------------------------------------------------
# the rules' own marker reader against packaging.markers
# ----------------------------------------------------------------------------------------------
MARKERS = [
    'platform_system == "Linux" and platform_machine == "x86_64"', 'python_version >= "3.12"', 'extra == "opt-einsum"',
    'extra == "Opt_Einsum"', 'platform_system == "Linux" and platform_machine == "x86_64" and python_version < "3.13"',
    'python_version < "3.13" and extra == "reference"', '(python_version < "3.8" or python_version > "3.10") and sys_platform != "win32"',
    '"3.8" < python_version', 'sys_platform in "linux darwin"', 'platform_machine not in "arm64 aarch64"', "os_name == 'nt'",
    'python_full_version >= "3.11.7"', 'implementation_name == "cpython" and platform_python_implementation != "PyPy"',
    'platform_release >= "5.0"', 'platform_machine >= "x86_64"', 'platform_machine < "z"', "python_version ~= '3.11'",
    'os.name == "posix"', 'python_implementation == "CPython"', 'extra == ""', 'python_version=="3.6" or extra=="docs"',
]


def _environments():
    base = default_environment()
    for pyver, plat, machine, extra in itertools.product(["3.6", "3.11", "3.12", "3.13"], ["linux", "win32"], ["x86_64", "aarch64"], ["", "opt-einsum", "docs"]):
        yield dict(base, python_version=pyver, python_full_version=pyver + ".1", sys_platform=plat, platform_machine=machine, extra=extra,
                   platform_system="Linux" if plat == "linux" else "Windows", os_name="posix" if plat == "linux" else "nt")


@pytest.mark.parametrize("marker", MARKERS)
def test_marker_reader_agrees_with_packaging(marker):
    ours, reference = Marker(marker), ReferenceMarker(marker)
    for env in _environments():
        try:
            expected = reference.evaluate(env)
        except Exception as exc:  # packaging refuses; ours must refuse too (the rule then says unknown)
            with pytest.raises(Exception):
                ours.evaluate(env)
            continue
        assert ours.evaluate(env) == expected, (marker, env["python_version"], env["sys_platform"], env["extra"])


@pytest.mark.parametrize("line,name,extras,spec", [
    ("torch <=2.4.0,>=1.10.1", "torch", set(), "<=2.4.0,>=1.10.1"),
    ("ruamel.yaml >=0.17.21", "ruamel-yaml", set(), ">=0.17.21"),
    ('onnx-helper[Fast, docs]>=1.0 ; python_version >= "3.8"', "onnx-helper", {"fast", "docs"}, ">=1.0"),
    ("protobuf (>=3.0,<4)", "protobuf", set(), ">=3.0,<4"),
    ("pkg @ https://example.invalid/pkg-1.0.tar.gz ; os_name == 'posix'", "pkg", set(), ""),  # packaging's parser reads URLs
])
def test_requirement_lines(line, name, extras, spec):
    req = parse_requirement(line)
    assert (req.name, set(req.extras)) == (name, extras)
    assert sorted(str(s) for s in req.specifier) == sorted(x for x in spec.split(",") if x)


def test_unsupported_lines_go_to_packaging():
    with pytest.raises(Unsupported):
        split_line("pkg @ https://example.invalid/x.whl")
    with pytest.raises(ValueError):
        parse_requirement("not a requirement !!")


def test_simplest_keeps_the_tightest_bounds():
    from packaging.specifiers import SpecifierSet

    assert simplest([SpecifierSet("<=4.25.4,>=4.21.6"), SpecifierSet(">=4.25.1")]) == ">=4.25.1,<=4.25.4"
    assert simplest([SpecifierSet(">=1.0"), SpecifierSet(">1.0"), SpecifierSet("<2"), SpecifierSet("<=2")]) == ">1.0,<2"
    assert simplest([SpecifierSet("==1.14.1"), SpecifierSet(">=1.10")]) == ">=1.10,==1.14.1"
