"""``sentry-ipy-mcp --http`` under concurrent clients: no errors, memory that does not grow.

CI runs 20 clients x 10 calls and a 1,000-call memory check; the full
20 x 100 and the 10,000-call memory run are in ``benchmarks/run_all.py``
(RESULTS.md), where time does not count against the suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests._mcp_load import rss_bytes, run_load
from tests.test_mcp_http import start, stop


def test_twenty_concurrent_clients_get_answers_and_memory_stays_flat(tmp_path: Path, local_server: Any) -> None:
    server = start(tmp_path, local_server)
    try:
        warm = run_load(server.url, clients=20, calls=10)
        assert warm.errors == [] and warm.calls == 200
        before = rss_bytes(server.proc.pid)
        steady = run_load(server.url, clients=20, calls=50)
        after = rss_bytes(server.proc.pid)
        assert steady.errors == [] and steady.calls == 1000
        assert after <= before * 1.10, f"server memory grew from {before >> 20} to {after >> 20} MiB"
    finally:
        stop(server)
