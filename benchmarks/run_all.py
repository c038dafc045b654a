"""Every speed figure of sentry-ipy beside the floor a user could write by hand, in one run.

Run: ``.venv/bin/python benchmarks/run_all.py`` (``--quick`` for smaller counts). It
rewrites ``benchmarks/RESULTS.md``. Each figure is measured beside its floor in the
same process and run, so ratios survive a busy machine; absolute times do not. Nothing
here is asserted in tests.

Sections (each a function returning its rows):

* ``%load_ext sentry_ipy`` vs a bare IPython shell (and vs jupysql's ``%load_ext sql``);
* monitoring cost per cell over 10,000 trivial cells vs the same shell without it;
* fetching 10,000 issues through ``sentry_list_issues`` vs a bare httpx cursor loop;
* the typed issues frame vs ``pandas.json_normalize`` (helper i13's ``frames_issues.py``);
* the capture tool vs bare ``sentry_sdk.capture_message`` (events/s, dropped);
* MCP stdio cold start to ``tools/list`` vs a bare ``MCPServer`` with one tool; p50/p99 of a
  read tool call in memory vs the bare server's;
* MCP streamable HTTP: 20 clients x 100 calls (errors, p50/p99) and server memory across 10,000 calls.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

Row = tuple[str, str, str, str, str]  # what, ours, floor, ratio, target


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _run_py(code: str, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}, cwd=tempfile.gettempdir())
    return out.stdout.strip().splitlines()[-1]


# -- %load_ext ------------------------------------------------------------------------
_SHELL = """
import sys, time
t0 = time.perf_counter()
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t1 = time.perf_counter()
if sys.argv[1]:
    ip.run_line_magic('load_ext', sys.argv[1])
print(t1 - t0, time.perf_counter() - t1)
"""


def load_ext(runs: int) -> list[Row]:
    """Fresh interpreter per run: shell start, then the extension's import and load."""
    def median(ext: str) -> float:
        return statistics.median(float(_run_py(_SHELL, ext).split()[1]) for _ in range(runs))

    shell = statistics.median(float(_run_py(_SHELL, "").split()[0]) for _ in range(runs))
    ours = median("sentry_ipy")
    rows: list[Row] = [("`%load_ext sentry_ipy` (median of fresh kernels)", _ms(ours),
                        f"bare shell start {_ms(shell)}", f"{ours / shell:+.0%} of a shell start", "instant")]
    try:
        sql = median("sql")
        rows.append(("`%load_ext sql` (jupysql), for scale", _ms(sql), f"bare shell start {_ms(shell)}",
                     f"ours is {ours / sql:.2f}x jupysql", ""))
    except subprocess.CalledProcessError:
        rows.append(("`%load_ext sql` (jupysql)", "not installed", "", "", ""))
    return rows


# -- per cell -------------------------------------------------------------------------
_CELLS = """
import sys, time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
n = int(sys.argv[1])
def run():
    t0 = time.perf_counter()
    for _ in range(n):
        ip.run_cell("x = 1", store_history=False, silent=True)
    return (time.perf_counter() - t0) / n
run()
base = min(run() for _ in range(3))
ip.run_line_magic("load_ext", "sentry_ipy")
ip.run_cell("x = 1")
loaded = min(run() for _ in range(3))
print(base, loaded)
"""


def per_cell(cells: int, dsn: str) -> list[Row]:
    base, loaded = (float(v) for v in _run_py(_CELLS, str(cells), env={"SENTRY_DSN": dsn}).split())
    return [(f"trivial cell with cell monitoring on (best of 3 x {cells:,})", f"{loaded * 1e6:.1f} us",
             f"{base * 1e6:.1f} us without the extension", f"{(loaded - base) * 1e6:+.1f} us/cell "
             f"({loaded / base:.2f}x)", "nothing worth measuring")]


# -- fetch (helper i9's benchmarks/local_backend.py) -------------------------------------
def fetch(n: int, runs: int) -> list[Row]:
    """``sentry_list_issues`` of every issue vs a bare httpx loop over ``Link``, from i9's benchmark."""
    from local_backend import measure_size

    got = measure_size(n, n, runs)  # one event per issue, built through the store's batch path
    page1, sql1 = statistics.median(got["page1"]) / 1000, statistics.median(got["sql1"]) / 1000  # ms there
    return [(f"fetch all {n:,} issues ({got['pages']} pages), `sentry_list_issues` through SentryClient",
             _ms(got["tool_s"]), f"bare httpx cursor loop {_ms(got['httpx_loop_s'])}",
             f"{got['tool_s'] / got['httpx_loop_s']:.2f}x", ""),
            ("one page of 100 over HTTP (median)", _ms(page1), f"bare SQL on the same file {_ms(sql1)}",
             f"{page1 / sql1:.0f}x", "")]


