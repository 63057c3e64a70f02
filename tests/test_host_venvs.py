"""The host probe in real venvs (python -m venv) filled with real *.dist-info metadata.

The helpers at the top (make_venv, add_dist) are shared by the other tests/test_host_*.py files.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from rknn_envcheck.probes.host import _parse_probe_output, gather_host, probe_command_code, run_probe

SYSTEM_PYTHON = "/usr/bin/python3"  # readable by `nobody` (the pyenv pythons live under /root, mode 0700)


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def make_venv(directory: Path, python: str = sys.executable) -> tuple[str, Path]:
    """(python, site-packages) of a fresh venv without pip (fast: ~0.1 s)."""
    subprocess.run([python, "-m", "venv", "--without-pip", str(directory)], check=True, capture_output=True)
    env_python = str(directory / "bin" / "python")
    purelib = subprocess.run([env_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    return env_python, Path(purelib)


def add_dist(site: Path, name: str, version: str | None, *, module: str | None = None, metadata: str | None = None,
             dirname: str | None = None, body: str = "A fabricated distribution.\n") -> Path:
    """A real installed-distribution layout: NAME-VERSION.dist-info/{METADATA,RECORD,top_level.txt} + the package."""
    site.mkdir(parents=True, exist_ok=True)
    module = module or name.replace("-", "_").lower()
    dist = site / (dirname or f"{name.replace('-', '_')}-{version}.dist-info")
    dist.mkdir()
    if metadata is None:
        metadata = f"Metadata-Version: 2.1\nName: {name}\n" + (f"Version: {version}\n" if version is not None else "") + \
                   "Summary: fabricated for rknn-envcheck tests\n\n" + body
    (dist / "METADATA").write_text(metadata)
    (dist / "top_level.txt").write_text(module + "\n")
    (dist / "RECORD").write_text(f"{module}/__init__.py,,\n{dist.name}/METADATA,,\n{dist.name}/RECORD,,\n")
    (dist / "INSTALLER").write_text("pip\n")
    package = site / module
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text(f"__version__ = {version!r}\n")
    return dist


def cli_json(*args: str, expect: int | None = None) -> tuple[int, dict]:
    """Run the real CLI in a subprocess; return (exit code, parsed JSON report)."""
    proc = subprocess.run([sys.executable, "-m", "rknn_envcheck", *args, "--json"], capture_output=True, text=True, timeout=60)
    if expect is not None:
        assert proc.returncode == expect, (proc.returncode, proc.stderr, proc.stdout[:2000])
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture
def venv(tmp_path):
    return make_venv(tmp_path / "env")


# ----------------------------------------------------------------------------------------------
# toolkit environments
# ----------------------------------------------------------------------------------------------
def test_toolkit1_env_with_too_new_tensorflow(tmp_path):
    python, site = make_venv(tmp_path / "tk1")
    add_dist(site, "rknn-toolkit", "1.7.5", module="rknn")
    add_dist(site, "tensorflow", "2.6.0")
    add_dist(site, "numpy", "1.19.5")

    host = run_probe(python)
    assert host["packages"]["rknn-toolkit"] == "1.7.5"
    assert host["packages"]["tensorflow"] == "2.6.0"
    assert host["rknn"] == {"package": "rknn-toolkit", "version": "1.7.5", "location": str(site)}
    assert host["python"]["in_venv"] is True and host["python"]["executable"] == python
    assert host["how"]["packages.tensorflow"] == f"METADATA in {site}/tensorflow-2.6.0.dist-info"
    assert host["duplicates"] == [] and host["broken_metadata"] == []

    # The same environment through the real CLI: the host rules flag TensorFlow 2.6.0 (1.7.5 wants <= 2.2.0).
    code, report = cli_json("host", "--python", python)
    # The vendor's framework table only recommends (docs/checks.md severity policy): warn, not fail.
    flagged = [c for c in report["checks"] if c["status"] == "warn"]
    assert any("tensorflow" in (c["id"] + " " + str(c.get("component"))) for c in flagged), report["checks"]
    assert code == 0 and not [c for c in report["checks"] if c["status"] == "fail"]
    assert report["facts"]["host"]["packages"]["tensorflow"] == "2.6.0"


def test_toolkit2_env_with_matching_pins(tmp_path):
    python, site = make_venv(tmp_path / "tk2")
    add_dist(site, "rknn-toolkit2", "2.3.2", module="rknn")
    # setuptools < 82: RKNN() of 2.3.2 imports pkg_resources (pitfall.toolkit2-needs-pkg-resources)
    for name, version in (("numpy", "1.26.4"), ("onnx", "1.16.1"), ("protobuf", "4.25.4"), ("torch", "2.4.0"), ("setuptools", "80.9.0")):
        add_dist(site, name, version, module={"protobuf": "google_pb"}.get(name))

    host = run_probe(python)
    assert host["rknn"]["package"] == "rknn-toolkit2" and host["rknn"]["version"] == "2.3.2"
    assert {k: host["packages"][k] for k in ("numpy", "onnx", "protobuf", "torch")} == {
        "numpy": "1.26.4", "onnx": "1.16.1", "protobuf": "4.25.4", "torch": "2.4.0"}

    code, report = cli_json("host", "--python", python)
    bad = [c for c in report["checks"] if c["status"] == "fail"
           and any(n in (c["id"] + str(c.get("component"))) for n in ("numpy", "onnx", "protobuf", "torch"))]
    assert bad == [], bad
    assert code in (0, 3), [c for c in report["checks"] if c["status"] == "fail"]


def test_toolkit2_non_pep440_version_kept_raw(venv):
    python, site = venv
    add_dist(site, "rknn_toolkit2", "1.4.0-22dcfef4", module="rknn", dirname="rknn_toolkit2-1.4.0_22dcfef4.dist-info",
             metadata="Metadata-Version: 2.1\nName: rknn_toolkit2\nVersion: 1.4.0-22dcfef4\n\n")
    host = run_probe(python)
    assert host["packages"]["rknn-toolkit2"] == "1.4.0-22dcfef4"  # raw, not normalised: the rules parse it
    assert host["rknn"]["version"] == "1.4.0-22dcfef4"


def test_names_are_pep503_and_only_the_header_is_read(venv):
    python, site = venv
    # A description (after the blank line) that looks like headers must not be taken as headers.
    add_dist(site, "RKNN_Toolkit_Lite2", "2.3.2", module="rknnlite",
             metadata="Metadata-Version: 2.1\nName: RKNN_Toolkit_Lite2\nVersion: 2.3.2\n\nName: evil\nVersion: 9.9.9\n" + "x" * 300000)
    host = run_probe(python)
    assert host["packages"]["rknn-toolkit-lite2"] == "2.3.2"
    assert "evil" not in host["packages"]
    assert host["rknn"]["package"] == "rknn-toolkit-lite2"


def test_egg_info_directory_file_and_egg_link(tmp_path, venv):
    python, site = venv
    (site / "oldpkg-0.9-py3.11.egg-info").mkdir()
    (site / "oldpkg-0.9-py3.11.egg-info" / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: oldpkg\nVersion: 0.9\n\n")
    (site / "distutils_pkg-1.2.egg-info").write_text("Metadata-Version: 1.0\nName: distutils-pkg\nVersion: 1.2\n\n")
    project = tmp_path / "devproject"
    (project / "devpkg.egg-info").mkdir(parents=True)
    (project / "devpkg.egg-info" / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: devpkg\nVersion: 0.1.dev0\n\n")
    (site / "devpkg.egg-link").write_text(f"{project}\n.\n")
    (site / "easy-install.pth").write_text(f"{project}\n")
    host = run_probe(python)
    assert host["packages"]["oldpkg"] == "0.9"
    assert host["packages"]["distutils-pkg"] == "1.2"
    assert host["packages"]["devpkg"] == "0.1.dev0"
    assert host["package_locations"]["devpkg"] == str(project)
    assert host["broken_metadata"] == []


# ----------------------------------------------------------------------------------------------
# the seed's PyFPE_jbuf case: numpy twice on sys.path
# ----------------------------------------------------------------------------------------------
def test_numpy_on_two_paths_via_pth(tmp_path, venv):
    python, site = venv
    add_dist(site, "numpy", "1.19.5")
    other = tmp_path / "dist-packages"
    add_dist(other, "numpy", "1.16.2")
    (site / "zz-system.pth").write_text(f"{other}\n")  # .pth entries go after site-packages

    host = run_probe(python)
    assert host["packages"]["numpy"] == "1.19.5"  # the first on sys.path wins
    [dup] = host["duplicates"]
    assert dup["name"] == "numpy"
    assert [(loc["path"], loc["version"]) for loc in dup["locations"]] == [(str(site), "1.19.5"), (str(other), "1.16.2")]
    [top] = [t for t in host["top_level_duplicates"] if t["module"] == "numpy"]
    assert top["paths"] == [str(site), str(other)]
    kinds = {e["path"]: e["kind"] for e in host["sys_path"]}
    assert kinds[str(site)] == "site" and kinds[str(other)] == "pth"

    code, report = cli_json("host", "--python", python)
    dup_checks = [c for c in report["checks"] if c["id"].startswith("host.duplicate") and c["status"] == "fail"]
    assert dup_checks and "1.16.2" in json.dumps(dup_checks[0]) and code == 1


def test_numpy_on_two_paths_via_pythonpath(tmp_path, venv, monkeypatch):
    python, site = venv
    add_dist(site, "numpy", "1.19.5")
    other = tmp_path / "pythonpath"
    add_dist(other, "numpy", "1.16.2")
    monkeypatch.setenv("PYTHONPATH", str(other))
    host = run_probe(python)
    assert host["packages"]["numpy"] == "1.16.2"  # PYTHONPATH comes before site-packages
    assert host["package_locations"]["numpy"] == str(other)
    assert [loc["version"] for loc in host["duplicates"][0]["locations"]] == ["1.16.2", "1.19.5"]
    assert {e["path"]: e["kind"] for e in host["sys_path"]}[str(other)] == "pythonpath"
    assert host["env"]["PYTHONPATH"] == str(other)


def test_same_directory_twice_is_not_a_duplicate(venv, monkeypatch):
    python, site = venv
    add_dist(site, "numpy", "1.26.4")
    link = site.parent / "site-link"
    link.symlink_to(site)
    monkeypatch.setenv("PYTHONPATH", str(link))
    host = run_probe(python)
    assert host["duplicates"] == [] and host["top_level_duplicates"] == []


# ----------------------------------------------------------------------------------------------
# user site
# ----------------------------------------------------------------------------------------------
def test_user_site_seen_and_reported(tmp_path, monkeypatch):
    # A venv disables the user site, so probe the base interpreter even when the tests run in one.
    python = getattr(sys, "_base_executable", None) or sys.executable
    base = tmp_path / "userbase"
    monkeypatch.setenv("PYTHONUSERBASE", str(base))
    monkeypatch.delenv("PYTHONNOUSERSITE", raising=False)
    user_site = Path(subprocess.run([python, "-m", "site", "--user-site"], capture_output=True, text=True).stdout.strip())
    add_dist(user_site, "rknn-toolkit-lite2", "2.3.2", module="rknnlite")
    add_dist(user_site, "numpy", "1.16.2")

    host = run_probe(python)
    assert host["python"]["user_site_enabled"] is True
    assert host["python"]["user_site"] == str(user_site)
    assert host["packages"]["rknn-toolkit-lite2"] == "2.3.2"
    assert host["package_locations"]["rknn-toolkit-lite2"] == str(user_site)
    assert {e["path"]: e["kind"] for e in host["sys_path"]}[str(user_site)] == "user_site"
    assert any(s["kind"] == "user_site" and s["path"] == str(user_site) for s in host["site_packages"])

    monkeypatch.setenv("PYTHONNOUSERSITE", "1")
    hidden = run_probe(python)
    assert hidden["python"]["user_site_enabled"] is False
    assert "rknn-toolkit-lite2" not in hidden["packages"]


# ----------------------------------------------------------------------------------------------
# broken metadata: reported, and the rest still runs
# ----------------------------------------------------------------------------------------------
def test_broken_dist_infos(tmp_path, venv):
    python, site = venv
    add_dist(site, "healthy", "1.0")
    add_dist(site, "noversion", None, dirname="noversion-2.0.dist-info")
    add_dist(site, "noname", "3.0", metadata="Metadata-Version: 2.1\nVersion: 3.0\n\n", dirname="noname-3.0.dist-info")
    missing = add_dist(site, "nometa", "4.0")
    (missing / "METADATA").unlink()
    unreadable = add_dist(site, "unreadable", "5.0")
    (unreadable / "METADATA").unlink()
    (unreadable / "METADATA").mkdir()  # reading fails even for root (IsADirectoryError)
    (site / "gone.egg-link").write_text(f"{tmp_path / 'moved-away'}\n.\n")

    host = run_probe(python)
    problems = {Path(b["path"]).name: b["problem"] for b in host["broken_metadata"]}
    assert problems["noversion-2.0.dist-info"] == "METADATA has no Version header"
    assert problems["noname-3.0.dist-info"] == "METADATA has no Name header"
    assert problems["nometa-4.0.dist-info"] == "no METADATA file"
    assert problems["unreadable-5.0.dist-info"].startswith("cannot read METADATA: IsADirectoryError")
    assert "does not exist" in problems["gone.egg-link"] and str(tmp_path / "moved-away") in problems["gone.egg-link"]
    assert host["packages"]["healthy"] == "1.0"
    assert host["packages"]["noname"] == "3.0"  # named from its directory, and reported as broken
    assert "noversion" not in host["packages"]  # no version is not a version
    assert host["errors"] == []

    code, report = cli_json("host", "--python", python)
    assert any(c["id"] == "host.metadata" and "no Version" in c["message"] for c in report["checks"])


# ----------------------------------------------------------------------------------------------
# where pip installs, and whether this user may write there
# ----------------------------------------------------------------------------------------------
def test_read_only_site_packages_as_root_is_still_writable(venv):
    """Root writes into a 0555 directory anyway; the probe says so rather than pretending."""
    if os.geteuid() != 0:
        pytest.skip("this case is about root")
    python, site = venv
    site.chmod(0o555)
    try:
        host = run_probe(python)
    finally:
        site.chmod(0o755)
    target = host["install_target"]
    assert target["path"] == str(site) and target["writable"] is True
    assert "root" in target["how"] and "temporary file" in target["how"]
    assert not any(p.name.startswith(".rknn-envcheck-write-test") for p in site.iterdir())


def _nobody():
    if os.geteuid() != 0 or not shutil.which("setpriv") or not os.path.exists(SYSTEM_PYTHON):
        return None
    import pwd

    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        return None


def test_read_only_site_packages_for_an_ordinary_user():
    """The seed's Permission denied case, for real: an unprivileged user and a 0555 site-packages."""
    nobody = _nobody()
    if nobody is None:
        pytest.skip("needs root, setpriv, /usr/bin/python3 and a `nobody` user to run the probe unprivileged")
    top = Path(tempfile.mkdtemp(prefix="rknn-host-ro-", dir="/tmp"))
    try:
        top.chmod(0o755)
        python, site = make_venv(top / "env", SYSTEM_PYTHON)
        add_dist(site, "rknn-toolkit2", "2.3.2", module="rknn")
        unreadable = add_dist(site, "secret", "1.0")
        (unreadable / "METADATA").chmod(0o000)
        site.chmod(0o555)
        command = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups",
                   python, "-c", probe_command_code()]
        proc = subprocess.run(command, capture_output=True, timeout=30, cwd="/", env={**os.environ, "HOME": "/nonexistent"})
        host = _parse_probe_output("--python " + python, python, proc.returncode, proc.stdout, proc.stderr, 0)
    finally:
        subprocess.run(["chmod", "-R", "u+rwX", str(top)], check=False)
        shutil.rmtree(top, ignore_errors=True)
    assert host["install_target"]["path"] == str(site)
    assert host["install_target"]["writable"] is False
    assert f"as uid {nobody.pw_uid}" in host["install_target"]["how"]
    assert host["packages"]["rknn-toolkit2"] == "2.3.2"
    [broken] = [b for b in host["broken_metadata"] if b["name"] == "secret"]
    assert broken["problem"].startswith("cannot read METADATA: PermissionError")


