"""scripts/import_wheel_metadata.py on the vendor's own files, with no network.

The METADATA files under tests/data/wheels/pypi are the real ones of PyPI wheels (read by the
script, byte for byte); the requirements files under tests/data/wheels/vendor are the vendor's,
from the named commits of github.com/airockchip/rknn-toolkit2 (AR) and rockchip-linux/rknn-toolkit
(TK). The end-to-end test serves a package index on 127.0.0.1 (PEP 691 JSON, HTTP range requests)
and a real git repository, runs the script's main(), and loads the result with the real loader.
"""
from __future__ import annotations

import http.server
import io
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "wheels"
sys.path.insert(0, str(ROOT / "scripts"))
import import_wheel_metadata as iwm  # noqa: E402

X86_38 = "rknn_toolkit2-2.5.0-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
X86_36 = "rknn_toolkit2-2.5.0-cp36-cp36m-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
ARM_310 = "rknn_toolkit2-2.5.0-cp310-cp310-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
TK2_220_310 = "rknn_toolkit2-2.2.0-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
TK2_220_36 = "rknn_toolkit2-2.2.0-cp36-cp36m-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def metadata(name: str) -> str:
    return (DATA / "pypi" / f"{name}.METADATA").read_text(encoding="utf-8")


def test_wheel_names_give_the_matrix_spelling():
    w = iwm.parse_wheel_name(X86_36)
    assert (w.package, w.version, w.python, w.platform) == ("rknn-toolkit2", "2.5.0", "3.6", "linux_x86_64")
    assert iwm.parse_wheel_name("rknn_toolkit2-1.5.2+b642f30c-cp310-cp310-linux_x86_64.whl").version == "1.5.2"
    assert iwm.parse_wheel_name("rknn_toolkit2-1.4.0_22dcfef4-cp38-cp38-linux_x86_64.whl").version == "1.4.0"
    assert iwm.parse_wheel_name("rknn_toolkit2-2.0.0b0+9bab5682-cp39-cp39-linux_x86_64.whl").version == "2.0.0b0"
    assert iwm.parse_wheel_name("rknn_toolkit_lite2-2.5.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl").platform == "linux_aarch64"
    assert iwm.parse_wheel_name("autosparsity-1.0-cp36-cp36m-win_amd64.whl") is None  # not a Linux build the matrix knows
    assert iwm.parse_wheel_name("README.md") is None


def test_requires_dist_per_file_from_real_metadata():
    cp38 = iwm.requires_dist(metadata(X86_38), "3.8", "linux_x86_64")
    cp36 = iwm.requires_dist(metadata(X86_36), "3.6", "linux_x86_64")
    # the pins differ between Pythons of the same release: that is why the rows are per file
    assert "onnx>=1.16.1,<=1.18.0" in cp38 and "onnx>=1.10.0,<=1.11.0" in cp36
    assert "protobuf>=4.21.6,<=4.25.4" in cp38 and "protobuf>=3.12.2,<=3.19.6" in cp36
    assert "torch>=1.10.1,<=2.4.0" in cp38  # lower bound first, as the vendor writes ranges
    arm = iwm.requires_dist(metadata(ARM_310), "3.10", "linux_aarch64")
    assert "setuptools<80.1.0" in arm and "torch>=1.13.1,<=2.2.0" in arm
    assert len(cp38) == len(set(cp38)) == len(metadata(X86_38).split("Requires-Dist:")) - 1


def test_markers_are_evaluated_for_the_files_interpreter():
    text = "Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Dist: numpy<=1.19.5; python_version < \"3.8\"\n" \
           "Requires-Dist: numpy<=1.26.4; python_version >= \"3.8\"\nRequires-Dist: pytest; extra == \"test\"\n" \
           "Requires-Dist: onnx==1.14.1; platform_machine == \"x86_64\"\n"
    assert iwm.requires_dist(text, "3.6", "linux_x86_64") == ["numpy<=1.19.5", "onnx==1.14.1"]
    assert iwm.requires_dist(text, "3.10", "linux_aarch64") == ["numpy<=1.26.4"]


