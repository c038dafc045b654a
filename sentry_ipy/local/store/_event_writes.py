"""The statements ingest writes an event with, on the writer connection of an open transaction.

Kept together so the hot path is visible at a glance: per new event one
duplicate check, one issue lookup and upsert, one event row, its tag and
user index rows and one outcome row. Project "first event" flags and release
links are written only the first time (the store remembers what it wrote).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .._clock import now

__all__ = ["EventRow", "event_exists", "insert_event", "upsert_issue"]

EventRow = tuple[Any, ...]

_INSERT_EVENT = (
    "INSERT INTO events (event_id, project_id, issue_id, type, timestamp, received, level,"
    " title, message, culprit, transaction_name, release, environment, user_key,"
    " user_email, platform, trace_id, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ISSUE = (
    "INSERT INTO issues (project_id, short_seq, hash, type, title, culprit, level, logger,"
    " platform, metadata, status, substatus, first_seen, last_seen, times_seen,"
    " first_release, last_release, is_unhandled)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'unresolved', 'new', ?, ?, 1, ?, ?, ?)"
)
_UPDATE_ISSUE = (
    "UPDATE issues SET last_seen = MAX(last_seen, ?), first_seen = MIN(first_seen, ?),"
    " times_seen = times_seen + 1, last_release = COALESCE(?, last_release),"
    " first_release = COALESCE(first_release, ?), status = ?, substatus = ?,"
    " is_unhandled = MAX(is_unhandled, ?) WHERE id = ?"
)


#: How long an issue stays ``new`` (Sentry's 7-day ``NEW_ISSUE_PERIOD``) before further events make it ``ongoing``.
NEW_ISSUE_SECONDS = 7 * 24 * 3600


def event_exists(conn: sqlite3.Connection, project_id: int, event_id: str) -> bool:
    """Whether the project already stored this event ID (a resend is not counted again)."""
    return conn.execute(
        "SELECT 1 FROM events WHERE project_id = ? AND event_id = ?", (project_id, event_id)
    ).fetchone() is not None


def upsert_issue(
    conn: sqlite3.Connection, project_id: int, info: dict[str, Any], payload: dict[str, Any], ts: float
) -> int:
    """Create the issue of a group hash, or count one more event on it (a resolved one regresses)."""
    release = payload.get("release") or None
    row = conn.execute(
        "SELECT id, status, substatus, first_seen FROM issues WHERE project_id = ? AND hash = ?",
        (project_id, info["hash"]),
    ).fetchone()
    if row is None:
        seq = conn.execute(
            "UPDATE projects SET next_short_id = next_short_id + 1 WHERE id = ? RETURNING next_short_id - 1",
            (project_id,),
        ).fetchone()
        cur = conn.execute(_INSERT_ISSUE, (
            project_id, int(seq[0]) if seq else 1, info["hash"], info["type"], info["title"], info["culprit"],
            str(payload.get("level") or "error"), payload.get("logger"), payload.get("platform") or "python",
            json.dumps(info["metadata"]), ts, ts, release, release, int(info["unhandled"]),
        ))
        return int(cur.lastrowid or 0)
    issue_id, status, substatus = int(row["id"]), row["status"], row["substatus"]
    if status == "resolved":
        status, substatus = "unresolved", "regressed"
        conn.execute(
            "INSERT INTO issue_activity (issue_id, type, data, date_created) VALUES (?, ?, ?, ?)",
            (issue_id, "set_regression", json.dumps({"version": release or ""}), now()),
        )
    elif status == "unresolved" and substatus == "new" and ts - float(row["first_seen"]) >= NEW_ISSUE_SECONDS:
        substatus = "ongoing"  # Sentry keeps an issue "new" for its first 7 days
    conn.execute(_UPDATE_ISSUE, (ts, ts, release, release, status, substatus, int(info["unhandled"]), issue_id))
    return issue_id


def insert_event(conn: sqlite3.Connection, row: EventRow) -> None:
    """Insert one event row (columns in :data:`_INSERT_EVENT`'s order)."""
    conn.execute(_INSERT_EVENT, row)
