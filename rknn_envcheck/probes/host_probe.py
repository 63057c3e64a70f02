# -*- coding: utf-8 -*-
"""Facts about one Python environment, gathered from the inside and printed as one JSON object.

This file runs INSIDE the interpreter being inspected (`rknn-envcheck host --python PATH` passes its
source with `-c`), so it must stay stdlib-only and parse on Python 3.5 through 3.13: no f-strings,
no variable annotations, no walrus, no dataclasses, no `from __future__ import annotations`.
The syntax floor is checked in the tests with `vermin -t=3.5-`.

Distributions are read from metadata files only, never imported: importing TensorFlow takes
seconds and may crash, and a crash is what the user is diagnosing. Only the header block of
METADATA / PKG-INFO is read (Name and Version come first; descriptions can be hundreds of KB).

No verdicts here: the rules judge. Every section is guarded so one broken corner of an
environment becomes an entry in `errors` while the rest is still reported.

Size: one file of ~800 lines on purpose (over the ~400-line rule): it is sent to the inspected
interpreter as a single `-c` source, where no package of ours can be imported, so it cannot be split
into modules; `collect` is split into named steps instead (interpreter, paths, distributions, env).
"""
import os
import sys

PROBE_VERSION = 1

RKNN_PACKAGES = ("rknn-toolkit", "rknn-toolkit-lite", "rknn-toolkit2", "rknn-toolkit-lite2")

ENV_NAMES = (
    "PYTHONLEGACYWINDOWSSTDIO",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONNOUSERSITE",
    "PYTHONUSERBASE",
    "LD_LIBRARY_PATH",
    "ADB_SERVER_SOCKET",
    "ANDROID_ADB_SERVER_PORT",
    "ANDROID_ADB_SERVER_HOST",
    "ADBUTILS_ADB_PATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "PIP_USER",
    "PIP_TARGET",
    "PIP_PREFIX",
)

# Extension-module suffixes that make a file a top-level module (`_foo.cpython-36m-x86_64-linux-gnu.so`).
_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd")


# `import json` costs ~8 ms (json.decoder pulls in re); the probe only writes JSON, so it has its own
# small encoder. Non-ASCII is escaped so the output survives a C/ASCII locale on old Pythons.
_JSON_ESCAPES = dict((i, "\\u%04x" % i) for i in range(32))
_JSON_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\", ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def _json_string(text):
    text = text.translate(_JSON_ESCAPES)
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        out = []
        for ch in text:
            code = ord(ch)
            if code < 128:
                out.append(ch)
            elif code < 0x10000:
                out.append("\\u%04x" % code)
            else:
                code -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (code >> 10), 0xDC00 + (code & 0x3FF)))
        text = "".join(out)
    return '"' + text + '"'