# -- frames (helper i13's benchmark) ----------------------------------------------------
def frames(n: int) -> list[str]:
    import frames_issues

    md = HERE / "frames_issues.md"
    kept = md.read_text() if md.exists() else None
    frames_issues.main(n)  # it rewrites its own .md; theirs stays as they recorded it
    text = md.read_text().splitlines()
    if kept is not None:
        md.write_text(kept)
    return [line for line in text if line.startswith("|")]


# -- capture --------------------------------------------------------------------------
def capture(srv: Any, n: int) -> list[Row]:
    import sentry_sdk

    from sentry_ipy.config import Settings
    from sentry_ipy.tools import ToolContext, run_tool

    def stored(prefix: str) -> int:
        row = srv.store.one("SELECT COUNT(*) AS n FROM events WHERE message LIKE ?", (prefix + "%",))
        return int(row["n"]) if row else 0

    def bare(per_call_flush: bool, label: str) -> float:
        sentry_sdk.init(dsn=srv.dsn(), default_integrations=False, auto_enabling_integrations=False,
                        transport_queue_size=n + 10)
        t0 = time.perf_counter()
        for i in range(n):
            sentry_sdk.capture_message(f"{label} {i}")
            if per_call_flush:
                sentry_sdk.flush(5)
        sentry_sdk.flush(120)
        rate = n / (time.perf_counter() - t0)
        sentry_sdk.get_client().close()
        return rate

    def tool(label: str) -> float:
        ctx = ToolContext(Settings(), local_server=srv)
        t0 = time.perf_counter()
        for i in range(n):
            run_tool("sentry_capture_message", {"message": f"{label} {i}"}, ctx)
        ctx.telemetry().flush(120)
        rate = n / (time.perf_counter() - t0)
        ctx.telemetry().close()
        return rate

    def python_face(label: str) -> float:
        ctx = ToolContext(Settings(), local_server=srv)
        tel = ctx.telemetry()
        t0 = time.perf_counter()
        for i in range(n):
            tel.capture_message(f"{label} {i}")
        tel.flush(120)
        rate = n / (time.perf_counter() - t0)
        tel.close()
        return rate

    stamp = str(int(time.time()))
    rates = {
        "bare_sync": bare(True, f"bare-sync-{stamp}"), "tool": tool(f"tool-{stamp}"),
        "bare_async": bare(False, f"bare-async-{stamp}"), "python": python_face(f"python-{stamp}"),
    }
    lost = {k: n - stored(f"{prefix}-{stamp}") for k, prefix in
            (("bare_sync", "bare-sync"), ("tool", "tool"), ("bare_async", "bare-async"), ("python", "python"))}
    return [
        (f"`sentry_capture_message` tool, delivery confirmed per call ({n:,} events)",
         f"{rates['tool']:.0f} events/s, {lost['tool']} lost",
         f"bare `capture_message` + `flush` per call: {rates['bare_sync']:.0f}/s, {lost['bare_sync']} lost",
         f"{rates['tool'] / rates['bare_sync']:.2f}x", ">= 0.9x"),
        (f"`Telemetry.capture_message`, one flush at the end ({n:,} events)",
         f"{rates['python']:.0f} events/s, {lost['python']} lost",
         f"bare `capture_message`, one flush: {rates['bare_async']:.0f}/s, {lost['bare_async']} lost",
         f"{rates['python'] / rates['bare_async']:.2f}x", ">= 0.9x"),
    ]


def capture_profile(srv: Any, n: int) -> list[str]:
    """Where a capture tool call spends its time (cProfile, cumulative ms per call)."""
    import cProfile
    import pstats

    from sentry_ipy.config import Settings
    from sentry_ipy.tools import ToolContext, run_tool

    ctx = ToolContext(Settings(), local_server=srv)
    run_tool("sentry_capture_message", {"message": "profile warm-up"}, ctx)
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        run_tool("sentry_capture_message", {"message": f"profile {i}"}, ctx)
    prof.disable()
    ctx.telemetry().close()
    wanted = {
        "tools/_registry.py:run_tool": "whole tool call (validation, capture, flush, result)",
        "telemetry/_telemetry.py:flush": "flush: wait for the worker to deliver (HTTP round trip)",
        "telemetry/_telemetry.py:capture_message": "capture in the caller's thread",
        "sentry_sdk/client.py:_prepare_event": "sentry-sdk _prepare_event (scope, integrations, hooks)",
        "telemetry/_scrubbing.py:before_send": "our before_send scrub (every string of the event)",
        "sentry_sdk/serializer.py:serialize": "sentry-sdk serializer",
        "sentry_sdk/scrubber.py:scrub_event": "sentry-sdk EventScrubber",
        "telemetry/_transport.py:capture_envelope": "our transport: queue the envelope",
    }
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    found: dict[str, float] = {}
    for (file, _, func), (_, _, _, cum, _) in stats.items():
        for key in wanted:
            path, name = key.split(":")
            if file.endswith(path) and func == name:
                found[key] = found.get(key, 0.0) + cum
    lines = ["| step | ms per call |", "|---|---|"]
    lines += [f"| {label} | {found[key] / n * 1000:.2f} |" for key, label in wanted.items() if key in found]
    return lines