def test_requirements_files_parsed_by_pip_api():
    tk2_220 = iwm.parse_requirements_text((DATA / "vendor" / "AR-7efa763-requirements_cp38-2.2.0.txt").read_text())
    assert "onnx==1.14.1" in tk2_220 and "torch>=1.10.1,<=2.1.0" in tk2_220
    assert not any(r.startswith("tensorflow") for r in tk2_220)  # commented out in the vendor's file
    assert "protobuf==3.20.3" in tk2_220 and len(tk2_220) == 11
    tk2_060 = iwm.parse_requirements_text((DATA / "vendor" / "AR-0ece5fe-doc-requirements.txt").read_text())
    assert "tensorflow==1.14.0" in tk2_060 and "opencv-python==4.4.0.46" in tk2_060  # no trailing newline in the file
    arm = iwm.parse_requirements_text((DATA / "vendor" / "AR-a8dd54d-arm64_requirements_cp38.txt").read_text())
    assert "torch>=1.10.1,<=2.2.0" in arm and "onnxoptimizer==0.2.7" in arm
    cpu = iwm.parse_requirements_text((DATA / "vendor" / "TK-v1.7.5-requirements-cpu.txt").read_text())
    py38 = iwm.parse_requirements_text((DATA / "vendor" / "TK-v1.7.5-requirements-cpu-ubuntu20.04_py38.txt").read_text())
    assert "tensorflow==1.14.0" in cpu and "tensorflow==2.2.0" in py38  # UG-1.7.5 note 3


def test_requirements_file_names():
    for name, version in [("requirements_cp38-2.2.0.txt", "2.2.0"), ("requirements-v0.7.0.txt", "0.7.0"), ("requirements_v1.0.0.txt", "1.0.0"),
                          ("requirements-1.1.0.txt", "1.1.0"), ("requirements_cp310-2.0.0b0.txt", "2.0.0b0")]:
        assert iwm.REQUIREMENTS_FILE.match(name) and iwm.FILE_VERSION.search(name).group("version") == version
    for name in ("requirements.txt", "arm64_requirements_cp38.txt", "requirements-cpu-ubuntu20.04_py38.txt"):
        assert iwm.REQUIREMENTS_FILE.match(name) and not iwm.FILE_VERSION.search(name)
    assert iwm._python_of("requirements-cpu-ubuntu20.04_py38.txt") == "3.8" and iwm._python_of("requirements.txt") is None
    assert not iwm.REQUIREMENTS_FILE.match("requirements.md")


# ---- end to end: a local package index and a real git repository ------------------------------

def fake_wheel(name: str, metadata_text: str) -> bytes:
    dist = "-".join(name.split("-")[:2])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("rknn/__init__.py", "x = 1\n" * 20000)  # bulk before the metadata, as in a real wheel
        archive.writestr(f"{dist}.dist-info/METADATA", metadata_text)
        archive.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    return buffer.getvalue()


