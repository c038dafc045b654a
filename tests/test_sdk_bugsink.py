"""SDK tools against Bugsink, a real independent ingest server: what we send is accepted and stored.

Bugsink stores errors and messages (tags, user, contexts, breadcrumbs, release) and
drops transactions and sessions, answering with ``X-Sentry-Rate-Limits`` for
transactions; those envelopes are checked at the local backend instead
(``test_sdk_tools.py``). Each test makes its own project and a fresh
``ToolContext``, so one test's rate limits cannot affect another.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sentry_ipy.config import Settings
from sentry_ipy.tools import ToolContext, run_tool
from tests._sdk import reset_sentry_sdk  # noqa: F401

pytestmark = pytest.mark.bugsink


@pytest.fixture()
def bctx(bugsink: Any, local_server: Any) -> Iterator[tuple[ToolContext, Any, int]]:
    """A tool context whose DSN points at a fresh Bugsink project."""
    project_id, dsn = bugsink.create_project(f"sdk-{uuid.uuid4().hex[:10]}")
    ctx = ToolContext(Settings(dsn=dsn), local_server=local_server)
    try:
        yield ctx, bugsink, project_id
    finally:
        ctx.close()


def _stored(bugsink: Any, project_id: int, event_id: str) -> dict[str, Any]:
    return bugsink.lookup_event(project_id, event_id)["data"]


def test_exception_with_scope_is_stored_at_bugsink(bctx: tuple[ToolContext, Any, int]) -> None:
    ctx, bugsink, project_id = bctx
    assert ctx.telemetry().describe().startswith("Sending to http://127.0.0.1:")
    run_tool("sentry_set_release", {"release": "bugsink-app@1.0.0", "dist": "42"}, ctx)
    run_tool("sentry_set_user", {"id": "u-7", "email": "ada@example.com", "segment": "paid"}, ctx)
    run_tool("sentry_set_tag", {"key": "notebook", "value": "prices.ipynb"}, ctx)
    run_tool("sentry_set_context", {"name": "dataset", "context": {"rows": 120, "password": "p"}}, ctx)
    run_tool("sentry_add_breadcrumb", {"message": "loaded prices.csv", "category": "io"}, ctx)
    result = run_tool("sentry_capture_exception", {
        "error": "KeyError: 'price'", "level": "error", "tags": {"stage": "clean"},
        "context": {"column": "price"}}, ctx)
    assert result.data and result.data["delivered"] is True

    data = _stored(bugsink, project_id, result.data["event_id"])
    (exc,) = data["exception"]["values"]
    assert (exc["type"], exc["value"], exc["mechanism"]["type"]) == ("KeyError", "'price'", "sentry_ipy.tool")
    assert data["level"] == "error"
    assert (data["release"], data["dist"]) == ("bugsink-app@1.0.0", "42")
    assert data["tags"]["notebook"] == "prices.ipynb" and data["tags"]["stage"] == "clean"
    assert data["user"] == {"id": "u-7", "email": "ada@example.com", "segment": "paid"}
    assert data["contexts"]["dataset"] == {"rows": 120, "password": "[Filtered]"}
    assert data["contexts"]["additional"] == {"column": "price"}
    assert any(c.get("message") == "loaded prices.csv" and c.get("category") == "io"
               for c in data["breadcrumbs"]["values"])
    (issue,) = bugsink.issues(project_id)
    assert "KeyError" in str(issue)


def test_message_and_python_exception_are_stored(bctx: tuple[ToolContext, Any, int]) -> None:
    ctx, bugsink, project_id = bctx
    msg = run_tool("sentry_capture_message", {"message": "nightly import finished", "level": "warning",
                                              "tags": {"rows": "120"}}, ctx)
    tel = ctx.telemetry()
    try:
        {}["price"]
    except KeyError as exc:
        event_id = tel.capture_exception(exc, tags={"source": "python"})
    assert tel.flush(5.0) is True

    data = _stored(bugsink, project_id, msg.data["event_id"])  # type: ignore[index]
    text = data.get("message") or data["logentry"]["message"]
    assert text == "nightly import finished" and data["level"] == "warning"
    assert data["tags"]["rows"] == "120"

    data = _stored(bugsink, project_id, event_id)  # type: ignore[arg-type]
    (exc,) = data["exception"]["values"]
    assert exc["type"] == "KeyError"
    assert exc["stacktrace"]["frames"][-1]["function"] == "test_message_and_python_exception_are_stored"
    assert data["tags"]["source"] == "python"


def test_bugsink_rate_limit_on_transactions_is_reported_not_hidden(bctx: tuple[ToolContext, Any, int]) -> None:
    ctx, _, _ = bctx
    run_tool("sentry_start_transaction", {"name": "first", "op": "task"}, ctx)
    run_tool("sentry_finish_transaction", {}, ctx)  # accepted (then dropped) with a rate-limit header
    run_tool("sentry_start_transaction", {"name": "second", "op": "task"}, ctx)
    second = run_tool("sentry_finish_transaction", {}, ctx)
    assert second.data and second.data["delivered"] is False
    assert "delivery is not confirmed" in second.summary
    assert "rate limit for this category was still in force" in second.summary
    spool = ctx.telemetry().delivery()["spool"]  # it waits for the window instead of being dropped
    assert spool["categories"] == {"transaction": 1} and spool["reasons"] == {"ratelimit": 1}
