"""Injectable faults: parse `name` / `name=value` specs and answer "is this fault on?"."""
from __future__ import annotations

from typing import Dict, Iterable, Optional

from rknn_envcheck.errors import UsageError
from rknn_envcheck.records import dataclass, field

# name -> (takes a value?, one-line meaning) ; the meanings are printed by `emulator list --faults`
FAULTS: Dict[str, tuple] = {
    "unauthorized": (False, "answers CNXN with AUTH forever: the adb server shows the board as unauthorized"),
    "offline": (False, "accepts the TCP connection and never answers CNXN: the board shows as offline"),
    "hang": (False, "accepts every shell command and never answers it"),
    "drop": (False, "sends part of the output, then closes the TCP connection"),
    "slow": (True, "waits MS milliseconds before answering each command (slow=MS)"),
    "garbage": (False, "answers every command with random bytes instead of its output"),
    "truncated": (False, "cuts every command's output in half, without its trailing part"),
    "missing-binary": (None, "a binary is absent (default `strings`; missing-binary=NAME or =/abs/path): `not found`, 127"),
    "dmesg-denied": (False, "dmesg fails with `dmesg: klogctl: Operation not permitted` (dmesg_restrict)"),
}


@dataclass
class Faults:
    active: Dict[str, Optional[str]] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.active

    def value(self, name: str) -> Optional[str]:
        return self.active.get(name)

    @property
    def slow_seconds(self) -> float:
        return int(self.active["slow"]) / 1000.0 if "slow" in self.active else 0.0

    @property
    def missing_binaries(self) -> list:
        if "missing-binary" not in self.active:
            return []
        return [v for v in (self.active["missing-binary"] or "strings").split(",") if v]

    def specs(self) -> list:
        return [k if v is None else f"{k}={v}" for k, v in self.active.items()]

    def merged(self, other: "Faults") -> "Faults":
        return Faults({**self.active, **other.active})


def parse_faults(specs: Iterable[str], where: str = "--fault") -> Faults:
    """Parse fault specs; `where` names the flag or profile key for the error message."""
    active: Dict[str, Optional[str]] = {}
    for spec in specs:
        spec = str(spec).strip()
        name, eq, value = spec.partition("=")
        if name not in FAULTS:
            raise UsageError(f"{where}: unknown fault {spec!r}; known faults: {', '.join(FAULTS)}")
        takes_value = FAULTS[name][0]
        if takes_value is True and not eq:
            raise UsageError(f"{where}: fault {name!r} needs a value, e.g. {name}=500")
        if takes_value is False and eq:
            raise UsageError(f"{where}: fault {name!r} takes no value (got {spec!r})")
        if name == "slow" and (not value.isdigit()):
            raise UsageError(f"{where}: slow=MS needs a whole number of milliseconds (got {value!r})")
        active[name] = value if eq else None
    return Faults(active)
