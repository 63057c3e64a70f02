"""The one fix planner: which board release a report installs, where it comes from, and the
commands that install it over the board's transport.

Before this module `device`, `model` and `explain` each built their own install commands and
disagreed (opposite default driver folders, a tagged clone against HEAD, `--local` honoured by one
of them, two versions in one report). Now a board gets one `BoardPlan` per report: the release is
chosen once from everything the report knows (the PC's toolkit, the board's own versions, what a
model or a log needs), and every row that proposes an install shows that plan's commands.

Pure: facts + matrix in, a plan out; no I/O. Commands are `shellcmd.Command` argument lists
(adb with the board's serial; `sudo` on the board itself; the user's PC shell for git and pip).
"""
from __future__ import annotations

from functools import lru_cache

from rknn_envcheck.records import dataclass, field
from rknn_envcheck.report import Fix
from rknn_envcheck.rules.toolkit import LINE_OF
from rknn_envcheck.shellcmd import Command, adb_prefix, adb_shell, adb_shell_script, board_cmd, cmd, sh_format
from rknn_envcheck.versions import public, try_parse

V1, V2 = "rknn-toolkit", "rknn-toolkit2"
BOARD_ARCHES = ("aarch64", "arm64", "armv7l", "armv8l", "armhf", "arm")

# Where each board release is published (the release -> revision maps are vendor facts):
# toolkit v1 boards: rockchip-linux/rknpu, one commit per release (toolkit1.md §3.2 table);
# before 2020-01 (<= 1.3.1) drivers/ was flat, from 1.3.2 on drivers/<folder>/usr + drivers/npu_ko.
RKNPU = "rockchip-linux/rknpu"
V1_RELEASES = {"1.0.0": "9813ff9", "1.1.0": "3043beb", "1.2.0": "be3a0a8", "1.3.0": "0c3a71d", "1.3.1": "fae5532",
               "1.3.2": "5de6358", "1.3.3": "81fa614", "1.3.4": "4b57141", "1.4.0": "8ac4e76", "1.5.0": "9d8eaa7",
               "1.5.1": "7deb7a8", "1.5.2": "ae933da", "1.6.0": "b010399", "1.6.1": "1ff128d", "1.7.0": "f4624cb",
               "1.7.1": "7196bf3", "1.7.3": "7980646", "1.7.5": "e0cb42b"}
V1_FLAT_LAYOUT_UNTIL = "1.3.1"
V1_PUMA_ONLY = {"1.5.2"}  # rknpu ae933da updated RV1109/RV1126 only (toolkit1.md §3.2)
# RK3399Pro's NPU firmware is not in rknpu (toolkit1.md §3.2: [PRO@584bd2a] 1.7.3, [PRO@8858114] 1.7.5).
RK3399PRO_NPU = "airockchip/RK3399Pro_npu"
RK3399PRO_RELEASES = {"1.7.3": "584bd2a", "1.7.5": "8858114"}
# toolkit2 boards: rockchip-linux/rknpu2 up to 1.5.2 (per-chip folders; commits of its git log,
# tag v1.5.2), airockchip/rknn-toolkit2 from 1.6.0 (tags v1.6.0 … v2.3.2) — toolkit2.md §1.3.
RKNPU2 = "rockchip-linux/rknpu2"
V2_OLD_RELEASES = {"0.6.0": "4044595", "0.7.0": "4c56a47", "1.0.0": "1346f96", "1.2.0": "c28b080", "1.3.0": "2fafa62",
                   "1.4.0": "e61eb7f", "1.5.0": "4e2101a", "1.5.2": "v1.5.2"}