def to_json(value):
    """JSON text for dicts, lists, tuples, strings, numbers, booleans and None (keys sorted)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "null"
    if isinstance(value, dict):
        return "{" + ", ".join(_json_string(str(k)) + ": " + to_json(value[k]) for k in sorted(value, key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(to_json(item) for item in value) + "]"
    return _json_string(str(value))


def canonical_name(name):
    """PEP 503 normalised distribution name: `Rknn_Toolkit2` -> `rknn-toolkit2`."""
    out = []
    previous_sep = False
    for ch in name.strip().lower():
        if ch in "-_.":
            if not previous_sep:
                out.append("-")
            previous_sep = True
        else:
            out.append(ch)
            previous_sep = False
    return "".join(out)


# Bounds on what one distribution's requirements may add to the facts: a real METADATA has tens
# of Requires-Dist lines of tens of bytes; a pathological one must not blow up the JSON.
MAX_REQUIRES_LINES = 200
MAX_REQUIRES_LINE_BYTES = 1024


def read_header_fields(path):
    """(Name, Version, [Requires-Dist lines]) from the header block of a METADATA/PKG-INFO file.

    Reads in small chunks and stops at the first blank line (end of headers), so a 500 KB
    README embedded as the description costs nothing.
    """
    data = b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(4096)
            if not chunk:
                break
            data += chunk
            if b"\n\n" in data or b"\r\n\r\n" in data or len(data) > 262144:
                break
    text = data.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    blank = text.find("\n\n")
    header = text if blank < 0 else text[:blank + 1]
    name = None
    version = None
    for line in header.splitlines():
        if line[:1] in (" ", "\t"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip().lower()
        if key == "name" and name is None:
            name = value.strip()
        elif key == "version" and version is None:
            version = value.strip()
        if name is not None and version is not None:
            break
    # Requires-Dist lines found with str.find on the lowered header: a real METADATA has tens of
    # Classifier lines before them, and splitting each costs more than the whole search.
    requires = []
    lower = "\n" + header.lower()
    at = lower.find("\nrequires-dist:")
    while at >= 0:
        stop = lower.find("\n", at + 1)
        _add_requirement(requires, header[at + 14:stop - 1 if stop >= 0 else len(header)])
        at = lower.find("\nrequires-dist:", at + 1)
    return name, version, requires


def _add_requirement(requires, line):
    line = line.strip()
    if line and len(requires) < MAX_REQUIRES_LINES and len(line.encode("utf-8", "replace")) <= MAX_REQUIRES_LINE_BYTES:
        requires.append(line)


def egg_requires(text):
    """Requires-Dist lines from an egg-info requires.txt (`[extra:marker]` sections become markers),
    the same conversion importlib.metadata makes, so egg-info installs are judged like wheels."""
    requires = []
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
            continue
        extra, _, marker = section.partition(":")
        conditions = []
        if marker.strip():
            conditions.append("(" + marker.strip() + ")")
        if extra.strip():
            conditions.append('extra == "' + extra.strip() + '"')
        _add_requirement(requires, line + ("; " + " and ".join(conditions) if conditions else ""))
    return requires


def _read_egg_requires(dist_path):
    """requires.txt beside an egg-info's PKG-INFO (setuptools writes requirements there, not in PKG-INFO)."""
    path = os.path.join(dist_path, "requires.txt")
    try:
        with open(path, "rb") as handle:
            return egg_requires(handle.read(262144).decode("utf-8", "replace"))
    except (OSError, IOError):
        return []


def split_dist_dirname(entry):
    """`numpy-1.19.5.dist-info` -> ('numpy', '1.19.5'); `foo-1.0-py3.6.egg-info` -> ('foo', '1.0')."""
    stem = entry.rsplit(".", 1)[0]
    if stem.endswith(".dist") or stem.endswith(".egg"):
        stem = stem.rsplit(".", 1)[0]
    parts = stem.split("-")
    name = parts[0]
    version = parts[1] if len(parts) > 1 else None
    return name, version


def _error_text(exc):
    return "%s: %s" % (type(exc).__name__, exc)


def python_facts():
    info = sys.version_info
    implementation = getattr(getattr(sys, "implementation", None), "name", "cpython")
    implementation = {"cpython": "CPython", "pypy": "PyPy"}.get(implementation, implementation)
    base_prefix = getattr(sys, "base_prefix", sys.prefix)
    real_prefix = getattr(sys, "real_prefix", None)  # virtualenv < 20 sets this instead of base_prefix
    prefix = sys.prefix
    return {
        "version": "%d.%d.%d" % (info[0], info[1], info[2]),
        "version_full": sys.version.split()[0],
        "release_level": info[3],
        "implementation": implementation,
        "executable": sys.executable,
        "bits": 64 if sys.maxsize > 2 ** 32 else 32,
        "prefix": prefix,
        "base_prefix": real_prefix or base_prefix,
        "in_venv": bool(real_prefix) or prefix != base_prefix,
        "in_conda": os.path.exists(os.path.join(prefix, "conda-meta")),
        "conda_env": os.environ.get("CONDA_DEFAULT_ENV") if os.path.exists(os.path.join(prefix, "conda-meta")) else None,
    }


def _full_version(info):
    version = "%d.%d.%d" % (info[0], info[1], info[2])
    if info[3] != "final":
        version += info[3][0] + str(info[4])
    return version


