"""Retention: delete what is older than the retention period, a chunk per transaction.

Like Sentry's own retention (90 days by default): events, sessions and
replays that arrived before the cutoff go, outcomes counted before it, and
issues last seen before it with their tag, user and activity rows. (Arrival
time, not the client's timestamp: ingest already moves event timestamps
older than 30 days to their arrival.) Every deletion walks an index on the
time column and commits every :data:`CHUNK` rows, so a cleanup of a backend
left running for months never holds the writer lock for long and costs what
it deletes, not what the file holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["CHUNK", "purge_before"]

CHUNK = 5000

#: table → time column; each has an index whose first column is that one.
_BY_TIME = (("events", "received"), ("sessions", "received"), ("replays", "received"))


def _chunks(store: Store, delete: str, cutoff: float) -> int:
    total = 0
    while True:
        with store.tx() as conn:
            n = conn.execute(delete, (cutoff, CHUNK)).rowcount
        total += max(n, 0)
        if n < CHUNK:
            return total


def purge_before(store: Store, cutoff: float) -> dict[str, int]:
    """Delete every row older than ``cutoff`` (epoch seconds); returns rows deleted per table."""
    deleted = {
        table: _chunks(store, f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < ? LIMIT ?)",
                       cutoff)
        for table, column in _BY_TIME
    }
    deleted["outcomes"] = _chunks(
        store, "DELETE FROM outcomes WHERE id IN (SELECT id FROM outcomes WHERE timestamp < ? LIMIT ?)", cutoff)
    issues = 0
    while True:
        with store.tx() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM issues WHERE last_seen < ? LIMIT ?", (cutoff, CHUNK))]
            if ids:
                marks = ",".join("?" * len(ids))
                for table in ("issue_tags", "issue_users", "issue_activity"):
                    conn.execute(f"DELETE FROM {table} WHERE issue_id IN ({marks})", ids)
                conn.execute(f"DELETE FROM events WHERE issue_id IN ({marks})", ids)
                conn.execute(f"DELETE FROM issues WHERE id IN ({marks})", ids)
        issues += len(ids)
        if len(ids) < CHUNK:
            break
    deleted["issues"] = issues
    return deleted
