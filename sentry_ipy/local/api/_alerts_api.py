"""Alert handlers: workflows + detectors (current) and project rules (legacy).

``workflow_routes`` are mounted only when the server runs with
``workflows=True``; without them the server looks like an older self-hosted
Sentry, and clients must fall back to ``projects/{o}/{p}/rules/``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._clock import iso, now
from ..search._query import parse_query
from ..store import _alert_records as alert_records
from ._plumbing import (
    ApiError,
    Context,
    ctx,
    get_org,
    get_project,
    paginate,
    project_filter,
    read_json_body,
    respond,
)

__all__ = ["legacy_routes", "workflow_list", "workflow_routes"]


def _pick(body: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in body:
            return body[name]
    return default


def _detector_shape(row: dict[str, Any], workflow_ids: list[str]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "projectId": str(row["project_id"]),
        "name": row["name"],
        "type": row["type"],
        "workflowIds": workflow_ids,
        "dateCreated": iso(row["date_created"]),
        "dateUpdated": iso(row["date_created"]),
        "dataSources": [],
        "conditionGroup": None,
        "config": {},
        "enabled": True,
        "owner": None,
        "createdBy": None,
        "latestGroup": None,
        "description": None,
    }


def list_detectors(request: Request) -> JSONResponse:
    """``GET organizations/{o}/detectors/`` (``project=``, ``query=type:...``)."""
    c, org = ctx(request), get_org(request)
    pids = [p["id"] for p in project_filter(request, org)]
    rows = [r for r in alert_records.detectors(c.store, org["id"]) if r["project_id"] in pids]
    for term in parse_query(request.query_params.get("query")):
        if term.key == "type":
            rows = [r for r in rows if (r["type"] in term.values) != term.negate]
        elif term.key is None:
            rows = [r for r in rows if term.value.lower() in r["name"].lower()]
    workflows = alert_records.workflows(c.store, org["id"])
    return paginate(
        request,
        [_detector_shape(r, [w["id"] for w in workflows if str(r["id"]) in w["detectorIds"]]) for r in rows],
    )


def _conditions(raw: Any, where: str) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(c, dict) and c.get("type") for c in raw):
        raise ApiError(400, {where: ["Each condition must be an object with a type."]})
    return [
        {"id": str(i + 1), "type": c["type"], "comparison": c.get("comparison", True),
         "conditionResult": _pick(c, "conditionResult", "condition_result", default=True)}
        for i, c in enumerate(raw)
    ]


def create_workflow(request: Request) -> JSONResponse:
    """``POST organizations/{o}/workflows/``: validate and store an alert workflow."""
    c, org = ctx(request), get_org(request)
    body = read_json_body(request)
    errors: dict[str, list[str]] = {}
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = ["This field is required."]
    triggers = body.get("triggers") or {}
    if not isinstance(triggers, dict):
        errors["triggers"] = ["Expected an object."]
        triggers = {}
    logic = _pick(triggers, "logicType", "logic_type", default="any-short")
    if logic not in ("any", "all", "none", "any-short", "all-short"):
        errors["triggers"] = [f"Invalid logic type {logic!r}."]
    config = body.get("config") or {}
    freq = config.get("frequency", 30) if isinstance(config, dict) else None
    if not isinstance(freq, int) or isinstance(freq, bool) or not 0 <= freq <= 43200:
        errors["config"] = ["frequency must be an integer number of minutes (0-43200)."]
    detector_ids = _pick(body, "detectorIds", "detector_ids", default=[])
    if not isinstance(detector_ids, list) or not all(str(d).isdigit() for d in detector_ids):
        errors["detectorIds"] = ["Expected a list of detector IDs."]
        detector_ids = []
    known = {str(r["id"]) for r in alert_records.detectors(c.store, org["id"])}
    if any(str(d) not in known for d in detector_ids):
        errors["detectorIds"] = ["One or more detectors do not exist."]
    filters = _pick(body, "actionFilters", "action_filters", default=[])
    if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
        errors["actionFilters"] = ["Expected a list of action filters."]
        filters = []
    if errors:
        raise ApiError(400, errors)
    trigger_conditions = _conditions(triggers.get("conditions"), "triggers")
    action_filters = []
    for i, f in enumerate(filters):
        actions = f.get("actions") or []
        if not isinstance(actions, list) or not all(isinstance(a, dict) and a.get("type") for a in actions):
            raise ApiError(400, {"actionFilters": ["Each action must be an object with a type."]})
        action_filters.append({
            "id": str(i + 1), "organizationId": str(org["id"]),
            "logicType": _pick(f, "logicType", "logic_type", default="any"),
            "conditions": _conditions(f.get("conditions"), "actionFilters"),
            "actions": [{"id": str(j + 1), "type": a["type"], "integrationId": a.get("integrationId"),
                         "data": a.get("data") or {}, "config": a.get("config") or {}, "status": "active"}
                        for j, a in enumerate(actions)],
        })
    ts = now()

    def body_of(wid: int) -> dict[str, Any]:
        return {
            "id": str(wid), "name": name.strip() if isinstance(name, str) else "",
            "organizationId": str(org["id"]), "createdBy": None,
            "dateCreated": iso(ts), "dateUpdated": iso(ts),
            "triggers": {"id": str(wid), "organizationId": str(org["id"]), "logicType": logic,
                         "conditions": trigger_conditions, "actions": []},
            "actionFilters": action_filters, "environment": body.get("environment"),
            "config": {"frequency": freq}, "detectorIds": [str(d) for d in detector_ids],
            "enabled": bool(body.get("enabled", True)), "lastTriggered": None, "owner": body.get("owner"),
        }

    return respond(alert_records.add_workflow(c.store, org["id"], ts, body_of), status=201)


def workflow_list(c: Context, org: dict[str, Any], project_ids: set[int] | None = None,
                  query: str = "") -> list[dict[str, Any]]:
    """The org's workflows, oldest first: those with a detector in ``project_ids`` (None: all), name containing ``query``."""
    items = alert_records.workflows(c.store, org["id"])
    if project_ids is not None:
        det = {str(r["id"]) for r in alert_records.detectors(c.store, org["id"]) if r["project_id"] in project_ids}
        items = [w for w in items if set(w["detectorIds"]) & det]
    query = query.lower()
    if query:
        items = [w for w in items if query in w["name"].lower()]
    return items