# -- MCP ------------------------------------------------------------------------------
_BARE_SERVER = """
from mcp.server.mcpserver import MCPServer
server = MCPServer("bare")

@server.tool()
def list_projects() -> str:
    \"\"\"List projects.\"\"\"
    return "notebook"

server.run("stdio")
"""


def mcp_cold_start(srv: Any, runs: int) -> list[Row]:
    import anyio
    from mcp import Client, StdioServerParameters

    env = {"PATH": os.environ.get("PATH", ""), "HOME": tempfile.gettempdir(), "SENTRY_URL": srv.url,
           "SENTRY_AUTH_TOKEN": srv.token, "SENTRY_ORG": srv.org_slug, "SENTRY_DSN": srv.dsn()}
    ours = StdioServerParameters(command=sys.executable, args=["-m", "sentry_ipy.mcp"], env=env)
    bare = StdioServerParameters(command=sys.executable, args=["-c", _BARE_SERVER], env=env)

    async def once(params: StdioServerParameters) -> float:
        t0 = time.perf_counter()
        async with Client(params) as client:
            await client.list_tools()
            return time.perf_counter() - t0

    got = {"ours": [], "bare": []}  # type: dict[str, list[float]]
    for _ in range(runs):
        got["ours"].append(anyio.run(once, ours))
        got["bare"].append(anyio.run(once, bare))
    o, b = statistics.median(got["ours"]), statistics.median(got["bare"])
    return [(f"MCP stdio: spawn to `tools/list` answered (median of {runs})", _ms(o),
             f"bare `MCPServer`, one tool: {_ms(b)}", f"{o / b:.2f}x", "")]


def mcp_read_call(srv: Any, calls: int) -> list[Row]:
    import anyio
    from mcp import Client
    from mcp.server.mcpserver import MCPServer

    from sentry_ipy.config import Settings
    from sentry_ipy.mcp import build_mcp_server
    from sentry_ipy.tools import ToolContext

    ours = build_mcp_server(Settings(), context=ToolContext(Settings(), local_server=srv))
    bare = MCPServer("bare")

    @bare.tool()
    def list_projects() -> str:
        """List projects."""
        return "notebook"

    async def timed(server: Any, tool: str) -> list[float]:
        out = []
        async with Client(server) as client:
            await client.call_tool(tool, {})
            for _ in range(calls):
                t0 = time.perf_counter()
                await client.call_tool(tool, {})
                out.append(time.perf_counter() - t0)
        return sorted(out)

    o = anyio.run(timed, ours, "sentry_list_projects")
    b = anyio.run(timed, bare, "list_projects")

    def q(v: list[float], p: float) -> float:
        return v[min(len(v) - 1, int(p * len(v)))]

    return [(f"read tool call in memory, p50 ({calls:,} calls; ours reads the backend over HTTP)",
             _ms(q(o, 0.5)), f"bare one-tool `MCPServer` {_ms(q(b, 0.5))}", f"+{_ms(q(o, 0.5) - q(b, 0.5))}", ""),
            ("read tool call in memory, p99", _ms(q(o, 0.99)), f"bare {_ms(q(b, 0.99))}",
             f"+{_ms(q(o, 0.99) - q(b, 0.99))}", "")]


