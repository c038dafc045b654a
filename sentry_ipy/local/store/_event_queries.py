"""Named reads of single issues and events, and the keyset source of event lists.

The API's issue and event resources (and the web pages drawn from them) ask
these questions; holding the SQL here keeps ``api/`` free of it and lets an
index change be checked in one place. Event lists are keyset pages over
``(timestamp, id)`` (:class:`ScanRows`), so a late page costs what the first does.
"""

from __future__ import annotations

from typing import Any

from ._scan_rows import Keep, ScanRows
from ._store import Store

__all__ = [
    "daily_event_counts",
    "dataset_event_rows",
    "dataset_events",
    "event_in_org",
    "event_neighbours",
    "event_rows",
    "events_of_issue",
    "issue_by_id",
    "issue_by_short_id",
    "issue_culprits",
    "issue_event",
    "issue_in_org",
    "project_event",
    "short_seqs",
]

Row = dict[str, Any]


def issue_in_org(store: Store, org_id: int, issue_id: int) -> Row | None:
    """The issue with this numeric ID if one of the org's projects holds it."""
    return store.one("SELECT i.* FROM issues i JOIN projects p ON p.id = i.project_id WHERE i.id = ? AND p.org_id = ?",
                     (issue_id, org_id))


def issue_by_short_id(store: Store, org_id: int, slug_upper: str, seq: int) -> Row | None:
    """The issue a short ID names (project slug upper-cased, sequence number) within the org."""
    return store.one("SELECT i.* FROM issues i JOIN projects p ON p.id = i.project_id"
                     " WHERE UPPER(p.slug) = ? AND i.short_seq = ? AND p.org_id = ?", (slug_upper, seq, org_id))


def issue_by_id(store: Store, issue_id: int) -> Row | None:
    """The issue row with this ID, read afresh (after an update)."""
    return store.one("SELECT * FROM issues WHERE id = ?", (issue_id,))


def issue_event(store: Store, issue_id: int, which: str) -> Row | None:
    """An event of the issue: ``latest``, ``oldest``, or one by its (dashless, lower-case) event ID."""
    if which == "latest":
        return store.one("SELECT * FROM events WHERE issue_id = ? ORDER BY timestamp DESC, id DESC LIMIT 1",
                         (issue_id,))
    if which == "oldest":
        return store.one("SELECT * FROM events WHERE issue_id = ? ORDER BY timestamp, id LIMIT 1", (issue_id,))
    return store.one("SELECT * FROM events WHERE issue_id = ? AND event_id = ?", (issue_id, which))


def event_in_org(store: Store, org_id: int, event_id: str) -> Row | None:
    """The event with this ID in any of the org's projects."""
    return store.one("SELECT e.* FROM events e JOIN projects p ON p.id = e.project_id"
                     " WHERE e.event_id = ? AND p.org_id = ?", (event_id, org_id))


def project_event(store: Store, project_id: int, event_id: str) -> Row | None:
    """The event with this ID in the project."""
    return store.one("SELECT * FROM events WHERE project_id = ? AND event_id = ?", (project_id, event_id))


def _in_window(params: list[Any], start: float | None, end: float | None, environments: list[str]) -> str:
    """The conditions for a time window (both ends or neither) and environments; their parameters go to ``params``."""
    cond = ""
    if start is not None:
        cond += " AND timestamp >= ? AND timestamp <= ?"
        params += [start, end]
    if environments:
        cond += f" AND environment IN ({','.join('?' * len(environments))})"
        params += environments
    return cond


def event_rows(
    store: Store,
    *,
    issue_id: int | None = None,
    project_id: int | None = None,
    start: float | None = None,
    end: float | None = None,
    environments: list[str] | None = None,
    text: str = "",
) -> ScanRows:
    """The events of an issue, or the error events of a project, filtered, newest first.

    Args:
        issue_id / project_id: whose events (exactly one of them); a project's
            list leaves out transactions, as Sentry's legacy event list does.
        start / end: the time window (both or neither).
        environments: keep events of these environments.
        text: a case-insensitive substring of the message or title.

    :class:`ScanRows` rather than :class:`SqlRows`: it merges the window and
    the cursor into one range, so counting a cursor's ties seeks them instead
    of scanning the window.
    """
    params: list[Any]
    if issue_id is not None:
        where, params = "issue_id = ?", [issue_id]
    else:
        where, params = "project_id = ? AND type != 'transaction'", [project_id]
    where += _in_window(params, None, None, environments or [])
    if text:
        where += " AND sq_contains(?, IFNULL(message, '')) + sq_contains(?, IFNULL(title, '')) > 0"
        params += [text, text]
    return ScanRows(store.query, "*", "events", [(where, params)], "timestamp", "id", None, True, start, end)


