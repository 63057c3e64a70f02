"""Findings + facts → checks that quote the log lines they came from.

Errors and warnings each become one check. A generic error (RKNN_ERR_DEVICE_UNAVAILABLE,
RKNN_ERR_MODEL_INVALID, ...) lists the causes the seed manual gives, ranked: causes the log or the
facts rule out go last, each with the fact that rules it out. Versions the log printed are
judged by the project's rules (rules.device / rules.host) like any observed facts; on top of
that, what only a log shows (the model's format and toolkit version next to the runtime that
loaded it) is cross-checked here.
"""
from __future__ import annotations

from rknn_envcheck.explain.fixups import applicable_causes, human_title, installed_line, one_pip, pip_conflict_fix
from rknn_envcheck.explain.messages import MessageSet
from rknn_envcheck.explain.scan import Finding, ScanResult
from rknn_envcheck.report import FAIL, UNKNOWN, WARN, Check, Fix
from rknn_envcheck.shellcmd import PYTHON, Command, adb_shell_script, cmd


def try_parse(text: str):
    # versions (packaging) costs ~9 ms to import; only version comparisons need it
    from rknn_envcheck.versions import try_parse as parse

    return parse(text)


# Model file format 6 is loadable from librknnrt 1.5.2 on (toolkit2.md §3.2 / §4.4).
FORMAT6_MIN_RUNTIME = "1.5.2"

COLLECT_COMMANDS = [
    cmd("rknn-envcheck", "device", "--all", "--save-facts", "facts.json"),
    cmd("rknn-envcheck", "host", "--save-facts", "host.json"),
    adb_shell_script(None, 'strings /usr/lib/librknnrt.so | grep -i "librknnrt version"'),
    adb_shell_script(None, 'strings /usr/bin/rknn_server | grep -i "rknn_server version"'),
    adb_shell_script(None, "cat /sys/kernel/debug/rknpu/version || dmesg | grep -i rknpu"),
    adb_shell_script(None, "dmesg | grep -i galcore", note="RK1808/RV1126 (toolkit v1) boards"),
    cmd("export", "RKNN_LOG_LEVEL=5", note="then re-run the program and explain the new log"),
]
# Board files whose copy onto a board is an install: a message proposing one gets the report's
# install plan for the board instead of its generic commands (one release per board per report).
INSTALLED_FILES = ("librknnrt.so", "librknnmrt.so", "librknn_runtime.so", "rknn_server", "galcore.ko", "galcore_puma.ko")


def subject_for(name: str) -> str:
    return f"log:{name}"


def _evidence(finding: Finding) -> list[str]:
    lines = [f"line {h.line_no}: {h.text}" for h in finding.hits[:5]]
    if finding.count > 5:
        lines.append(f"... and {finding.count - 5} more line(s) like these")
    return lines


# ------------------------------------------------------------------ cause conditions

def _field(facts: dict, name: str):
    """`device.X`, `host.X`, `log.X` or `host.toolkit` → value or None (unknown)."""
    section, _, key = name.partition(".")
    if section == "device":
        devices = facts.get("devices") or []
        for device in devices:
            if device.get(key) is not None:
                return device.get(key)
        return None
    if section == "host":
        host = facts.get("host") or {}
        if key == "toolkit":
            for package in (host.get("packages") or {}):
                if package in ("rknn-toolkit2", "rknn-toolkit"):
                    return package
            return None
        return host.get(key)
    if section == "log":
        return (facts.get("log") or {}).get(key)
    return None


def _compare(left, op: str, right) -> bool | None:
    if left is None or right is None:
        return None
    if op in ("contains", "!contains"):
        inside = right in left if isinstance(left, (list, tuple, str)) else None
        if inside is None:
            return None
        return inside if op == "contains" else not inside
    if isinstance(left, bool) or isinstance(right, bool) or str(right).lower() in ("true", "false"):
        lv = left if isinstance(left, bool) else str(left).lower() == "true"
        rv = right if isinstance(right, bool) else str(right).lower() == "true"
        return (lv == rv) if op == "==" else (lv != rv) if op == "!=" else None
    lver, rver = try_parse(str(left)), try_parse(str(right))
    if op in (">=", "<") and lver is not None and rver is not None:
        return lver >= rver if op == ">=" else lver < rver
    a, b = str(left).lower(), str(right).lower()
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    return None


