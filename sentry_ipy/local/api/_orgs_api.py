"""API handlers for organisations, teams, projects and client keys."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..store._store import SLUG_RE
from ._plumbing import ApiError, Context, ctx, get_org, get_project, paginate, read_json_body, respond
from ._shapes import (
    key_shape,
    org_shape,
    project_detail_shape,
    project_shape,
    team_shape,
)

__all__ = ["key_list", "project_detail", "project_list", "routes"]

_SLUG_RULE = ("Enter a valid slug consisting of lowercase letters, numbers, underscores or hyphens."
              " It cannot be entirely numeric.")


def list_orgs(request: Request) -> JSONResponse:
    """``GET organizations/``: the single local organisation."""
    c = ctx(request)
    return paginate(request, [org_shape(o, c.url) for o in c.store.orgs()])


def get_organization(request: Request) -> JSONResponse:
    """``GET organizations/{o}/``."""
    return respond(org_shape(get_org(request), ctx(request).url))


def project_list(c: Context, org: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    """The org's projects by slug, shaped, those whose name or slug contains ``query`` (any case)."""
    query = query.strip().lower()
    projects = [
        p for p in c.store.projects(org["id"])
        if not query or query in p["slug"].lower() or query in p["name"].lower()
    ]
    return [project_shape(p, c.store) for p in projects]


def list_projects(request: Request) -> JSONResponse:
    """``GET organizations/{o}/projects/`` with ``query`` on name or slug."""
    c, org = ctx(request), get_org(request)
    return paginate(request, project_list(c, org, request.query_params.get("query") or ""))


def project_detail(c: Context, project: dict[str, Any]) -> dict[str, Any]:
    """A project shaped as Sentry's project details."""
    return project_detail_shape(project, c.store, c.url)


