"""Measure the typed issues DataFrame beside ``pandas.json_normalize`` of the same records.

Run: ``.venv/bin/python benchmarks/frames_issues.py [N]`` (default 10,000) — it rewrites
``benchmarks/frames_issues.md``. Issues are real: sent with sentry-sdk to the embedded
backend (``REAL`` distinct messages, so as many issues) and listed with
``sentry_list_issues``; to reach N rows the real records are repeated with their ids,
short IDs, titles and counts made distinct (fresh string objects, as JSON decoding gives).

Both sides get the same list of dicts, in the same process, alternating, best of 5:
- time: wall time of ``frames.to_frame(records, "issues")`` vs ``pd.json_normalize(records)``;
- memory: the frame's ``memory_usage(deep=True)`` (what it holds), and the peak of
  ``tracemalloc`` while building it (what building it costs).
The machine is shared with other jobs; the ratios are what to read, not the absolute times.
"""

from __future__ import annotations

import copy
import gc
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_pagination import _word  # noqa: E402  (a distinct letters-only word per number)

REAL = 1000


def real_issues(n: int) -> list[dict[str, Any]]:
    """``n`` issue records as the embedded backend serves them (list endpoint, all fields)."""
    import sentry_sdk

    from sentry_ipy.config import Settings
    from sentry_ipy.local import LocalServer
    from sentry_ipy.tools import ToolContext, run_tool

    levels = ("error", "warning", "info", "fatal")
    with tempfile.TemporaryDirectory() as tmp, LocalServer(Path(tmp)) as srv:
        client = sentry_sdk.Client(dsn=srv.dsn(), default_integrations=False,
                                   auto_enabling_integrations=False, transport_queue_size=n + 10)
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            for i in range(n):
                scope.capture_message(f"benchmark message {_word(i)}", level=levels[i % 4])
        client.flush(timeout=120)
        client.close()
        ctx = ToolContext(Settings(), local_server=srv)
        result = run_tool("sentry_list_issues", {"projectSlug": "notebook", "query": "", "limit": n}, ctx)
        ctx.close()
    return list(result.records or [])


def grow(records: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """``n`` records: the real ones repeated with distinct ids, short IDs, titles and counts."""
    out = []
    for i in range(n):
        row = copy.deepcopy(records[i % len(records)])
        row["id"] = str(100000 + i)
        row["shortId"] = f"NOTEBOOK-{_word(i).upper()}"
        row["title"] = f"{row['title']} #{i}"
        row["count"] = str(1 + i % 97)
        row["lifetime"]["count"] = row["count"]
        out.append(row)
    return out


def measure(build: Any, records: list[dict[str, Any]]) -> tuple[float, int, int]:
    """(seconds, bytes held by the frame, tracemalloc peak bytes while building)."""
    gc.collect()
    t0 = time.perf_counter()
    frame = build(records)
    seconds = time.perf_counter() - t0
    held = int(frame.memory_usage(deep=True).sum())
    del frame
    gc.collect()
    tracemalloc.start()
    frame = build(records)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del frame
    return seconds, held, peak


def main(n: int = 10_000) -> dict[str, float]:
    import pandas as pd

    from sentry_ipy import frames

    records = grow(real_issues(min(REAL, n)), n)

    def ours(rows: list[dict[str, Any]]) -> Any:
        return frames.to_frame(rows, "issues")

    def floor(rows: list[dict[str, Any]]) -> Any:
        return pd.json_normalize(rows)

    ours(records[:100]), floor(records[:100])  # one-time warm-up of both
    runs: dict[str, list[tuple[float, int, int]]] = {"ours": [], "floor": []}
    for _ in range(5):
        runs["ours"].append(measure(ours, records))
        runs["floor"].append(measure(floor, records))
    best = {k: (min(r[0] for r in v), v[0][1], min(r[2] for r in v)) for k, v in runs.items()}
    ours_cols, floor_cols = ours(records).shape[1], floor(records).shape[1]
    mib = 1024 * 1024
    o, f = best["ours"], best["floor"]
    figures = {"time_ratio": o[0] / f[0], "held_ratio": o[1] / f[1], "peak_ratio": o[2] / f[2]}
    lines = [
        "# Typed issues frame vs `pandas.json_normalize`", "",
        f"Measured with `benchmarks/frames_issues.py {n}` on {time.strftime('%Y-%m-%d')} "
        f"(Python {platform.python_version()}, pandas {pd.__version__}, {_cpus()} CPUs, machine "
        "shared with other jobs: read the ratios). Same records, same process, best of 5.", "",
        f"{n:,} issue records ({min(REAL, n)} real ones from the embedded backend, repeated with "
        "distinct ids, titles and counts).", "",
        "| what | ours (`frames.to_frame`) | floor (`json_normalize`) | ratio | target |",
        "|---|---|---|---|---|",
        f"| time | {o[0] * 1000:.0f} ms | {f[0] * 1000:.0f} ms | {figures['time_ratio']:.2f}x | <= 1.2x |",
        f"| memory held (`memory_usage(deep=True)`) | {o[1] / mib:.1f} MiB | {f[1] / mib:.1f} MiB | "
        f"{figures['held_ratio']:.2f}x | <= 0.6x |",
        f"| peak allocated while building (tracemalloc) | {o[2] / mib:.1f} MiB | {f[2] / mib:.1f} MiB | "
        f"{figures['peak_ratio']:.2f}x | |",
        f"| columns | {ours_cols} (fixed schema, typed) | {floor_cols} (as the data has them, object) | | |",
        "",
        "Ours: categoricals for level, status, substatus, priority, platform and project; text as "
        "pandas' `string` dtype; counts `Int64`; times UTC; the `stats` lists left out of the cells "
        "(tidy companion frame `frame.sentry.stats`).", ""]
    Path(__file__).with_suffix(".md").write_text("\n".join(lines))
    print("\n".join(lines))
    return figures


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