class IndexHandler(http.server.BaseHTTPRequestHandler):
    files: dict = {}
    ranges: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        if self.path.startswith("/simple/"):
            package = self.path.split("/")[2]
            base = f"http://127.0.0.1:{self.server.server_port}/files/"
            entries = [{"filename": n, "url": base + n, "size": len(b), "hashes": {}, "yanked": False}
                       for n, b in self.files.items() if n.startswith(package.replace("-", "_") + "-")]
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": package, "files": entries}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        else:
            data = self.files[self.path.split("/")[-1]]
            spec = self.headers.get("Range", "")
            if spec.startswith("bytes="):
                start, end = (int(x) for x in spec[6:].split("-"))
                body = data[start:end + 1]
                self.ranges.append((start, end))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
            else:
                body = data
                self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def index():
    IndexHandler.files = {name: fake_wheel(name, metadata(name)) for name in (TK2_220_310, TK2_220_36)}
    IndexHandler.ranges = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), IndexHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/simple"
    server.shutdown()


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture
def vendor_repo(tmp_path):
    """The vendor's layout in two commits: an old release with only a requirements file (and
    a second build beside it without its own), then 2.2.0 whose cp38 build is not on the index."""
    repo = tmp_path / "rknn-toolkit2"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "doc").mkdir()
    (repo / "packages").mkdir()
    (repo / "doc" / "requirements-1.1.0.txt").write_text((DATA / "vendor" / "AR-0ece5fe-doc-requirements.txt").read_text())
    for name in ("rknn_toolkit2-1.1.0_5c458c6-cp36-cp36m-linux_x86_64.whl", "rknn_toolkit2-1.1.1_5c458c6-cp36-cp36m-linux_x86_64.whl"):
        (repo / "packages" / name).write_bytes(b"not read: no METADATA needed for requirements rows")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "1.1.x")
    pkg = repo / "rknn-toolkit2" / "packages"
    pkg.mkdir(parents=True)
    (pkg / "requirements_cp38-2.2.0.txt").write_text((DATA / "vendor" / "AR-7efa763-requirements_cp38-2.2.0.txt").read_text())
    (pkg / "requirements_cp310-2.2.0.txt").write_text("numpy==0.0.1\n")  # superseded by the index's METADATA
    for name in ("rknn_toolkit2-2.2.0-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", TK2_220_310):
        (pkg / name).write_bytes(b"x")
    lite = repo / "rknn-toolkit-lite2" / "packages"
    lite.mkdir(parents=True)
    lite_name = "rknn_toolkit_lite2-2.2.0-cp311-cp311-linux_aarch64.whl"
    (lite / lite_name).write_bytes(fake_wheel(lite_name, "Metadata-Version: 2.1\nName: rknn-toolkit-lite2\nVersion: 2.2.0\n"
                                                         "Requires-Dist: ruamel.yaml\nRequires-Dist: numpy\n"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "2.2.0")
    return repo


def test_end_to_end_index_and_vendor_repo(index, vendor_repo, tmp_path, monkeypatch):
    out = tmp_path / "matrices" / "wheels_toolkit2.toml"
    shutil.copytree(ROOT / "matrices", tmp_path / "matrices")
    code = iwm.main(["--index", index, "--package", "rknn-toolkit2", "--vendor-repo", str(vendor_repo), "--cache", str(tmp_path / "cache"),
                     "--repo-url", "https://github.com/airockchip/rknn-toolkit2", "-o", str(out)])
    assert code == 0
    # METADATA came through range requests, not whole downloads
    assert IndexHandler.ranges and all(end - start < iwm.RangeFile.BLOCK for start, end in IndexHandler.ranges)
    text = out.read_text()
    assert text.startswith("# GENERATED by scripts/import_wheel_metadata.py")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads(text)
    wheels = {(w["versions"][0], w["on_pypi"]): w for w in data["wheel"] if w["package"] == "rknn-toolkit2"}
    assert wheels[("2.2.0", True)]["python"] == ["3.6", "3.10"]
    vendor = wheels[("2.2.0", False)]
    assert vendor["python"] == ["3.8"] and vendor["files"] == ["rknn_toolkit2-2.2.0-cp38-cp38-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    head = git(vendor_repo, "rev-parse", "HEAD")
    assert vendor["download"] == [f"https://github.com/airockchip/rknn-toolkit2/raw/{head}/rknn-toolkit2/packages/{vendor['files'][0]}"]
    assert wheels[("1.1.1", False)]["python"] == ["3.6"]
    reqs = data["requirement"]
    by = lambda version, kind: {r["requirement"]: r for r in reqs if r["versions"] == [version] and r["kind"] == kind}  # noqa: E731
    dist = by("2.2.0", "requires-dist")
    assert dist["onnx==1.14.1"]["python"] == ["3.10"] and "METADATA" in dist["onnx==1.14.1"]["source"]
    assert "numpy==0.0.1" not in by("2.2.0", "requirements-file")  # cp310 is on the index: its METADATA wins
    cp38 = by("2.2.0", "requirements-file")
    assert cp38["torch>=1.10.1,<=2.1.0"]["python"] == ["3.8"]
    assert cp38["torch>=1.10.1,<=2.1.0"]["source"] == f"AR@{head[:7]} rknn-toolkit2/packages/requirements_cp38-2.2.0.txt"
    # 1.1.1 shipped beside 1.1.0 with only requirements-1.1.0.txt: the file serves both
    assert "tensorflow==1.14.0" in by("1.1.0", "requirements-file") and "tensorflow==1.14.0" in by("1.1.1", "requirements-file")
    # 2.2.0 lite2 is only in the repository, and its wheel is there: its own METADATA is read
    lite = [r for r in reqs if r["package"] == "rknn-toolkit-lite2"]
    assert {r["requirement"] for r in lite} == {"numpy", "ruamel.yaml"} and all(r["kind"] == "requires-dist" for r in lite)
    # the generated file is a valid part of the matrix set
    monkeypatch.setenv("RKNN_ENVCHECK_CACHE", str(tmp_path / "mcache"))
    from rknn_envcheck.matrix import load_matrix

    matrix = load_matrix(tmp_path / "matrices")
    assert any(r.get("files") == vendor["files"] for r in matrix.rows("wheel", "rknn-toolkit2"))
    # --offline regenerates the same file from the cache alone
    again = tmp_path / "again.toml"
    assert iwm.main(["--offline", "--index", "http://127.0.0.1:9/none", "--package", "rknn-toolkit2", "--vendor-repo", str(vendor_repo),
                     "--cache", str(tmp_path / "cache"), "-o", str(again)]) == 0
    assert again.read_text().replace("http://127.0.0.1:9/none", index) == text