def events_of_issue(store: Store, issue_id: int, columns: str = "*") -> list[Row]:
    """Every stored event of an issue (``columns``: ``*`` or a list such as ``payload, timestamp``)."""
    return store.query(f"SELECT {columns} FROM events WHERE issue_id = ?", (issue_id,))


def daily_event_counts(store: Store, issue_id: int, start: float) -> dict[int, int]:
    """Events of an issue per whole day since ``start`` (day index -> count)."""
    rows = store.query("SELECT CAST((timestamp - ?) / 86400 AS INTEGER) AS b, COUNT(*) AS n FROM events"
                       " WHERE issue_id = ? AND timestamp >= ? GROUP BY b", (start, issue_id, start))
    return {int(r["b"]): int(r["n"]) for r in rows}


def event_neighbours(store: Store, rows: list[Row]) -> dict[int, tuple[str | None, str | None]]:
    """Per event row ID, the IDs of the next and previous event of the same type in its issue (its project
    without one), for a whole page in at most two statements.

    Each neighbour is a correlated subquery that seeks the ``(issue_id, timestamp)`` or ``(project_id, type,
    timestamp)`` index from the event's own ``(timestamp, id)``, so it reads one index entry, not the issue.
    """
    found: dict[int, tuple[str | None, str | None]] = {}
    for column in ("issue_id", "project_id"):
        ids = [int(r["id"]) for r in rows if bool(r["issue_id"]) == (column == "issue_id")]
        if not ids:
            continue
        near = ("(SELECT n.event_id FROM events n WHERE n.{c} = e.{c} AND n.type = e.type"
                " AND (n.timestamp, n.id) {op} (e.timestamp, e.id) ORDER BY n.timestamp {o}, n.id {o} LIMIT 1)")
        for r in store.query(f"SELECT e.id, {near.format(c=column, op='>', o='ASC')} AS nxt,"
                             f" {near.format(c=column, op='<', o='DESC')} AS prv FROM events e"
                             f" WHERE e.id IN ({','.join('?' * len(ids))})", ids):
            found[int(r["id"])] = (r["nxt"], r["prv"])
    return found


def issue_culprits(store: Store, issue_ids: list[int]) -> dict[int, str | None]:
    """``{id: culprit}`` of these issues, in one query (an event shows its issue's culprit)."""
    if not issue_ids:
        return {}
    rows = store.query(f"SELECT id, culprit FROM issues WHERE id IN ({','.join('?' * len(issue_ids))})", issue_ids)
    return {int(r["id"]): r["culprit"] for r in rows}


def dataset_events(store: Store, project_ids: list[int], types: list[str] | tuple[str, ...], start: float | None,
                   end: float | None, environments: list[str]) -> list[Row]:
    """The events of these types in the projects, window (both ends or neither) and environments."""
    sql = (f"SELECT * FROM events WHERE project_id IN ({','.join('?' * len(project_ids)) or 'NULL'})"
           f" AND type IN ({','.join('?' * len(types))})")
    params: list[Any] = [*project_ids, *types]
    sql += _in_window(params, start, end, environments)
    return store.query(sql, params)


def dataset_event_rows(store: Store, project_ids: list[int], types: list[str] | tuple[str, ...], start: float | None,
                       end: float | None, environments: list[str], keep: Keep | None,
                       descending: bool = True) -> ScanRows:
    """:func:`dataset_events` as keyset rows over ``(timestamp, id)``, with ``keep`` deciding what SQL cannot.

    Each project is one partition read in its ``events_project`` index order
    (``+type`` keeps SQLite on that index rather than sorting a type range; a
    single type uses ``events_time``), so a page reads from the cursor on.
    """
    parts = []
    for pid in project_ids:
        params: list[Any] = [pid, *types]
        kind = "type = ?" if len(types) == 1 else f"+type IN ({','.join('?' * len(types))})"
        parts.append((f"project_id = ? AND {kind}" + _in_window(params, None, None, environments), params))
    return ScanRows(store.query, "*", "events", parts, "timestamp", "id", keep, descending, start, end)


def short_seqs(store: Store, issue_ids: list[int]) -> dict[int, Row]:
    """``{id: {id, short_seq, status, substatus}}`` of these issues (one query; status for ``is:``)."""
    if not issue_ids:
        return {}
    rows = store.query(f"SELECT id, short_seq, status, substatus FROM issues WHERE id IN ({','.join('?' * len(issue_ids))})", issue_ids)
    return {int(r["id"]): r for r in rows}