def mcp_http(srv: Any, clients: int, calls: int, memory_calls: int) -> list[Row]:
    from tests._mcp_load import rss_bytes, run_load
    from tests.test_mcp_http import start, stop

    with tempfile.TemporaryDirectory() as tmp:
        server = start(Path(tmp), srv)
        try:
            run_load(server.url, clients=clients, calls=5)  # warm-up: imports, first sessions
            load = run_load(server.url, clients=clients, calls=calls)
            before = rss_bytes(server.proc.pid)
            per_client = max(1, memory_calls // clients)
            soak = run_load(server.url, clients=clients, calls=per_client)
            after = rss_bytes(server.proc.pid)
        finally:
            stop(server)
    mib = 1 << 20
    return [
        (f"MCP HTTP: {clients} concurrent clients x {calls} `sentry_list_projects` calls",
         f"{len(load.errors)} errors of {load.calls:,}; p50 {_ms(load.quantile(0.5))}, "
         f"p99 {_ms(load.quantile(0.99))}; {load.calls / load.seconds:.0f} calls/s", "", "", "0 errors"),
        (f"MCP HTTP server memory across {soak.calls:,} more calls",
         f"{before / mib:.1f} -> {after / mib:.1f} MiB ({len(soak.errors)} errors)", "",
         f"{after / before:.3f}x", "within 1.10x"),
    ]


# -- the report -----------------------------------------------------------------------
def machine() -> list[str]:
    import importlib.metadata as md

    def v(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "absent"

    load = os.getloadavg()
    return [f"- {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"load average {load[0]:.1f} at the start",
            f"- sentry-sdk {v('sentry-sdk')}, pandas {v('pandas')}, mcp {v('mcp')}, httpx {v('httpx')}, "
            f"IPython {v('ipython')}, jupysql {v('jupysql')}",
            "- **The machine was shared with other jobs (up to 8 agents running test suites) while this "
            "ran: absolute times are noisy, read the ratios, measured beside their floor in one run.**"]


def table(rows: list[Row]) -> list[str]:
    out = ["| what | ours | floor | ratio | target |", "|---|---|---|---|---|"]
    out += [f"| {' | '.join(r)} |" for r in rows]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts (a smoke run, not for RESULTS.md)")
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    a = ap.parse_args(argv)
    q = a.quick
    n_issues, n_cells, n_capture = (1000, 1000, 300) if q else (10_000, 10_000, 2000)
    http_calls, http_soak = (10, 1000) if q else (100, 10_000)
    from sentry_ipy.local import LocalServer

    started = time.time()
    sections: list[tuple[str, list[str]]] = []

    def section(title: str, make: Callable[[], list[Row]]) -> None:
        print(f"== {title}", file=sys.stderr, flush=True)
        try:
            sections.append((title, table(make())))
        except Exception as exc:  # one broken section must not hide the others
            sections.append((title, [f"Not measured: {type(exc).__name__}: {exc}"]))
        print("\n".join(sections[-1][1]), file=sys.stderr, flush=True)

    head = machine()
    with tempfile.TemporaryDirectory() as tmp, LocalServer(Path(tmp) / "data") as srv:
        os.environ["SENTRY_IPY_DATA_DIR"] = str(Path(tmp) / "data")
        section("Notebook: `%load_ext`", lambda: load_ext(3 if q else 7))
        section("Notebook: monitoring cost per cell", lambda: per_cell(n_cells, srv.dsn()))
        section("Capture: tool vs bare sentry-sdk", lambda: capture(srv, n_capture))
        print("== capture profile", file=sys.stderr, flush=True)
        try:
            profile = capture_profile(srv, 100 if q else 300)
        except Exception as exc:
            profile = [f"Not measured: {type(exc).__name__}: {exc}"]
        sections.append(("Capture: where a tool call spends its time (cProfile)", [
            "The gap to the floor, step by step (cumulative, so rows overlap; the flush row is the "
            "delivery both sides wait for):", "", *profile]))
        section("MCP: cold start", lambda: mcp_cold_start(srv, 3 if q else 5))
        section("MCP: read tool latency", lambda: mcp_read_call(srv, 100 if q else 500))
        section("MCP: streamable HTTP load", lambda: mcp_http(srv, 20, http_calls, http_soak))
        section(f"Web API: fetch {n_issues:,} issues (helper i9's `benchmarks/local_backend.py`)",
                lambda: fetch(n_issues, 5))
    print("== frames (helper i13's benchmarks/frames_issues.py)", file=sys.stderr, flush=True)
    try:
        frame_lines = frames(n_issues)
    except Exception as exc:
        frame_lines = [f"Not measured: {type(exc).__name__}: {exc}"]

    lines = ["# sentry-ipy speed, beside the floor", "",
             f"Written by `python benchmarks/run_all.py{' --quick' if q else ''}` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))} in "
             f"{(time.time() - started) / 60:.1f} min. Never asserted in tests.", "", *head, ""]
    for title, body in sections:
        lines += [f"## {title}", "", *body, ""]
    lines += [f"## Typed issues frame vs `pandas.json_normalize` ({n_issues:,} records)", "",
              "From helper i13's `benchmarks/frames_issues.py`, run by this command:", "", *frame_lines, ""]
    lines += ["## Notes", "",
              "- Capture: the tool confirms delivery before it answers (it flushes), so its floor is bare "
              "`capture_message` followed by `flush`; the Python face captures asynchronously like the bare SDK.",
              "- MCP HTTP: the test suite runs 20 clients x 10 calls and a 1,000-call memory check "
              "(`tests/test_mcp_http_load.py`); the full 20 x 100 and 10,000 calls are measured here.",
              "- The fault matrix (spool, rate limits, 5xx, resets, slow server, restart) is in "
              "`tests/test_spool.py`; its figures are correctness, not speed, and are asserted there.", ""]
    a.out.write_text("\n".join(lines))
    print(f"wrote {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
