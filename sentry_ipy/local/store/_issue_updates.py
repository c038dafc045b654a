"""Triage writes: what ``PUT …/issues/`` changes on an issue, with Sentry's meaning.

Status, its details (in which release, until when or how many events), the
assignee, priority, bookmark and seen flags. Status lives on ``issues``; the
rest in ``issue_triage`` (one row per issue that was ever triaged), so ingest's
hot path never touches it. Each change writes one ``issue_activity`` row like
Sentry's activity log (``set_resolved``, ``assigned``...). Bad input raises
:class:`UpdateError` with Sentry's field-keyed message; nothing is written then.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._clock import iso, now
from ._store import Store

__all__ = ["LOCAL_USER", "Plan", "UpdateError", "apply_update", "assignee_shape", "plan_update", "triage_fields", "triage_of"]

#: The local backend's one user (whoever holds the token); issues are assigned to it.
LOCAL_USER = {"id": "1", "name": "Local user", "username": "local", "email": "local@localhost"}
_PRIORITIES = ("low", "medium", "high")
_ARCHIVED = ("archived_until_escalating", "archived_forever", "archived_until_condition_met")
_CONDITIONS = ("ignoreDuration", "ignoreCount", "ignoreWindow", "ignoreUserCount", "ignoreUserWindow")


class UpdateError(ValueError):
    """A body Sentry would answer with 400; ``detail`` is its field-keyed message."""

    def __init__(self, detail: dict[str, Any]) -> None:
        super().__init__(json.dumps(detail))
        self.detail = detail


@dataclass
class Plan:
    """A validated update: issue columns, triage columns, activity and the echoed answer."""

    issue: dict[str, Any] = field(default_factory=dict)
    triage: dict[str, Any] = field(default_factory=dict)
    activity: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=dict)


def _minutes(details: dict[str, Any], key: str) -> int | None:
    value = details.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UpdateError({key: ["Ensure this value is a positive whole number."]})
    return value


def _status(plan: Plan, store: Store, org_id: int, body: dict[str, Any]) -> None:
    status = body["status"]
    details = body.get("statusDetails") or {}
    if not isinstance(details, dict):
        raise UpdateError({"statusDetails": ["Expected an object."]})
    # sentry-mcp sends the ignore conditions at the top level; Sentry reads both
    details = {**{k: body[k] for k in _CONDITIONS if k in body}, **details}
    shown: dict[str, Any] = {}
    if status == "resolvedInNextRelease" or (status == "resolved" and details.get("inNextRelease")):
        plan.issue = {"status": "resolved", "substatus": None, "resolved_at": now()}
        shown = {"inNextRelease": True}
    elif status == "resolved":
        plan.issue = {"status": "resolved", "substatus": None, "resolved_at": now()}
        version = details.get("inRelease")
        if version is not None:
            if not isinstance(version, str) or store.release(org_id, version) is None:
                raise UpdateError({"statusDetails": {"inRelease": [f"Unable to find a release {version!r}."]}})
            shown = {"inRelease": version}
    elif status == "unresolved":
        plan.issue = {"status": "unresolved", "substatus": "ongoing", "resolved_at": None}
    elif status in ("ignored", "muted"):
        substatus = body.get("substatus")
        if substatus is not None and substatus not in _ARCHIVED:
            raise UpdateError({"substatus": [f'"{substatus}" is not a valid choice.']})
        duration = _minutes(details, "ignoreDuration")
        count, users = _minutes(details, "ignoreCount"), _minutes(details, "ignoreUserCount")
        window, user_window = _minutes(details, "ignoreWindow"), _minutes(details, "ignoreUserWindow")
        if duration:
            shown["ignoreUntil"] = iso(now() + duration * 60)
        if count:
            shown |= {"ignoreCount": count, "ignoreWindow": window}
        if users:
            shown |= {"ignoreUserCount": users, "ignoreUserWindow": user_window}
        if substatus is None:
            substatus = "archived_until_condition_met" if shown else (
                "archived_until_escalating" if details.get("ignoreUntilEscalating", True) else "archived_forever")
        plan.issue = {"status": "ignored", "substatus": substatus, "resolved_at": None}
    else:
        raise UpdateError({"status": [f'"{status}" is not a valid choice.']})
    plan.triage["status_details"] = json.dumps(shown)
    kind = {"resolved": "set_resolved", "unresolved": "set_unresolved", "ignored": "set_ignored"}
    activity = kind[plan.issue["status"]]
    if shown.get("inNextRelease"):
        activity = "set_resolved_in_next_release"
    elif shown.get("inRelease"):
        activity = "set_resolved_in_release"
    plan.activity.append((activity, shown))
    plan.answer |= {"status": plan.issue["status"], "substatus": plan.issue["substatus"],
                    "statusDetails": shown, "inbox": None}


def _assignee(store: Store, org_id: int, value: Any) -> tuple[str | None, dict[str, Any] | None]:
    """``assignedTo`` as stored (``user:1``/``team:ID``) and as Sentry shows it."""
    if value in (None, ""):
        return None, None
    if not isinstance(value, str):
        raise UpdateError({"assignedTo": ["Unknown actor input"]})
    kind, _, ident = value.partition(":")
    if kind == "team" and ident:
        team = store.team(org_id, ident)
        if team is not None:
            return f"team:{team['id']}", {"type": "team", "id": str(team["id"]), "name": team["slug"]}
    elif (kind == "user" and ident == LOCAL_USER["id"]) or value in (LOCAL_USER["username"], LOCAL_USER["email"]):
        return "user:1", assignee_shape(store, "user:1")
    raise UpdateError({"assignedTo": ["Unknown actor input"]})


def assignee_shape(store: Store, stored: str | None) -> dict[str, Any] | None:
    """Sentry's ``assignedTo`` object for a stored ``user:ID``/``team:ID`` (None if unassigned or gone)."""
    return _assignee_ref(stored, lambda team_id: store.one("SELECT * FROM teams WHERE id = ?", (team_id,)))