def marker_environment():
    """What packaging.markers.default_environment() returns in this interpreter (PEP 508), so the
    rules can evaluate `; python_version < "3.8"` markers for it from anywhere (a facts file).

    `import platform` costs 3-25 ms here (it pulls in re); on POSIX CPython/PyPy the same values
    come from os.uname() and sys, which is what platform reads there too.
    """
    implementation = getattr(sys, "implementation", None)
    name = getattr(implementation, "name", "cpython")
    python_full = sys.version.split()[0] if sys.version else "%d.%d.%d" % tuple(sys.version_info[:3])
    if python_full.count(".") == 1:
        python_full += ".0"  # platform.python_version() pads '3.8' the same way
    fast = hasattr(os, "uname") and name in ("cpython", "pypy")
    if fast:
        uname = os.uname()
        system, release, version, machine = uname[0], uname[2], uname[3], uname[4]
        python_implementation = {"cpython": "CPython", "pypy": "PyPy"}[name]
    else:
        import platform

        system, release, version, machine = platform.system(), platform.release(), platform.version(), platform.machine()
        python_implementation = platform.python_implementation()
        python_full = platform.python_version()
    return {
        "implementation_name": name,
        "implementation_version": _full_version(implementation.version) if implementation is not None else "0",
        "os_name": os.name,
        "platform_machine": machine,
        "platform_release": release,
        "platform_system": system,
        "platform_version": version,
        "python_full_version": python_full,
        "platform_python_implementation": python_implementation,
        "python_version": "%d.%d" % tuple(sys.version_info[:2]),
        "sys_platform": sys.platform,
    }


def os_facts():
    if sys.platform.startswith("win"):
        import platform

        return "windows", platform.machine()
    machine = os.uname()[4]
    if sys.platform == "darwin":
        return "darwin", machine
    if sys.platform.startswith("linux"):
        return "linux", machine
    return sys.platform, machine


def libc_facts():
    """glibc version decides manylinux wheels (manylinux_2_17 = manylinux2014 needs glibc >= 2.17)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION")  # "glibc 2.36"
    except (AttributeError, ValueError, OSError):
        text = None
    if text and text.startswith("glibc "):
        return {"family": "glibc", "version": text.split()[1], "how": "os.confstr('CS_GNU_LIBC_VERSION')"}
    return {"family": "musl-or-other", "version": None, "how": "os.confstr('CS_GNU_LIBC_VERSION') gave %r" % (text,)}


def platform_tag(machine, bits, libc):
    """The wheel platform tag pip would look for (linux_x86_64, manylinux_2_36_x86_64, win_amd64, ...)."""
    import sysconfig

    raw = sysconfig.get_platform()
    plat = raw.replace("-", "_").replace(".", "_")
    if plat.startswith("macosx_"):
        # macosx-10.9-x86_64 -> macosx_x86_64: the deployment target is not what decides a wheel here
        return "macosx_" + raw.rsplit("-", 1)[-1], None
    if plat.startswith("linux_"):
        arch = plat[len("linux_"):]
        # A 32-bit interpreter on a 64-bit kernel installs 32-bit wheels (same rule as packaging.tags).
        if bits == 32 and arch == "x86_64":
            arch = "i686"
        elif bits == 32 and arch == "aarch64":
            arch = "armv7l"
        plat = "linux_" + arch
        manylinux = None
        if libc and libc.get("family") == "glibc" and libc.get("version"):
            major_minor = libc["version"].split(".")[:2]
            manylinux = "manylinux_%s_%s_%s" % (major_minor[0], major_minor[1] if len(major_minor) > 1 else "0", arch)
        return plat, manylinux
    return plat, None


def _path_entries():
    """sys.path as the user's programs see it, minus the '' that `-c` adds for the current directory."""
    entries = []
    for entry in sys.path:
        if entry in ("", "."):
            continue
        entries.append(entry)
    return entries