def _versions_consistent(facts: dict) -> bool | None:
    """Toolkit, rknn_server and runtime all known and of one major.minor (vendor same-version rule)."""
    host_packages = (facts.get("host") or {}).get("packages") or {}
    toolkit = host_packages.get("rknn-toolkit2") or host_packages.get("rknn-toolkit")
    server, runtime = _field(facts, "device.rknn_server"), _field(facts, "device.librknn_runtime")
    parsed = [try_parse(str(v)) for v in (toolkit, server, runtime)]
    if any(p is None for p in parsed):
        return None
    return len({p.release[:2] for p in parsed}) == 1


def condition_holds(condition: str, facts: dict) -> tuple[bool | None, str]:
    """Evaluate one `ruled_out_by` condition; None = cannot tell (the cause stays in play)."""
    text = condition.strip()
    if text == "versions_consistent":
        held = _versions_consistent(facts)
        return held, "toolkit, rknn_server and runtime versions are known and match"
    parts = text.split(None, 2)
    if len(parts) == 2 and parts[1] == "present":
        value = _field(facts, parts[0])
        return (value is not None), f"{parts[0]} = {value}"
    if len(parts) != 3:
        return None, text
    left_name, op, right_text = parts
    left = _field(facts, left_name)
    is_field = "." in right_text and right_text.split(".")[0] in ("device", "host", "log")
    right = _field(facts, right_text) if is_field else right_text
    held = _compare(left, op, right)
    shown_right = f"{right_text} = {right}" if right is not right_text else right_text
    return held, f"{left_name} = {left} ({op} {shown_right})"


def rank_causes(causes: list[dict], facts: dict) -> list[dict]:
    """Causes in the vendor's order; those a fact rules out move to the end with the reason."""
    open_causes, ruled_out = [], []
    for cause in causes:
        reason = None
        for condition in cause.get("ruled_out_by") or []:
            held, why = condition_holds(condition, facts)
            if held:
                reason = why
                break
        entry = {"cause": cause["cause"], "check": cause.get("check", ""), "ruled_out": reason}
        (ruled_out if reason else open_causes).append(entry)
    return open_causes + ruled_out


def _causes_text(ranked: list[dict]) -> str:
    lines = []
    for number, cause in enumerate(ranked, 1):
        tail = f" — ruled out: {cause['ruled_out']}" if cause["ruled_out"] else ""
        check = f" [check: {cause['check']}]" if cause["check"] else ""
        lines.append(f"  {number}. {cause['cause']}{check}{tail}")
    return "possible causes, most likely first:\n" + "\n".join(lines)


# ------------------------------------------------------------------ findings → checks

def _detail(finding: Finding, messages: MessageSet) -> str:
    groups = finding.first.groups
    bits = []
    code = groups.get("error_code")
    if code is not None:
        bits.append(f"code {code} = {messages.codes.get(str(int(code)), 'unknown code')}")
    for key in ("model_version", "runtime_max_model_version", "model_chip", "board_chip", "rknn_server_min", "driver_version",
                "driver_min", "model_toolkit_version", "runtime_version", "transport_error", "ack_name", "op", "numpy_version",
                "error_name", "torch_version", "opset", "opset_max", "requirement", "toolkit_version"):
        if groups.get(key):
            bits.append(f"{key.replace('_', ' ')} {groups[key]}")
    return "; ".join(bits)


def _installs(command) -> bool:
    argv = list(getattr(command, "argv", ()) or ())
    copies = "push" in argv[:4] or "cp" in argv[:2]
    return copies and any(str(a).rstrip("/").rsplit("/", 1)[-1] in INSTALLED_FILES or "/drivers/" in f"/{a}" for a in argv)


def _restarts(command) -> bool:
    argv = [str(a) for a in getattr(command, "argv", ()) or ()]
    return any("restart_rknn" in a or a.endswith("rknn_server &") or a == "killall rknn_server" for a in argv)


def _on_serial(command, serial: str):
    """`adb shell …` of the message data → `adb -s SERIAL shell …` for the one observed board."""
    argv = list(getattr(command, "argv", ()) or ())
    if len(argv) < 2 or argv[0] != "adb" or argv[1] == "-s" or argv[1] in ("devices", "start-server", "kill-server"):
        return command
    return Command(["adb", "-s", serial, *argv[1:]], shell=command.shell, note=command.note)


