"""Issue rows beyond ingest: bulk deletion, notes and activity, tag counts, user reports.

Named queries for the API modules that serve issue sub-resources, so those hold no SQL.
"""

from __future__ import annotations

import json
from typing import Any

from .._clock import now
from ._store import Store

__all__ = ["activities", "add_activity", "delete_issues", "issues_by_id"]


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
    """Remove issues with their events, users and activity."""
    if not issue_ids:
        return
    marks = ",".join("?" * len(issue_ids))
    with store.tx():
        for table, column in (("events", "issue_id"), ("issue_users", "issue_id"),
                              ("issue_activity", "issue_id"), ("issues", "id")):
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
