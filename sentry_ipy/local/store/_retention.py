"""Retention: delete what is older than the retention period, a chunk per transaction.

Like Sentry's own retention (90 days by default): events, sessions and
replays that arrived before the cutoff go, outcomes counted before it, and
issues last seen before it with their tag, user, text and activity rows
(and a live issue's indexed messages whose last event went). (Arrival
time, not the client's timestamp: ingest already moves event timestamps
older than 30 days to their arrival.) Every deletion walks an index on the
time column and commits every :data:`CHUNK` rows, so a cleanup of a backend
left running for months never holds the writer lock for long and costs what
it deletes, not what the file holds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._text_index import drop_stale_messages

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["CHUNK", "purge_before"]

CHUNK = 5000

#: table → time column; each has an index whose first column is that one.
_BY_TIME = (("sessions", "received"), ("replays", "received"))


def _chunks(store: Store, delete: str, cutoff: float) -> int:
    total = 0
    while True:
        with store.tx() as conn:
            n = conn.execute(delete, (cutoff, CHUNK)).rowcount
        total += max(n, 0)
        if n < CHUNK:
            return total


def _by_ids(store: Store, select: str, cutoff: float, delete: Callable[[sqlite3.Connection, list[int], str], None]) -> int:
    """Pick up to :data:`CHUNK` row IDs with ``select`` and ``delete`` them, one transaction per chunk."""
    total = 0
    while True:
        with store.tx() as conn:
            ids = [r[0] for r in conn.execute(select, (cutoff, CHUNK))]
            if ids:
                delete(conn, ids, ",".join("?" * len(ids)))
        total += len(ids)
        if len(ids) < CHUNK:
            return total


def purge_before(store: Store, cutoff: float) -> dict[str, int]:
    """Delete every row older than ``cutoff`` (epoch seconds); returns rows deleted per table."""

    def events(conn: sqlite3.Connection, ids: list[int], marks: str) -> None:
        issues = [r[0] for r in conn.execute(
            f"SELECT DISTINCT issue_id FROM events WHERE id IN ({marks}) AND issue_id IS NOT NULL", ids)]
        conn.execute(f"DELETE FROM events WHERE id IN ({marks})", ids)
        drop_stale_messages(conn, issues, cutoff)  # messages that no remaining event of the issue has

    def issues(conn: sqlite3.Connection, ids: list[int], marks: str) -> None:
        for table in ("issue_tags", "issue_users", "issue_texts", "issue_activity", "events"):
            conn.execute(f"DELETE FROM {table} WHERE issue_id IN ({marks})", ids)
        conn.execute(f"DELETE FROM issues WHERE id IN ({marks})", ids)

    deleted = {"events": _by_ids(store, "SELECT id FROM events WHERE received < ? LIMIT ?", cutoff, events)}
    deleted |= {
        table: _chunks(store, f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < ? LIMIT ?)",
                       cutoff)
        for table, column in _BY_TIME
    }
    deleted["outcomes"] = _chunks(
        store, "DELETE FROM outcomes WHERE id IN (SELECT id FROM outcomes WHERE timestamp < ? LIMIT ?)", cutoff)
    deleted["issues"] = _by_ids(store, "SELECT id FROM issues WHERE last_seen < ? LIMIT ?", cutoff, issues)
    return deleted