TOOLKIT2 = "airockchip/rknn-toolkit2"
V2_TAGS = {"1.6.0": "v1.6.0", "2.0.0b0": "v2.0.0-beta0", "2.1.0": "v2.1.0", "2.2.0": "v2.2.0", "2.3.0": "v2.3.0", "2.3.2": "v2.3.2"}
# The folders per chip (rknpu's drivers/<folder> + npu_ko/<module>, rknpu2's runtime/<folder> before
# 1.6.0) are chip facts: the matrix [[chip]] fields rknpu_driver_folder, rknpu_kernel_module and
# rknpu2_runtime_folder (docs/matrices.md), each cited in the row's source.
# Cited by registry key (matrices/documents.toml): reports show title, version and URL.
SRC_V1 = "NPU README: push drivers/<folder> and drivers/npu_ko/<module>, check the md5, reboot"
SRC_V2 = "rknn_server_proxy.md §4: push rknn_server and the runtime library, chmod +x, killall rknn_server, start it with nohup"


@dataclass(frozen=True)
class Need:
    """A minimum board release something in the report needs, and why. A soft need (a vendor
    recommendation) raises the release only when the PC's toolkit does not pin it."""

    version: str
    why: str
    hard: bool = True


# ------------------------------------------------------------------ transports


def _local(device: dict) -> bool:
    return device.get("transport") == "local"


def board_serial(device: dict) -> str | None:
    """The serial adb commands name: none when unknown (a board described only by a log); an
    in-process emulated board has no adb serial, so the placeholder stands for the real one."""
    serial = device.get("serial")
    if not serial or serial == "log":
        return None
    if device.get("transport") == "emulated":
        return "SERIAL"
    return str(serial)


def adb(device: dict, *argv: str, note: str = "") -> Command:
    return cmd(*adb_prefix(board_serial(device)), *argv, note=note)


def on_board(device: dict, *argv: str, root: bool = False, note: str = "") -> Command:
    """A command run on the board: through `adb shell` (adbd runs it as root on these images), or
    as it is — with sudo when it needs root — when the tool runs on the board itself."""
    if _local(device):
        return board_cmd(*(("sudo",) if root else ()), *argv, note=note)
    return adb_shell(board_serial(device), list(argv), note=note)


def on_board_script(device: dict, script: str, root: bool = False, note: str = "") -> Command:
    """A board-side snippet of ours (pipes, `||`, `&`); outside values go in through sh_format."""
    if _local(device):
        return board_cmd(*(("sudo",) if root else ()), "sh", "-c", script, note=note)
    return adb_shell_script(board_serial(device), script, note=note)


def push(device: dict, source: str, target: str, tree: bool = False) -> Command:
    """Copy from the checkout onto the board (`cp` when the tool runs on the board)."""
    if _local(device):
        return board_cmd("sudo", "cp", *(("-r",) if tree else ()), source, target)
    return adb(device, "push", source, target)


def reboot(device: dict) -> Command:
    return board_cmd("sudo", "reboot") if _local(device) else adb(device, "reboot")


def restart_server(device: dict, server_path: str) -> list[Command]:
    """rknn_server_proxy.md §4.1-4.3: `killall rknn_server`, `nohup PATH >/dev/null &` (no restart_rknn.sh: some images lack it)."""
    return [on_board(device, "killall", "rknn_server", root=True, note="an error if none runs is fine"), on_board_script(device, sh_format("nohup {} >/dev/null 2>&1 &", server_path), root=True)]


def checkout(repo: str, revision: str | None) -> list[Command]:
    """Clone the vendor repository at the release: a tag shallowly, a bare commit in full."""
    url = f"https://github.com/{repo}"
    name = repo.split("/")[1]
    if revision is None:
        return [cmd("git", "clone", "--depth", "1", url)]
    if revision.startswith("v"):
        return [cmd("git", "clone", "--depth", "1", "--branch", revision, url)]
    return [cmd("git", "clone", url), cmd("git", "-C", name, "checkout", revision)]


# ------------------------------------------------------------------ the plan


def _newest(versions) -> str | None:
    parsed = [v for v in versions if v and try_parse(v) is not None]
    return max(parsed, key=public) if parsed else None


