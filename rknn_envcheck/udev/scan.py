"""Which udev rules files mention Rockchip's USB vendor id 2207, and what each line grants.

udev reads every `*.rules` file from its rules directories as ONE list sorted by file name; a
file in a higher-priority directory replaces a same-named file in a lower one (so an admin's
/etc/udev/rules.d/51-android.rules hides the package's /lib/udev/rules.d/51-android.rules), and a
file that is empty or a symlink to /dev/null masks it. Status must follow the same order, or it
would credit a grant that udev never applies.
"""
from __future__ import annotations

import os
from pathlib import Path

from rknn_envcheck.records import dataclass, field
from rknn_envcheck.udev.syntax import VENDOR_2207, Rule, parse_rules

# Highest priority first (systemd-udevd's search path; /lib only on split-/usr systems).
RULES_DIRS = (
    "etc/udev/rules.d",
    "run/udev/rules.d",
    "usr/local/lib/udev/rules.d",
    "usr/lib/udev/rules.d",
    "lib/udev/rules.d",
)
GRANT_KEYS = ("MODE", "GROUP", "TAG", "OWNER")
_PRODUCT_KEYS = (("ATTR", "idProduct"), ("ATTRS", "idProduct"), ("SYSFS", "idProduct"), ("ENV", "ID_MODEL_ID"))
_VENDOR_KEYS = (("ATTR", "idVendor"), ("ATTRS", "idVendor"), ("SYSFS", "idVendor"), ("ENV", "ID_VENDOR_ID"))


@dataclass
class RulesFile:
    path: Path
    name: str
    directory: str  # as udev sees it, e.g. "/etc/udev/rules.d"
    rules: list[Rule] = field(default_factory=list)
    masked: bool = False
    overridden_by: str | None = None
    read_error: str = ""

    @property
    def mentions_vendor(self) -> bool:
        return any(VENDOR_2207.search(rule.text) for rule in self.rules)


def _is_mask(path: Path) -> bool:
    try:
        if path.is_symlink() and os.readlink(path) == "/dev/null":
            return True
        return path.stat().st_size == 0
    except OSError:
        return False


def _read(path: Path, directory: str, planned: str | None = None) -> RulesFile:
    entry = RulesFile(path=path, name=path.name, directory="/" + directory)
    if planned is not None:  # what `udev --install` would write there (its dry run judges it)
        entry.masked = planned == ""
        entry.rules = parse_rules(planned)
        return entry
    if _is_mask(path):
        entry.masked = True
        return entry
    from rknn_envcheck.errors import UsageError
    from rknn_envcheck.safeio import read_regular_limited

    try:
        # Bounded and regular files only: a FIFO or a device named *.rules (under --root) must
        # not hang or exhaust the run; udev itself skips what is not a regular file.
        data = read_regular_limited(path, RULES_FILE_MAX_BYTES, "rules file")
        entry.rules = parse_rules(data.decode("utf-8", errors="replace"))
    except UsageError as exc:
        entry.read_error = f"not read: {exc}"
    return entry


RULES_FILE_MAX_BYTES = 1 << 20


def load_rules_files(root: str | Path = "/", planned: dict[Path, str] | None = None) -> list[RulesFile]:
    """Every rules file in udev's order, each marked with the file that overrides it (if any).
    `planned`: {path: text} read instead of what is on disk there (a file not yet written)."""
    root = Path(root)
    planned = {Path(p): text for p, text in (planned or {}).items()}
    winners: dict[str, RulesFile] = {}
    every: list[RulesFile] = []
    seen_dirs: set[Path] = set()
    for directory in RULES_DIRS:
        base = root / directory
        try:
            real = base.resolve()
        except OSError:
            continue
        # With merged /usr, /lib/udev/rules.d *is* /usr/lib/udev/rules.d: list it once.
        if real in seen_dirs or not base.is_dir():
            continue
        seen_dirs.add(real)
        for path in sorted(set(base.iterdir()) | {p for p in planned if p.parent == base}):
            if not path.name.endswith(".rules") or (path.is_dir() and path not in planned):
                continue
            entry = _read(path, directory, planned.get(path))
            if path.name in winners:
                entry.overridden_by = str(winners[path.name].path)
            else:
                winners[path.name] = entry
            every.append(entry)
    every.sort(key=lambda f: (f.name, f.overridden_by is not None))
    return every


def active_files(files: list[RulesFile]) -> list[RulesFile]:
    """What udev actually reads, in the order it reads them."""
    return [f for f in files if f.overridden_by is None and not f.masked]


def _value(rule: Rule, keys, match: bool) -> tuple[str | None, str | None]:
    for key, attr in keys:
        item = rule.first(key, attr, assign=not match)
        if item is not None:
            return item.value, item.op
    return None, None


def describe_line(rule: Rule) -> dict:
    grants = {}
    for key in GRANT_KEYS:
        item = rule.first(key, assign=True)
        grants[key] = item.value if item is not None else None
    product, _ = _value(rule, _PRODUCT_KEYS, match=True)
    vendor, vendor_op = _value(rule, _VENDOR_KEYS, match=True)
    return {
        "lineno": rule.lineno,
        "text": rule.text,
        "grants": grants,
        "product": product,
        "vendor_op": vendor_op,
        **({"error": rule.error} if rule.error else {}),
    }


def _to_dict(entry: RulesFile) -> dict:
    return {
        "path": str(entry.path),
        "name": entry.name,
        "directory": entry.directory,
        "lines": [describe_line(r) for r in entry.rules if VENDOR_2207.search(r.text)],
        "overridden_by": entry.overridden_by,
        "masked": entry.masked,
        **({"read_error": entry.read_error} if entry.read_error else {}),
    }


def scan_rules(root: str | Path = "/", planned: dict[Path, str] | None = None) -> list[dict]:
    """Rules files that mention vendor 2207 — plus any file overriding or masking one — in udev order."""
    files = load_rules_files(root, planned)
    hidden_vendor_files = {f.overridden_by for f in files if f.overridden_by and f.mentions_vendor}
    return [_to_dict(f) for f in files if f.mentions_vendor or str(f.path) in hidden_vendor_files]
