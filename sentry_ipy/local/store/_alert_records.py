"""Alert rows: workflows and detectors (current API) and legacy project rules.

A workflow or rule is stored as the JSON body the API answered with, which
carries its own row ID; :func:`add_workflow` and :func:`add_rule` insert the
row and write the body in one transaction, so no reader sees a body without
its ID.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ._store import Store

__all__ = ["add_rule", "add_workflow", "detectors", "rules", "workflows"]

Row = dict[str, Any]
#: Builds the stored body of a new row from the ID it was given.
BodyOf = Callable[[int], dict[str, Any]]


def workflows(store: Store, org_id: int) -> list[dict[str, Any]]:
    """The org's workflows as stored, oldest first."""
    return [json.loads(r["body"]) for r in store.query("SELECT body FROM workflows WHERE org_id = ? ORDER BY id",
                                                       (org_id,))]


def detectors(store: Store, org_id: int) -> list[Row]:
    """The org's detector rows, oldest first."""
    return store.query("SELECT * FROM detectors WHERE org_id = ? ORDER BY id", (org_id,))


def rules(store: Store, project_id: int) -> list[dict[str, Any]]:
    """The project's legacy issue alert rules as stored, oldest first."""
    return [json.loads(r["body"]) for r in store.query("SELECT body FROM rules WHERE project_id = ? ORDER BY id",
                                                       (project_id,))]


def add_workflow(store: Store, org_id: int, created: float, body_of: BodyOf) -> dict[str, Any]:
    """Store a new workflow of the org; ``body_of(id)`` gives its body."""
    with store.tx():
        wid = store.execute("INSERT INTO workflows (org_id, body, date_created) VALUES (?, '{}', ?)", (org_id, created))
        body = body_of(wid)
        store.execute("UPDATE workflows SET body = ? WHERE id = ?", (json.dumps(body), wid))
    return body


def add_rule(store: Store, project_id: int, created: float, body_of: BodyOf) -> dict[str, Any]:
    """Store a new legacy rule of the project; ``body_of(id)`` gives its body."""
    with store.tx():
        rid = store.execute("INSERT INTO rules (project_id, body, date_created) VALUES (?, '{}', ?)",
                            (project_id, created))
        body = body_of(rid)
        store.execute("UPDATE rules SET body = ? WHERE id = ?", (json.dumps(body), rid))
    return body
