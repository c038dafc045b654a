"""Issue rows beyond ingest: bulk deletion, notes and activity, tag counts, user reports.

Named queries for the API modules that serve issue sub-resources, so those hold no SQL.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .._clock import now
from ._keyset import SqlRows
from ._store import Store

__all__ = ["activities", "add_activity", "add_attachment", "add_user_report", "attachment_data", "attachments",
           "delete_issues", "issues_by_id", "note_rows", "user_report", "user_report_rows"]


def issues_by_id(store: Store, project_ids: list[int], issue_ids: list[int]) -> list[dict[str, Any]]:
    """The issues among ``issue_ids`` that belong to ``project_ids`` (others are ignored, as Sentry does)."""
    if not project_ids or not issue_ids:
        return []
    return store.query(
        f"SELECT * FROM issues WHERE project_id IN ({','.join('?' * len(project_ids))})"
        f" AND id IN ({','.join('?' * len(issue_ids))}) ORDER BY id",
        [*project_ids, *issue_ids],
    )


def delete_issues(store: Store, issue_ids: list[int]) -> None:
    """Remove issues with their events, users, search index rows and activity."""
    if not issue_ids:
        return
    marks = ",".join("?" * len(issue_ids))
    with store.tx():
        for table, column in (("events", "issue_id"), ("issue_users", "issue_id"), ("issue_tags", "issue_id"),
                              ("issue_texts", "issue_id"),
                              ("issue_activity", "issue_id"), ("issue_triage", "issue_id"), ("issues", "id")):
            store.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", issue_ids)


def add_activity(store: Store, issue_id: int, kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """Record one activity (a note, a status change...) and return its row."""
    with store.tx() as conn:
        aid = conn.execute(
            "INSERT INTO issue_activity (issue_id, type, data, date_created) VALUES (?, ?, ?, ?)",
            (issue_id, kind, json.dumps(data), now()),
        ).lastrowid
    row = store.one("SELECT * FROM issue_activity WHERE id = ?", (aid,))
    assert row is not None
    return row


def activities(store: Store, issue_id: int, kind: str | None = None) -> list[dict[str, Any]]:
    """An issue's activity rows, newest first (only ``kind`` when given)."""
    sql, params = "SELECT * FROM issue_activity WHERE issue_id = ?", [issue_id]
    if kind is not None:
        sql += " AND type = ?"
        params.append(kind)  # type: ignore[arg-type]
    return store.query(sql + " ORDER BY date_created DESC, id DESC", params)


def note_rows(store: Store, issue_id: int) -> SqlRows:
    """An issue's notes, newest first, as keyset rows over ``(date_created, id)`` (index ``issue_activity_issue``)."""
    return SqlRows(store.query, "*", "issue_activity", "issue_id = ? AND type = 'note'", [issue_id],
                   "date_created", "id")


def add_user_report(store: Store, project_id: int, event_id: str, name: str | None, email: str | None,
                    comments: str) -> dict[str, Any]:
    """Store one user report (feedback on an event) and return its row."""
    with store.tx() as conn:
        rid = conn.execute(
            "INSERT INTO user_reports (project_id, event_id, name, email, comments, date_created)"
            " VALUES (?, ?, ?, ?, ?, ?)", (project_id, event_id, name, email, comments, now()),
        ).lastrowid
    row = store.one("SELECT * FROM user_reports WHERE id = ?", (rid,))
    assert row is not None
    return row


#: A user report with the issue of its event (None while the event is not stored).
_REPORTS = "user_reports r LEFT JOIN events e ON e.project_id = r.project_id AND e.event_id = r.event_id"


def user_report_rows(store: Store, project_ids: list[int], issue_id: int | None = None) -> SqlRows:
    """User reports of the projects (only those on the issue's events when given), newest first, as keyset rows
    over ``(date_created, id)`` (index ``user_reports_time``); each row carries its ``issue_id``."""
    where = f"r.project_id IN ({','.join('?' * len(project_ids)) or 'NULL'})"
    params: list[Any] = list(project_ids)
    if issue_id is not None:
        where += " AND e.issue_id = ?"
        params.append(issue_id)
    return SqlRows(store.query, "r.*, e.issue_id", _REPORTS, where, params, "r.date_created", "r.id")


def user_report(store: Store, report_id: int) -> dict[str, Any] | None:
    """One user report with its ``issue_id``, or None."""
    return store.one(f"SELECT r.*, e.issue_id FROM {_REPORTS} WHERE r.id = ?", (report_id,))


def add_attachment(store: Store, project_id: int, event_id: str, name: str, content_type: str | None,
                   kind: str, data: bytes) -> None:
    """Store one attachment of an event (its bytes verbatim).

    The bytes are written into a ``zeroblob`` in place rather than bound to the
    INSERT: SQLite keeps a bound value in the cached statement until its next
    use, so a 99 MB attachment would stay in memory after its request.
    """
    rowid = store.execute(
        "INSERT INTO attachments (project_id, event_id, name, content_type, type, size, sha1, data, date_created)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, zeroblob(?), ?)",
        (project_id, event_id, name, content_type, kind, len(data), hashlib.sha1(data).hexdigest(), len(data), now()),
    )
    if data:
        store.write_blob("attachments", "data", rowid, data)


def attachments(store: Store, project_id: int, event_id: str) -> list[dict[str, Any]]:
    """An event's attachments without their bytes, oldest first."""
    return store.query("SELECT id, project_id, event_id, name, content_type, type, size, sha1, date_created"
                       " FROM attachments WHERE project_id = ? AND event_id = ? ORDER BY id", (project_id, event_id))


def attachment_data(store: Store, project_id: int, event_id: str, attachment_id: int) -> dict[str, Any] | None:
    """One attachment with its bytes, or None."""
    return store.one("SELECT * FROM attachments WHERE project_id = ? AND event_id = ? AND id = ?",
                     (project_id, event_id, attachment_id))