def get_project_detail(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/``."""
    return respond(project_detail(ctx(request), get_project(request)))


def list_teams(request: Request) -> JSONResponse:
    """``GET organizations/{o}/teams/``."""
    c, org = ctx(request), get_org(request)
    return paginate(request, [team_shape(t) for t in c.store.teams(org["id"])])


def create_team(request: Request) -> JSONResponse:
    """``POST organizations/{o}/teams/``: 201, 409 on a taken slug, 400 without slug or name."""
    c, org = ctx(request), get_org(request)
    body = read_json_body(request)
    name, slug = body.get("name"), body.get("slug")
    if (name is not None and not isinstance(name, str)) or (slug is not None and not isinstance(slug, str)):
        raise ApiError(400, {"detail": "name and slug must be strings."})
    if not name and not slug:
        raise ApiError(400, {"non_field_errors": ["A name or slug is required"]})
    slug = slug or _slugify(str(name))
    if not SLUG_RE.match(slug):
        raise ApiError(400, {"slug": [_SLUG_RULE]})
    if name is not None and len(name) > 64:
        raise ApiError(400, {"name": ["Ensure this field has no more than 64 characters."]})
    try:
        team = c.store.create_team(org["id"], slug, name or slug)
    except ValueError:
        raise ApiError(409, {"slug": ["A team with this slug already exists."]}) from None
    return respond(team_shape(team), status=201)


def _slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9_\-]+", "-", name.strip().lower()).strip("-")
    return slug[:50] or "project"


def create_project(request: Request) -> JSONResponse:
    """``POST teams/{o}/{t}/projects/``: 201, 409 on a taken slug, 400 on bad input."""
    c, org = ctx(request), get_org(request)
    team = c.store.team(org["id"], request.path_params["team"])
    if team is None:
        raise ApiError(404, "Team does not exist.")
    body = read_json_body(request)
    fields = _project_fields(body, creating=True)
    try:
        project = c.store.create_project(org["id"], team["id"], fields["name"], fields["slug"], fields["platform"])
    except ValueError as exc:
        raise ApiError(409, str(exc)) from None
    return respond(project_shape(project, c.store), status=201)


def _project_fields(body: dict[str, Any], creating: bool) -> dict[str, Any]:
    """Validate ``name``, ``slug`` and ``platform`` of a project body (all optional when updating).

    Raises:
        ApiError: 400 with one list of messages per bad field.
    """
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    name = body.get("name")
    if name is not None or creating:
        if not isinstance(name, str) or not name.strip():
            errors["name"] = ["This field is required."]
        elif len(name) > 50:
            errors["name"] = ["Ensure this field has no more than 50 characters."]
        else:
            out["name"] = name.strip()
    slug = body.get("slug")
    if creating and (slug is None or slug == ""):
        slug = _slugify(name) if isinstance(name, str) else ""
    if slug is not None:
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            errors["slug"] = [_SLUG_RULE]
        else:
            out["slug"] = slug
    platform = body.get("platform")
    if platform is not None and (not isinstance(platform, str) or not re.fullmatch(r"[a-z0-9\-]*", platform)):
        errors["platform"] = ["Invalid platform"]
    elif "platform" in body or creating:
        out["platform"] = platform or None
    if errors:
        raise ApiError(400, errors)
    return out


def update_project(request: Request) -> JSONResponse:
    """``PUT projects/{o}/{p}/``: rename, change slug or platform; 409 on a taken slug."""
    c = ctx(request)
    project = get_project(request)
    changes = _project_fields(read_json_body(request), creating=False)
    try:
        updated = c.store.update_project(int(project["id"]), changes)
    except ValueError as exc:
        raise ApiError(409, str(exc)) from None
    return respond(project_detail_shape(updated, c.store, c.url))


def list_project_teams(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/teams/``: the team that owns the project."""
    c, org = ctx(request), get_org(request)
    project = get_project(request, org)
    team = c.store.team(org["id"], project["team_id"]) if project["team_id"] is not None else None
    return paginate(request, [] if team is None else [team_shape(team)])


def key_list(c: Context, project: dict[str, Any], status: str | None = None) -> list[dict[str, Any]]:
    """The project's client keys, shaped with their DSNs; ``status`` ``active``/``inactive`` filters."""
    keys = c.store.keys(project["id"])
    if status == "active":
        keys = [k for k in keys if k["is_active"]]
    elif status == "inactive":
        keys = [k for k in keys if not k["is_active"]]
    return [key_shape(k, c.url) for k in keys]


def list_keys(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/keys/`` (``status=active|inactive``)."""
    c, project = ctx(request), get_project(request)
    return paginate(request, key_list(c, project, request.query_params.get("status")))


def create_key(request: Request) -> JSONResponse:
    """``POST projects/{o}/{p}/keys/`` with an optional ``name``."""
    c, project = ctx(request), get_project(request)
    body = read_json_body(request)
    name = body.get("name") or "Default"
    if not isinstance(name, str) or len(name) > 64:
        raise ApiError(400, {"name": ["Ensure this field has no more than 64 characters."]})
    return respond(key_shape(c.store.create_key(project["id"], name), c.url), status=201)


routes = [
    Route("/organizations/", list_orgs, methods=["GET"]),
    Route("/organizations/{org}/", get_organization, methods=["GET"]),
    Route("/organizations/{org}/projects/", list_projects, methods=["GET"]),
    Route("/organizations/{org}/teams/", list_teams, methods=["GET"]),
    Route("/organizations/{org}/teams/", create_team, methods=["POST"]),
    Route("/teams/{org}/{team}/projects/", create_project, methods=["POST"]),
    Route("/projects/{org}/{project}/", get_project_detail, methods=["GET"]),
    Route("/projects/{org}/{project}/", update_project, methods=["PUT"]),
    Route("/projects/{org}/{project}/teams/", list_project_teams, methods=["GET"]),
    Route("/projects/{org}/{project}/keys/", list_keys, methods=["GET"]),
    Route("/projects/{org}/{project}/keys/", create_key, methods=["POST"]),
]