def _assignee_ref(stored: str | None, team: Callable[[int], dict[str, Any] | None]) -> dict[str, Any] | None:
    """:func:`assignee_shape` with the team looked up by ``team`` (one query, or a page's batch)."""
    if not stored:
        return None
    kind, _, ident = stored.partition(":")
    if kind == "user":
        return {"type": "user", "id": LOCAL_USER["id"], "name": LOCAL_USER["name"], "email": LOCAL_USER["email"]}
    found = team(int(ident))
    return None if found is None else {"type": "team", "id": str(found["id"]), "name": found["slug"]}


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body[key]
    if not isinstance(value, bool):
        raise UpdateError({key: ["Must be a valid boolean."]})
    return value


def plan_update(store: Store, org_id: int, body: dict[str, Any]) -> Plan:
    """Check an update body and say what it writes; raises :class:`UpdateError` on bad input."""
    plan = Plan()
    if body.get("status") is not None:
        _status(plan, store, org_id, body)
    if "assignedTo" in body:
        stored, shown = _assignee(store, org_id, body["assignedTo"])
        plan.triage["assigned_to"] = stored
        plan.activity.append(("assigned" if stored else "unassigned", {"assignee": stored}))
        plan.answer["assignedTo"] = shown
    if "priority" in body:
        if body["priority"] not in _PRIORITIES:
            raise UpdateError({"priority": [f'"{body["priority"]}" is not a valid choice.']})
        plan.triage["priority"] = body["priority"]
        plan.activity.append(("set_priority", {"priority": body["priority"]}))
        plan.answer["priority"] = body["priority"]
    for key, column in (("isBookmarked", "is_bookmarked"), ("hasSeen", "has_seen")):
        if key in body:
            plan.triage[column] = int(_flag(body, key))
            plan.answer[key] = bool(plan.triage[column])
    return plan


def apply_update(store: Store, issue_ids: list[int], plan: Plan) -> None:
    """Write a :func:`plan_update` plan to every issue of ``issue_ids`` in one transaction."""
    with store.tx():
        for issue_id in issue_ids:
            if plan.issue:
                sets = ", ".join(f"{k} = ?" for k in plan.issue)
                store.execute(f"UPDATE issues SET {sets} WHERE id = ?", [*plan.issue.values(), issue_id])
            if plan.triage:
                store.execute("INSERT OR IGNORE INTO issue_triage (issue_id) VALUES (?)", (issue_id,))
                sets = ", ".join(f"{k} = ?" for k in plan.triage)
                store.execute(f"UPDATE issue_triage SET {sets} WHERE issue_id = ?", [*plan.triage.values(), issue_id])
            for kind, data in plan.activity:
                store.execute("INSERT INTO issue_activity (issue_id, type, data, date_created) VALUES (?, ?, ?, ?)",
                              (issue_id, kind, json.dumps(data), now()))


def triage_fields(store: Store, issue: dict[str, Any]) -> dict[str, Any]:
    """The issue shape's triage fields from ``issue_triage`` (Sentry's defaults when never triaged)."""
    return triage_of(store, [int(issue["id"])])[int(issue["id"])]


def triage_of(store: Store, issue_ids: list[int]) -> dict[int, dict[str, Any]]:
    """:func:`triage_fields` of several issues, from one query (and one for the teams they are assigned to)."""
    rows: dict[int, dict[str, Any]] = {}
    if issue_ids:
        marks = ",".join("?" * len(issue_ids))
        rows = {int(r["issue_id"]): r
                for r in store.query(f"SELECT * FROM issue_triage WHERE issue_id IN ({marks})", issue_ids)}
    assigned = [r["assigned_to"].partition(":") for r in rows.values() if r.get("assigned_to")]
    team_ids = sorted({int(ident) for kind, _, ident in assigned if kind != "user"})
    teams: dict[int, dict[str, Any]] = {}
    if team_ids:
        marks = ",".join("?" * len(team_ids))
        teams = {int(t["id"]): t for t in store.query(f"SELECT * FROM teams WHERE id IN ({marks})", team_ids)}
    return {issue_id: _triage(rows.get(issue_id) or _UNTRIAGED, teams) for issue_id in issue_ids}


_UNTRIAGED: dict[str, Any] = {}


def _triage(row: dict[str, Any], teams: dict[int, dict[str, Any]]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "statusDetails": json.loads(row["status_details"]) if row.get("status_details") else {},
        "assignedTo": _assignee_ref(row.get("assigned_to"), teams.get),
        "isBookmarked": bool(row.get("is_bookmarked")),
        "hasSeen": bool(row.get("has_seen")),
    }
    if row.get("priority"):
        fields["priority"] = row["priority"]
    return fields
