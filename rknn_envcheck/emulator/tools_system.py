"""The system tools of the emulated board (dmesg, getprop, uname, which, pidof, ps, id, sleep,
lsmod, python3 --version): answers from the board's profile."""
from __future__ import annotations

from rknn_envcheck.emulator.tool_registry import tool
from rknn_envcheck.emulator.vfs import uname_all


@tool("dmesg")
def dmesg(sh, argv, io):
    if sh.board.faults.has("dmesg-denied"):
        io.err("dmesg: klogctl: Operation not permitted\n")
        return 1
    io.out("".join(line + "\n" for line in sh.profile.dmesg))
    return 0


@tool("getprop")
def getprop(sh, argv, io):
    props = sh.profile.props
    if len(argv) == 1:
        io.out("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())))
    else:
        io.out(props.get(argv[1], argv[2] if len(argv) > 2 else "") + "\n")
    return 0


@tool("uname")
def uname(sh, argv, io):
    p = sh.profile
    flags = "".join(a[1:] for a in argv[1:] if a.startswith("-"))
    if "a" in flags:
        io.out(uname_all(p) + "\n")
        return 0
    order = [("s", "Linux"), ("n", p.hostname), ("r", p.uname_release), ("v", p.uname_version), ("m", p.uname_machine), ("o", "GNU/Linux")]
    bad = [c for c in flags if c not in "snrvmpio"]
    if bad:
        io.err(f"uname: invalid option -- '{bad[0]}'\n")
        return 1
    flags = flags.replace("p", "m").replace("i", "m") or "s"
    io.out(" ".join(v for k, v in order if k in flags) + "\n")
    return 0


@tool("which")
def which(sh, argv, io):
    status = 0
    for name in argv[1:]:
        path = sh.resolve(name)
        if path is None or "/" in name and not sh.fs.get(name).mode & 0o111:
            status = 1
        else:
            io.out(path + "\n")
    return status


@tool("pidof")
def pidof(sh, argv, io):
    pids = [str(p.pid) for p in sh.profile.processes if p.name in argv[1:]]
    if pids:
        io.out(" ".join(reversed(pids)) + "\n")
    return 0 if pids else 1


@tool("ps")
def ps(sh, argv, io):
    procs = sh.profile.processes
    if sh.profile.os == "android":
        io.out("USER           PID  PPID     VSZ    RSS WCHAN            ADDR S NAME\n")
        for p in procs:
            io.out(f"{p.user:<12}{p.pid:>6}{1 if p.pid > 1 else 0:>6}   12345   2345 0                   0 S {p.cmdline}\n")
    else:
        io.out("  PID USER       VSZ STAT COMMAND\n")
        for p in procs:
            io.out(f"{p.pid:>5} {p.user:<8}  1234 S    {p.cmdline}\n")
    return 0


@tool("id")
def id_(sh, argv, io):
    user = sh.profile.user
    uid = 0 if user == "root" else 2000
    io.out(f"uid={uid}({user}) gid={uid}({user}) groups={uid}({user})\n")
    return 0


@tool("sleep")
def sleep(sh, argv, io):
    try:
        io.sleep(float(argv[1].rstrip("s")))
    except (IndexError, ValueError):
        io.err("sleep: invalid number\n")
        return 1
    return 0


@tool("lsmod")
def lsmod(sh, argv, io):
    io.out("Module                  Size  Used by\n")
    io.out("".join(f"{m.name:<20}{m.size:>8}  {m.used}\n" for m in sh.profile.modules))
    return 0


@tool("python3")
def python3(sh, argv, io):
    if len(argv) == 2 and argv[1] in ("--version", "-V"):
        io.out(f"Python {sh.profile.python_version}\n")
        return 0
    io.err("python3: the emulated board only answers `python3 --version`\n")
    return 2
