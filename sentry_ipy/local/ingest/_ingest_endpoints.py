"""Ingest endpoints: ``/api/{project_id}/envelope/`` and ``/api/{project_id}/store/``.

Authentication is by DSN public key (``X-Sentry-Auth`` header, ``sentry_key``
query parameter, or the ``dsn`` in the envelope header), as Relay does. The
project and key are checked before a body is inflated, and bodies are read
and inflated with Relay's size limits, so an unauthenticated client or a gzip
bomb costs no more memory than the limit. Oversized bodies and items get a 413
and an ``invalid``/``too_large`` outcome, like on sentry.io. The endpoints
read the body on the event loop and hand parsing and the SQLite writes to
the store's writer thread, which commits what queued up together; a slow
write never stalls other requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..api._plumbing import ApiError, ctx, respond
from ._envelope import (
    MAX_ENVELOPE_SIZE,
    MAX_EVENT_SIZE,
    EnvelopeError,
    PayloadTooLargeError,
    decompress,
    load_json,
    parse_auth,
    parse_envelope,
    size_text,
)
from ._pipeline import (
    ITEM_CATEGORIES,
    guarded,
    process_envelope,
    record_outcome,
    save_event,
)

__all__ = ["routes"]

_HEAD_BYTES = 64 * 1024
_EVENT_ITEMS = ("event", "transaction")


def _project(request: Request) -> dict[str, Any]:
    project = ctx(request).store.project_by_id(request.path_params["project_id"])
    if project is None:
        raise ApiError(404, "Unknown project: the DSN's project ID does not exist on this server; copy the DSN again.")
    return project


def _header_key(request: Request) -> str | None:
    return parse_auth(
        request.headers.get("x-sentry-auth") or request.headers.get("authorization"),
        dict(request.query_params),
    )


def _check_key(request: Request, project: dict[str, Any], public: str | None) -> None:
    if not public:
        raise ApiError(401, "Missing authentication header: send X-Sentry-Auth with sentry_key.")
    key = ctx(request).store.key_by_public(public)
    if key is None or not key["is_active"] or int(key["project_id"]) != int(project["id"]):
        raise ApiError(401, "Invalid api key: the DSN public key is unknown for this project.")


def _too_large(request: Request, project: dict[str, Any], category: str, exc: PayloadTooLargeError) -> ApiError:
    record_outcome(ctx(request).store, int(project["org_id"]), project["id"], "invalid", category, "too_large")
    return ApiError(413, str(exc))


async def _read(request: Request, project: dict[str, Any], limit: int, category: str) -> bytes:
    """Read the raw body, stopping (413) as soon as it passes ``limit``."""
    too_big = PayloadTooLargeError(
        f"The request body is larger than {size_text(limit)}, the limit Relay also applies; send smaller payloads."
    )
    declared = request.headers.get("content-length") or ""
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(request, project, category, too_big)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(request, project, category, too_big)
        chunks.append(chunk)
    return b"".join(chunks)


def _inflate(request: Request, project: dict[str, Any], raw: bytes, limit: int, category: str) -> bytes:
    try:
        return decompress(raw, request.headers.get("content-encoding"), limit)
    except PayloadTooLargeError as exc:
        raise _too_large(request, project, category, exc) from None
    except EnvelopeError as exc:
        raise ApiError(400, str(exc)) from None


def _envelope_dsn(request: Request, raw: bytes) -> str | None:
    """Read ``dsn`` from the envelope header, inflating only its first bytes."""
    try:
        head = decompress(raw, request.headers.get("content-encoding"), _HEAD_BYTES, head=True)
        line = head.split(b"\n", 1)[0]
        headers = load_json(line, "envelope header") if line.strip() else {}
    except EnvelopeError:
        return None
    dsn = headers.get("dsn") if isinstance(headers, dict) else None
    return dsn if isinstance(dsn, str) else None


def _check_item_sizes(request: Request, project: dict[str, Any], items: list[Any]) -> None:
    for item in items:
        if item.type in _EVENT_ITEMS and len(item.payload) > MAX_EVENT_SIZE:
            exc = PayloadTooLargeError(
                f"The {item.type} item is {size_text(len(item.payload))}; Relay and this server accept at most"
                f" {size_text(MAX_EVENT_SIZE)} per event, so trim large extras, breadcrumbs or messages."
            )
            raise _too_large(request, project, ITEM_CATEGORIES[item.type], exc)


async def envelope(request: Request) -> JSONResponse:
    """Accept an envelope; 400 (and an ``invalid`` outcome) on malformed items."""
    project = _project(request)
    public = _header_key(request)
    if public:
        _check_key(request, project, public)
    raw = await _read(request, project, MAX_ENVELOPE_SIZE, "default")
    return await _written(request, partial(_accept_envelope, request, project, public, raw))


async def _written(request: Request, job: Callable[[], JSONResponse]) -> JSONResponse:
    """Run ``job`` on the store's writer thread (group commit) and answer once it is committed.

    An :class:`ApiError` raised by the job (a 400 or 413 after an
    ``invalid`` outcome was recorded) keeps the job's writes, as before.
    """

    def keep_errors() -> JSONResponse | ApiError:
        try:
            return job()
        except ApiError as exc:
            return exc

    result = await asyncio.wrap_future(ctx(request).store.writes.submit(keep_errors))
    if isinstance(result, ApiError):
        raise result
    response: JSONResponse = result
    return response


def _accept_envelope(request: Request, project: dict[str, Any], public: str | None, raw: bytes) -> JSONResponse:
    """Parse and store an envelope body (on the writer thread)."""
    if not public:
        _check_key(request, project, parse_auth(None, {}, _envelope_dsn(request, raw)))
    data = _inflate(request, project, raw, MAX_ENVELOPE_SIZE, "default")
    store = ctx(request).store
    try:
        env = parse_envelope(data)
    except EnvelopeError as exc:
        record_outcome(store, int(project["org_id"]), project["id"], "invalid", "error", "invalid_envelope")
        raise ApiError(400, str(exc)) from None
    _check_item_sizes(request, project, env.items)
    event_id, errors = process_envelope(store, project, env)
    if errors:
        raise ApiError(400, "; ".join(errors))
    return respond({"id": event_id} if event_id else {})


async def store(request: Request) -> JSONResponse:
    """Accept one JSON event on the legacy store endpoint (at most 1 MiB, like Relay)."""
    project = _project(request)
    _check_key(request, project, _header_key(request))
    raw = await _read(request, project, MAX_ENVELOPE_SIZE, "error")
    return await _written(request, partial(_accept_event, request, project, raw))


def _accept_event(request: Request, project: dict[str, Any], raw: bytes) -> JSONResponse:
    """Parse and store a legacy store body (on the writer thread)."""
    data = _inflate(request, project, raw, MAX_EVENT_SIZE, "error")
    store = ctx(request).store
    try:
        payload = load_json(data, "event")
        if not isinstance(payload, dict):
            raise EnvelopeError("The event must be a JSON object; send the event's fields at the top level.")
        event_id = guarded("event", partial(save_event, store, project, payload))
    except EnvelopeError as exc:
        record_outcome(store, int(project["org_id"]), project["id"], "invalid", "error", "invalid_json")
        raise ApiError(400, str(exc)) from None
    return respond({"id": event_id})


routes = [
    Route("/api/{project_id}/envelope/", envelope, methods=["POST"]),
    Route("/api/{project_id}/store/", store, methods=["POST"]),
]