def site_facts():
    import site

    result = {}
    try:
        result["site_packages"] = list(site.getsitepackages())
    except AttributeError:
        # virtualenv < 20 replaces site.py with one that has no getsitepackages().
        result["site_packages"] = []
    import sysconfig

    for key in ("purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path and path not in result["site_packages"]:
            result["site_packages"].append(path)
    result["user_site_enabled"] = getattr(site, "ENABLE_USER_SITE", None)
    user_site = getattr(site, "USER_SITE", None)
    if user_site is None:
        try:
            user_site = site.getusersitepackages()
        except AttributeError:
            user_site = None
    result["user_site"] = user_site
    result["user_base"] = getattr(site, "USER_BASE", None)
    result["purelib"] = sysconfig.get_paths().get("purelib")
    result["stdlib"] = sysconfig.get_paths().get("stdlib")
    result["platstdlib"] = sysconfig.get_paths().get("platstdlib")
    return result


_WRITABLE_CACHE = {}


def writable(path):
    """Cached: site-packages and the install target are often the same directory."""
    if path not in _WRITABLE_CACHE:
        _WRITABLE_CACHE[path] = _writable(path)
    return _WRITABLE_CACHE[path]


def _writable(path):
    """(writable, how). os.access is what pip itself uses on POSIX; root and Windows need a real file.

    root passes os.access on any read-write mount whatever the mode bits, so for root a temporary
    file is created and removed; on Windows os.access ignores ACLs, so the same is done there.
    """
    if not os.path.isdir(path):
        if os.path.exists(path):
            return False, "%s exists but is not a directory" % path
        # pip creates a missing site dir (the user site usually is missing until the first --user
        # install), so what counts is whether the nearest existing parent is writable.
        parent = os.path.dirname(path)
        while parent and not os.path.isdir(parent) and os.path.dirname(parent) != parent:
            parent = os.path.dirname(parent)
        ok, method = _writable(parent) if parent and os.path.isdir(parent) else (False, "no existing parent")
        return ok, "%s does not exist yet; its nearest existing parent %s: %s" % (path, parent, method)
    access_ok = os.access(path, os.W_OK)
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if not (is_root or sys.platform.startswith("win")):
        return access_ok, "os.access(W_OK) as uid %d" % os.geteuid()
    if not access_ok:
        return False, "os.access(W_OK)"
    # tempfile would cost ~5 ms of imports; an O_EXCL name with the pid is just as safe here.
    name = os.path.join(path, ".rknn-envcheck-write-test-%d" % os.getpid())
    try:
        handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        return False, "creating a temporary file failed: %s" % _error_text(exc)
    os.close(handle)
    try:
        os.unlink(name)
    except OSError:
        pass
    if is_root:
        return True, "created and removed a temporary file as root (root writes whatever the mode bits say)"
    return True, "created and removed a temporary file as this user"


class Scan(object):
    """Walks sys.path once: distributions, egg-links, top-level modules."""

    def __init__(self, entries):
        self.entries = entries
        self.dists = []  # dicts in sys.path order: name, version, entry, metadata, how
        self.broken = []
        self.modules = {}  # top-level module -> [entry, ...] in sys.path order
        self.seen_real = set()
        self.errors = []

    def run(self):
        for entry in self.entries:
            try:
                real = os.path.realpath(entry)
            except (OSError, ValueError):
                real = entry
            if real in self.seen_real:
                continue  # same directory listed twice or via a symlink (venv lib64 -> lib)
            self.seen_real.add(real)
            if os.path.isdir(entry):
                self._scan_dir(entry)
            elif entry.endswith(".egg") and os.path.isfile(entry):
                self._scan_zipped_egg(entry)
        return self

    def _scan_dir(self, entry):
        if entry.endswith(".egg") and os.path.isdir(os.path.join(entry, "EGG-INFO")):
            self._add_metadata_file(entry, os.path.join(entry, "EGG-INFO"), os.path.join(entry, "EGG-INFO", "PKG-INFO"), "PKG-INFO")
        try:
            listing = list(os.scandir(entry))
        except OSError as exc:
            self.errors.append({"path": entry, "problem": "cannot list sys.path entry: %s" % _error_text(exc)})
            return
        for item in listing:
            name = item.name
            lower = name.lower()
            if lower.endswith(".dist-info"):
                self._add_metadata_file(entry, item.path, os.path.join(item.path, "METADATA"), "METADATA")
            elif lower.endswith(".egg-info"):
                try:
                    is_dir = item.is_dir()
                except OSError:
                    is_dir = False
                if is_dir:
                    self._add_metadata_file(entry, item.path, os.path.join(item.path, "PKG-INFO"), "PKG-INFO")
                else:
                    # distutils writes a single PKG-INFO-format file named *.egg-info
                    self._add_metadata_file(entry, item.path, item.path, "egg-info file")
            elif lower.endswith(".egg-link"):
                self._add_egg_link(entry, item.path)
            else:
                self._note_module(entry, item)

    def _note_module(self, entry, item):
        name = item.name
        if name.startswith(".") or name == "__pycache__" or name.endswith(".pth"):
            return
        try:
            is_dir = item.is_dir()
        except OSError:
            return
        if is_dir:
            if "." in name or "-" in name:
                return
            # Namespace directories (no __init__.py) legitimately span entries (google/, mpl_toolkits/).
            if not (os.path.isfile(os.path.join(item.path, "__init__.py")) or os.path.isfile(os.path.join(item.path, "__init__.pyc"))):
                return
            module = name
        else:
            module = None
            for suffix in _MODULE_SUFFIXES:
                if name.endswith(suffix):
                    module = name.split(".", 1)[0]
                    break
            if not module or "-" in module:
                return
        paths = self.modules.setdefault(module, [])
        if entry not in paths:
            paths.append(entry)

    def _add_metadata_file(self, entry, dist_path, metadata_path, kind):
        fallback_name, fallback_version = split_dist_dirname(os.path.basename(dist_path))
        if not os.path.exists(metadata_path):
            self.broken.append({"path": dist_path, "name": canonical_name(fallback_name), "version_from_path": fallback_version,
                                "problem": "no %s file" % os.path.basename(metadata_path)})
            return
        try:
            name, version, requires = read_header_fields(metadata_path)
            if not requires and kind == "PKG-INFO":
                requires = _read_egg_requires(os.path.dirname(metadata_path))
        except (OSError, IOError) as exc:
            self.broken.append({"path": dist_path, "name": canonical_name(fallback_name), "version_from_path": fallback_version,
                                "problem": "cannot read %s: %s" % (os.path.basename(metadata_path), _error_text(exc))})
            return
        problems = []
        if not name:
            problems.append("%s has no Name header" % os.path.basename(metadata_path))
            name = fallback_name
        if not version:
            problems.append("%s has no Version header" % os.path.basename(metadata_path))
        if problems:
            self.broken.append({"path": dist_path, "name": canonical_name(name), "version_from_path": fallback_version,
                                "problem": "; ".join(problems)})
            if not version:
                return
        self.dists.append({
            "name": canonical_name(name),
            "raw_name": name,
            "version": version,
            "entry": entry,
            "metadata": dist_path,
            "requires": requires,
            "how": "%s in %s" % (kind if kind != "egg-info file" else "PKG-INFO headers of", dist_path),
        })

    def _add_egg_link(self, entry, link_path):
        try:
            with open(link_path, "rb") as handle:
                lines = handle.read(4096).decode("utf-8", "replace").splitlines()
        except (OSError, IOError) as exc:
            self.broken.append({"path": link_path, "problem": "cannot read egg-link: %s" % _error_text(exc)})
            return
        target = lines[0].strip() if lines else ""
        name = os.path.basename(link_path)[:-len(".egg-link")]
        if not target:
            self.broken.append({"path": link_path, "name": canonical_name(name), "problem": "egg-link is empty"})
            return
        if not os.path.isabs(target):
            target = os.path.normpath(os.path.join(entry, target))
        if not os.path.isdir(target):
            self.broken.append({"path": link_path, "name": canonical_name(name),
                                "problem": "egg-link points to %s, which does not exist (a `pip install -e` whose source was moved or deleted)" % target})
            return
        # The linked project's *.egg-info is found when its directory is on sys.path (easy-install.pth);
        # if it is not, the package is not importable and that is worth saying.
        real_target = os.path.realpath(target)
        if real_target not in [os.path.realpath(e) for e in self.entries]:
            self.broken.append({"path": link_path, "name": canonical_name(name),
                                "problem": "egg-link points to %s, which is not on sys.path (easy-install.pth lacks it)" % target})

    def _scan_zipped_egg(self, entry):
        import zipfile

        requires_text = ""
        try:
            with zipfile.ZipFile(entry) as archive:
                data = archive.read("EGG-INFO/PKG-INFO")
                if "EGG-INFO/requires.txt" in archive.namelist():
                    requires_text = archive.read("EGG-INFO/requires.txt")[:262144].decode("utf-8", "replace")
        except Exception as exc:  # zipfile raises several unrelated types for damaged files
            self.broken.append({"path": entry, "problem": "cannot read EGG-INFO/PKG-INFO from zipped egg: %s" % _error_text(exc)})
            return
        name = version = None
        for line in data.decode("utf-8", "replace").splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            if key.lower() == "name" and name is None:
                name = value.strip()
            elif key.lower() == "version" and version is None:
                version = value.strip()
        if name and version:
            self.dists.append({"name": canonical_name(name), "raw_name": name, "version": version, "entry": entry,
                               "metadata": entry, "requires": egg_requires(requires_text),
                               "how": "EGG-INFO/PKG-INFO in zipped egg %s" % entry})
        else:
            self.broken.append({"path": entry, "problem": "zipped egg PKG-INFO lacks Name or Version"})


def entry_kinds(entries, site_info):
    """Why each sys.path entry is there: stdlib, site, user_site, pythonpath or pth (added by a .pth file)."""
    def norm(path):
        try:
            return os.path.normcase(os.path.realpath(path))
        except (OSError, ValueError):
            return path

    pythonpath = set(norm(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    site_dirs = set(norm(p) for p in site_info.get("site_packages") or [])
    user_site = norm(site_info["user_site"]) if site_info.get("user_site") else None
    stdlib_roots = [norm(p) for p in (site_info.get("stdlib"), site_info.get("platstdlib")) if p]
    kinds = []
    for entry in entries:
        real = norm(entry)
        if real in pythonpath:
            kind = "pythonpath"
        elif user_site and real == user_site:
            kind = "user_site"
        elif real in site_dirs:
            kind = "site"
        elif any(real == root or real.startswith(root + os.sep) for root in stdlib_roots) or real.endswith(".zip"):
            kind = "stdlib"
        else:
            kind = "pth"
        kinds.append({"path": entry, "kind": kind, "exists": os.path.exists(entry)})
    return kinds


def _guarded(result, section, func):
    """func() or None; one broken section becomes an entry in result["errors"], not a crash."""
    try:
        return func()
    except Exception as exc:  # one broken section must not hide the others
        result["errors"].append({"section": section, "problem": _error_text(exc)})
        return None


def _add_interpreter(result, exe):
    """Step 1: the interpreter (version, bits, venv/conda), OS/arch, libc, platform and marker tags."""
    how = result["how"]
    python = _guarded(result, "python", python_facts) or {}
    how["python.version"] = "sys.version_info in %s" % exe
    how["python.implementation"] = "sys.implementation.name in %s" % exe
    how["python.bits"] = "sys.maxsize in %s" % exe
    how["python.in_venv"] = "sys.prefix != sys.base_prefix (or sys.real_prefix) in %s" % exe
    how["python.in_conda"] = "conda-meta/ under sys.prefix %s" % sys.prefix

    os_arch = _guarded(result, "os", os_facts)
    if os_arch:
        result["os"], result["arch"] = os_arch
        how["os"] = "sys.platform in %s" % exe
        how["arch"] = "platform.machine() (os.uname().machine) in %s" % exe

    libc = _guarded(result, "libc", libc_facts)
    if libc:
        result["libc"] = libc
    if os_arch:
        tags = _guarded(result, "platform_tag", lambda: platform_tag(os_arch[1], python.get("bits"), libc))
        if tags:
            python["platform_tag"] = tags[0]
            if tags[1]:
                python["manylinux_tag"] = tags[1]
            how["python.platform_tag"] = "sysconfig.get_platform() and interpreter bitness in %s" % exe

    marker_env = _guarded(result, "marker_env", marker_environment)
    if marker_env:
        python["marker_env"] = marker_env
        how["python.marker_env"] = "sys, os.uname() (or platform) in %s, as packaging.markers.default_environment()" % exe
    return python


def _site_dirs(site_info):
    """The site-packages directories (and the user site when enabled), each with whether it is writable."""
    listed = []
    seen = set()
    candidates = list(site_info.get("site_packages") or [])
    if site_info.get("user_site") and site_info.get("user_site_enabled"):
        candidates.append(site_info["user_site"])
    for path in candidates:
        if path in seen:
            continue
        seen.add(path)
        ok, method = writable(path)
        listed.append({"path": path, "exists": os.path.isdir(path), "writable": ok, "how": method,
                       "kind": "user_site" if path == site_info.get("user_site") else "site"})
    return listed


def _install_target(site_info, exe):
    """Where `pip install` (without --user) writes, and whether this user can write there."""
    target = site_info.get("purelib")
    if not target:
        return None
    ok, method = writable(target)
    return {"path": target, "writable": ok, "how": "sysconfig.get_paths()['purelib'] in %s (where `pip install` writes without --user); %s" % (exe, method)}


def _add_paths(result, python, entries, exe):
    """Step 2: user site, sys.path entries and their kinds, site-packages and the pip install target."""
    how = result["how"]
    site_info = _guarded(result, "site", site_facts) or {}
    python["user_site_enabled"] = site_info.get("user_site_enabled")
    python["user_site"] = site_info.get("user_site")
    how["python.user_site_enabled"] = "site.ENABLE_USER_SITE in %s" % exe
    result["python"] = python

    result["sys_path"] = _guarded(result, "sys_path", lambda: entry_kinds(entries, site_info)) or [{"path": e} for e in entries]
    how["sys_path"] = "sys.path in %s (without the current directory that -c adds)" % exe

    result["site_packages"] = _guarded(result, "site_packages", lambda: _site_dirs(site_info)) or []
    how["site_packages"] = "site.getsitepackages() + sysconfig purelib/platlib in %s" % exe

    target = _guarded(result, "install_target", lambda: _install_target(site_info, exe))
    if target:
        result["install_target"] = target


def _rknn_toolkit(packages, locations, broken_dists, how):
    """The RKNN toolkit distribution that `import rknn` would use (or its broken metadata), or None."""
    for package in RKNN_PACKAGES:
        if package in packages:
            how["rknn"] = how["packages." + package]
            return {"package": package, "version": packages[package], "location": locations[package]}
    for broken in broken_dists:
        if broken.get("name") in RKNN_PACKAGES:
            how["rknn"] = "broken metadata at %s" % broken["path"]
            return {"package": broken["name"], "version": None, "location": broken["path"], "problem": broken["problem"]}
    return None


def _add_distributions(result, entries, exe):
    """Step 3: installed distributions from metadata (first on sys.path wins), their Requires-Dist,
    duplicated distributions and top-level modules, broken metadata and the RKNN toolkit."""
    how = result["how"]
    scan = _guarded(result, "distributions", lambda: Scan(entries).run())
    if scan is None:
        return
    packages = {}
    locations = {}
    requires_dist = {}
    by_name = {}
    for dist in scan.dists:
        by_name.setdefault(dist["name"], []).append(dist)
        if dist["name"] not in packages:  # first on sys.path wins, as for importlib.metadata
            packages[dist["name"]] = dist["version"]
            locations[dist["name"]] = dist["entry"]
            how["packages." + dist["name"]] = dist["how"]
            if dist.get("requires"):
                requires_dist[dist["name"]] = dist["requires"]
    result["packages"] = packages
    result["package_locations"] = locations
    result["requires_dist"] = requires_dist
    how["requires_dist"] = ("Requires-Dist headers of each distribution's METADATA/PKG-INFO (egg-info: requires.txt) "
                            "on sys.path of %s; at most %d lines of %d bytes each" % (exe, MAX_REQUIRES_LINES, MAX_REQUIRES_LINE_BYTES))
    how["packages"] = "METADATA/PKG-INFO headers of %d distributions on sys.path of %s (nothing imported)" % (len(scan.dists), exe)
    result["duplicates"] = [
        {"name": name, "locations": [{"path": d["entry"], "version": d["version"], "metadata": d["metadata"]} for d in dists]}
        for name, dists in sorted(by_name.items()) if len(dists) > 1
    ]
    how["duplicates"] = "the same distribution name found in more than one *.dist-info/*.egg-info on sys.path of %s" % exe
    result["top_level_duplicates"] = [
        {"module": module, "paths": paths} for module, paths in sorted(scan.modules.items()) if len(paths) > 1
    ]
    how["top_level_duplicates"] = "the same top-level package/module in more than one sys.path entry of %s (first one wins)" % exe
    result["broken_metadata"] = scan.broken
    result["errors"].extend(scan.errors)
    result["rknn"] = _rknn_toolkit(packages, locations, scan.broken, how)
    result["rknn_packages"] = [{"package": p, "version": packages[p]} for p in RKNN_PACKAGES if p in packages]


def _add_env(result, exe):
    """Step 4: the environment variables that change how Python, pip, adb or the toolkit behave."""
    env = {}
    for name in ENV_NAMES:
        if name in os.environ:
            env[name] = os.environ[name]
    for name in os.environ:
        if name.startswith("RKNN_"):
            env[name] = os.environ[name]
    result["env"] = env
    result["how"]["env"] = "os.environ of %s" % exe


def collect(entries=None):
    """All facts as a JSON-ready dict. `entries` defaults to sys.path without the cwd entry."""
    result = {"probe_version": PROBE_VERSION, "errors": [], "how": {}}
    exe = sys.executable
    if entries is None:
        entries = _path_entries()
    python = _add_interpreter(result, exe)
    _add_paths(result, python, entries, exe)
    _add_distributions(result, entries, exe)
    _add_env(result, exe)
    return result


def main():
    sys.stdout.write(to_json(collect()))
    sys.stdout.write("\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