def log_board(facts: dict) -> dict | None:
    """The board the log is about: the one observed board (merged with the log's versions), else
    the board the log describes."""
    devices = [d for d in facts.get("devices") or [] if isinstance(d, dict)]
    if len(devices) == 1:
        return devices[0]
    return next((d for d in devices if d.get("serial") == "log"), devices[0] if devices else None)


def board_plan(facts: dict, matrix, line_hint: str | None = None):
    """The install plan of the log's board for this whole report (None: no board to plan for); a
    log naming no board gets a generic board of `line_hint` (the line the message's files are of)."""
    from rknn_envcheck.evaluate import host_toolkit
    from rknn_envcheck.fixplan import board_toolkit, plan_for

    if matrix is None:
        return None
    board = log_board(facts)
    if board is None:
        if line_hint is None:
            return None
        board = {"serial": "log"}
    # the toolkit evaluate() judges this board for, so the log rows and the board rows agree
    toolkit = board_toolkit(board, host_toolkit(facts, matrix, facts.get("judged_for")), bool(facts.get("judged_for")))
    return plan_for(facts, board, toolkit, matrix, line_hint)


def finding_check(finding: Finding, messages: MessageSet, facts: dict, subject: str, matrix=None) -> Check:
    message = finding.message
    status = FAIL if message.kind in ("error", "context") else WARN
    detail = _detail(finding, messages)
    text = message.meaning + (f" ({detail})" if detail else "")
    if finding.count > 1:
        text += f" Seen {finding.count} times, first at line {finding.first.line_no}."
    commands = list(message.commands)
    causes, left_out = applicable_causes(message.causes, facts) if message.causes else ([], 0)
    if causes:
        ranked = rank_causes(causes, facts)
        text += "\n" + _causes_text(ranked)
        if left_out:
            text += f"\n  ({left_out} cause(s) of the list apply only to another toolkit line or OS than this report's and are left out)"
        for cause in ranked:
            if not cause["ruled_out"] and cause["check"] and cause["check"] not in commands:
                commands.append(cause["check"])
    fix_text = message.fix or "see the meaning above"
    if any(_installs(c) for c in commands):
        plan = board_plan(facts, matrix, installed_line(commands, _installs))
        if plan is not None and plan.release:
            install = plan.install_fix()
            planned = {getattr(c, "argv", None) for c in install.commands}
            # the plan clones, pushes and restarts in that order: the message's own restart (and
            # pushes) would run before the new files are there, so only its checks stay, first
            commands = [c for c in commands if not _installs(c) and not _restarts(c) and getattr(c, "argv", None) not in planned]
            commands += list(install.commands)
            serial = plan.device.get("serial")
            fix_text += f" For {'board ' + str(serial) if serial not in (None, 'log') else 'the board of this log'}: {install.text}"
    observed_boards = [d for d in facts.get("devices") or [] if d.get("serial") not in (None, "log")]
    if len(observed_boards) == 1:
        from rknn_envcheck.fixplan import board_serial

        serial = board_serial(observed_boards[0])  # the planner's serial (its placeholder for an emulated board)
        if serial:
            commands = [_on_serial(c, serial) for c in commands]  # one serial per board, as the plan's commands
    commands = one_pip(commands, facts)
    if observed_boards and any(getattr(c, "argv", ("",))[0] == "adb" and not _installs(c) for c in commands):
        # The message data can only give generic board paths; the checks of the observed board
        # below name the exact files, paths and serial for its chip and OS.
        fix_text += f" (generic commands; for board {observed_boards[0].get('serial')} the board checks below give the exact ones)"
    return Check(
        id=f"log.{message.id}", title=human_title(message), status=status, component=message.component,
        subject=subject, observed=finding.first.text, how=f"log line {finding.first.line_no}",
        expected=message.fix or None, rule=f"messages.toml [{message.id}]", source=message.source, message=text,
        fix=Fix(fix_text, commands), evidence=_evidence(finding),
    )