@lru_cache(maxsize=16)
def _releases(line: str, chip_name: str, puma: bool = False) -> tuple[str, ...]:
    """The published board releases of a line for a chip, oldest first (parsed once per run).
    `puma`: the chip's matrix row says npu = "PUMA" (RV1109/RV1126), which has PUMA-only releases."""
    if line == V1:
        table = RK3399PRO_RELEASES if chip_name == "RK3399PRO" else {
            r: c for r, c in V1_RELEASES.items() if r not in V1_PUMA_ONLY or puma}
    else:
        table = {**V2_OLD_RELEASES, **V2_TAGS}
    return tuple(sorted(table, key=public))


def _published(line: str | None, chip_name: str, wanted: str | None, puma: bool = False) -> tuple[str | None, str]:
    """The published board release to install for `wanted`: itself, else the next one, else the newest."""
    if wanted is None or line not in (V1, V2):
        return wanted, ""
    releases = _releases(line, chip_name if line == V1 else "", puma and line == V1)
    want = public(wanted)
    later = [r for r in releases if public(r) >= want]
    if later:
        chosen = later[0]
        if public(chosen) == want or public(chosen).release == want.release:
            return chosen, ""
        repo = RK3399PRO_NPU if chip_name == "RK3399PRO" else (RKNPU if line == V1 else f"{RKNPU2} / {TOOLKIT2}")
        return chosen, f"{repo} has no {wanted} board release this tool knows of; {chosen} is the next one"
    source = "airockchip/rknn-toolkit2's tags end at v2.3.2; PyPI's 2.5.0 has no board runtime" if line == V2 else "rockchip-linux/rknpu's history"
    return releases[-1], f"no public {wanted} board release exists ({source}), so the newest published, {releases[-1]}, is used"


