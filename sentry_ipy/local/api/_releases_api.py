"""API handlers for releases (org-wide and per project)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._clock import parse_timestamp
from ..ingest._normalize import is_web_url, release_error
from ._plumbing import (
    NOT_FOUND,
    ApiError,
    ctx,
    get_org,
    get_project,
    paginate,
    read_json_body,
    respond,
)
from ._shapes import release_shape

__all__ = ["routes", "url_error", "version_error"]


def version_error(version: Any) -> str | None:
    """Explain why a release version is invalid (sentry-cli's rules), or None."""
    if not isinstance(version, str):
        return "This field is required."
    return release_error(version)


def url_error(value: Any) -> str | None:
    """Explain why a release ``url`` is refused, or None (empty means none).

    Sentry reads it with a ``URLField``; only ``http(s)://`` addresses with a
    host are taken here, since the web UI turns the URL into a link.
    """
    if value is None or value == "":
        return None
    return None if is_web_url(value) else "Enter a valid URL."


def _listing(request: Request, project_ids: list[int] | None) -> JSONResponse:
    c, org = ctx(request), get_org(request)
    rows = c.store.query(
        "SELECT * FROM releases WHERE org_id = ? ORDER BY date_created DESC, id DESC", (org["id"],)
    )
    query = (request.query_params.get("query") or "").lower()
    if query:
        rows = [r for r in rows if query in r["version"].lower()]
    if project_ids is not None:
        linked = {
            r["release_id"]
            for r in c.store.query(
                f"SELECT release_id FROM release_projects WHERE project_id IN ({','.join('?' * len(project_ids))})",
                project_ids,
            )
        }
        rows = [r for r in rows if r["id"] in linked]
    return paginate(request, [release_shape(r, c.store) for r in rows])


def list_org_releases(request: Request) -> JSONResponse:
    """``GET organizations/{o}/releases/`` (``project=`` IDs, ``query`` substring)."""
    org = get_org(request)
    wanted = [p for p in request.query_params.getlist("project") if p not in ("", "-1")]
    ids = None
    if wanted:
        ids = []
        for ident in wanted:
            project = ctx(request).store.project(org["id"], ident)
            if project is None:
                raise ApiError(404, NOT_FOUND)
            ids.append(int(project["id"]))
    return _listing(request, ids)


def list_project_releases(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/releases/``."""
    return _listing(request, [int(get_project(request)["id"])])


def create_release(request: Request) -> JSONResponse:
    """``POST organizations/{o}/releases/``: 201 new, 208 existing (projects added)."""
    c, org = ctx(request), get_org(request)
    body = read_json_body(request)
    errors: dict[str, list[str]] = {}
    version = body.get("version")
    problem = version_error(version)
    if problem:
        errors["version"] = [problem]
    slugs = body.get("projects")
    if not isinstance(slugs, list) or not slugs or not all(isinstance(s, (str, int)) for s in slugs):
        errors["projects"] = ["This field is required."]
        slugs = []
    bad_url = url_error(body.get("url"))
    if bad_url:
        errors["url"] = [bad_url]
    if errors:
        raise ApiError(400, errors)
    project_ids = []
    for slug in slugs:
        project = c.store.project(org["id"], slug)
        if project is None:
            raise ApiError(400, {"projects": [f"Invalid project ids or slugs: {slug}"]})
        project_ids.append(int(project["id"]))
    released = parse_timestamp(body.get("dateReleased")) if body.get("dateReleased") else None
    release, created = c.store.ensure_release(
        org["id"], str(version), project_ids, ref=body.get("ref"), url=body.get("url") or None, date_released=released
    )
    return respond(release_shape(release, c.store), status=201 if created else 208)


def get_release(request: Request) -> JSONResponse:
    """``GET organizations/{o}/releases/{version}/``."""
    c, org = ctx(request), get_org(request)
    # Starlette has already percent-decoded the path: decoding again would turn
    # the version ``rel%41`` (sent as ``rel%2541``) into ``relA``.
    release = c.store.release(org["id"], request.path_params["version"])
    if release is None:
        raise ApiError(404, NOT_FOUND)
    return respond(release_shape(release, c.store))


routes = [
    Route("/organizations/{org}/releases/", list_org_releases, methods=["GET"]),
    Route("/organizations/{org}/releases/", create_release, methods=["POST"]),
    Route("/organizations/{org}/releases/{version:path}/", get_release, methods=["GET"]),
    Route("/projects/{org}/{project}/releases/", list_project_releases, methods=["GET"]),
]