def cross_checks(facts: dict, findings: dict, subject: str, matrix=None) -> list[Check]:
    """What only a log can show: the model's format/toolkit next to the runtime that loaded it."""
    checks = []
    log = facts.get("log") or {}
    how = log.get("how") or {}
    runtime = _field(facts, "device.librknn_runtime")
    runtime_how = next((d.get("how", {}).get("librknn_runtime") for d in facts.get("devices") or [] if d.get("librknn_runtime")), "")
    model_version, model_toolkit = log.get("model_version"), log.get("model_toolkit_version")
    if model_version and runtime and "model_version_unsupported_old" not in findings and "model_version_unsupported" not in findings:
        rt = try_parse(str(runtime))
        if str(model_version) == "6" and rt is not None and rt < try_parse(FORMAT6_MIN_RUNTIME):
            checks.append(Check(
                "log.model_format_vs_runtime", "model format vs runtime", FAIL, component="librknnrt", subject=subject,
                observed=f"model format {model_version}, librknnrt {runtime}", how=f"{how.get('model_version')}; {runtime_how}",
                expected=f"librknnrt ≥ {FORMAT6_MIN_RUNTIME} for model format 6", rule="model format 6 needs librknnrt ≥ 1.5.2",
                source="QS-1.6.0 §3.4.2", message=f"the model has file format 6, which librknnrt {runtime} cannot load",
                fix=_plan_fix(facts, matrix, f"update librknnrt on the board (≥ {FORMAT6_MIN_RUNTIME}, best the model's toolkit version)")))
    if model_toolkit and runtime and "model_runtime_version_mismatch" not in findings:
        mt, rt = try_parse(str(model_toolkit).split("-")[0]), try_parse(str(runtime))
        if mt is not None and rt is not None and rt.release[:2] < mt.release[:2]:
            checks.append(Check(
                "log.model_toolkit_vs_runtime", "model toolkit vs runtime", WARN, component="librknnrt", subject=subject,
                observed=f"model built by toolkit {model_toolkit}, board librknnrt {runtime}",
                how=f"{how.get('model_toolkit_version')}; {runtime_how}", expected=f"librknnrt ≥ {mt.base_version}",
                rule="runtime at least the toolkit version that built the model", source="QS-1.6.0 §3.4.2 QS 1.6.0 §3.4.2",
                message="the runtime is older than the toolkit that built the model; operators may be missing (`Unsupport CPU op`)",
                fix=_plan_fix(facts, matrix, f"update librknnrt and rknn_server on the board to {mt.base_version} or newer")))
    model_chip, board_chip = log.get("model_chip"), _field(facts, "device.chip")
    if model_chip and board_chip and "model_platform_mismatch" not in findings:
        from rknn_envcheck.rules.chips import model_runs_on

        if not model_runs_on(matrix, model_chip, board_chip):
            checks.append(Check(
                "log.model_chip_vs_board", "model target vs board", FAIL, component="model", subject=subject,
                observed=f"model for {model_chip}, board {board_chip}", how=how.get("model_chip", "log"), expected=f"model for {board_chip}",
                rule="target_platform must be the board's chip", source="API-TK2-2.3.2 §3", message=f"the model was exported for {model_chip}, the board is {board_chip}",
                fix=_re_export(str(board_chip).lower())))
    if log.get("hal_user") and log.get("hal_kernel") and _galcore_differ(log["hal_user"], log["hal_kernel"]):
        checks.append(Check(
            "log.galcore_user_vs_kernel", "galcore user vs kernel", FAIL, component="galcore", subject=subject,
            observed=f"user {log['hal_user']}, kernel {log['hal_kernel']}", how=f"{how.get('hal_user')}; {how.get('hal_kernel')}",
            expected="the same galcore version in user space and kernel", rule="update the driver's user part and galcore.ko together",
            source="TS-1.7.5 §8 HAL user/kernel version", message="the NPU user-space driver and galcore.ko come from different releases",
            fix=_galcore_fix(facts, matrix)))
    return checks


def _galcore_differ(user: str, kernel: str) -> bool:
    """The board rule's comparison (versions.galcore_key: version and build), fed the two
    versions of a `HAL user version … HAL kernel version …` line; "6.4.0 build 227915" is the
    `version:build` form the board probe gives."""
    from rknn_envcheck.versions import galcore_key

    def key(value: str):
        version, sep, build = value.partition(" build ")
        return galcore_key(f"{version}:{build}" if sep else value)

    user_key, kernel_key = key(user), key(kernel)
    if user_key is None or kernel_key is None:
        return user != kernel
    return user_key != kernel_key


