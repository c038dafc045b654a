"""Load for ``sentry-ipy-mcp --http``: N concurrent MCP clients, each making M read calls.

Used by ``tests/test_mcp_http_load.py`` (a CI-sized run) and by
``benchmarks/run_all.py`` (the full 20 x 100 and 10,000-call memory runs).
Every client is a real ``mcp.Client`` over streamable HTTP with its own
session; the server's resident memory is read from ``/proc/PID/status``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import Client

__all__ = ["LoadResult", "rss_bytes", "run_load"]


def rss_bytes(pid: int) -> int:
    """Resident memory of process ``pid`` (Linux ``VmRSS``)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class LoadResult:
    """What one load run saw."""

    calls: int = 0
    errors: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of call latency, in seconds."""
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run_load(url: str, *, clients: int, calls: int, tool: str = "sentry_list_projects",
             args: dict[str, Any] | None = None) -> LoadResult:
    """Run ``clients`` concurrent sessions of ``calls`` calls each; count every error."""
    result = LoadResult()

    async def one_client() -> None:
        try:
            async with Client(url) as client:
                for _ in range(calls):
                    t0 = time.perf_counter()
                    answer = await client.call_tool(tool, dict(args or {}))
                    result.latencies.append(time.perf_counter() - t0)
                    result.calls += 1
                    if answer.is_error:
                        result.errors.append(answer.content[0].text if answer.content else "isError")
        except Exception as exc:  # a broken session is an error of the run, not of the driver
            result.errors.append(f"{type(exc).__name__}: {exc}")

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(clients):
                tg.start_soon(one_client)

    t0 = time.perf_counter()
    anyio.run(main)
    result.seconds = time.perf_counter() - t0
    return result
