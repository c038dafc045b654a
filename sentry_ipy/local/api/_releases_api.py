"""API handlers for releases (org-wide and per project)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._clock import parse_timestamp
from ..ingest._normalize import is_web_url, release_error
from ..store import _release_records as records
from ..store._keyset import FIRST, Cursor, Page, keyset_page
from ._plumbing import (
    NOT_FOUND,
    ApiError,
    Context,
    ctx,
    cursor_param,
    get_org,
    get_project,
    int_param,
    read_json_body,
    respond,
    respond_page,
)
from ._shapes import release_shape, release_shapes

__all__ = ["release_detail", "release_page", "release_projects", "routes", "url_error", "version_error"]


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


def release_page(c: Context, org: dict[str, Any], project_ids: list[int] | None = None, query: str = "", *,
                 cursor: Cursor = FIRST, size: int = 100) -> Page:
    """One keyset page of the org's releases, newest first, shaped (``project_ids`` None: every project)."""
    with c.store.snapshot():
        page = keyset_page(records.release_rows(c.store, org["id"], project_ids, query), cursor, size)
        return replace(page, rows=release_shapes(page.rows, c.store))


def release_projects(c: Context, org: dict[str, Any], wanted: list[str]) -> list[int] | None:
    """The project IDs that repeatable ``project=`` values (IDs or slugs) name; None for all; 404 if unknown."""
    wanted = [p for p in wanted if p not in ("", "-1")]
    if not wanted:
        return None
    ids = []
    for ident in wanted:
        project = c.store.project(org["id"], ident)
        if project is None:
            raise ApiError(404, NOT_FOUND)
        ids.append(int(project["id"]))
    return ids


def _listing(request: Request, org: dict[str, Any], project_ids: list[int] | None) -> JSONResponse:
    page = release_page(ctx(request), org, project_ids, (request.query_params.get("query") or "").lower(),
                        cursor=cursor_param(request), size=int_param(request, "per_page", 100))
    return respond_page(request, page, page.rows)


def list_org_releases(request: Request) -> JSONResponse:
    """``GET organizations/{o}/releases/`` (``project=`` IDs, ``query`` substring)."""
    org = get_org(request)
    return _listing(request, org, release_projects(ctx(request), org, request.query_params.getlist("project")))


def list_project_releases(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/releases/``."""
    org = get_org(request)
    return _listing(request, org, [int(get_project(request, org)["id"])])


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


def release_detail(c: Context, org: dict[str, Any], version: str) -> dict[str, Any]:
    """The org's release ``version`` (already percent-decoded), shaped; 404 otherwise."""
    release = c.store.release(org["id"], version)
    if release is None:
        raise ApiError(404, NOT_FOUND)
    return release_shape(release, c.store)


def get_release(request: Request) -> JSONResponse:
    """``GET organizations/{o}/releases/{version}/``."""
    # Starlette has already percent-decoded the path: decoding again would turn
    # the version ``rel%41`` (sent as ``rel%2541``) into ``relA``.
    return respond(release_detail(ctx(request), get_org(request), request.path_params["version"]))


routes = [
    Route("/organizations/{org}/releases/", list_org_releases, methods=["GET"]),
    Route("/organizations/{org}/releases/", create_release, methods=["POST"]),
    Route("/organizations/{org}/releases/{version:path}/", get_release, methods=["GET"]),
    Route("/projects/{org}/{project}/releases/", list_project_releases, methods=["GET"]),
]
