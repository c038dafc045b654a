"""Trace, note, activity and tag-value tools end to end against the local backend.

A module fixture makes its own project and sends, through sentry-sdk, one
transaction with nested child spans and an error raised inside the innermost
span (so the error belongs to that trace and span), plus three events of one
issue tagged ``flavor`` a, a, b. Every assertion compares a tool's answer with
what was sent.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import sentry_sdk

from sentry_ipy import frames
from sentry_ipy.errors import NotFoundError, SentryIpyError, ToolInputError
from sentry_ipy.tools import ToolContext, ToolResult, registry, run_tool
from tests._sdk import reset_sentry_sdk, sending_to  # noqa: F401  (autouse fixture)

T = TypeVar("T")


@dataclass
class Seeded:
    slug: str
    trace_id: str
    root_span: str
    db_span: str
    query_span: str
    error_issue: str  # short ID of the error raised inside the query span
    tagged_issue: str  # short ID of the issue with flavor a, a, b


def _explode() -> None:
    raise LookupError("cart row missing in trace test")


def _eventually(probe: Callable[[], T], timeout: float = 10.0) -> T:
    """``probe()`` once it stops raising (delivery and ingest are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return probe()
        except (SentryIpyError, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _issue_of(tctx: ToolContext, slug: str, text: str) -> str:
    result = run_tool("sentry_list_issues", {"projectSlug": slug, "query": text}, tctx)
    assert result.records and len(result.records) == 1, result.summary
    return str(result.records[0]["shortId"])


@pytest.fixture(scope="module")
def seeded(tctx: ToolContext) -> Seeded:
    slug = f"traces-{uuid.uuid4().hex[:6]}"
    run_tool("sentry_create_project", {"name": "Traces", "slug": slug, "team": "local"}, tctx)
    setup = run_tool("sentry_setup_project", {"projectSlug": slug}, tctx)
    assert setup.data is not None
    with sending_to(setup.data["dsn"], traces_sample_rate=1.0, environment="test") as scope:
        with sentry_sdk.start_transaction(name="checkout", op="http.server") as txn:
            with sentry_sdk.start_span(op="db", name="load cart") as db:
                with sentry_sdk.start_span(op="db.query", name="SELECT * FROM carts") as query:
                    try:
                        _explode()
                    except LookupError as exc:
                        sentry_sdk.capture_exception(exc)
            with sentry_sdk.start_span(op="http.client", name="GET /prices"):
                pass
        for flavor in ("a", "a", "b"):
            with sentry_sdk.new_scope() as inner:
                inner.set_tag("flavor", flavor)
                inner.capture_message("flavoured failure in tag test", level="error")
        ids = (txn.trace_id, txn.span_id, db.span_id, query.span_id)
    assert scope is not None
    error = _eventually(lambda: _issue_of(tctx, slug, "cart row missing"))
    tagged = _eventually(lambda: _issue_of(tctx, slug, "flavoured failure"))

    def _three() -> None:
        got = run_tool("sentry_get_issue", {"issueId": tagged}, tctx)
        assert got.data is not None and str(got.data["count"]) == "3"

    _eventually(_three)
    _eventually(lambda: run_tool("sentry_get_trace", {"traceId": ids[0]}, tctx))
    return Seeded(slug, *ids, error_issue=error, tagged_issue=tagged)


def _by_span(result: ToolResult) -> dict[str, dict[str, Any]]:
    return {r["span_id"]: r for r in result.records or []}


def test_tools_are_registered_with_honest_annotations() -> None:
    tools = registry()
    assert tools["sentry_add_issue_note"].read_only is False
    assert tools["sentry_add_issue_note"].destructive is False
    for name in ("sentry_get_trace", "sentry_list_issue_activity", "sentry_get_issue_tag_values"):
        assert tools[name].read_only and tools[name].idempotent, name
    assert {tools[n].alias for n in ("sentry_get_trace", "sentry_add_issue_note",
                                     "sentry_list_issue_activity",
                                     "sentry_get_issue_tag_values")} == {
        "trace", "note", "activity", "tag_values"}


def test_trace_by_id_is_the_span_tree_with_its_error(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_get_trace", {"traceId": seeded.trace_id}, tctx)
    rows = _by_span(result)
    assert len(rows) == 4  # the transaction and its three spans; the error hangs on a span
    root, db, query = rows[seeded.root_span], rows[seeded.db_span], rows[seeded.query_span]
    assert (root["depth"], root["parent"], root["op"], root["description"]) == (
        0, None, "http.server", "checkout")
    assert (db["depth"], db["parent"], db["op"]) == (1, seeded.root_span, "db")
    assert (query["depth"], query["parent"], query["description"]) == (
        2, seeded.db_span, "SELECT * FROM carts")
    assert query["errors"] == seeded.error_issue
    assert [r["errors"] for r in rows.values() if r is not query] == [None] * 3
    assert root["start"] == 0 and all(r["start"] >= 0 for r in rows.values())
    assert all(r["duration"] >= 0 for r in rows.values())
    assert root["duration"] >= db["duration"] >= query["duration"]
    assert [r["span_id"] for r in result.records or []][:3] == [
        seeded.root_span, seeded.db_span, seeded.query_span]  # depth first, children by start
    assert "4 spans" in result.summary and "1 error" in result.summary
    assert f"over {root['duration']:.1f} ms" in result.summary  # the root spans the whole trace
    frame = result.to_frame()
    assert list(frame.columns) == list(frames.columns("trace"))
    assert str(frame["depth"].dtype) == "Int64" and str(frame["duration"].dtype) == "Float64"
    markdown = result.to_markdown()
    assert "\n    db.query  SELECT * FROM carts" in markdown and f"! {seeded.error_issue}" in markdown
    assert seeded.error_issue in " ".join(result.hints)


def test_trace_from_issue_or_event(tctx: ToolContext, seeded: Seeded) -> None:
    by_issue = run_tool("sentry_get_trace", {"issueId": seeded.error_issue}, tctx)
    assert by_issue.summary.startswith(f"Trace {seeded.trace_id}:")
    event = run_tool("sentry_get_issue", {"issueId": seeded.error_issue}, tctx)
    assert event.data is not None
    by_event = run_tool("sentry_get_trace", {"eventId": event.data["eventId"],
                                             "projectSlug": seeded.slug}, tctx)
    assert _by_span(by_event).keys() == _by_span(by_issue).keys()


def test_trace_bad_input_is_one_sentence(tctx: ToolContext, seeded: Seeded) -> None:
    with pytest.raises(ToolInputError, match="exactly one of traceId, issueId or eventId"):
        run_tool("sentry_get_trace", {}, tctx)
    with pytest.raises(ToolInputError, match="not 32 hexadecimal"):
        run_tool("sentry_get_trace", {"traceId": "abc"}, tctx)
    with pytest.raises(ToolInputError, match="needs its projectSlug"):
        run_tool("sentry_get_trace", {"eventId": "a" * 32}, tctx)
    empty = run_tool("sentry_get_trace", {"traceId": "0" * 32}, tctx)
    assert empty.records == [] and "has no spans or errors" in empty.summary
    assert list(empty.to_frame().columns) == list(frames.columns("trace"))
    # messages sent outside a transaction still carry the SDK's propagation trace ID:
    # their trace is errors only, listed at the top level
    tagged = run_tool("sentry_get_trace", {"issueId": seeded.tagged_issue}, tctx)
    assert tagged.records and {r["op"] for r in tagged.records} == {"error"}
    assert "0 spans" in tagged.summary and f"{len(tagged.records)} error" in tagged.summary
    assert {r["depth"] for r in tagged.records} == {0}


def test_note_then_activity(tctx: ToolContext, seeded: Seeded) -> None:
    text = f"Looked at it: cart rows vanish ({uuid.uuid4().hex[:6]})"
    added = run_tool("sentry_add_issue_note", {"issueId": seeded.error_issue, "text": text}, tctx)
    assert added.data is not None and added.data["type"] == "note"
    assert added.data["data"]["text"] == text
    issue = run_tool("sentry_get_issue", {"issueId": seeded.error_issue}, tctx)
    assert issue.data is not None
    url = issue.data["permalink"]
    second = run_tool("sentry_add_issue_note", {"issueId": url, "text": "second note"}, tctx)
    assert second.data is not None
    activity = run_tool("sentry_list_issue_activity", {"issueId": str(issue.data["id"])}, tctx)
    rows = activity.records or []
    assert [r["data"].get("text") for r in rows if r["type"] == "note"][:2] == ["second note", text]
    assert rows[-1]["type"] == "first_seen"
    frame = activity.to_frame()
    assert frame["data.text"].iloc[0] == "second note"
    assert str(frame["dateCreated"].dtype) == frames.DATETIME
    with pytest.raises(ToolInputError):
        run_tool("sentry_add_issue_note", {"issueId": seeded.error_issue, "text": "   "}, tctx)
    with pytest.raises(NotFoundError, match="was not found"):
        run_tool("sentry_list_issue_activity", {"issueId": "999999999"}, tctx)


def test_tag_values_distribution(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_get_issue_tag_values", {"issueId": seeded.tagged_issue,
                                                      "key": "flavor"}, tctx)
    rows = result.records or []
    assert [(r["value"], r["count"]) for r in rows] == [("a", 2), ("b", 1)]
    assert [r["share"] for r in rows] == [round(2 / 3, 6), round(1 / 3, 6)]
    assert "2 distinct values over 3 tagged events" in result.summary
    frame = result.to_frame()
    assert list(frame.columns) == list(frames.columns("tag_values"))
    assert frame["count"].sum() == 3
    with pytest.raises(NotFoundError, match="has no tag 'nope'"):
        run_tool("sentry_get_issue_tag_values", {"issueId": seeded.tagged_issue, "key": "nope"}, tctx)
