"""Trace items from ingest: the spans inside a transaction, and sentry-sdk's log records.

A transaction is its own root span (``contexts.trace``) plus the ``spans``
list; Sentry's ``spans`` dataset serves both, the root with
``is_transaction:true``. Logs arrive as ``log`` envelope items
(``{"items": [{timestamp, level, body, attributes, trace_id, span_id}]}``,
attributes as ``{"value", "type"}`` pairs), sent by sentry-sdk with
``enable_logs=True``.
"""

from __future__ import annotations

import uuid
from typing import Any

from .._clock import now, parse_timestamp
from ..store._store import Store
from ..store._trace_records import insert_logs, insert_spans
from ._envelope import EnvelopeError

__all__ = ["SEVERITY_NUMBERS", "save_logs", "save_spans"]

#: OpenTelemetry severity numbers of Sentry's log levels (what Sentry fills in when absent).
SEVERITY_NUMBERS = {"trace": 1, "debug": 5, "info": 9, "warn": 13, "warning": 13, "error": 17, "fatal": 21}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def save_spans(store: Store, project: dict[str, Any], event_id: str, payload: dict[str, Any], end: float) -> None:
    """Store a transaction's root span and child spans (inside the caller's transaction)."""
    contexts = _mapping(payload.get("contexts"))
    trace = _mapping(contexts.get("trace"))
    sdk = _mapping(payload.get("sdk"))
    start = parse_timestamp(payload.get("start_timestamp"), end) or end
    common = {"project_id": project["id"], "event_id": event_id, "trace_id": _text(trace.get("trace_id")),
              "transaction_name": _text(payload.get("transaction")), "release": _text(payload.get("release")),
              "environment": _text(payload.get("environment")), "platform": _text(payload.get("platform")),
              "sdk_name": _text(sdk.get("name"))}
    root_id = _text(trace.get("span_id")) or uuid.uuid4().hex[:16]
    rows = [{**common, "span_id": root_id, "parent_span_id": _text(trace.get("parent_span_id")),
             "is_transaction": 1, "op": _text(trace.get("op")),
             "description": _text(trace.get("description")) or common["transaction_name"],
             "status": _text(trace.get("status")), "start": start, "end": max(end, start),
             "data": _mapping(trace.get("data"))}]
    spans = payload.get("spans")
    for span in spans if isinstance(spans, list) else []:
        if not isinstance(span, dict):
            continue
        s_start = parse_timestamp(span.get("start_timestamp"), start) or start
        s_end = parse_timestamp(span.get("timestamp"), s_start) or s_start
        rows.append({**common, "span_id": _text(span.get("span_id")) or uuid.uuid4().hex[:16],
                     "parent_span_id": _text(span.get("parent_span_id")) or root_id, "is_transaction": 0,
                     "op": _text(span.get("op")), "description": _text(span.get("description")),
                     "status": _text(span.get("status")), "start": s_start, "end": max(s_end, s_start),
                     "data": _mapping(span.get("data"))})
    insert_spans(store, rows)


def _attribute(value: Any) -> Any:
    """``{"value": v, "type": t}`` → v (anything else as sent)."""
    return value.get("value") if isinstance(value, dict) and "value" in value else value


def save_logs(store: Store, project: dict[str, Any], payload: Any) -> None:
    """Store the records of one ``log`` envelope item.

    Raises:
        EnvelopeError: the item is not ``{"items": [...]}``.
    """
    items = payload.get("items") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise EnvelopeError('log payload must be {"items": [...]}.')
    received = now()
    rows = []
    for item in items:
        if not isinstance(item, dict):
            continue
        attrs = {str(k): _attribute(v) for k, v in _mapping(item.get("attributes")).items()}
        level = str(item.get("level") or attrs.get("sentry.severity_text") or "info").lower()
        number = attrs.get("sentry.severity_number", item.get("severity_number"))
        rows.append({
            "project_id": project["id"], "item_id": uuid.uuid4().hex,
            "trace_id": _text(item.get("trace_id")), "span_id": _text(item.get("span_id")),
            "timestamp": parse_timestamp(item.get("timestamp"), received) or received,
            "severity": level, "severity_number": number if isinstance(number, int) else SEVERITY_NUMBERS.get(level),
            "body": str(item.get("body") if item.get("body") is not None else ""), "attributes": attrs,
            "release": _text(attrs.get("sentry.release")), "environment": _text(attrs.get("sentry.environment")),
            "received": received,
        })
    insert_logs(store, rows)
