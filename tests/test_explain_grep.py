"""The grep-backed scan (grepscan.py + Scanner.scan_grep) finds exactly what the Python scan finds,
and falls back to it whenever grep cannot be trusted. Real grep, real files."""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys

import pytest

from rknn_envcheck.commands.explain import explain_log
from rknn_envcheck.explain import grepscan
from rknn_envcheck.explain.decode import InputInfo
from rknn_envcheck.errors import UsageError
from rknn_envcheck.explain.messages import gate_covers, load_messages, parse_messages
from rknn_envcheck.regex_text import required_literal, required_literals, top_level_branches
from rknn_envcheck.explain.scan import Scanner

MESSAGES = load_messages()
FILLER = b"2024-05-11 10:00:00,000 INFO  worker: processed batch in 12 ms (queue depth 3)\n"
PAD = FILLER * (grepscan.MIN_SIZE // len(FILLER) + 10)

needs_grep = pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v grep"], capture_output=True).returncode != 0,
                                reason="no grep on this machine")

LOG = b"""\
W rknn-toolkit-lite2 version: 2.3.0
I RKNN: [07:45:06.415] RKNN Runtime Information, librknnrt version: 2.0.0b0 (35a6907d79@2024-03-24T10:31:14)
I RKNN: [07:45:06.415] RKNN Driver Information, version: 0.9.6
I RKNN: [07:45:06.420] RKNN Model Information, version: 6, toolkit version: 2.3.0(compiler version: 2.3.0 (c949ad889d@2024-11-07T11:35:33)), target: RKNPU v2, target platform: rk3588, framework name: ONNX, framework layout: NCHW, model inference type: static_shape
W RKNN: [07:45:06.421] RKNN Model version: 2.3.0 not match with rknn runtime version: 2.0.0
some line with an ERROR in the middle: not E at the start
E RKNNAPI: rknn_server version is too old, please update rknn_server to at least 2.3.0
D RKNNAPI: RKNN VERSION:
D RKNNAPI:   API: 1.4.0 (b4a8096 build: 2020-08-12 10:15:19)
D RKNNAPI:   DRV: 1.5.2 (e67e5cb build: 2020-12-03 15:04:52)
RKNN VERSION:
  API: librknn_runtime version 1.6.0 (6523e57 build: 2021-01-15 15:56:31 base: 1126)
  DRV: 6.4.3.5.293908
\x1b[33mW\x1b[0m rknn-toolkit-lite2 version: 2.3.1\r
\x1b[31mE RKNN: [07:45:06.415] failed to submit!, op id: 1\x1b[0m\r
R\x1b[0mKNN_ERR_DEVICE_UNAVAILABLE split by a colour code
[    9.342806] Galcore version 6.4.0.227915
"""


def summary(result):
    return {"findings": {k: (f.count, [(h.line_no, h.text, h.groups) for h in f.hits]) for k, f in result.findings.items()},
            "lines": result.lines, "candidates": result.candidate_lines, "ansi": result.info.ansi, "bom": result.info.bom,
            "bytes": result.info.bytes_read}


def both(tmp_path, data: bytes):
    path = tmp_path / "t.log"
    path.write_bytes(data)
    python = Scanner(MESSAGES).scan(io.BytesIO(data), InputInfo(name=str(path)))
    with open(path, "rb") as stream:
        fast = explain_log(stream, str(path), MESSAGES)
    return python, fast


def all_examples() -> bytes:
    lines = []
    for message in MESSAGES.messages:
        for example in message.examples:
            if any(n.startswith("after:") for n in message.needles) and not any(
                    (n[1:] if n.startswith("^") else n) in example for n in message.needles if not n.startswith("after:")):
                lines.append("RKNN VERSION:")
            lines.append(example)
    return ("\n".join(lines) + "\n").encode()


