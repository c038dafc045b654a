"""``sentry-ipy demo``: the whole loop on the embedded backend, with no account.

It sends real envelopes through sentry-sdk (errors from real Python
exceptions, a message, a transaction with a span, a session), then reads them
back through the Web API tools, exactly as a notebook or an MCP client would.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

__all__ = ["run_demo"]


def _load_rows(path: str) -> list[dict[str, str]]:
    raise FileNotFoundError(f"[Errno 2] No such file or directory: {path!r}")


def _mean_price(rows: list[dict[str, float]]) -> float:
    return sum(r["price"] for r in rows) / len(rows)


def run_demo(data_dir: Path | None = None, out: TextIO | None = None) -> int:
    """Run the demo against a fresh local backend; print what it did; return 0 on success.

    Raises:
        ConfigurationError: the backend cannot start (``data_dir`` is a file, read-only...).
    """
    from .config import Settings
    from .tools import ToolContext, run_tool
    from .tools._context import start_local_server

    out = out or sys.stdout
    srv = start_local_server(data_dir)  # a bad data dir is one ConfigurationError sentence
    # Settings() ignores SENTRY_* variables on purpose: the demo never sends to a real Sentry.
    ctx = ToolContext(Settings(), local_server=srv)
    try:
        tel = ctx.telemetry()
        print(f"Embedded Sentry backend running at {srv.url} (org {srv.org_slug!r}, project 'notebook').",
              file=out)
        run_tool("sentry_set_release", {"release": "sentry-ipy-demo@1.0.0"}, ctx)
        run_tool("sentry_start_session", {"distinctId": "demo-user"}, ctx)
        run_tool("sentry_set_user", {"id": "demo-user", "username": "ada"}, ctx)
        run_tool("sentry_set_tag", {"key": "notebook", "value": "demo.ipynb"}, ctx)
        run_tool("sentry_add_breadcrumb", {"message": "loaded settings", "category": "demo"}, ctx)
        run_tool("sentry_start_transaction", {"name": "demo pipeline", "op": "notebook.run"}, ctx)
        sent = 0
        for bad in (lambda: _load_rows("prices.csv"), lambda: _mean_price([]),
                    lambda: _mean_price([{"cost": 3.0}])):
            try:
                bad()
            except Exception as exc:  # noqa: BLE001 - the demo captures whatever it raised
                tel.capture_exception(exc)
                sent += 1
        run_tool("sentry_capture_message", {"message": "Demo run finished", "level": "info"}, ctx)
        run_tool("sentry_finish_transaction", {"status": "internal_error"}, ctx)
        run_tool("sentry_end_session", {"status": "errored"}, ctx)
        tel.flush(5.0)
        print(f"Sent {sent} errors, 1 message, 1 transaction and 1 session through sentry-sdk.\n",
              file=out)
        issues = run_tool("sentry_list_issues", {"projectSlug": "notebook", "query": ""}, ctx)
        print(issues.to_markdown(), file=out)
        where = getattr(srv, "data_dir", data_dir)
        print(f"\nThe demo's backend stops when the demo ends; its data stays in {where}. "
              "`sentry-ipy local` serves the same data (web pages at http://127.0.0.1:9000/), "
              "`%load_ext sentry_ipy` brings the tools into a notebook, and `sentry-ipy-mcp` "
              "serves them to an AI assistant.", file=out)
    finally:
        ctx.close()
        srv.stop()
    return 0
