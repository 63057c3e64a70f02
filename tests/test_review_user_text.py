"""What a new user pastes and reads: fix commands that work, citations of documents they can open,
one fix per fact, markdown that renders. Each test was written against a report that failed it
(the hostile-review findings); they run the real CLI in-process on shipped examples, every
emulated profile and sample logs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core_helpers import device, facts, run_cli

ROOT = Path(__file__).resolve().parent.parent
PROFILES = sorted(p.stem for p in (ROOT / "rknn_envcheck" / "profiles").glob("*.toml"))


def _report(capsys, *argv) -> dict:
    _code, out, _err = run_cli(capsys, *argv, "--format", "json")
    return json.loads(out)


def _explain(capsys, tmp_path, text: str, *extra: str) -> dict:
    log = tmp_path / "app.log"
    log.write_text(text, encoding="utf-8")
    return _report(capsys, "explain", str(log), *extra)


def _argvs(check: dict) -> list[list[str]]:
    return [c["argv"] for c in (check.get("fix") or {}).get("commands") or []]


# ------------------------------------------------------------------ markdown (CommonMark)


def test_markdown_list_items_show_pipes_as_pipes_and_table_cells_stay_cells(capsys):
    from markdown_it import MarkdownIt

    _code, out, _err = run_cli(capsys, "check", "--facts", str(ROOT / "examples" / "facts-rk3588-mismatch.json"), "--format", "markdown")
    html = MarkdownIt("commonmark").enable("table").render(out)
    codes = re.findall(r"<code>(.*?)</code>", html)
    assert any("|" in c for c in codes), "the example's `read from` commands hold a pipe"
    assert not [c for c in codes if "\\|" in c], "a backslash before | inside a code span outside a table is shown literally"
    # every table row still has its five cells: pipes from outside text never split a cell
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        assert len(re.findall(r"<t[dh]>", row)) == 5


# ------------------------------------------------------------------ citations in prose

# What a user must never read: our notes files and registry shorthand.
LEAKS = re.compile(r"toolkit1\.md|toolkit2\.md|adb-emulation\.md|\bAR@|(?<![\w-])AR |seed §|\bRNPU2 ")

SAMPLE_LOGS = {
    "device_unavailable": "I rknn-toolkit2 version: 2.3.2\nE init_runtime: RKNN_ERR_DEVICE_UNAVAILABLE\n",
    "server_too_old": "E RKNN: The rknn_server version is too old, please update rknn_server to at least 2.3.0\n",
    "format6": "I RKNN: RKNN Runtime Information: librknnrt version: 1.4.0 (a10f100eb@2022-09-09T09:07:14)\nE RKNN: Invalid RKNN model version 6\n",
    "galcore": "HAL user version 6.4.3.5.293908\nHAL kernel version 6.4.6.5.351518\nGalcore version 6.4.6.5.351518\n",
    "numpy": "ImportError: numpy.core.multiarray failed to import\nA module that was compiled using NumPy 1.x cannot be run in NumPy 2.1.3 as it may crash.\n",
}


def _prose(report: dict) -> list[str]:
    out = []
    for check in report["checks"]:
        out += [str(check.get("message") or ""), str(check.get("expected") or ""), str((check.get("fix") or {}).get("text") or "")]
        out += [c.get("text", "") if isinstance(c, dict) else "" for c in check.get("citations") or []]
        out += [f"{c['key']} (unknown)" for c in check.get("citations") or [] if not c.get("known")]
    return out


def _reports(capsys, tmp_path):
    yield "example", _report(capsys, "check", "--facts", str(ROOT / "examples" / "facts-rk3588-mismatch.json"))
    for profile in PROFILES:
        yield profile, _report(capsys, "device", "--emulate", profile, "--toolkit", "rknn-toolkit2==2.3.2")
    for fault in ("offline", "unauthorized"):
        yield fault, _report(capsys, "device", "--emulate", "rk1808-1.7.5", "--fault", fault)
    yield "host v1", _report(capsys, "host", "--toolkit", "rknn-toolkit==1.7.5")
    yield "unpublished board release", _report(capsys, "device", "--emulate", "rk3566-1.5.2", "--toolkit", "rknn-toolkit2==2.5.0")
    for name, text in SAMPLE_LOGS.items():
        yield name, _explain(capsys, tmp_path, text)
    # every example line of every known message, in one log: each message's meaning and fix rendered
    from rknn_envcheck.explain.messages import load_messages

    examples = [line for message in load_messages(None).messages for line in message.examples]
    yield "all message examples", _explain(capsys, tmp_path, "\n".join(examples) + "\n")


def test_user_text_cites_documents_never_registry_keys_or_notes(capsys, tmp_path):
    leaks = []
    for name, report in _reports(capsys, tmp_path):
        for text in _prose(report):
            for match in LEAKS.finditer(text):
                leaks.append(f"{name}: {match.group(0)!r} in {text[max(0, match.start() - 60):match.end() + 40]!r}")
    assert not leaks, "\n".join(leaks[:20])


def test_every_citation_of_a_fault_report_is_a_known_document(capsys):
    for fault in ("offline", "unauthorized"):
        report = _report(capsys, "device", "--emulate", "rk1808-1.7.5", "--fault", fault)
        assert all(c["known"] for check in report["checks"] for c in check["citations"])


# ------------------------------------------------------------------ rknn_server restart


def _plan_argvs(profile: str, toolkit: str = "rknn-toolkit2==2.3.2") -> list[list[str]]:
    from rknn_envcheck.fixplan import plan_board
    from rknn_envcheck.matrix import load_matrix

    board = device(chip="RK3588", rknn_server="1.5.2", librknn_runtime="1.5.2", serial="S1")
    plan = plan_board(board, ("rknn-toolkit2", toolkit.split("==")[1]), load_matrix())
    return [list(c.argv) for c in plan.install_fix().commands]


def test_rknn_server_restart_is_the_documented_kill_then_background_start():
    argvs = _plan_argvs("rk3588-no-driver")
    assert not [a for a in argvs if any("restart_rknn" in x for x in a)], "boards without the script answer 'not found'"
    shells = [a[-1] for a in argvs if a[:4] == ["adb", "-s", "S1", "shell"]]
    assert shells[-2:] == ["killall rknn_server", "nohup /usr/bin/rknn_server >/dev/null 2>&1 &"]
    pushes = [i for i, a in enumerate(argvs) if "push" in a]
    assert pushes and max(pushes) < len(argvs) - 2, "the restart comes after the new files are on the board"


# ------------------------------------------------------------------ fixes that work and agree


def test_unauthorized_board_gets_steps_that_do_not_need_the_refused_link(capsys):
    report = _report(capsys, "device", "--emulate", "rk3588-2.3.2", "--fault", "unauthorized")
    check = next(c for c in report["checks"] if c["id"] == "device.state")
    argvs = _argvs(check)
    assert not [a for a in argvs if "push" in a or "shell" in a], "nothing can be pushed over an unauthorized serial"
    assert ["adb", "-s", "SERIAL", "reconnect", "offline"] in argvs
    assert "prompt" in check["fix"]["text"] and "serial console or ssh" in check["fix"]["text"]


def test_emulated_boards_have_one_serial_in_faults_and_checks(capsys):
    serials = set()
    for argv in ([("device", "--emulate", "rk3566-1.5.2", "--toolkit", "rknn-toolkit2==2.3.2")]
                 + [("device", "--emulate", "rk1808-1.7.5", "--fault", f) for f in ("offline", "unauthorized")]):
        for check in _report(capsys, *argv)["checks"]:
            for a in _argvs(check):
                if a[:2] == ["adb", "-s"]:
                    serials.add(a[2])
    assert serials == {"SERIAL"}


def test_numpy_fixes_of_one_log_are_one_command_form(capsys, tmp_path):
    report = _explain(capsys, tmp_path, SAMPLE_LOGS["numpy"])
    installs = {tuple(a) for c in report["checks"] for a in _argvs(c) if "install" in a}
    assert len([c for c in report["checks"] if c["status"] == "fail"]) == 2
    assert installs == {("python3", "-m", "pip", "install", "numpy<=1.26.4")}


def test_server_too_old_log_gets_the_planners_clone_checkout_push_restart(capsys, tmp_path):
    report = _explain(capsys, tmp_path, SAMPLE_LOGS["server_too_old"])
    argvs = _argvs(next(c for c in report["checks"] if c["id"] == "log.rknn_server_too_old"))
    assert argvs[0][:2] == ["git", "clone"] and "v2.3.0" in argvs[0], argvs
    pushes = [a for a in argvs if "push" in a]
    assert pushes and all(a[-2].startswith("rknn-toolkit2/") for a in pushes), "paths inside the clone, not relative guesses"
    assert not [a for a in argvs if any("&&" in x or "restart_rknn" in x for x in a)]
    assert argvs[-2][-1] == "killall rknn_server" and argvs[-1][-1].startswith("nohup ")


# ------------------------------------------------------------------ one verdict per component


def test_galcore_mismatch_has_commands_and_no_ok_driver_row_beside_it(capsys, tmp_path):
    report = _explain(capsys, tmp_path, SAMPLE_LOGS["galcore"])
    mismatch = next(c for c in report["checks"] if c["id"] == "log.galcore_user_vs_kernel")
    assert mismatch["status"] == "fail" and _argvs(mismatch)
    driver = next(c for c in report["checks"] if c["id"] == "device.driver")
    assert driver["status"] != "ok"


def test_runtime_row_is_not_ok_when_the_log_shows_it_cannot_load_the_model(capsys, tmp_path):
    report = _explain(capsys, tmp_path, SAMPLE_LOGS["format6"])
    assert any(c["status"] == "fail" and "model" in c["id"] for c in report["checks"])
    runtime = next(c for c in report["checks"] if c["id"] == "device.runtime")
    assert runtime["status"] == "fail" and "but see" in runtime["message"]


# ------------------------------------------------------------------ causes and titles


def test_device_unavailable_on_toolkit2_lists_no_toolkit1_or_other_os_causes(capsys, tmp_path):
    report = _explain(capsys, tmp_path, SAMPLE_LOGS["device_unavailable"], "--facts", _host_facts(tmp_path))
    check = next(c for c in report["checks"] if c["id"] == "log.err_device_unavailable")
    for word in ("RK3399Pro", "Mini Driver", "NTB", "list_devices", "Windows", "macOS"):
        assert word not in check["message"], word
    assert not [a for a in _argvs(check) if a[0] == "tasklist" or "rknn.bin.list_devices" in a]
    assert check["title"] != "err device unavailable" and not re.fullmatch(r"[a-z0-9 ]+", check["title"])


def _host_facts(tmp_path) -> str:
    path = tmp_path / "host.json"
    path.write_text(json.dumps(facts({"rknn-toolkit2": "2.3.2"})), encoding="utf-8")
    return str(path)


def test_a_windows_host_keeps_the_windows_cause(capsys, tmp_path):
    path = tmp_path / "win.json"
    path.write_text(json.dumps(facts({"rknn-toolkit2": "2.3.2"}, os="windows")), encoding="utf-8")
    report = _explain(capsys, tmp_path, SAMPLE_LOGS["device_unavailable"], "--facts", str(path))
    check = next(c for c in report["checks"] if c["id"] == "log.err_device_unavailable")
    assert "Windows" in check["message"]


# ------------------------------------------------------------------ new messages


@pytest.mark.parametrize("line, check_id", [
    ("rknn-toolkit2 2.3.2 requires numpy<=1.26.4, but you have numpy 2.1.3 which is incompatible.", "log.pip_toolkit_requires_incompatible"),
    ("adb: insufficient permissions for device: user in plugdev group; are your udev rules wrong?", "log.adb_insufficient_permissions_plugdev"),
])
def test_pip_conflict_and_adb_plugdev_lines_are_recognised(capsys, tmp_path, line, check_id):
    report = _explain(capsys, tmp_path, line + "\n")
    assert check_id in {c["id"] for c in report["checks"]}


def test_pip_conflict_fix_installs_the_toolkits_range_as_one_argument(capsys, tmp_path):
    report = _explain(capsys, tmp_path, "rknn-toolkit2 2.3.2 requires numpy<=1.26.4, but you have numpy 2.1.3 which is incompatible.\n")
    check = next(c for c in report["checks"] if c["id"] == "log.pip_toolkit_requires_incompatible")
    assert ["python3", "-m", "pip", "install", "numpy<=1.26.4"] in _argvs(check)


# ------------------------------------------------------------------ one environment, a real wheel name


def test_v1_host_report_names_the_wheel_and_installs_everything_into_one_environment(capsys, tmp_path):
    path = tmp_path / "host.json"
    path.write_text(json.dumps(facts({"psutil": "7.2.2", "requests": "2.34.2"}, python_version="3.11.7")), encoding="utf-8")
    report = _report(capsys, "check", "--facts", str(path), "--toolkit", "rknn-toolkit==1.7.5")
    wheel = next(c for c in report["checks"] if c["id"] == "host.wheel")
    venv = [a for a in _argvs(wheel) if a[1:3] == ["-m", "venv"]][0][3]
    wheel_install = [a for a in _argvs(wheel) if "install" in a][0]
    assert wheel_install[-1] == "./rknn_toolkit-1.7.5-cp38-cp38-linux_x86_64.whl", "no cpXY/PLATFORM placeholders"
    installs = [a for c in report["checks"] for a in _argvs(c) if "install" in a and a[0] != "rknn-envcheck"]
    assert len(installs) > 2 and {a[0] for a in installs} == {f"{venv}/bin/python"}, sorted({a[0] for a in installs})


def test_a_source_joined_from_rows_shows_each_document_once(capsys):
    report = _report(capsys, "host", "--toolkit", "rknn-toolkit==1.7.5")
    wheel = next(c for c in report["checks"] if c["id"] == "host.wheel")
    cited = [(c["key"], c["section"]) for c in wheel["citations"]]
    assert len(cited) == len(set(cited)), cited


def test_inline_citations_render_documents_and_leave_prose_alone():
    from rknn_envcheck.citations import default_registry, render_inline

    registry = default_registry()
    assert render_inline("NPU driver (NPU driver)", registry) == "NPU driver (NPU driver)"
    assert render_inline("see (Table 8-1)", registry) == "see (Table 8-1)"
    rendered = render_inline("versions differ (seed §1.7.2 item 1; Table 8-1)", registry)
    assert "seed" not in rendered and "§1.7.2 item 1" in rendered and rendered.endswith("; Table 8-1)")
    assert registry.documents["seed"]["title"] in rendered
