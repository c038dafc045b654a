"""Issue lists by project and bulk changes: ``…/issues/`` with ``GET``, ``PUT`` and ``DELETE``.

``projects/{o}/{p}/issues/`` is deprecated in Sentry but still routed, and it
is what sentry-cli's ``issues list/resolve/unresolve/mute`` call. A bulk
``PUT``/``DELETE`` acts on the issues named by repeated ``id=`` parameters, or,
without any, on those matching ``query`` (or ``status=``; ``is:unresolved``
when neither is given), at most 1000 as in Sentry. It answers ``204`` when
nothing matched, else the attributes it changed. As in Sentry, a ``PUT`` whose
``id=`` list names an issue outside the selected projects changes nothing and
still answers 200 with the changes (clients must read back), and without
``id=`` it must change the status.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..store import _issue_records as records
from ..store._store import as_db_id
from ..store._issue_updates import apply_update
from ._issues_api import issue_list, issue_terms, matching_issue_ids, update_plan
from ._plumbing import ApiError, ctx, get_org, get_project, read_json_body, project_filter, respond

__all__ = ["routes"]

BULK_LIMIT = 1000
_STATUS_QUERY = {"resolved": "is:resolved", "unresolved": "is:unresolved", "muted": "is:ignored",
                 "ignored": "is:ignored"}


def _projects(request: Request) -> list[dict[str, Any]]:
    if "project" in request.path_params:
        return [get_project(request)]
    return project_filter(request, get_org(request))


def _selected(request: Request, projects: list[dict[str, Any]]) -> list[int]:
    """IDs of the issues a bulk call acts on."""
    c = ctx(request)
    raw_ids = request.query_params.getlist("id")
    if raw_ids:
        ids = [as_db_id(i) for i in raw_ids]
        if any(i is None for i in ids):
            raise ApiError(400, {"detail": "Invalid id: each id must be an issue ID (a number)."})
        rows = records.issues_by_id(c.store, [int(p["id"]) for p in projects], [int(i) for i in ids if i])
        return [int(r["id"]) for r in rows]
    query = request.query_params.get("query")
    status = request.query_params.get("status")
    if query is None and status:
        if status not in _STATUS_QUERY:
            raise ApiError(400, {"status": [f'"{status}" is not a valid choice.']})
        query = _STATUS_QUERY[status]
    terms = issue_terms(query, [e for e in request.query_params.getlist("environment") if e])
    return matching_issue_ids(c, {p["id"]: p for p in projects}, terms, BULK_LIMIT)


def list_project_issues(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/issues/``: the org issue search within one project."""
    org = get_org(request)
    return issue_list(request, org, [get_project(request, org)])


def bulk_update(request: Request) -> Response:
    """``PUT …/issues/``: status, assignee, priority, bookmark or seen of the selected issues."""
    c, org = ctx(request), get_org(request)
    body = read_json_body(request)
    named = {i for i in request.query_params.getlist("id")}
    if not named and body.get("status") is None:
        raise ApiError(400, {"detail": "Without id=, a bulk update must change the status."})
    if len(named) > BULK_LIMIT:
        raise ApiError(400, {"detail": f"Give at most {BULK_LIMIT} issue IDs as id=."})
    ids = _selected(request, _projects(request))
    if not ids:
        return Response(status_code=204)
    plan = update_plan(c, org, body)
    if len(ids) == len({as_db_id(i) for i in named}) or not named:
        apply_update(c.store, ids, plan)
    return respond(plan.answer)


def bulk_delete(request: Request) -> Response:
    """``DELETE …/issues/``: remove the selected issues and their events (204)."""
    records.delete_issues(ctx(request).store, _selected(request, _projects(request)))
    return Response(status_code=204)


routes = [
    Route("/projects/{org}/{project}/issues/", list_project_issues, methods=["GET"]),
    Route("/projects/{org}/{project}/issues/", bulk_update, methods=["PUT"]),
    Route("/projects/{org}/{project}/issues/", bulk_delete, methods=["DELETE"]),
    Route("/organizations/{org}/issues/", bulk_update, methods=["PUT"]),
    Route("/organizations/{org}/issues/", bulk_delete, methods=["DELETE"]),
]