# ----------------------------------------------------------------------------------------------
# environment variables, in-process mode
# ----------------------------------------------------------------------------------------------
def test_environment_variables(venv, monkeypatch):
    python, _site = venv
    monkeypatch.setenv("PYTHONLEGACYWINDOWSSTDIO", "1")
    monkeypatch.setenv("RKNN_LOG_LEVEL", "5")
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", "5038")
    monkeypatch.setenv("LD_LIBRARY_PATH", "/opt/rknn/lib")
    monkeypatch.setenv("UNRELATED_SECRET", "not reported")
    env = run_probe(python)["env"]
    assert env["PYTHONLEGACYWINDOWSSTDIO"] == "1" and env["RKNN_LOG_LEVEL"] == "5"
    assert env["ANDROID_ADB_SERVER_PORT"] == "5038" and env["LD_LIBRARY_PATH"] == "/opt/rknn/lib"
    assert "UNRELATED_SECRET" not in env


def test_in_process_matches_subprocess_for_this_interpreter():
    inside = gather_host(None, system=False)
    outside = gather_host(sys.executable, system=False)
    assert inside["packages"] == outside["packages"]
    assert inside["python"]["version"] == outside["python"]["version"]
    assert inside["install_target"]["path"] == outside["install_target"]["path"]
    assert "in this process" in inside["how"]["probe"] and " -c " in outside["how"]["probe"]