@needs_grep
def repeated_lines() -> bytes:
    """Runs of identical lines (a retry loop): matching ones, one with -A context ("RKNN VERSION:"),
    ANSI-coloured ones, non-candidates, and a run cut by a batch boundary (_BATCH_LINES)."""
    runs = []
    for line in LOG.splitlines(keepends=True):
        runs.append(line * 3)
    runs.append(b"E RKNN: [07:45:06.415] failed to submit!, op id: 1\n" * 9000)
    runs.append(b"RKNN VERSION:\n" * 4 + b"  API: librknn_runtime version 1.6.0 (6523e57 build: 2021-01-15 15:56:31 base: 1126)\n" * 3)
    runs.append(b"E RKNN: hello\n" * 50 + FILLER * 2 + b"E RKNN: hello\n" * 50)
    return b"".join(runs)


@pytest.mark.parametrize("layout", ["log-first", "log-last", "middle", "examples", "no-final-newline", "bom", "repeats"])
def test_grep_scan_equals_python_scan(tmp_path, layout):
    data = {"log-first": LOG + PAD, "log-last": PAD + LOG, "middle": PAD + LOG + PAD, "examples": PAD + all_examples(),
            "no-final-newline": PAD + LOG.rstrip(b"\n"), "bom": b"\xef\xbb\xbf" + LOG + PAD,
            "repeats": PAD + repeated_lines() + PAD + repeated_lines()}[layout]
    python, fast = both(tmp_path, data)
    assert fast.info.scanner == "grep"
    assert summary(fast) == summary(python)
    assert python.findings, "the log must give findings for the comparison to mean something"


@needs_grep
def test_every_example_is_found_through_grep(tmp_path):
    _, fast = both(tmp_path, PAD + all_examples())
    assert fast.info.scanner == "grep"
    missing = [m.id for m in MESSAGES.messages if m.id not in fast.findings]
    assert not missing


@pytest.mark.parametrize("why", ["utf-16", "bare CR", "over-long candidate line"])
def test_falls_back_to_python_when_grep_cannot_be_trusted(tmp_path, why):
    data = {
        "utf-16": ("E RKNN: Invalid RKNN model version 6\n" + "x" * 100 + "\n").encode("utf-16") * 6000,
        "bare CR": b"ordinary\rE RKNN: Invalid RKNN model version 6\r" + b"other line\r" * 120_000,
        "over-long candidate line": PAD + b"y" * (2 << 20) + b" RKNN_ERR_MODEL_INVALID\nE RKNN: Invalid RKNN model version 6\n",
    }[why]
    python, fast = both(tmp_path, data)
    assert fast.info.scanner == "python", why
    assert summary(fast) == summary(python)
    assert "model_version_unsupported_old" in fast.findings


