"""Named reads behind the project and release shapes: environments, latest release, team, release stats.

The serialisers in ``api/`` build Sentry's shapes from these answers; keeping
the SQL here leaves them pure functions of rows.
"""

from __future__ import annotations

import json
from typing import Any

from ._store import Store

__all__ = ["SEEN_ENVIRONMENTS", "latest_release_version", "new_issue_counts", "project_environments", "release_event_spans",
           "release_project_rows", "team_by_id"]

Row = dict[str, Any]


def project_environments(store: Store, project_id: int) -> list[str]:
    """The environments the project's events name, alphabetically."""
    rows = store.query(f"{SEEN_ENVIRONMENTS} SELECT environment FROM seen WHERE environment IS NOT NULL"
                       " ORDER BY environment", (json.dumps([project_id]),))
    return [r["environment"] for r in rows]


#: ``seen(project_id, environment)``: each environment the events of the projects in the JSON list
#: ``?1`` name, found by a skip scan of ``events_env`` from one environment to the next greater one,
#: so it costs a seek per environment, not a pass over every event (``SELECT DISTINCT`` read all of
#: them: 0.4 s at 100,000 events). Rows with a NULL environment end each project's scan; filter them.
SEEN_ENVIRONMENTS = """
WITH RECURSIVE seen(project_id, environment) AS (
    SELECT p.value, (SELECT MIN(environment) FROM events WHERE project_id = p.value) FROM json_each(?1) p
    UNION ALL
    SELECT seen.project_id, (SELECT MIN(e.environment) FROM events e
                             WHERE e.project_id = seen.project_id AND e.environment > seen.environment)
    FROM seen WHERE seen.environment IS NOT NULL)
"""


def latest_release_version(store: Store, project_id: int) -> str | None:
    """The version of the project's newest release, if any."""
    row = store.one("SELECT r.version FROM releases r JOIN release_projects rp ON rp.release_id = r.id"
                    " WHERE rp.project_id = ? ORDER BY r.date_created DESC, r.id DESC LIMIT 1", (project_id,))
    return None if row is None else str(row["version"])


def team_by_id(store: Store, team_id: int) -> Row | None:
    """The team row with this ID."""
    return store.one("SELECT * FROM teams WHERE id = ?", (team_id,))


def _marks(ids: list[int]) -> str:
    return ",".join("?" * len(ids)) or "NULL"


def release_project_rows(store: Store, release_ids: list[int]) -> dict[int, list[Row]]:
    """Per release, its linked projects (with ``has_health``) by slug: one query for the page."""
    rows = store.query(f"SELECT rp.release_id, p.*, rp.has_health FROM release_projects rp"
                       f" JOIN projects p ON p.id = rp.project_id WHERE rp.release_id IN ({_marks(release_ids)})"
                       f" ORDER BY p.slug", release_ids)
    found: dict[int, list[Row]] = {}
    for row in rows:
        found.setdefault(int(row.pop("release_id")), []).append(row)
    return found


def release_event_spans(store: Store, release_ids: list[int]) -> dict[int, Row]:
    """Per release, ``{first, last}`` event timestamps in its linked projects (absent without events)."""
    # MIN and MAX apart, per linked project: each is one seek in ``events_release``, not a scan of the release's events.
    rows = store.query(f"SELECT r.id AS rid, (SELECT MIN(e.timestamp) FROM events e WHERE e.project_id = rp.project_id"
                       f" AND e.release = r.version) AS first, (SELECT MAX(e.timestamp) FROM events e"
                       f" WHERE e.project_id = rp.project_id AND e.release = r.version) AS last"
                       f" FROM releases r JOIN release_projects rp ON rp.release_id = r.id"
                       f" WHERE r.id IN ({_marks(release_ids)})", release_ids)
    spans: dict[int, Row] = {}
    for row in rows:
        if row["first"] is None:
            continue
        rid = int(row["rid"])
        seen = spans.setdefault(rid, dict(row))
        seen["first"], seen["last"] = min(seen["first"], row["first"]), max(seen["last"], row["last"])
    return spans


def new_issue_counts(store: Store, release_ids: list[int]) -> dict[tuple[int, int], int]:
    """Per (release, linked project), how many issues first appeared in that release."""
    rows = store.query(f"SELECT r.id AS rid, i.project_id, COUNT(*) AS n FROM releases r"
                       f" JOIN release_projects rp ON rp.release_id = r.id"
                       f" JOIN issues i ON i.project_id = rp.project_id AND i.first_release = r.version"
                       f" WHERE r.id IN ({_marks(release_ids)}) GROUP BY r.id, i.project_id", release_ids)
    return {(int(r["rid"]), int(r["project_id"])): int(r["n"]) for r in rows}
