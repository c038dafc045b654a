"""``sentry-ipy demo``: the whole loop on the embedded backend, with no account.

It sends real envelopes through sentry-sdk (errors from real Python
exceptions, a message, a transaction with a span, a session), then reads them
back through the Web API tools, exactly as a notebook or an MCP client would.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

__all__ = ["run_demo"]


def _load_rows(path: str) -> list[dict[str, str]]:
    raise FileNotFoundError(f"[Errno 2] No such file or directory: {path!r}")


def _mean_price(rows: list[dict[str, float]]) -> float:
    return sum(r["price"] for r in rows) / len(rows)


def _next_steps(rows: list[dict[str, Any]], data_dir: Any, *, custom_dir: bool) -> str:
    """What to try next, in each face's own syntax (the demo's backend and port are gone by then)."""
    errors = [r for r in rows if r.get("shortId") and r.get("level") == "error"]
    short_id = str((errors or [r for r in rows if r.get("shortId")] or [{"shortId": "NOTEBOOK-1"}])[0]["shortId"])
    where = shlex.quote(str(data_dir))
    lines = ["", f"The demo's backend stops with the demo; its data stays in {data_dir}."]
    if custom_dir:
        lines.append(f"Set SENTRY_IPY_DATA_DIR={where} so the notebook and MCP server below use it.")
    lines += [
        "Next steps:",
        "  In Jupyter or IPython:",
        "      %load_ext sentry_ipy",
        "      %sentry_issues                  # these issues as a DataFrame",
        f"      %sentry get_issue {short_id}    # one issue with its stack trace",
        f"  Web UI: sentry-ipy local{' --data-dir ' + where if custom_dir else ''}, "
        "then open http://127.0.0.1:9000/",
        "  AI assistant (MCP server): sentry-ipy-mcp",
    ]
    return "\n".join(lines)


def run_demo(data_dir: Path | None = None, out: TextIO | None = None) -> int:
    """Run the demo against a fresh local backend; print what it did; return 0 on success.

    Raises:
        ConfigurationError: the backend cannot start (``data_dir`` is a file, read-only...).
    """
    from .config import Settings
    from .tools import ToolContext, run_tool
    from .local import start_local_server

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
        # The tool's links point at this demo's port and its hints are MCP calls: neither fits here.
        print(dataclasses.replace(issues, links={}, hints=[]).to_markdown(), file=out)
        where = getattr(srv, "data_dir", data_dir)
        print(_next_steps(issues.records or [], where, custom_dir=data_dir is not None), file=out)
    finally:
        ctx.close()
        srv.stop()
    return 0
