"""Derived lookups over ingested rows: environments seen, replay segments, and replays linked to issues.

Named queries for the API modules that answer them, so those hold no SQL.
"""

from __future__ import annotations

import json
from typing import Any

from ._project_queries import SEEN_ENVIRONMENTS
from ._store import Store

__all__ = ["environments", "replay_segments", "replays_by_issue"]


def environments(store: Store, project_ids: list[int]) -> list[dict[str, Any]]:
    """Environments named by stored events or sessions of the projects, in order of first appearance.

    Rows are ``{"id", "name"}``; the ID is the rank of first appearance, stable
    as long as data is only added. Events are read with a seek per environment
    (:data:`SEEN_ENVIRONMENTS`) and one for its first ``received``.
    """
    if not project_ids:
        return []
    marks = ",".join("?" * len(project_ids))
    rows = store.query(
        f"{SEEN_ENVIRONMENTS} SELECT environment AS name, MIN(first) AS first FROM ("
        f" SELECT environment, (SELECT MIN(received) FROM events e WHERE e.project_id = seen.project_id"
        f" AND e.environment = seen.environment) AS first FROM seen"
        f" WHERE environment IS NOT NULL AND environment != ''"
        f" UNION ALL SELECT environment, MIN(received) FROM sessions WHERE project_id IN ({marks})"
        f" AND environment IS NOT NULL AND environment != '' GROUP BY environment)"
        f" GROUP BY environment ORDER BY first, environment",
        [json.dumps(project_ids), *project_ids],
    )
    return [{"id": i, "name": r["name"]} for i, r in enumerate(rows, 1)]


def replays_by_issue(store: Store, org_id: int, issue_ids: list[int]) -> dict[int, list[str]]:
    """Replay IDs whose segments list an error event of each issue (``error_ids``)."""
    if not issue_ids:
        return {}
    marks = ",".join("?" * len(issue_ids))
    rows = store.query(
        f"SELECT DISTINCT e.issue_id, r.replay_id FROM replays r, json_each(r.payload, '$.error_ids') j"
        f" JOIN events e ON e.project_id = r.project_id AND e.event_id = lower(replace(j.value, '-', ''))"
        f" JOIN projects p ON p.id = r.project_id"
        f" WHERE p.org_id = ? AND e.issue_id IN ({marks}) AND json_valid(r.payload)"
        f" ORDER BY e.issue_id, r.replay_id",
        [org_id, *issue_ids],
    )
    found: dict[int, list[str]] = {}
    for row in rows:
        found.setdefault(int(row["issue_id"]), []).append(row["replay_id"])
    return found


def replay_segments(store: Store, project_ids: list[int], replay_id: str | None = None) -> list[dict[str, Any]]:
    """The replay segments of the projects (of one replay, if given), oldest first."""
    marks = ",".join("?" * len(project_ids)) or "NULL"
    if replay_id is None:
        return store.query(f"SELECT * FROM replays WHERE project_id IN ({marks}) ORDER BY timestamp, id", project_ids)
    return store.query(f"SELECT * FROM replays WHERE project_id IN ({marks}) AND replay_id = ? ORDER BY timestamp, id",
                       [*project_ids, replay_id])
