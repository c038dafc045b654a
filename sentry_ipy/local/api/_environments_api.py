"""Environments, as Sentry lists them: every name an event or session of the projects carried."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..store._lookups import environments
from ._plumbing import ApiError, ctx, get_org, get_project, respond

__all__ = ["routes"]

_VISIBILITY = ("visible", "hidden", "all")


def _visibility(request: Request) -> str:
    value = request.query_params.get("visibility") or "visible"
    if value not in _VISIBILITY:
        raise ApiError(400, {"detail": "Invalid value for 'visibility', valid values are: 'all', 'hidden', 'visible'"})
    return value


def org_environments(request: Request) -> JSONResponse:
    """``GET organizations/{o}/environments/``: ``[{id, name}]`` (none are hidden here)."""
    c, org = ctx(request), get_org(request)
    if _visibility(request) == "hidden":
        return respond([])
    rows = environments(c.store, [int(p["id"]) for p in c.store.projects(org["id"])])
    return respond([{"id": str(r["id"]), "name": r["name"]} for r in rows])


def project_environments(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/environments/``: ``[{id, name, isHidden}]``."""
    c, project = ctx(request), get_project(request)
    if _visibility(request) == "hidden":
        return respond([])
    rows = environments(c.store, [int(project["id"])])
    return respond([{"id": str(r["id"]), "name": r["name"], "isHidden": False} for r in rows])


routes = [
    Route("/organizations/{org}/environments/", org_environments, methods=["GET"]),
    Route("/projects/{org}/{project}/environments/", project_environments, methods=["GET"]),
]
