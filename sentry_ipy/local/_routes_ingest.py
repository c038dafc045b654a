"""Ingest endpoints: ``/api/{project_id}/envelope/`` and ``/api/{project_id}/store/``.

Authentication is by DSN public key (``X-Sentry-Auth`` header, ``sentry_key``
query parameter, or the ``dsn`` in the envelope header), as Relay does.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ._envelope import EnvelopeError, decompress, parse_auth, parse_envelope
from ._http import ApiError, ctx, respond
from ._ingest import process_envelope, record_outcome, save_event

__all__ = ["routes"]


def _project_and_auth(request: Request, envelope_dsn: str | None = None) -> dict[str, Any]:
    store = ctx(request).store
    project = store.project_by_id(request.path_params["project_id"])
    if project is None:
        raise ApiError(404, "Unknown project.")
    public = parse_auth(
        request.headers.get("x-sentry-auth") or request.headers.get("authorization"),
        dict(request.query_params),
        envelope_dsn,
    )
    if not public:
        raise ApiError(401, "Missing authentication header: send X-Sentry-Auth with sentry_key.")
    key = store.key_by_public(public)
    if key is None or not key["is_active"] or int(key["project_id"]) != int(project["id"]):
        raise ApiError(401, "Invalid api key: the DSN public key is unknown for this project.")
    return project


async def _body(request: Request) -> bytes:
    raw = await request.body()
    try:
        return decompress(raw, request.headers.get("content-encoding"))
    except EnvelopeError as exc:
        raise ApiError(400, str(exc)) from None


async def envelope(request: Request) -> JSONResponse:
    """Accept an envelope; 400 (and an ``invalid`` outcome) on malformed items."""
    data = await _body(request)
    try:
        env = parse_envelope(data)
    except EnvelopeError as exc:
        project = _project_and_auth(request)
        record_outcome(ctx(request).store, int(project["org_id"]), project["id"], "invalid", "error", "invalid_envelope")
        raise ApiError(400, str(exc)) from None
    dsn = env.headers.get("dsn")
    project = _project_and_auth(request, dsn if isinstance(dsn, str) else None)
    event_id, errors = process_envelope(ctx(request).store, project, env)
    if errors:
        raise ApiError(400, "; ".join(errors))
    return respond({"id": event_id} if event_id else {})


async def store(request: Request) -> JSONResponse:
    """Accept one JSON event on the legacy store endpoint."""
    project = _project_and_auth(request)
    data = await _body(request)
    try:
        payload = json.loads(data.decode("utf-8"))
        if not isinstance(payload, dict):
            raise ValueError("not an object")
        event_id = save_event(ctx(request).store, project, payload)
    except (UnicodeDecodeError, ValueError) as exc:
        record_outcome(ctx(request).store, int(project["org_id"]), project["id"], "invalid", "error", "invalid_json")
        raise ApiError(400, f"Bad event payload: {exc}") from None
    return respond({"id": event_id})


routes = [
    Route("/api/{project_id}/envelope/", envelope, methods=["POST"]),
    Route("/api/{project_id}/store/", store, methods=["POST"]),
]
