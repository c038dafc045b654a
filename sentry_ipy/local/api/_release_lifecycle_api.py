"""A release after it is created: finalise or edit (``PUT``), delete, deploys and commits.

``sentry-cli releases finalize`` is a ``PUT`` with ``dateReleased``; ``deploys
new``/``list`` and the npm CLI's ``release deploy`` use ``…/deploys/``. Deploys
and commits are real rows (empty until created); repositories come from
integrations the local backend does not have, so ``repos/`` is honestly empty.

The routes here must be mounted before :mod:`._releases_api`'s, whose
``{version:path}`` would otherwise swallow ``…/1.0/deploys/``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._clock import parse_timestamp
from ..store import _release_records as records
from ._plumbing import NOT_FOUND, ApiError, ctx, get_org, keyset_list, paginate, read_json_body, respond
from ._releases_api import url_error
from ._shapes import commit_shape, deploy_shape, release_shape

__all__ = ["routes"]


def _release(request: Request) -> dict[str, Any]:
    release = ctx(request).store.release(get_org(request)["id"], request.path_params["version"])
    if release is None:
        raise ApiError(404, NOT_FOUND)
    return release


def _date(body: dict[str, Any], key: str, errors: dict[str, list[str]]) -> float | None:
    value = body.get(key)
    if value in (None, ""):
        return None
    parsed = parse_timestamp(value)
    if parsed is None:
        errors[key] = ["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."]
    return parsed


def _commits(value: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(c, dict) and isinstance(c.get("id"), str) and c["id"]
                                              for c in value):
        errors["commits"] = ["Each commit needs an id (the commit SHA)."]
        return None
    return [{"sha": c["id"][:64], "repository": c.get("repository"), "message": c.get("message"),
             "author_name": c.get("author_name"), "author_email": c.get("author_email"),
             "timestamp": parse_timestamp(c.get("timestamp"))} for c in value]


def update_release(request: Request) -> JSONResponse:
    """``PUT organizations/{o}/releases/{version}/``: ``ref``, ``url``, ``dateReleased``, ``commits``."""
    c, release = ctx(request), _release(request)
    body = read_json_body(request)
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    if "dateReleased" in body:
        changes["date_released"] = _date(body, "dateReleased", errors)
    if "ref" in body:
        if body["ref"] is not None and (not isinstance(body["ref"], str) or len(body["ref"]) > 200):
            errors["ref"] = ["Ensure this field has no more than 200 characters."]
        changes["ref"] = body["ref"]
    if "url" in body:
        problem = url_error(body["url"])
        if problem:
            errors["url"] = [problem]
        changes["url"] = body["url"] or None
    if "status" in body:
        if body["status"] not in ("open", "archived"):
            errors["status"] = [f'"{body["status"]}" is not a valid choice.']
        changes["status"] = body["status"]
    commits = _commits(body.get("commits"), errors)
    if errors:
        raise ApiError(400, errors)
    records.update_release(c.store, release["id"], changes)
    if commits is not None:
        records.set_commits(c.store, release["id"], commits)
    updated = c.store.release(release["org_id"], release["version"])
    assert updated is not None
    return respond(release_shape(updated, c.store))


def delete_release(request: Request) -> Response:
    """``DELETE organizations/{o}/releases/{version}/``: 204, or 400 while issues started in it."""
    c, release = ctx(request), _release(request)
    if records.release_in_use(c.store, release):
        raise ApiError(400, "This release is referenced by active issues and cannot be removed.")
    records.delete_release(c.store, release["id"])
    return Response(status_code=204)


def list_deploys(request: Request) -> JSONResponse:
    """``GET organizations/{o}/releases/{version}/deploys/``, newest first."""
    c, release = ctx(request), _release(request)
    return keyset_list(request, records.deploy_rows(c.store, release["id"]), lambda rows: [deploy_shape(d) for d in rows])


def create_deploy(request: Request) -> JSONResponse:
    """``POST organizations/{o}/releases/{version}/deploys/``: 201 with the deploy."""
    c, release = ctx(request), _release(request)
    body = read_json_body(request)
    errors: dict[str, list[str]] = {}
    environment = body.get("environment")
    if not isinstance(environment, str) or not environment.strip():
        errors["environment"] = ["This field is required."]
    elif len(environment) > 64 or "/" in environment or environment != environment.strip():
        errors["environment"] = ["Ensure this field is a valid environment name (up to 64 characters, no slash)."]
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 64):
        errors["name"] = ["Ensure this field has no more than 64 characters."]
    problem = url_error(body.get("url"))
    if problem:
        errors["url"] = [problem]
    started, finished = _date(body, "dateStarted", errors), _date(body, "dateFinished", errors)
    if errors:
        raise ApiError(400, errors)
    row = records.add_deploy(c.store, release["id"], str(environment), name or None, body.get("url") or None,
                             started, finished)
    return respond(deploy_shape(row), status=201)


def list_commits(request: Request) -> JSONResponse:
    """``GET organizations/{o}/releases/{version}/commits/``."""
    c, release = ctx(request), _release(request)
    return paginate(request, [commit_shape(r) for r in records.release_commits(c.store, release["id"])])


def previous_with_commits(request: Request) -> JSONResponse:
    """``GET …/releases/{version}/previous-with-commits/``: ``{}`` when no earlier release has commits."""
    c, release = ctx(request), _release(request)
    earlier = records.previous_release_with_commits(c.store, release)
    return respond({} if earlier is None else release_shape(earlier, c.store))


def list_repos(request: Request) -> JSONResponse:
    """``GET organizations/{o}/repos/``: repositories come from integrations, which are not here."""
    get_org(request)
    return paginate(request, [])


_RELEASE = "/organizations/{org}/releases/{version:path}"
routes = [
    Route(_RELEASE + "/deploys/", list_deploys, methods=["GET"]),
    Route(_RELEASE + "/deploys/", create_deploy, methods=["POST"]),
    Route(_RELEASE + "/commits/", list_commits, methods=["GET"]),
    Route(_RELEASE + "/previous-with-commits/", previous_with_commits, methods=["GET"]),
    Route(_RELEASE + "/", update_release, methods=["PUT"]),
    Route(_RELEASE + "/", delete_release, methods=["DELETE"]),
    Route("/organizations/{org}/repos/", list_repos, methods=["GET"]),
]
