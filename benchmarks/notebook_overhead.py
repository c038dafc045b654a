"""Measure what the notebook face costs: ``%load_ext`` time and per-cell hook overhead.

Run: ``.venv/bin/python benchmarks/notebook_overhead.py`` — it rewrites
``benchmarks/notebook_overhead.md`` with the numbers of this machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

LOAD = """
import time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t0 = time.perf_counter()
ip.run_line_magic('load_ext', 'sentry_ipy')
print(time.perf_counter() - t0)
"""


def load_ext_seconds(runs: int = 7) -> list[float]:
    """Fresh interpreter each run, so module import is included."""
    out = []
    for _ in range(runs):
        res = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True, check=True)
        out.append(float(res.stdout.strip().splitlines()[-1]))
    return out


def per_cell_seconds(cells: int = 2000) -> tuple[float, float]:
    """Mean time of a trivial cell without and with the extension loaded."""
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()

    def run() -> float:
        t0 = time.perf_counter()
        for _ in range(cells):
            ip.run_cell("x = 1", store_history=False, silent=True)
        return (time.perf_counter() - t0) / cells

    base = min(run() for _ in range(3))
    ip.run_line_magic("load_ext", "sentry_ipy")
    loaded = min(run() for _ in range(3))
    return base, loaded


def main() -> None:
    loads = load_ext_seconds()
    base, loaded = per_cell_seconds()
    report = Path(__file__).with_suffix(".md")
    report.write_text(
        "# Notebook overhead\n\n"
        f"Measured with `{Path(__file__).name}` on {time.strftime('%Y-%m-%d')} (Python {sys.version.split()[0]}).\n\n"
        "| what | value |\n|---|---|\n"
        f"| `%load_ext sentry_ipy` in a fresh kernel, median of {len(loads)} | {statistics.median(loads) * 1000:.1f} ms |\n"
        f"| trivial cell, extension not loaded (best of 3 × 2000) | {base * 1e6:.1f} µs |\n"
        f"| trivial cell, extension loaded | {loaded * 1e6:.1f} µs |\n"
        f"| hook overhead per successful cell | {(loaded - base) * 1e6:.1f} µs |\n"
    )
    print(report.read_text())


if __name__ == "__main__":
    main()
