"""Named reads behind the project and release shapes: environments, latest release, team, release stats.

The serialisers in ``api/`` build Sentry's shapes from these answers; keeping
the SQL here leaves them pure functions of rows.
"""

from __future__ import annotations

from typing import Any

from ._store import Store

__all__ = ["latest_release_version", "new_issue_counts", "project_environments", "release_event_span",
           "release_project_rows", "team_by_id"]

Row = dict[str, Any]


def project_environments(store: Store, project_id: int) -> list[str]:
    """The environments the project's events name, alphabetically."""
    rows = store.query("SELECT DISTINCT environment FROM events WHERE project_id = ? AND environment IS NOT NULL"
                       " ORDER BY environment", (project_id,))
    return [r["environment"] for r in rows]


def latest_release_version(store: Store, project_id: int) -> str | None:
    """The version of the project's newest release, if any."""
    row = store.one("SELECT r.version FROM releases r JOIN release_projects rp ON rp.release_id = r.id"
                    " WHERE rp.project_id = ? ORDER BY r.date_created DESC, r.id DESC LIMIT 1", (project_id,))
    return None if row is None else str(row["version"])


def team_by_id(store: Store, team_id: int) -> Row | None:
    """The team row with this ID."""
    return store.one("SELECT * FROM teams WHERE id = ?", (team_id,))


def release_project_rows(store: Store, release_id: int) -> list[Row]:
    """The projects linked to a release (with ``has_health``), by slug."""
    return store.query("SELECT p.*, rp.has_health FROM release_projects rp JOIN projects p ON p.id = rp.project_id"
                       " WHERE rp.release_id = ? ORDER BY p.slug", (release_id,))


def release_event_span(store: Store, version: str, project_ids: list[int]) -> Row:
    """``{first, last}``: the first and last event timestamps of a release in these projects (None without)."""
    ids = project_ids or [-1]
    row = store.one(f"SELECT MIN(timestamp) AS first, MAX(timestamp) AS last FROM events"
                    f" WHERE release = ? AND project_id IN ({','.join('?' * len(ids))})", (version, *ids))
    return row or {}


def new_issue_counts(store: Store, version: str, project_ids: list[int]) -> dict[int, int]:
    """Per project, how many issues first appeared in this release (one query for all projects)."""
    if not project_ids:
        return {}
    rows = store.query(f"SELECT project_id, COUNT(*) AS n FROM issues WHERE first_release = ?"
                       f" AND project_id IN ({','.join('?' * len(project_ids))}) GROUP BY project_id",
                       (version, *project_ids))
    return {int(r["project_id"]): int(r["n"]) for r in rows}
