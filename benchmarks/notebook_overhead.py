"""Measure what the notebook face costs: ``%load_ext`` time and per-cell hook overhead.

Run: ``.venv/bin/python benchmarks/notebook_overhead.py`` — it rewrites
``benchmarks/notebook_overhead.md`` with the numbers of this machine.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LOAD = """
import sys, time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t0 = time.perf_counter()
ip.run_line_magic('load_ext', sys.argv[1])
print(time.perf_counter() - t0)
"""


def load_ext_seconds(extension: str = "sentry_ipy", runs: int = 7, compiled: bool = True) -> list[float]:
    """``%load_ext`` in a fresh interpreter each run, so module import is included.

    ``compiled``: with bytecode cached, as after ``pip install`` (which compiles it); the
    cache goes to a temporary ``PYTHONPYCACHEPREFIX``, filled by one untimed run. Without
    it, every module is compiled from source, as with ``PYTHONDONTWRITEBYTECODE=1`` (set
    on some machines, CI's among them), where compiling is most of the time.
    """
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # The floor: an extension whose load does nothing (``%load_ext`` itself, finding and importing a module).
        Path(cache, "noop_ext.py").write_text("def load_ipython_extension(ip):\n    pass\n")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [cache, env.get("PYTHONPATH")]))
        if compiled:
            env["PYTHONPYCACHEPREFIX"] = cache
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"

        def once() -> float:
            res = subprocess.run([sys.executable, "-c", LOAD, extension], capture_output=True, text=True,
                                 check=True, env=env)
            return float(res.stdout.strip().splitlines()[-1])

        if compiled:
            once()
        return [once() for _ in range(runs)]


def hook_seconds(ip: Any, calls: int) -> dict[str, float]:
    """Each of the extension's cell hooks called directly for a successful cell (best of 3).

    Whole-cell timings on a shared machine carry noise far above these costs;
    timing the callbacks themselves shows what a successful cell pays.
    """
    from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult

    info = ExecutionInfo("x = 1", False, False, True, None)
    result = ExecutionResult(info)
    out = {}
    for event, arg in (("pre_run_cell", info), ("post_run_cell", result)):
        for callback in ip.events.callbacks[event]:
            name = getattr(callback, "__qualname__", type(callback).__name__)
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                for _ in range(calls):
                    callback(arg)
                best = min(best, (time.perf_counter() - t0) / calls)
            out[f"hook {event} {name}"] = best
    return out


def per_cell_seconds(cells: int = 2000) -> dict[str, float]:
    """Mean time of a trivial cell: bare shell, extension loaded, then with cells traced as spans.

    Measured in one process beside the floor (the bare shell), so the ratios
    survive a busy machine. Sending goes to an embedded local backend on
    loopback, so tracing really starts spans (without a DSN it would give up
    at once and cost nothing). The cells set a notebook path, so the cell
    fingerprints are active too; they only run when a cell fails.
    """
    import os
    import tempfile

    from IPython.testing.globalipapp import start_ipython

    from sentry_ipy.local import LocalServer

    server = LocalServer(tempfile.mkdtemp(prefix="bench-")).start()
    os.environ.update({"SENTRY_URL": server.url, "SENTRY_AUTH_TOKEN": server.token,
                       "SENTRY_ORG": server.org_slug, "SENTRY_DSN": server.dsn()})
    ip = start_ipython()
    ip.user_ns["__session__"] = "/bench/notebook.ipynb"

    def run(source: str = "x = 1") -> float:
        t0 = time.perf_counter()
        for _ in range(cells):
            ip.run_cell(source, store_history=False)
        return (time.perf_counter() - t0) / cells

    out = {"base": min(run() for _ in range(3))}
    ip.run_line_magic("load_ext", "sentry_ipy")
    out["loaded"] = min(run() for _ in range(3))
    out.update(hook_seconds(ip, cells))
    ip.run_line_magic("config", "SentryMagics.trace_cells = True")
    out["traced"] = min(run() for _ in range(3))
    ip.run_line_magic("config", "SentryMagics.trace_cells = False")
    ip.run_line_magic("unload_ext", "sentry_ipy")
    server.stop()
    return out


def main() -> None:
    loads = load_ext_seconds()
    floor = load_ext_seconds("noop_ext")
    source = load_ext_seconds(compiled=False)
    cell = per_cell_seconds()
    base, loaded, traced = cell["base"], cell["loaded"], cell["traced"]
    report = Path(__file__).with_suffix(".md")
    report.write_text(
        "# Notebook overhead\n\n"
        f"Measured with `{Path(__file__).name}` on {time.strftime('%Y-%m-%d')} (Python {sys.version.split()[0]}; "
        "compare each row with the floor beside it, not across runs).\n\n"
        "| what | value |\n|---|---|\n"
        f"| `%load_ext sentry_ipy` in a fresh kernel, bytecode cached (as installed), median of {len(loads)} |"
        f" {statistics.median(loads) * 1000:.1f} ms |\n"
        f"| floor: `%load_ext` of an extension that does nothing, in a fresh kernel |"
        f" {statistics.median(floor) * 1000:.1f} ms |\n"
        f"| `%load_ext sentry_ipy` compiling from source (`PYTHONDONTWRITEBYTECODE=1`) |"
        f" {statistics.median(source) * 1000:.1f} ms |\n"
        f"| trivial cell, extension not loaded (floor; best of 3 × 2000) | {base * 1e6:.1f} µs |\n"
        f"| trivial cell, extension loaded (cell fingerprints, cascades, variables: failure-only) | {loaded * 1e6:.1f} µs |\n"
        f"| hook overhead per successful cell | {(loaded - base) * 1e6:.1f} µs ({(loaded / base - 1) * 100:+.1f} %) |\n"
        f"| trivial cell with `trace_cells` on (a span per cell) | {traced * 1e6:.1f} µs |\n"
        f"| span overhead per cell | {(traced - loaded) * 1e6:.1f} µs ({(traced / base - 1) * 100:+.1f} % of the floor) |\n"
    )
    with report.open("a") as fh:
        for key, value in cell.items():
            if key.startswith("hook "):
                _, event, name = key.split(" ", 2)
                fh.write(f"| `{event}` hook `{name}`, one successful cell | {value * 1e6:.2f} µs |\n")
    print(report.read_text())


if __name__ == "__main__":
    main()
