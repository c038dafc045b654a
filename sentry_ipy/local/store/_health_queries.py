"""Named reads behind release health and usage stats: session updates and outcomes.

The sessions and ``stats_v2`` resources aggregate these rows in Python (a
session counts once, with its final status); the SQL that fetches them lives
here so the API modules hold none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._store import Store

__all__ = ["outcome_rows", "session_updates"]

Row = dict[str, Any]


def session_updates(store: Store, project_ids: Iterable[int]) -> list[Row]:
    """Every stored session update and aggregate of the projects, in arrival order."""
    ids = list(project_ids) or [-1]
    return store.query(
        f"SELECT id, project_id, kind, sid, did, release, environment, started, received, payload"
        f" FROM sessions WHERE project_id IN ({','.join('?' * len(ids))}) ORDER BY id",
        ids,
    )


def outcome_rows(store: Store, org_id: int, start: float, end: float, filters: dict[str, list[str]],
                 project_ids: list[int]) -> list[Row]:
    """The org's outcomes in ``[start, end)``, optionally by ``category``/``outcome``/``reason`` and project."""
    sql = "SELECT * FROM outcomes WHERE org_id = ? AND timestamp >= ? AND timestamp < ?"
    args: list[Any] = [org_id, start, end]
    for name in ("category", "outcome", "reason"):
        values = filters.get(name) or []
        if values:
            sql += f" AND {name} IN ({','.join('?' * len(values))})"
            args += values
    if project_ids:
        sql += f" AND project_id IN ({','.join('?' * len(project_ids))})"
        args += project_ids
    return store.query(sql, args)