def test_falls_back_when_grep_fails(tmp_path, monkeypatch):
    """A grep that rejects the options (busybox without -a exits 2) must not lose anything."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "grep"
    fake.write_text("#!/bin/sh\necho 'grep: unrecognized option: a' >&2\nexit 2\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    python, fast = both(tmp_path, PAD + LOG)
    assert fast.info.scanner == "python"
    assert summary(fast) == summary(python)


def test_falls_back_when_there_is_no_grep(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    python, fast = both(tmp_path, PAD + LOG)
    assert fast.info.scanner == "python"
    assert summary(fast) == summary(python)


def test_a_different_needle_set_is_not_trusted(tmp_path, monkeypatch):
    """grep starts from a quick read of [scan]; if the loaded set differs, its lines are dropped."""
    real = grepscan.read_scan_table
    monkeypatch.setattr(grepscan, "read_scan_table", lambda d=None: dict(real(d), needles=["RKNN"]))
    python, fast = both(tmp_path, PAD + LOG)
    assert fast.info.scanner == "python"
    assert summary(fast) == summary(python)


def test_quick_scan_table_read_equals_the_loaded_set():
    assert grepscan.read_scan_table() == {"needles": MESSAGES.needles, "context_lines": MESSAGES.context_lines,
                                          "grep_gate": MESSAGES.grep_gate}


def test_quick_scan_table_read_agrees_with_tomllib_or_declines(tmp_path):
    """The string-only reading gives what tomllib gives, or None (then grep is not started)."""
    from rknn_envcheck.tomlfile import toml_module

    tomllib = toml_module()
    shapes = [
        '[scan]\nneedles = ["a", "b\\\\.c", "d e"]\ncontext_lines = { "a" = 2, "d e" = 0 }\ngrep_gate = ["a", "\\\\(b"]\n[other]\nx = 1\n',
        '# head\n[scan]\nneedles = []\ncontext_lines = {}\n',
        '[scan]\nneedles = ["tab\\tinside"]\ncontext_lines = {}\n',     # an escape it does not read: declines
        '[scan]\nneedles = ["quote\\"inside"]\ncontext_lines = {}\n',
        '[scan]\nneedles = ["a", 3]\ncontext_lines = {}\n',
        '[scan]\nneedles = ["a",\n  "b"]\ncontext_lines = {}\n',           # multi-line array: declines
        '[scan]\nneedles = ["a"]\ncontext_lines = { "a" = x }\n',
        '[other]\nneedles = ["a"]\n',
    ]
    for text in shapes:
        (tmp_path / "messages.toml").write_text(text, encoding="utf-8")
        quick = grepscan.read_scan_table(str(tmp_path))
        if quick is None:
            continue
        scan = tomllib.loads(text)["scan"]
        assert quick == {"needles": scan["needles"], "context_lines": scan.get("context_lines", {}), "grep_gate": scan.get("grep_gate", [])}, text
    declined = []
    for text in shapes[2:]:
        (tmp_path / "messages.toml").write_text(text, encoding="utf-8")
        declined.append(grepscan.read_scan_table(str(tmp_path)))
    assert declined == [None] * len(declined)


def test_every_needle_holds_a_gate_literal_and_no_gate_literal_is_the_bare_prefix():
    assert MESSAGES.grep_gate
    for needle in MESSAGES.needles:
        assert any(gate_covers(token, needle) for token in MESSAGES.grep_gate), needle
    for line in ("I RKNN: [10:00:00.000] noise", "D RKNNAPI: ==============================================",
                 "D RKNN: [10:00:00.000] allocated memory, name: task1, size: 64KB"):
        assert not any(token in line or (token.startswith("^") and line.startswith(token[1:])) for token in MESSAGES.grep_gate), line


def test_gate_covers_anchors_only_anchored_needles():
    assert gate_covers("^E ", "^E ") and gate_covers("^E", "^E RKNN")
    assert not gate_covers("^E ", "E ")  # `E ` anywhere on a line is not at its start
    assert not gate_covers("^E ", "^W ")
    assert gate_covers("E ", "^E ") and gate_covers("fail", "rknn_init fail")


@needs_grep
def test_a_needle_without_its_gate_literal_is_refused_and_grep_would_miss_it(tmp_path):
    """For each needle, drop the gate literals that cover it: the loader must refuse that set, and
    the real grep over the remaining gate must indeed miss a line made of the needle — so the
    load-time check (for a --matrix DIR; the shipped set by the test below) is what keeps the
    grep-backed scan equal to the Python scan."""
    env = dict(os.environ, LC_ALL="C")
    missed = 0
    for needle in MESSAGES.needles:
        kept = [t for t in MESSAGES.grep_gate if not gate_covers(t, needle)]
        data = {"scan": {"needles": MESSAGES.needles, "grep_gate": kept, "context_lines": MESSAGES.context_lines},
                "message": []}
        with pytest.raises(UsageError, match="contains none of grep_gate"):
            parse_messages(data, "test.toml", validate=True)
        line = needle[1:] if needle.startswith("^") else "zz " + needle
        log = tmp_path / "one.log"
        log.write_bytes((line + "\n").encode() * 4)
        pattern = "|".join(p for p in grepscan.grep_patterns(kept) if p != "\x1b")
        found = subprocess.run(["grep", "-a", "-c", "-E", "-e", pattern, str(log)], capture_output=True, env=env)
        assert found.returncode in (0, 1), found.stderr
        # a kept literal may occur in the needle's text without being a substring of it (`^X` vs
        # the line's start): only then may grep still see the line
        if found.returncode == 1:
            missed += 1
        else:
            assert any(t.lstrip("^") in line for t in kept), needle
    assert missed > len(MESSAGES.needles) // 2  # the check is not vacuous: most needles would be lost


def test_grep_patterns_keep_anchors_escape_specials_and_add_esc():
    assert grepscan.grep_patterns(["RKNN", "^E ", "a.b|(c)"]) == ["RKNN", "^E ", "a\\.b\\|\\(c\\)", "\x1b"]
    assert grepscan.grep_patterns(["RKNN"], bom=True) == ["RKNN", "\x1b", "\ufeff"]
    assert grepscan.grep_patterns(["a\nb"]) is None
    assert grepscan.grep_patterns(["^"]) is None


@needs_grep
def test_grep_pattern_matches_each_literal_literally(tmp_path):
    """ERE specials in a literal are matched as themselves, `^X` only at a line start (real grep)."""
    log = tmp_path / "specials.log"
    log.write_bytes(b"x (user a) y\nE at start\nnot E here\nxyz\nrknn_init fail? [1]\n")
    pattern = "|".join(grepscan.grep_patterns(["(user ", "^E ", "fail? [1]"]))
    out = subprocess.run(["grep", "-a", "-n", "-E", "-e", pattern, str(log)], capture_output=True,
                         env=dict(os.environ, LC_ALL="C")).stdout
    assert out == b"1:x (user a) y\n2:E at start\n5:rknn_init fail? [1]\n"


def test_usable_head():
    assert grepscan.usable_head(b"line\n" * 100)
    assert not grepscan.usable_head(b"no line end at all")
    assert not grepscan.usable_head(b"cr\r" * 100)
    assert not grepscan.usable_head(("line\n" * 100).encode("utf-16"))
    assert not grepscan.usable_head(("line\n" * 100).encode("utf-16-le"))


def _top_level_literals(pattern: str) -> list[str]:
    """Runs of consecutive LITERAL nodes at the top level of re's own parse tree."""
    from re import _parser as sre_parse  # type: ignore[attr-defined]
    from re._constants import LITERAL  # type: ignore[import-not-found]

    tree = sre_parse.parse(pattern, re.M)
    if tree.state.flags & re.IGNORECASE:
        return []
    runs, run = [], []
    for op, arg in tree.data:
        if op is LITERAL:
            run.append(chr(arg))
        else:
            runs.append("".join(run))
            run = []
    runs.append("".join(run))
    return [r for r in runs if r]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="re._parser is sre_parse before 3.11")