@dataclass
class BoardPlan:
    """What one report installs on one board, and why."""

    device: dict
    chip: dict | None
    line: str | None
    wanted: str | None
    release: str | None
    why: list[str] = field(default_factory=list)
    note: str = ""
    pinned_by: str | None = None  # "rknn-toolkit2 2.3.2" when the PC's toolkit fixes the release
    _fixes: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def reason(self) -> str:
        return "; ".join(self.why + ([self.note] if self.note else []))

    def as_dict(self) -> dict:
        """The plan as data (tests compare plans across commands; JSON could carry it)."""
        fix = self.install_fix()
        return {"serial": self.device.get("serial"), "line": self.line, "release": self.release, "why": list(self.why),
                "note": self.note, "commands": [list(c.argv) for c in fix.commands if hasattr(c, "argv")]}

    # -------------------------------------------------------------- fixes

    def install_fix(self, full_driver: bool = False) -> Fix:
        """Install the planned release: rknn_server + runtime (toolkit2), or the driver set
        (toolkit v1). `full_driver`: the full driver even on a board that has the mini one.
        Each row gets its own Fix (rows may be edited later), built once per plan."""
        made = self._fixes.get(full_driver)
        if made is None:
            made = self._fixes[full_driver] = self._install_fix(full_driver)
        return Fix(made.text, list(made.commands))

    def _install_fix(self, full_driver: bool) -> Fix:
        device, chip = self.device, self.chip or {}
        arch = (device.get("arch") or "aarch64").lower()
        if _local(device) and not arch.startswith(BOARD_ARCHES):
            return Fix(f"this machine ({arch}) is not a Rockchip NPU board: run `rknn-envcheck device --local` on the board itself, "
                       "or `rknn-envcheck device --id SERIAL` from the PC")
        why = f" — {self.reason}" if self.reason else ""
        if self.line == V1:
            return self._v1_fix(chip, full_driver, why)
        if self.line == V2:
            return self._v2_fix(chip, arch, why)
        name = device.get("chip") or "the board"
        return Fix(f"update the NPU runtime on {name} to the release matching your toolkit{why}; the chip is not in the matrix, so no exact path is known")

    def _v1_fix(self, chip: dict, full_driver: bool, why: str) -> Fix:
        device, release = self.device, self.release
        name = chip.get("name") or device.get("chip") or "the board"
        if name == "RK3399PRO":
            return Fix(f"update the RK3399Pro NPU firmware to {release or 'your toolkit version'} from {RK3399PRO_NPU} "
                       f"(flash its NPU boot.img as the PRO README describes){why}",
                       checkout(RK3399PRO_NPU, RK3399PRO_RELEASES.get(release or "")))
        folder, module = chip.get("rknpu_driver_folder"), chip.get("rknpu_kernel_module")
        if not folder or not module:
            return Fix(f"update the NPU driver and runtime on {name} to {release or 'your toolkit version'} from {RKNPU} ({SRC_V1}){why}; the chip is "
                       "not known here: push drivers/<its folder>/usr and drivers/npu_ko/<its module> (folders in the README), then reboot",
                       checkout(RKNPU, V1_RELEASES.get(release or "")) + [on_board(device, "cat", "/proc/device-tree/compatible", note="the board's chip")])
        if device.get("mini_driver") and not full_driver:
            folder += "-mini"
        commands = checkout(RKNPU, V1_RELEASES.get(release or ""))
        if release and public(release) <= public(V1_FLAT_LAYOUT_UNTIL):
            return Fix(f"install rknpu {release} on {name} as that commit's README describes (its drivers/ folder is flat, before the per-chip folders){why}",
                       commands)
        commands += [push(device, f"rknpu/drivers/{folder}/usr", "/", tree=True),
                     push(device, f"rknpu/drivers/npu_ko/{module}", "/lib/modules/galcore.ko"),
                     on_board(device, "sync", root=True), reboot(device)]
        return Fix(f"install the {release or 'matching'} NPU driver and runtime from rknpu's drivers/{folder}, then reboot ({SRC_V1}){why}", commands)

    def _v2_fix(self, chip: dict, arch: str, why: str) -> Fix:
        device, release = self.device, self.release
        os_name = device.get("os") or "linux"
        library = device.get("runtime_library") or chip.get("runtime_library") or "librknnrt.so"
        runtime_paths = (chip.get("runtime_paths") or {}).get(os_name) or ["/usr/lib/" + library]
        server_paths = (chip.get("server_paths") or {}).get(os_name) or (["/vendor/bin/rknn_server"] if os_name == "android" else ["/usr/bin/rknn_server"])
        narrow = arch.startswith("arm") and "64" not in arch and arch != "arm64"
        runtime_dest = runtime_paths[0]
        if os_name == "android":
            runtime_dest = next((p for p in runtime_paths if ("/lib64/" in p) != narrow), runtime_paths[0])
        if not runtime_dest.endswith(library):
            runtime_dest = runtime_dest.rstrip("/") + "/" + library
        server_dest = server_paths[0]
        abi = "armeabi-v7a" if narrow else "arm64-v8a"
        old = release is not None and try_parse(release) is not None and public(release) < public("1.6.0")
        if old and not chip.get("name"):
            return Fix(f"install rknn_server and {library} {release} together from {RKNPU2} (runtime/<your chip's folder>/; "
                       f"the board's chip is not known), then restart rknn_server ({SRC_V2}){why}", checkout(RKNPU2, V2_OLD_RELEASES.get(release)))
        if old:
            # Before 1.6.0 the runtime lived in rockchip-linux/rknpu2, one folder per chip.
            chip_name = chip["name"]
            base = f"rknpu2/runtime/{chip.get('rknpu2_runtime_folder') or chip_name}/{'Android' if os_name == 'android' else 'Linux'}"
            commands = checkout(RKNPU2, V2_OLD_RELEASES.get(release))
            if os_name == "android":
                src_lib, src_srv = f"{base}/librknn_api/{abi}/{library}", f"{base}/rknn_server/{'arm' if narrow else 'arm64'}/rknn_server"
            else:
                sub = "armhf" if narrow or library == "librknnmrt.so" else "aarch64"
                srv_sub = "arm" if library == "librknnmrt.so" else sub
                src_lib, src_srv = f"{base}/librknn_api/{sub}/{library}", f"{base}/rknn_server/{srv_sub}/usr/bin/rknn_server"
        else:
            commands = checkout(TOOLKIT2, V2_TAGS.get(release or ""))
            base = "rknn-toolkit2/rknpu2/runtime"
            if os_name == "android":
                src_lib, src_srv = f"{base}/Android/librknn_api/{abi}/{library}", f"{base}/Android/rknn_server/{'arm' if narrow else 'arm64'}/rknn_server"
            else:
                sub = "armhf-uclibc" if library == "librknnmrt.so" else ("armhf" if narrow else "aarch64")
                src_lib, src_srv = f"{base}/Linux/librknn_api/{sub}/{library}", f"{base}/Linux/rknn_server/{sub}/usr/bin/rknn_server"
        if os_name == "android" and not _local(device):
            commands += [adb(device, "root"), adb(device, "remount")]  # /vendor is read-only until remounted
        commands += [push(device, src_lib, runtime_dest), push(device, src_srv, server_dest),
                     on_board(device, "chmod", "+x", server_dest, root=True), *restart_server(device, server_dest)]
        return Fix(f"install rknn_server and {library} {release or '(the release matching your toolkit)'} together, then restart "
                   f"rknn_server ({SRC_V2}){why}", commands)

    def toolkit_first_fix(self, minimum: str, why: str) -> Fix:
        """The board should get `minimum` but the PC's toolkit pins an older release: the toolkit
        moves first, then the board gets the release of the new toolkit."""
        package = V2 if self.line == V2 else V1
        return Fix(f"{why}; the toolkit on the PC ({self.pinned_by}) pins the board release {self.release}: update {package} to "
                   f"{minimum} or newer first, then install the board release of that toolkit",
                   [cmd("python3", "-m", "pip", "install", f"{package}>={minimum}")])