def list_workflows(request: Request) -> JSONResponse:
    """``GET organizations/{o}/workflows/`` (``project=``/``projectSlug`` filter, ``query`` on name)."""
    c, org = ctx(request), get_org(request)
    slugs = request.query_params.getlist("projectSlug")
    pids: set[int] | None = None
    if request.query_params.getlist("project") or slugs:
        pids = {p["id"] for p in project_filter(request, org)} if request.query_params.getlist("project") else set()
        pids |= {p["id"] for s in slugs if (p := c.store.project(org["id"], s))}
    return paginate(request, workflow_list(c, org, pids, request.query_params.get("query") or ""))


def _rule_errors(body: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        errors["name"] = ["This field is required."]
    freq = body.get("frequency")
    if not isinstance(freq, int) or isinstance(freq, bool) or not 5 <= freq <= 43200:
        errors["frequency"] = ["Ensure this value is between 5 and 43200 minutes."]
    if body.get("actionMatch") not in ("all", "any", "none"):
        errors["actionMatch"] = ["Must be one of all, any or none."]
    if body.get("filterMatch") not in (None, "all", "any", "none"):
        errors["filterMatch"] = ["Must be one of all, any or none."]
    for field, need in (("conditions", False), ("actions", True)):
        value = body.get(field)
        if not isinstance(value, list) or not all(isinstance(v, dict) and v.get("id") for v in value):
            errors[field] = ["This field is required." if value is None else "Each item needs an id."]
        elif need and not value:
            errors[field] = ["You must add an action for this alert to fire."]
    return errors


def create_rule(request: Request) -> JSONResponse:
    """``POST projects/{o}/{p}/rules/``: the legacy issue alert."""
    c, project = ctx(request), get_project(request)
    body = read_json_body(request)
    errors = _rule_errors(body)
    if errors:
        raise ApiError(400, errors)
    ts = now()

    def body_of(rid: int) -> dict[str, Any]:
        return {
            "id": str(rid), "name": body["name"].strip(), "conditions": body["conditions"],
            "filters": body.get("filters") or [], "actions": body["actions"],
            "actionMatch": body["actionMatch"], "filterMatch": body.get("filterMatch") or "all",
            "frequency": body["frequency"], "environment": body.get("environment"),
            "owner": body.get("owner"), "dateCreated": iso(ts), "projects": [project["slug"]],
            "status": "active", "snooze": False, "createdBy": None, "lastTriggered": None,
        }

    return respond(alert_records.add_rule(c.store, project["id"], ts, body_of), status=201)


def list_rules(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/rules/``."""
    c, project = ctx(request), get_project(request)
    return paginate(request, alert_records.rules(c.store, project["id"]))


workflow_routes = [
    Route("/organizations/{org}/workflows/", list_workflows, methods=["GET"]),
    Route("/organizations/{org}/workflows/", create_workflow, methods=["POST"]),
    Route("/organizations/{org}/detectors/", list_detectors, methods=["GET"]),
]
legacy_routes = [
    Route("/projects/{org}/{project}/rules/", list_rules, methods=["GET"]),
    Route("/projects/{org}/{project}/rules/", create_rule, methods=["POST"]),
]
