"""Spans and logs (Sentry's trace items): written at ingest, read by Explore and the trace views.

Spans come from stored transactions (the transaction's own span plus its
children), logs from sentry-sdk's ``log`` envelope items.
"""

from __future__ import annotations

import json
from typing import Any

from ._scan_rows import Keep, ScanRows
from ._store import Store

__all__ = ["insert_logs", "insert_spans", "item_rows", "item_scan_rows", "trace_errors", "trace_log_count", "trace_spans"]

_SPAN_COLUMNS = ("project_id", "event_id", "trace_id", "span_id", "parent_span_id", "is_transaction", "op",
                 "description", "transaction_name", "status", "start", "end", "release", "environment",
                 "platform", "sdk_name", "data")
_LOG_COLUMNS = ("project_id", "item_id", "trace_id", "span_id", "timestamp", "severity", "severity_number",
                "body", "attributes", "release", "environment", "received")
#: Which table and time column each Explore dataset reads.
_ITEMS = {"spans": ("spans", "end"), "logs": ("logs", "timestamp")}


def _insert(store: Store, table: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    with store.tx() as conn:
        conn.executemany(sql, [tuple(json.dumps(r[c]) if c in ("data", "attributes") else r[c] for c in columns)
                               for r in rows])


def insert_spans(store: Store, rows: list[dict[str, Any]]) -> None:
    """Store the spans of one transaction (dicts keyed by the ``spans`` columns)."""
    _insert(store, "spans", _SPAN_COLUMNS, rows)


def insert_logs(store: Store, rows: list[dict[str, Any]]) -> None:
    """Store log records (dicts keyed by the ``logs`` columns)."""
    _insert(store, "logs", _LOG_COLUMNS, rows)


def _item_where(project_id: int, environments: list[str]) -> tuple[str, list[Any]]:
    params: list[Any] = [project_id]
    where = "project_id = ?"
    if environments:
        where += f" AND environment IN ({','.join('?' * len(environments))})"
        params += environments
    return where, params


def item_scan_rows(store: Store, dataset: str, project_ids: list[int], start: float | None, end: float | None,
                   environments: list[str], keep: Keep | None, descending: bool = True) -> ScanRows:
    """Rows of the ``spans`` or ``logs`` dataset for the projects, window and environments, as keyset rows over
    ``(time, id)`` (newest first unless ``descending`` is False), ``keep`` deciding what SQL cannot.

    Each project is one partition read in its ``spans_time`` / ``logs_time`` index order.
    """
    table, column = _ITEMS[dataset]
    parts = [_item_where(pid, environments) for pid in project_ids]
    return ScanRows(store.query, "*", table, parts, f'"{column}"', "id", keep, descending, start, end)


def item_rows(store: Store, dataset: str, project_ids: list[int], start: float | None, end: float | None,
              environments: list[str]) -> list[dict[str, Any]]:
    """Every row of :func:`item_scan_rows`, newest first (what aggregates and time series read)."""
    return item_scan_rows(store, dataset, project_ids, start, end, environments, None).window(None, 0, -1, False)


def trace_spans(store: Store, org_id: int, trace_id: str) -> list[dict[str, Any]]:
    """Every span of a trace in the org, by start time."""
    return store.query(
        "SELECT s.*, p.slug AS project_slug FROM spans s JOIN projects p ON p.id = s.project_id"
        " WHERE s.trace_id = ? AND p.org_id = ? ORDER BY s.start, s.id",
        (trace_id, org_id),
    )


def trace_errors(store: Store, org_id: int, trace_id: str) -> list[dict[str, Any]]:
    """Error and message events of a trace in the org, with their issue's short sequence, oldest first."""
    return store.query(
        "SELECT e.*, p.slug AS project_slug, i.short_seq FROM events e JOIN projects p ON p.id = e.project_id"
        " LEFT JOIN issues i ON i.id = e.issue_id"
        " WHERE e.trace_id = ? AND p.org_id = ? AND e.type != 'transaction' ORDER BY e.timestamp, e.id",
        (trace_id, org_id),
    )


def trace_log_count(store: Store, org_id: int, trace_id: str) -> int:
    """How many log records carry the trace ID."""
    row = store.one("SELECT COUNT(*) AS n FROM logs l JOIN projects p ON p.id = l.project_id"
                    " WHERE l.trace_id = ? AND p.org_id = ?", (trace_id, org_id))
    return int(row["n"]) if row else 0
