"""Traces assembled from what was stored: ``trace/{trace_id}/`` and ``trace-meta/{trace_id}/``.

A trace is the spans of every transaction carrying its trace ID, as a tree
(parents by ``parent_span_id``), with each error event of the trace hung on
the span that was active when it happened (its ``contexts.trace.span_id``), or
at the top level when that span is not stored, as Sentry returns standalone
errors.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..ingest._grouping import short_id
from ..store._trace_records import trace_errors, trace_log_count, trace_spans
from ._plumbing import ApiError, ctx, get_org, respond

__all__ = ["routes"]

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
#: Sentry's group type ID of error issues (``ErrorGroupType.type_id``).
_ERROR_ISSUE_TYPE = 1


def _trace_id(request: Request) -> str:
    value: str = request.path_params["trace_id"].replace("-", "").lower()
    if not _TRACE_ID.match(value):
        raise ApiError(400, "Invalid trace id: it must be 32 hexadecimal characters.")
    return value


def _error_node(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": row["event_id"], "event_type": "error", "issue_id": row["issue_id"],
        "issue_type": _ERROR_ISSUE_TYPE, "level": row["level"] or "error",
        "project_id": int(row["project_id"]), "project_slug": row["project_slug"],
        "start_timestamp": row["timestamp"], "end_timestamp": row["timestamp"],
        "culprit": row["culprit"], "description": row["title"] or "",
        "short_id": short_id(row["project_slug"], row["short_seq"]) if row["short_seq"] else None,
        "transaction": row["transaction_name"] or "",
    }


def _span_node(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": row["span_id"], "transaction_id": row["event_id"], "event_type": "span",
        "project_id": int(row["project_id"]), "project_slug": row["project_slug"],
        "parent_span_id": row["parent_span_id"], "start_timestamp": row["start"], "end_timestamp": row["end"],
        "duration": round((row["end"] - row["start"]) * 1000, 3), "transaction": row["transaction_name"] or "",
        "is_transaction": bool(row["is_transaction"]), "description": row["description"] or "",
        "op": row["op"] or "", "name": row["op"] or "", "sdk_name": row["sdk_name"] or "",
        "profile_id": "", "profiler_id": "", "measurements": {}, "browser_web_vital": {}, "mobile_app_vital": {},
        "additional_attributes": {}, "children": [], "errors": [], "occurrences": [],
    }


def _active_span(row: dict[str, Any]) -> str | None:
    payload = json.loads(row["payload"])
    contexts = payload.get("contexts") if isinstance(payload, dict) else None
    trace = contexts.get("trace") if isinstance(contexts, dict) else None
    span = trace.get("span_id") if isinstance(trace, dict) else None
    return span if isinstance(span, str) else None


def get_trace(request: Request) -> JSONResponse:
    """``GET organizations/{o}/trace/{trace_id}/``: root spans (with children) and standalone errors."""
    c, org = ctx(request), get_org(request)
    trace_id = _trace_id(request)
    spans = trace_spans(c.store, int(org["id"]), trace_id)
    nodes = {row["span_id"]: _span_node(row) for row in spans}
    roots: list[dict[str, Any]] = []
    for row in spans:
        node, parent = nodes[row["span_id"]], nodes.get(row["parent_span_id"] or "")
        (parent["children"] if parent is not None and parent is not node else roots).append(node)
    standalone: list[dict[str, Any]] = []
    for row in trace_errors(c.store, int(org["id"]), trace_id):
        holder = nodes.get(_active_span(row) or "")
        (holder["errors"] if holder is not None else standalone).append(_error_node(row))
    return respond([*roots, *standalone])


def get_trace_meta(request: Request) -> JSONResponse:
    """``GET organizations/{o}/trace-meta/{trace_id}/``: counts of the trace's spans, errors and logs."""
    c, org = ctx(request), get_org(request)
    trace_id = _trace_id(request)
    spans = trace_spans(c.store, int(org["id"]), trace_id)
    children = Counter(row["event_id"] for row in spans if not row["is_transaction"])
    return respond({
        "errorsCount": len(trace_errors(c.store, int(org["id"]), trace_id)),
        "performanceIssuesCount": 0,
        "logsCount": trace_log_count(c.store, int(org["id"]), trace_id),
        "metricsCount": 0,
        "uptimeCount": 0,
        "spansCount": len(spans),
        "spansCountMap": dict(Counter(row["op"] or "default" for row in spans)),
        "transactionChildCountMap": [{"transaction.event_id": row["event_id"], "count()": children[row["event_id"]]}
                                     for row in spans if row["is_transaction"]],
    })


routes = [
    Route("/organizations/{org}/trace/{trace_id}/", get_trace, methods=["GET"]),
    Route("/organizations/{org}/trace-meta/{trace_id}/", get_trace_meta, methods=["GET"]),
]
