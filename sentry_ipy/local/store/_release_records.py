"""Release lifecycle rows: finalising and deleting releases, their deploys and commits.

Named queries over the ``releases``, ``deploys`` and ``release_commits`` tables,
so the API module that serves them holds no SQL.
"""

from __future__ import annotations

from typing import Any

from .._clock import now
from ._keyset import SqlRows
from ._store import Store

__all__ = ["add_deploy", "delete_release", "deploy_rows", "previous_release_with_commits", "release_in_use",
           "commits_of", "deploys_of", "release_commits", "release_rows", "releases_by_version", "set_commits", "update_release"]


def release_rows(store: Store, org_id: int, project_ids: list[int] | None = None, query: str = "") -> SqlRows:
    """The org's releases, newest first, as keyset rows over ``(date_created, id)``.

    Args:
        project_ids: keep releases linked to one of these projects (None: all).
        query: keep versions containing this text, in any case.
    """
    where = "org_id = ?"
    params: list[Any] = [org_id]
    if query:
        where += " AND sq_contains(?, version)"
        params += [query]
    if project_ids is not None:
        where += (" AND id IN (SELECT release_id FROM release_projects"
                  f" WHERE project_id IN ({','.join('?' * len(project_ids)) or 'NULL'}))")
        params += project_ids
    return SqlRows(store.query, "*", "releases", where, params, "date_created", "id")


def releases_by_version(store: Store, org_id: int, versions: list[str]) -> dict[str, dict[str, Any]]:
    """``{version: row}`` of the org's releases with these versions, in one query (a page of events' releases)."""
    if not versions:
        return {}
    rows = store.query(f"SELECT * FROM releases WHERE org_id = ? AND version IN ({','.join('?' * len(versions))})",
                       [org_id, *versions])
    return {str(r["version"]): r for r in rows}


def update_release(store: Store, release_id: int, changes: dict[str, Any]) -> None:
    """Set the given columns (``ref``, ``url``, ``date_released``, ``status``) of one release."""
    allowed = {k: v for k, v in changes.items() if k in ("ref", "url", "date_released", "status")}
    if allowed:
        assignments = ", ".join(f"{k} = ?" for k in allowed)
        store.execute(f"UPDATE releases SET {assignments} WHERE id = ?", (*allowed.values(), release_id))


def release_in_use(store: Store, release: dict[str, Any]) -> bool:
    """True when an issue was first seen in the release (Sentry then refuses to delete it)."""
    return store.one(
        "SELECT 1 FROM issues i JOIN projects p ON p.id = i.project_id"
        " WHERE p.org_id = ? AND i.first_release = ? LIMIT 1",
        (release["org_id"], release["version"]),
    ) is not None


def delete_release(store: Store, release_id: int) -> None:
    """Remove a release with its project links, deploys and commits.

    Ingest remembers which releases it already linked; it is told to forget this one, so the
    release's next event creates it again as Sentry would.
    """
    row = store.one("SELECT org_id, version FROM releases WHERE id = ?", (release_id,))
    with store.tx():
        for table in ("release_projects", "deploys", "release_commits"):
            store.execute(f"DELETE FROM {table} WHERE release_id = ?", (release_id,))
        store.execute("DELETE FROM releases WHERE id = ?", (release_id,))
    if row is not None:
        store.forget_release(int(row["org_id"]), str(row["version"]))


def add_deploy(store: Store, release_id: int, environment: str, name: str | None, url: str | None,
               date_started: float | None, date_finished: float | None) -> dict[str, Any]:
    """Record a deploy of a release (finished now unless given) and return its row."""
    with store.tx() as conn:
        did = conn.execute(
            "INSERT INTO deploys (release_id, environment, name, url, date_started, date_finished)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (release_id, environment, name, url, date_started, date_finished or now()),
        ).lastrowid
    row = store.one("SELECT * FROM deploys WHERE id = ?", (did,))
    assert row is not None
    return row


def deploy_rows(store: Store, release_id: int) -> SqlRows:
    """A release's deploys, newest first, as keyset rows over ``(date_finished, id)`` (index ``deploys_release``)."""
    return SqlRows(store.query, "*", "deploys", "release_id = ?", [release_id], "date_finished", "id")


def deploys_of(store: Store, release_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per release, its deploys newest first: one query for a page of releases."""
    return _by_release(store.query(
        f"SELECT * FROM deploys WHERE release_id IN ({','.join('?' * len(release_ids)) or 'NULL'})"
        " ORDER BY date_finished DESC, id DESC", release_ids))


def _by_release(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(int(row["release_id"]), []).append(row)
    return found



def set_commits(store: Store, release_id: int, commits: list[dict[str, Any]]) -> None:
    """Replace a release's commit list (what ``PUT releases/{v}/`` with ``commits`` does)."""
    with store.tx():
        store.execute("DELETE FROM release_commits WHERE release_id = ?", (release_id,))
        for commit in commits:
            store.execute(
                "INSERT OR REPLACE INTO release_commits (release_id, sha, repository, message, author_name,"
                " author_email, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (release_id, commit["sha"], commit.get("repository"), commit.get("message"),
                 commit.get("author_name"), commit.get("author_email"), commit.get("timestamp")),
            )


def release_commits(store: Store, release_id: int) -> list[dict[str, Any]]:
    """A release's commits, newest first."""
    return commits_of(store, [release_id]).get(release_id, [])


def commits_of(store: Store, release_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Per release, its commits newest first: one query for a page of releases."""
    return _by_release(store.query(
        f"SELECT * FROM release_commits WHERE release_id IN ({','.join('?' * len(release_ids)) or 'NULL'})"
        " ORDER BY timestamp DESC, id DESC", release_ids))


def previous_release_with_commits(store: Store, release: dict[str, Any]) -> dict[str, Any] | None:
    """The newest release of the org created before ``release`` that has commits, or None."""
    return store.one(
        "SELECT r.* FROM releases r WHERE r.org_id = ? AND r.date_created < ?"
        " AND EXISTS (SELECT 1 FROM release_commits c WHERE c.release_id = r.id)"
        " ORDER BY r.date_created DESC, r.id DESC LIMIT 1",
        (release["org_id"], release["date_created"]),
    )
