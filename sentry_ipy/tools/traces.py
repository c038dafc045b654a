"""Trace tool: one trace's spans as a tree, with the errors that happened in them.

Sentry's ``trace/{id}/`` answers root nodes with nested ``children`` (spans) and
``errors`` hung on the span active when they happened, plus standalone errors at
the top. The tool walks that tree once, depth first, into flat rows (a frame with
``parent`` and ``depth``) and draws the same rows as an indented tree in markdown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from ..api import capabilities
from ..errors import NotFoundError, ToolInputError, UnsupportedFeatureError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import dicts, not_found_as, resolve_issue
from ._params import Params
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["GetTraceParams", "span_rows"]

#: Every tool here reads the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): explore.
PURPOSE = "explore"

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_TREE_ROWS = 60  # spans drawn in markdown; the frame keeps every one


class GetTraceParams(Params):
    traceId: str | None = Field(None, description="32 hex characters")
    issueId: str | None = Field(None, description="Or an issue (ID, short ID, URL): its event's trace")
    eventId: str | None = Field(None, description="Or an event, with projectSlug")
    projectSlug: str | None = None


@tool("sentry_get_trace", title="Get trace", read_only=True, idempotent=True, alias="trace",
      frame=Frame.TRACE)
def get_trace(ctx: ToolContext, p: GetTraceParams) -> ToolResult:
    """Get a trace as a span tree with durations and errors, from a trace ID, an issue or an event.

    E.g. {"issueId":"BACKEND-1Z"} or {"traceId":"<32 hex>"}
    """
    client = ctx.api()
    trace_id = _trace_id(ctx, p)
    with not_found_as(f"Trace {trace_id} was not found in organization {client.org!r}."):
        body = client.get("organizations", client.org, "trace", trace_id, scope="event:read")
    roots = list(dicts(body.get("transactions") if isinstance(body, dict) else body))
    try:
        meta = client.get_object("organizations", client.org, "trace-meta", trace_id,
                                 scope="event:read")
    except (NotFoundError, UnsupportedFeatureError):
        meta = {}  # the tree is the answer; the counts only confirm it
    rows = span_rows(roots)
    if not rows:  # Sentry answers an unknown trace with an empty list, not a 404
        return ToolResult(summary=f"Trace {trace_id} has no spans or errors in organization "
                                  f"{client.org!r}.", records=[],
                          hints=["Events arrive asynchronously; a trace just sent may need a moment."])
    errors = sum(len(r["_errors"]) for r in rows)
    standalone = sum(r["op"] == "error" for r in rows)
    total = max(r["end"] for r in rows)
    for row in rows:
        del row["end"]
    counted = f" The server counts {plural(meta['spansCount'], 'span')}." if isinstance(
        meta.get("spansCount"), int) and meta["spansCount"] != len(rows) - standalone else ""
    issue = next((e for r in rows for e in r["_errors"]), None)
    for row in rows:
        del row["_errors"]
    return ToolResult(
        untrusted=True,
        summary=f"Trace {trace_id}: {plural(len(rows) - standalone, 'span')} over {total:.1f} ms, "
                f"{plural(errors, 'error')}.{counted}",
        records=rows, columns=("span_id", "op", "duration", "errors"),
        details={"Tree": _tree(rows)},
        links={"Trace": client.web_link(f"performance/trace/{trace_id}/")},
        hints=[f'Next: sentry_get_issue with {{"issueId": "{issue}"}}.'] if issue else [])


def _trace_id(ctx: ToolContext, p: GetTraceParams) -> str:
    """The trace to read: given, or from the issue's (or URL's) event, or from an event."""
    given = [n for n in ("traceId", "issueId", "eventId") if getattr(p, n)]
    if len(given) != 1:
        raise ToolInputError("sentry_get_trace needs exactly one of traceId, issueId or eventId "
                             f"(got {', '.join(given) or 'none'}).")
    if p.traceId:
        value = p.traceId.strip().replace("-", "").lower()
        if not _TRACE_ID.match(value):
            raise ToolInputError(f"Trace ID {p.traceId!r} is not 32 hexadecimal characters.")
        return value
    client = ctx.api()
    if p.issueId:
        issue_id, org, ref, _ = resolve_issue(client, p.issueId)
        with not_found_as(f"Issue {ref.issue_id!r} has no event in organization {org!r}."):
            event = capabilities.issue_event(client, org, issue_id, ref.event_id or "latest")
        what = f"issue {ref.issue_id}'s event"
    else:
        if not p.projectSlug:
            raise ToolInputError("An eventId needs its projectSlug.")
        with not_found_as(f"Event {p.eventId!r} was not found in project {p.projectSlug!r}."):
            event = client.get_object("projects", client.org, p.projectSlug, "events",
                                      str(p.eventId).replace("-", "").lower(), scope="event:read")
        what = f"event {p.eventId}"
    contexts = event.get("contexts")
    trace = contexts.get("trace") if isinstance(contexts, dict) else None
    found = trace.get("trace_id") if isinstance(trace, dict) else None
    if not isinstance(found, str) or not _TRACE_ID.match(found):
        raise ToolInputError(f"The {what} carries no trace ID (contexts.trace.trace_id).")
    return found


def span_rows(roots: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tree's nodes depth first, as rows; standalone errors are rows of op ``error``.

    ``start`` is the offset in milliseconds from the trace's earliest node;
    ``errors`` joins the short IDs (or event IDs) of the errors on that span.
    """
    nodes = list(_walk(roots, None, 0))
    first = min((_seconds(n.get("start_timestamp")) for n, _, _ in nodes), default=0.0)
    rows = []
    for node, parent, depth in nodes:
        start, end = _seconds(node.get("start_timestamp")), _seconds(node.get("end_timestamp"))
        is_error = node.get("event_type") == "error"
        errors = [] if is_error else [_error_ref(e) for e in dicts(node.get("errors"))]
        rows.append({
            "span_id": str(node.get("event_id") or ""), "parent": parent, "depth": depth,
            "op": "error" if is_error else str(node.get("op") or ""),
            "description": str(node.get("description") or node.get("transaction") or ""),
            "start": round((start - first) * 1000, 3),
            "duration": None if is_error else round((end - start) * 1000, 3),
            "project": node.get("project_slug"), "transaction": node.get("transaction"),
            "errors": ", ".join(errors) or None, "end": round((max(start, end) - first) * 1000, 3),
            "_errors": [_error_ref(node)] if is_error else errors})
    return rows


def _walk(nodes: list[dict[str, Any]], parent: str | None,
          depth: int) -> Iterator[tuple[dict[str, Any], str | None, int]]:
    for node in sorted(nodes, key=lambda n: _seconds(n.get("start_timestamp"))):
        yield node, parent, depth
        if node.get("event_type") != "error":
            yield from _walk(list(dicts(node.get("children"))), str(node.get("event_id")), depth + 1)


def _error_ref(node: dict[str, Any]) -> str:
    return str(node.get("short_id") or node.get("issue_id") or node.get("event_id"))


def _seconds(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _tree(rows: list[dict[str, Any]]) -> str:
    """Rows as indented lines: ``op  description  12.3 ms  [errors]``."""
    lines = []
    for row in rows[:_TREE_ROWS]:
        took = "error" if row["duration"] is None else f"{row['duration']:.1f} ms"
        flag = f"  ! {row['errors']}" if row["errors"] else ""
        lines.append(f"{'  ' * row['depth']}{row['op']}  {row['description'][:80]}  "
                     f"+{row['start']:.1f} ms  {took}{flag}")
    if len(rows) > _TREE_ROWS:
        lines.append(f"... {len(rows) - _TREE_ROWS} more spans in the frame")
    return "\n".join(lines)