@pytest.mark.parametrize("message", MESSAGES.messages, ids=lambda m: m.id)
def test_required_literal_is_sound(message):
    """Every match of the pattern contains the literal: it is a run of top-level literal nodes."""
    literal = message.literal
    if literal is None:
        return
    assert any(literal in run for run in _top_level_literals(message.pattern_text)), (message.id, literal)
    for example in message.examples:
        if message.pattern.search(example):
            assert literal in example


@pytest.mark.parametrize("pattern,literal", [
    ("failed to submit!?", "failed to submit"),
    ("a(?i)bcd", None),
    ("abc|defgh", None),
    (r"librknnrt\.so: x", "librknnrt.so: x"),
    (r"\x41BCDE", None),
    ("FIFO '[^']*' is closed now", "' is closed now"),
    (r"Galcore version (?P<v>\d+)", "Galcore version "),
    ("ab{2}cdef", "cdef"),
])
def test_required_literal_cases(pattern, literal):
    assert required_literal(pattern) == literal


@pytest.mark.skipif(sys.version_info < (3, 11), reason="re._parser is sre_parse before 3.11")
@pytest.mark.parametrize("message", MESSAGES.messages, ids=lambda m: m.id)
def test_required_literals_are_sound(message):
    """Every match contains one of the literals: each is a literal run of its own top-level
    alternative (checked against re's parse tree), and every matching example holds one."""
    literals = message.literals
    if literals is None:
        return
    alternatives = top_level_branches(message.pattern_text)
    assert "|".join(alternatives) == message.pattern_text
    for alternative in alternatives:
        re.compile(alternative)  # a real top-level split: each alternative is a whole regex
        assert any(literal in run for literal in literals for run in _top_level_literals(alternative)), (message.id, alternative)
    for example in message.examples:
        if message.pattern.search(example):
            assert any(literal in example for literal in literals), (message.id, example)


@pytest.mark.parametrize("pattern,literals", [
    ("abc|defgh", ("abc", "defgh")),
    ("abcd|(?i)xyzw", None),
    ("abcd|x", None),
    (r"open (a|b) failed|cannot\|open [|] file", (" failed", "cannot|open ")),
    ("same one|same one", ("same one",)),
])
def test_required_literals_cases(pattern, literals):
    assert required_literals(pattern) == literals