def _galcore_fix(facts: dict, matrix) -> Fix:
    """One rknpu release's user part and galcore.ko together: the report's one plan (commands even for an unknown chip)."""
    plan = board_plan(facts, matrix, "rknn-toolkit")
    if plan is None:
        return Fix("push the drivers of one rknpu release (user libraries and galcore.ko) and reboot")
    return plan.install_fix()


def _plan_fix(facts: dict, matrix, fallback: str) -> Fix:
    """The board's planned install (the release the whole report needs), or words when no board
    is known to plan for."""
    plan = board_plan(facts, matrix)
    if plan is None or not plan.release:
        return Fix(fallback)
    return plan.install_fix()


def _with_log_values(check: Check, finding: Finding, facts: dict) -> Check:
    """Fixes that need a value only the log gives (the board's chip of `This rknn model is for X,
    but current platform is Y`): built from the extracted value with repr, never from a placeholder."""
    groups = finding.first.groups
    if finding.message.id == "pip_toolkit_requires_incompatible" and groups.get("requirement"):
        check.fix = pip_conflict_fix(groups, facts)
    if finding.message.id == "model_platform_mismatch" and groups.get("board_chip"):
        export = _re_export(groups["board_chip"].lower())
        # the data's commands here only show the chip: labelled as checks, after the fix
        checks_only = [Command(c.argv, shell=c.shell, note="check, not a fix: shows the board's chip") for c in check.fix.commands
                       if getattr(c, "argv", None)]
        check.fix = Fix(f"{export.text} (the board is {groups['board_chip']}; the model was exported for {groups.get('model_chip', '?')}), "
                        "with the toolkit version that matches the board runtime", export.commands + checks_only)
    return check


def _re_export(chip: str) -> Fix:
    snippet = f"rknn.config(target_platform={chip!r})"  # repr: a chip name from a log stays one string
    return Fix(f"re-export with {snippet}", [Command([snippet], shell=PYTHON)])


def nothing_recognised(name: str, lines: int, subject: str, facts_found: int = 0) -> Check:
    """`unknown` (exit 3), never an empty "all clear": a log where nothing could be judged."""
    observed = (f"{lines} line(s): {facts_found} version line(s), no error and nothing to judge them against" if facts_found
                else f"{lines} line(s), none of them a known RKNN message or version line")
    return Check(
        "log.nothing_recognised", "Known RKNN messages", UNKNOWN, component="log", subject=subject,
        observed=observed, how=f"scanned {name}",
        message="nothing in this log is a message rknn-envcheck knows, so it cannot say what went wrong from the log alone. "
                "Collect the versions of the board and the host (commands below) and run the program again with the runtime log level raised.",
        fix=Fix("collect the facts, then judge them (`rknn-envcheck check --facts facts.json`) or explain the new log with them (--facts)", COLLECT_COMMANDS),
    )


def diagnose(result: ScanResult, messages: MessageSet, facts: dict, name: str, matrix=None) -> list[Check]:
    """`matrix`: plan board installs (fixplan) so every row names the release this report needs."""
    subject = subject_for(name)
    problems = [f for f in result.ordered() if f.message.kind in ("error", "warning")]
    context = [f for f in result.ordered() if f.message.kind == "context"]
    checks = [_with_log_values(finding_check(f, messages, facts, subject, matrix), f, facts) for f in problems]
    if not problems:
        checks += [finding_check(f, messages, facts, subject, matrix) for f in context]
    checks += cross_checks(facts, result.findings, subject, matrix)
    for check in checks:
        if check.id == "log.protobuf_too_new" and matrix is not None:
            from rknn_envcheck.explain.requires_dist_fix import protobuf_from_requires_dist

            protobuf_from_requires_dist(check, facts, matrix)
    if "pip_unsupported_wheel" in result.findings:
        from rknn_envcheck.explain.wheeltags import refine_wheel_checks

        refine_wheel_checks(checks, result, facts, messages)  # the wheel's tags vs the log's Python
    return checks