def board_line(device: dict, chip: dict | None, host_toolkit, log: dict | None = None, line_hint: str | None = None) -> str | None:
    """The toolkit line of a board: its chip's, else the PC toolkit's, else what its runtime
    library or driver (or the log it came from) shows."""
    if chip and chip.get("line"):
        return chip["line"]
    if host_toolkit and LINE_OF.get(host_toolkit[0]):
        return LINE_OF[host_toolkit[0]]
    log = log or {}
    library = str(device.get("runtime_library") or log.get("runtime_lib") or "")
    if library.startswith("librknn_runtime"):
        return V1
    if library.startswith(("librknnrt", "librknnmrt")):
        return V2
    kind = device.get("npu_driver_kind")
    if kind in ("galcore", "rknpu"):
        return V1 if kind == "galcore" else V2
    if log.get("hal_user") or log.get("hal_kernel"):
        return V1
    return line_hint


def plan_board(device: dict, host_toolkit, matrix, needs=(), line_hint: str | None = None, log: dict | None = None) -> BoardPlan:
    """The one release to install on `device` for a report whose rows need `needs`.

    The base is the PC toolkit's release when it drives this board's line (vendor rule: same
    version), else the newer of the board's own rknn_server and runtime; a need above the base
    raises it (a soft one only when no toolkit pins it); the result is mapped to a published release."""
    chip = matrix.chip(device.get("chip")) if matrix is not None else None
    line = board_line(device, chip, host_toolkit, log, line_hint)
    why: list[str] = []
    pinned_by = None
    wanted = None
    if host_toolkit and LINE_OF.get(host_toolkit[0]) == line and try_parse(host_toolkit[1]) is not None:
        wanted = public(host_toolkit[1]).base_version
        pinned_by = f"{host_toolkit[0]} {host_toolkit[1]}"
        why.append(f"the same release as {pinned_by} on the PC")
    else:
        wanted = _newest([device.get("rknn_server"), device.get("librknn_runtime")])
        if wanted:
            wanted = public(wanted).base_version
            why.append(f"the newer of the board's own rknn_server/runtime ({wanted})")
    for need in sorted({n for n in needs if n.version and try_parse(n.version) is not None}, key=lambda n: public(n.version)):
        if not need.hard and pinned_by:
            continue
        if wanted is None or public(need.version) > public(wanted):
            wanted = need.version
            why.append(need.why)
    chip_name = (chip or {}).get("name") or str(device.get("chip") or "").upper()
    release, note = _published(line, chip_name, wanted, (chip or {}).get("npu") == "PUMA")
    return BoardPlan(device=device, chip=chip, line=line, wanted=wanted, release=release, why=why, note=note, pinned_by=pinned_by)


