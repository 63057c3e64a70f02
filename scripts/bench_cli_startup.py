"""Start-up cost of a CLI framework vs argparse (the figures behind docs/decisions.md, "argparse").

    python scripts/bench_cli_startup.py [--python VENV/bin/python] [--runs 30]

Every variant runs in the same interpreter (one with typer installed: `python -m venv /tmp/t &&
/tmp/t/bin/pip install typer`), interleaved, and the median wall time of a full process start
is printed. Reference: `python -c pass` (the interpreter alone) and a two-option argparse app;
rknn-envcheck's own `--version` is measured when the package is importable there.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

ARGPARSE_APP = """
import argparse
p = argparse.ArgumentParser(prog='demo')
p.add_argument('--name', default='x')
p.add_argument('--count', type=int, default=1)
a = p.parse_args(['--name', 'y'])
print(a.name * a.count)
"""

TYPER_APP = """
import typer
app = typer.Typer()
@app.command()
def main(name: str = 'x', count: int = 1):
    print(name * count)
app(['--name', 'y'], standalone_mode=False)
"""

VARIANTS = {
    "python -c pass (interpreter alone)": "pass",
    "argparse app (2 options)": ARGPARSE_APP,
    "import typer": "import typer",
    "typer app (2 options)": TYPER_APP,
    "rknn-envcheck --version": "import sys; sys.argv=['rknn-envcheck','--version']\nfrom rknn_envcheck.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass",
}


def _time(python: str, code: str) -> float | None:
    started = time.perf_counter()
    proc = subprocess.run([python, "-c", code], capture_output=True)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed if proc.returncode == 0 else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True).stdout.strip()
    typer_version = subprocess.run([args.python, "-c", "import typer, importlib.metadata as m; print(m.version('typer'), 'pydantic', m.version('pydantic'), 'rich', m.version('rich'))"],
                                   capture_output=True, text=True).stdout.strip() or "not installed"
    print(f"Python {version} ({args.python}); typer {typer_version}; {args.runs} runs each, interleaved, median wall ms")
    samples: dict[str, list] = {name: [] for name in VARIANTS}
    for _ in range(args.runs):
        for name, code in VARIANTS.items():
            samples[name].append(_time(args.python, code))
    reference = statistics.median(samples["argparse app (2 options)"])
    for name, values in samples.items():
        if any(v is None for v in values):
            print(f"  {name:40s} not runnable in this interpreter")
            continue
        median = statistics.median(values)
        print(f"  {name:40s} {median:7.1f} ms   x{median / reference:.2f} of argparse")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