def test_an_alternation_entry_is_not_compiled_on_a_line_without_its_literals():
    """A line holding only the `^E ` needle: entries whose alternatives' literals are absent are
    neither compiled nor searched (their literals spare the regex, as a single literal does)."""
    from rknn_envcheck.explain.messages import parse_messages as parse

    fresh = parse({"scan": {"needles": MESSAGES.needles, "grep_gate": MESSAGES.grep_gate, "context_lines": MESSAGES.context_lines},
                   "message": [{"id": m.id, "kind": m.kind, "needles": m.needles, "pattern": m.pattern_text, "component": m.component,
                                "meaning": m.meaning, "source": m.source, "examples": m.examples, "near_misses": m.near_misses}
                               for m in MESSAGES.messages]})
    from rknn_envcheck.explain.scan import scan_text

    scan_text("E some_tool: nothing any entry knows\n", fresh)
    alternations = [m for m in fresh.messages if "^E " in m.needles and m.literal is None and m.literals is not None]
    assert alternations, "the shipped set has `^E ` entries that are alternations"
    assert all(m._compiled is None for m in alternations)


@needs_grep
def test_cli_on_a_big_log_file_and_on_stdin_redirected_from_it(tmp_path):
    path = tmp_path / "big.log"
    path.write_bytes(PAD + LOG + PAD)
    cmd = [sys.executable, "-m", "rknn_envcheck", "explain"]
    by_name = subprocess.run(cmd + [str(path), "--json"], capture_output=True, timeout=60)
    with open(path, "rb") as stdin:
        by_stdin = subprocess.run(cmd + ["-", "--json"], stdin=stdin, capture_output=True, timeout=60)
    piped = subprocess.run(cmd + ["-", "--json"], input=path.read_bytes(), capture_output=True, timeout=60)
    reports = [json.loads(p.stdout) for p in (by_name, by_stdin, piped)]
    for proc in (by_name, by_stdin, piped):
        assert proc.returncode == 1, proc.stderr
    checks = [{c["id"]: c["how"] for c in r["checks"] if c["id"].startswith("log.")} for r in reports]
    assert checks[0] == checks[1] == checks[2]
    line = PAD.count(b"\n") + 7
    assert checks[0]["log.rknn_server_too_old"] == f"log line {line}"
    # a pipe is copied (bounded) into a temporary file, so grep scans all three
    assert all(any("grep" in n for n in r["notes"]) for r in reports)


def test_a_verbose_runtime_log_gives_no_candidates():
    """`I RKNN:` / `D RKNN:` lines of RKNN_LOG_LEVEL=5 logs are not messages: no needle may be the
    bare prefix, or the Python stage 2 runs on every line (11 s for 10 MB before)."""
    from rknn_envcheck.explain.scan import scan_text

    verbose = "".join(f"{level} RKNN: [10:00:{i % 60:02d}.{i % 1000:03d}] noise {i}\n" for i in range(2000) for level in "ID")
    verbose += "D RKNNAPI: ==============================================\nI rknn_context created\n"
    result = scan_text(verbose + "E RKNN: [10:48:38.432] Invalid RKNN model version 6\n", MESSAGES)
    assert result.candidate_lines == 1
    assert "model_version_unsupported_old" in result.findings


def test_an_endless_pipe_stops_at_the_cap_in_time():
    import time

    from rknn_envcheck.commands.explain import MAX_STREAM_BYTES

    start = time.perf_counter()
    yes = subprocess.Popen(["yes", "I RKNN: [10:00:00.000] noise"], stdout=subprocess.PIPE)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "rknn_envcheck", "explain", "-"], stdin=yes.stdout,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        yes.stdout.close()
        out, _ = proc.communicate(timeout=120)
    finally:
        yes.kill()
        yes.wait()
    elapsed = time.perf_counter() - start
    assert f"stopped reading after {MAX_STREAM_BYTES >> 20} MiB" in out
    assert "needles found by grep" in out and ", 0 looked at closely" in out
    assert proc.returncode == 3  # nothing recognised: unknown, never "all clear"
    assert elapsed < 20  # was 50 s


