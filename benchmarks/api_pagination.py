"""Measure fetching every page: N issues from the embedded backend through the tool layer.

Run: ``.venv/bin/python benchmarks/api_pagination.py [N]`` — it rewrites
``benchmarks/api_pagination.md``. The events are sent with sentry-sdk (one
distinct message each, so each becomes its own issue), then ``sentry_list_issues``
pages through them 100 at a time over loopback HTTP.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path


def _word(i: int) -> str:
    """A distinct letters-only word per number (grouping folds digits, so digits would merge issues)."""
    letters = ""
    while True:
        i, r = divmod(i, 26)
        letters += chr(ord("a") + r)
        if i == 0:
            return letters


def main(n: int = 1000) -> None:
    import sentry_sdk

    from sentry_ipy.config import Settings
    from sentry_ipy.local import LocalServer
    from sentry_ipy.tools import ToolContext, run_tool

    with tempfile.TemporaryDirectory() as tmp, LocalServer(Path(tmp)) as srv:
        client = sentry_sdk.Client(dsn=srv.dsn(), default_integrations=False,
                                   auto_enabling_integrations=False, transport_queue_size=n + 10)
        t0 = time.perf_counter()
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            for i in range(n):
                scope.capture_message(f"benchmark message {_word(i)}")
        client.flush(timeout=120)
        client.close()
        ingest = time.perf_counter() - t0
        ctx = ToolContext(Settings(), local_server=srv)
        pages: list[int] = []
        ctx.progress = lambda done, total, msg: pages.append(done)
        runs = []
        for _ in range(3):
            pages.clear()
            t0 = time.perf_counter()
            result = run_tool("sentry_list_issues", {"projectSlug": "notebook", "query": "", "limit": n}, ctx)
            runs.append(time.perf_counter() - t0)
        result.to_frame()  # the first call pays pandas' one-time warm-up
        frame_runs = []
        for _ in range(3):
            frame_t0 = time.perf_counter()
            frame = result.to_frame()
            frame_runs.append(time.perf_counter() - frame_t0)
        frame_s = min(frame_runs)
        ctx.close()
    assert len(result.records or []) == n, len(result.records or [])
    best = min(runs)
    report = Path(__file__).with_suffix(".md")
    report.write_text(
        "# Fetching every page\n\n"
        f"Measured with `{Path(__file__).name}` on {time.strftime('%Y-%m-%d')} (Python "
        f"{sys.version.split()[0]}, 2-core machine, loopback HTTP to the embedded backend).\n\n"
        "| what | value |\n|---|---|\n"
        f"| issues created by sentry-sdk messages | {n} ({n / ingest:.0f} events/s ingest incl. grouping) |\n"
        f"| `sentry_list_issues` with limit {n}: pages of 100 | {-(-n // 100)} "
        f"({len(pages)} progress callbacks) |\n"
        f"| all pages, best of {len(runs)} (median) | {best * 1000:.0f} ms ({statistics.median(runs) * 1000:.0f} ms) |\n"
        f"| per page | {best / -(-n // 100) * 1000:.1f} ms |\n"
        f"| rows to typed DataFrame ({frame.shape[1]} columns), best of 3 | {frame_s * 1000:.1f} ms |\n")
    print(report.read_text())


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
