"""A hostile or new user's command lines, run as real processes: a failing standard output, absurd
timeouts, a FIFO nobody reads, empty names, facts that judge nothing, a hostile `judged_for`, a
byte-order mark, a JSON list given to merge. Each ends with one line and a documented exit
code — never a traceback, never a hang, never an empty "all clear"."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_FACTS = ROOT / "examples" / "facts-rk3588-mismatch.json"


def run(*args, stdout=subprocess.PIPE, timeout: float = 120, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rknn_envcheck", *map(str, args)], stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, env=env, cwd=cwd)


def one_error_line(proc, *fragments: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("rknn-envcheck")]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# ------------------------------------------------------------------ 1. standard output fails

@pytest.fixture(scope="module")
def udev_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("udevroot")
    (root / "etc" / "udev" / "rules.d").mkdir(parents=True)
    return root


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("argv", [
    ["host"], ["matrix"], ["resolve"], ["emulator", "list"], ["constraints", "--toolkit", "rknn-toolkit2==2.3.2"],
    ["merge", EXAMPLE_FACTS], ["check", "--facts", EXAMPLE_FACTS], ["explain", "LOG"], ["udev", "--install", "--dry-run", "ROOT"],
    ["check", "--facts", EXAMPLE_FACTS, "-o", "-"],
])
def test_a_full_standard_output_is_one_line_and_exit_2(argv, tmp_path, udev_root):
    log = tmp_path / "log.txt"
    log.write_text("E RKNN: [10:00:00.000] failed to open rknpu module, need to insmod rknpu dirver!\n")
    argv = [str(log) if a == "LOG" else a for a in argv]
    argv = [*argv[:-1], "--root", str(udev_root)] if argv[-1] == "ROOT" else argv
    with open("/dev/full", "w") as full:
        proc = run(*argv, stdout=full)
    one_error_line(proc, "standard output", "ENOSPC")


def test_a_reader_that_goes_away_ends_the_run_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "rknn_envcheck", "matrix", "--format", "html"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(100)  # `| head -c 100`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 0
    assert err == "", err


# ------------------------------------------------------------------ 2. one type for every timeout

def _parsers():
    """Every parser of every command, subcommands included (what `grep add_argument` would find)."""
    from rknn_envcheck import cli

    parser = cli.build_parser()
    choices = parser._subparsers._group_actions[0].choices
    pending = []
    for name in cli.COMMANDS:
        cli._load(cli.MODULE_NAMES.get(name, name)).add_arguments(choices[name])
        pending.append((name, choices[name]))
    while pending:
        name, sub = pending.pop()
        yield name, sub
        for action in sub._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend((f"{name} {n}", p) for n, p in action.choices.items())


def test_every_timeout_option_uses_the_validated_seconds_type():
    found = []
    for name, parser in _parsers():
        for action in parser._actions:
            if any("timeout" in option for option in action.option_strings):
                found.append(f"{name} {action.option_strings[-1]}")
                assert getattr(action.type, "__name__", None) == "seconds", f"{name} {action.option_strings}: type {action.type}"
    assert {"host --timeout", "device --timeout", "model --timeout", "doctor --timeout",
            "emulator serve --idle-timeout", "emulator serve --handshake-timeout"} <= set(found), found


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "0", "1e400", "soon"])
@pytest.mark.parametrize("argv", [["host", "--timeout"], ["device", "--emulate", "rk1808-1.7.5", "--timeout"],
                                  ["model", "x.rknn", "--timeout"], ["emulator", "serve", "rk1808-1.7.5", "--idle-timeout"]])
def test_absurd_timeouts_are_refused_while_parsing(argv, value):
    proc = run(*argv[:-1], f"{argv[-1]}={value}", timeout=60)  # `=`: `-inf` is not taken for an option
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"argument {argv[-1]}" in proc.stderr and repr(value) in proc.stderr, proc.stderr


def test_a_sane_timeout_is_still_accepted():
    from rknn_envcheck.options import seconds

    assert seconds()("2.5") == 2.5 and seconds()("600") == 600.0


# ------------------------------------------------------------------ 3. FIFOs and empty names

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_without_reader_is_refused_not_waited_for(tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    proc = run("check", "--facts", EXAMPLE_FACTS, "-o", fifo, timeout=30)
    one_error_line(proc, str(fifo), "FIFO with no reader")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_with_a_reader_still_gets_the_report(tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received = []
    ready = threading.Event()

    def reader():  # `cat report.fifo` started before the report: blocked in open() until a writer comes
        ready.set()
        fd = os.open(fifo, os.O_RDONLY)
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(fd)
        received.append(b"".join(chunks).decode())

    thread = threading.Thread(target=reader)
    thread.start()
    ready.wait(10)
    time.sleep(0.2)  # the reader is inside open() (a process start takes longer anyway)
    proc = run("check", "--facts", EXAMPLE_FACTS, "--json", "-o", fifo, timeout=60)
    thread.join(30)
    assert proc.returncode == 1, proc.stderr  # the example has failures
    assert json.loads(received[0])["command"].startswith("check --facts")


@pytest.mark.parametrize("argv", [["check", "--facts", EXAMPLE_FACTS, "-o", ""], ["host", "--save-facts", ""],
                                  ["constraints", "--toolkit", "rknn-toolkit2==2.3.2", "-o", ""], ["matrix", "-o", ""],
                                  ["merge", EXAMPLE_FACTS, "-o", ""]])
def test_an_empty_output_name_is_refused(argv):
    proc = run(*argv, timeout=60)
    assert proc.returncode == 2 and "empty file name" in proc.stderr, proc.stderr
    assert proc.stdout == ""


# ------------------------------------------------------------------ 4. nothing judged is not "all clear"

def test_facts_with_nothing_to_judge_exit_3_and_say_what_to_run(tmp_path):
    facts = tmp_path / "empty.json"
    facts.write_text(json.dumps({"schema": "rknn-envcheck/facts/1"}))
    proc = run("check", "--facts", facts)
    assert proc.returncode == 3, proc.stdout
    last = proc.stdout.rstrip().splitlines()[-1]
    assert last.startswith("nothing was judged") and "all clear" not in proc.stdout
    assert "--save-facts" in last
    assert json.loads(run("check", "--facts", facts, "--json").stdout)["exit_code"] == 3


def test_all_pythons_finding_nothing_exits_3(tmp_path):
    home, cwd, bare = tmp_path / "home", tmp_path / "work", tmp_path / "bin"
    for d in (home, cwd, bare):
        d.mkdir()
    (bare / "sh").symlink_to("/bin/sh")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYENV_VERSION", "WORKON_HOME")}
    env.update(HOME=str(home), PATH=str(bare), PYENV_ROOT=str(home / ".pyenv"))
    proc = run("host", "--all-pythons", env=env, cwd=cwd, timeout=180)
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert proc.stdout.rstrip().splitlines()[-1].startswith("nothing was judged")
    assert "rknn-envcheck host --python PATH" in proc.stdout


def test_report_exit_code_when_nothing_or_only_skipped_checks():
    from rknn_envcheck.report import FAIL, OK, SKIPPED, Check, Report

    assert Report(command="t").exit_code() == 3
    assert Report(command="t", checks=[Check("a", "a", SKIPPED)]).exit_code() == 3
    assert Report(command="t", checks=[Check("a", "a", SKIPPED), Check("b", "b", OK)]).exit_code() == 0
    assert Report(command="t", checks=[Check("b", "b", FAIL)]).exit_code() == 1


# ------------------------------------------------------------------ 5. judged_for names its file

@pytest.mark.parametrize("judged_for", ["rknn-toolkit2==2.3.2; rm -rf /", "evil==1.0", "9.9.9"])
def test_a_bad_judged_for_names_the_facts_field_not_the_flag(tmp_path, judged_for):
    facts = tmp_path / "report.json"
    facts.write_text(json.dumps({"schema": "rknn-envcheck/facts/1", "judged_for": judged_for,
                                 "host": {"python": {"version": "3.10.12"}}}))
    line = one_error_line(run("check", "--facts", facts), "judged_for")
    assert "--toolkit '" not in line and "--toolkit 9" not in line
    if judged_for != "9.9.9":  # syntax: refused while loading, with the file's name
        assert str(facts) in line
    else:  # well-formed but not a release of this matrix: an explicit --toolkit replaces it
        assert run("check", "--facts", facts, "--toolkit", "rknn-toolkit2==2.3.2").returncode != 2
    # and --toolkit's own errors still name the flag
    one_error_line(run("check", "--facts", EXAMPLE_FACTS, "--toolkit", "9.9.9"), "--toolkit 9.9.9")


# ------------------------------------------------------------------ 6. BOM, and JSON that is not an object

def test_a_byte_order_mark_is_accepted_in_facts_files(tmp_path):
    plain = run("check", "--facts", EXAMPLE_FACTS, "--json")
    with_bom = tmp_path / "bom.json"
    with_bom.write_bytes(b"\xef\xbb\xbf" + EXAMPLE_FACTS.read_bytes())
    proc = run("check", "--facts", with_bom, "--json")
    assert proc.returncode == plain.returncode == 1, proc.stderr
    def verdicts(out):
        return [(c["id"], c["status"], c["message"]) for c in json.loads(out)["checks"]]

    assert verdicts(proc.stdout) == verdicts(plain.stdout)
    assert run("merge", with_bom).returncode == run("merge", EXAMPLE_FACTS).returncode


@pytest.mark.parametrize("document, kind", [([{"schema": "rknn-envcheck/facts/1"}], "a JSON list"), ("facts", "a JSON string"), (3, "a JSON number")])
def test_merge_names_what_a_non_object_input_is(tmp_path, document, kind):
    path = tmp_path / "in.json"
    path.write_text(json.dumps(document))
    one_error_line(run("merge", path), str(path), f"is {kind}, not a facts or report object")


# ------------------------------------------------------------------ 7. udev: a missing group

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="udev is Linux-only")
@pytest.mark.parametrize("strict", [[], ["--strict"]])
def test_udev_dry_run_exits_as_the_install_would_and_the_advice_is_no_loop(tmp_path, strict):
    root = tmp_path / "root"
    (root / "etc" / "udev" / "rules.d").mkdir(parents=True)
    (root / "etc" / "group").write_text("root:x:0:\nplugdev:x:46:\n")
    dry = run("udev", "--install", "--dry-run", "--root", root, "--group", "nosuchgrp", *strict)
    assert not list((root / "etc" / "udev" / "rules.d").iterdir()), "the dry run wrote something"
    assert "After it, the re-check would report" in dry.stdout
    real = run("udev", "--install", "--root", root, "--group", "nosuchgrp", "--json", *strict)
    assert dry.returncode == real.returncode, (dry.returncode, real.returncode, dry.stdout, real.stderr)
    assert real.returncode == (1 if strict else 0)
    dry_json = run("udev", "--install", "--dry-run", "--root", root, "--group", "nosuchgrp", "--json", *strict)
    assert dry_json.returncode == real.returncode
    assert json.loads(dry_json.stdout)["exit_code"] == json.loads(real.stdout)["exit_code"]
    rules = {c["id"]: c for c in json.loads(real.stdout)["checks"]}["udev.rules"]
    assert rules["status"] == "warn"
    assert "group nosuchgrp does not exist" in rules["message"]
    # one reason said once for every product id, not once per id
    assert rules["message"].count("does nothing here") == 1, rules["message"]
    argvs = [c["argv"] for c in rules["fix"]["commands"]]
    assert ["sudo", "groupadd", "--root", str(root), "nosuchgrp"] in argvs
    installs = [a for a in argvs if "--install" in a]
    assert installs and all(a[a.index("--group") + 1] == "nosuchgrp" for a in installs)


# ------------------------------------------------------------------ 8. PowerShell long options

@pytest.mark.parametrize("arg, shown", [
    ("--depth", "--depth"), ("--toolkit", "--toolkit"), ("--mode=group", "--mode=group"),
    ("--%", "'--%'"), ("--", "'--'"), ("---x", "'---x'"), ("--a=$env:X", "'--a=$env:X'"), ("--a b", "'--a b'"),
    ("--a;calc", "'--a;calc'"), ("--a=b.c", "'--a=b.c'"), ("--a`b", "'--a`b'"), ("--x'y", "'--x''y'"), ("--a=", "'--a='"),
])
def test_powershell_shows_long_options_bare_and_hostile_ones_quoted(arg, shown):
    from rknn_envcheck.shellcmd import cmd, powershell_quote

    assert powershell_quote(arg) == shown
    assert cmd("git", "clone", "--depth", "1", arg).display("powershell") == f"git clone --depth 1 {shown}"