# Runs the CLI in a fresh interpreter and reports that process's own peak RSS on the pipe fd
# PEAK_FD: VmHWM of /proc/self/status, the high-water mark of the address space it runs in.
# Not RUSAGE_CHILDREN of the test process (the largest child it ever waited for), and not the
# child's own ru_maxrss either: Linux carries the pre-exec RSS across exec, so a child started by
# a 160 MiB pytest reports 160 MiB however little it uses.
_PEAK_WRAPPER = """
import os, sys
from rknn_envcheck.cli import main
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    os.write(int(os.environ["PEAK_FD"]), peak.encode())
raise SystemExit(code)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="VmHWM is read from Linux's /proc")
def test_an_endless_pipe_keeps_the_process_under_100_mib(tmp_path):
    """`yes 'I RKNN: …' | rknn-envcheck explain -`: the explain process itself (not grep/wc, which
    run under their own address-space limit) stays below the 100 MiB goal while it reads to the cap."""
    read_end, write_end = os.pipe()
    yes = subprocess.Popen(["yes", "I RKNN: [10:00:00.000] noise " + "x" * 200], stdout=subprocess.PIPE)
    try:
        proc = subprocess.Popen([sys.executable, "-c", _PEAK_WRAPPER, "explain", "-"], stdin=yes.stdout,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(write_end,),
                                env=dict(os.environ, PEAK_FD=str(write_end)))
        os.close(write_end)
        yes.stdout.close()
        out, err = proc.communicate(timeout=120)
    finally:
        yes.kill()
        yes.wait()
    peak_kib = int(os.read(read_end, 64) or b"0")
    os.close(read_end)
    assert proc.returncode == 3, err[-2000:]
    assert b"stopped reading after" in out
    assert 0 < peak_kib < 100 * 1024, f"explain peaked at {peak_kib / 1024:.1f} MiB"



@needs_grep
def test_long_runs_of_one_line_are_folded_and_still_equal_the_python_scan(tmp_path):
    """100 000 equal error lines (grep's output passes several 1 MiB reads, so runs are cut at
    read boundaries), between ordinary and coloured lines: the folded path gives what the Python
    scanner gives, and is fast (one regex in C per read instead of a Python step per line)."""
    import time

    same = b"E RKNN: [10:00:00.000] Invalid RKNN model version 6\n"
    data = PAD + same * 100_000 + b"\x1b[31m" + same + b"\x1b[0m\n" + same * 40 + FILLER * 3 + same * 15 + PAD
    python, fast = both(tmp_path, data)
    assert fast.info.scanner == "grep"
    assert summary(fast) == summary(python)
    finding = fast.findings["model_version_unsupported_old"]
    assert finding.count == 100_000 + 1 + 40 + 15
    path = tmp_path / "t.log"
    start = time.perf_counter()
    with open(path, "rb") as stream:
        explain_log(stream, str(path), MESSAGES)
    assert time.perf_counter() - start < 2.0  # ~5 s per 4.8 M lines before folding; ~0.1 s here


def test_runs_with_gaps_in_their_numbers_stay_lines():
    from rknn_envcheck.explain.grepscan import _with_runs

    lines = [b"%d:E RKNN: x" % n for n in range(1, 21)] + [b"21-ctx", b"22:E RKNN: y"]
    data = b"\n".join(lines) + b"\n"
    out = list(_with_runs(data, len(data), 16))
    assert out == [b"1:E RKNN: x", (b"E RKNN: x", 19, 2), b"21-ctx", b"22:E RKNN: y"]
    # one match whose numbers jump (1..20, then 30, 31): not folded at all, every line given
    jumped = b"".join(b"%d:E RKNN: x\n" % n for n in [*range(1, 21), 30, 31])
    assert list(_with_runs(jumped, len(jumped), 16)) == jumped.split(b"\n")[:-1]
    gaps = b"".join(b"%d:E RKNN: x\n" % n for n in range(1, 60, 2))  # matches far apart, no context between
    assert list(_with_runs(gaps, len(gaps), 16)) == gaps.split(b"\n")[:-1]