# ------------------------------------------------------------------ what a report needs


def short_source(row: dict) -> str:
    """A matrix row's source without its parenthesised detail (`QS-1.6.0 §3.4.2`)."""
    return str(row.get("source") or "matrix").split(" (")[0]


def log_needs(log: dict | None, line: str | None, matrix) -> list[Need]:
    """What a log shows the board must have: the model's file format and the toolkit that built it."""
    log = log or {}
    needs: list[Need] = []
    version = log.get("model_version")
    if version is not None and line and matrix is not None:
        for row in matrix.model_formats(line):
            if str(row.get("format")) == str(version) and row.get("min_runtime"):
                needs.append(Need(row["min_runtime"], f"model format {version} needs runtime >= {row['min_runtime']} ({short_source(row)})"))
    toolkit = str(log.get("model_toolkit_version") or "").split("-")[0].split("+")[0]
    if toolkit and try_parse(toolkit) is not None:
        needs.append(Need(public(toolkit).base_version, f"the model was built by toolkit {toolkit}; the runtime should not be older (QS-1.6.0 §3.4.2)"))
    server_min = log.get("rknn_server_min")
    if server_min and try_parse(str(server_min)) is not None:
        needs.append(Need(str(server_min), f"the toolkit asked for rknn_server >= {server_min} (log)"))
    return needs


def chip_needs(chip: dict | None) -> list[Need]:
    minimum = (chip or {}).get("min_rknn_server")
    if not minimum:
        return []
    return [Need(minimum, f"the vendor recommends rknn_server >= {minimum} on {chip['name']} (rknn_server_proxy.md §2.2)", hard=False)]


def board_toolkit(device: dict, target, explicit: bool):
    """The toolkit a board is judged for: the PC's (`target`), except a board judged on itself
    (lite users), which is compared with its own lite package unless --toolkit was given."""
    if device.get("transport") == "local" and not explicit:
        lite = [(p, v) for p, v in ((device.get("python") or {}).get("packages") or {}).items() if str(p).startswith("rknn-toolkit")]
        return lite[0] if lite else target
    return target


def plan_for(facts: dict | None, device: dict, host_toolkit, matrix, line_hint: str | None = None) -> BoardPlan:
    """The plan of `device` for the whole report `facts` describes: logs, models, chip advice."""
    from rknn_envcheck.rules.model_needs import model_needs

    facts = facts or {}
    chip = matrix.chip(device.get("chip")) if matrix is not None else None
    line = board_line(device, chip, host_toolkit, facts.get("log"), line_hint)
    needs = chip_needs(chip) + log_needs(facts.get("log"), line, matrix)
    for model in facts.get("models") or []:
        needs += model_needs(model, device, line, matrix)
    lite = ((device.get("python") or {}).get("packages") or {})
    for package, version in lite.items():
        if LINE_OF.get(package) == line and package.endswith(("-lite", "-lite2")) and version and try_parse(version) is not None:
            needs.append(Need(public(version).base_version, f"{package} {version} on the board wants a runtime not older than itself (QS-1.6.0 §3.4.2)", hard=False))
    return plan_board(device, host_toolkit, matrix, needs, line_hint, facts.get("log"))


