"""Ingest endpoints: ``/api/{project_id}/envelope/`` and ``/api/{project_id}/store/``.

Authentication is by DSN public key (``X-Sentry-Auth`` or ``Authorization``
header, ``sentry_key`` query parameter, or the ``dsn`` in the envelope header),
as Relay does, and it comes before the body: an envelope without a key in its
request line or headers is read only up to its header line (at most 64 KiB,
inflated as it arrives), and a refused request is answered at once with
``Connection: close``, so an unauthenticated client costs one header line of
memory however much it sends. A declared ``Content-Length`` over the limit is
refused before any body is read. Bodies are inflated chunk by chunk into one
buffer with Relay's size limits (a gzip bomb stops at the limit); bodies over
1 MiB (or of unknown length) take one of a few slots per server for reading
and storing, and one that finds none free within a few seconds gets 429 with
``Retry-After``, which Sentry SDKs honour by backing off, so concurrent huge
uploads cannot add up to more memory than the slots allow. Oversized bodies and
items get a 413 and an ``invalid``/``too_large`` outcome, like on sentry.io.
The endpoints read the body on the event loop and hand parsing and the SQLite
writes to the store's writer thread, which commits what queued up together; a
slow write never stalls other requests. No SQLite runs on the event loop: the
project and key come from memory (:mod:`..store._ingest_keys`), a miss is read
in a worker thread, and refusals' outcome rows are written by the writer.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..api._plumbing import ApiError, ctx, respond
from ._envelope import (
    MAX_ENVELOPE_SIZE,
    MAX_EVENT_SIZE,
    EnvelopeError,
    Inflater,
    PayloadTooLargeError,
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

__all__ = ["LARGE_BODY", "SLOT_WAIT", "routes"]

#: The most of an envelope read to find its header line (and ``dsn``) when no other auth was sent.
_HEAD_BYTES = 64 * 1024
#: Bodies declaring more than this (or no length) need a reading slot (``Context.body_slots``).
LARGE_BODY = 1024 * 1024
#: Seconds a large body waits for a free slot before it gets 429.
SLOT_WAIT = 10.0
_EVENT_ITEMS = ("event", "transaction")
#: Refusals answered before the body was read end the connection, so the client stops sending it.
_CLOSE = {"Connection": "close"}


async def _project(request: Request) -> dict[str, Any]:
    """The project of the ingest URL, from memory (SQLite only for one not seen yet, off the event loop)."""
    keys = ctx(request).store.ingest_keys
    ident = str(request.path_params["project_id"])
    project = keys.cached_project(ident) or await run_in_threadpool(keys.load_project, ident)
    if project is None:
        raise ApiError(404, "Unknown project: the DSN's project ID does not exist on this server; copy the DSN again.",
                       headers=_CLOSE)
    return project


def _header_key(request: Request) -> str | None:
    return parse_auth(
        request.headers.get("x-sentry-auth") or request.headers.get("authorization"),
        dict(request.query_params),
    )


async def _check_key(request: Request, project: dict[str, Any], public: str | None) -> None:
    if not public:
        raise ApiError(401, "Missing authentication: send X-Sentry-Auth with sentry_key, the sentry_key query"
                            " parameter, or the DSN in the envelope's first line.", headers=_CLOSE)
    keys = ctx(request).store.ingest_keys
    key = keys.cached_key(public) or await run_in_threadpool(keys.load_key, public)
    if key is None or int(key["project_id"]) != int(project["id"]):
        raise ApiError(401, "Invalid api key: the DSN public key is unknown for this project.", headers=_CLOSE)
    if not key["is_active"]:
        raise ApiError(403, "This DSN's key is disabled; enable it or use another key of the project.",
                       headers=_CLOSE)


def _too_large(request: Request, project: dict[str, Any], category: str, exc: PayloadTooLargeError) -> ApiError:
    record_outcome(ctx(request).store, int(project["org_id"]), project["id"], "invalid", category, "too_large")
    return ApiError(413, str(exc), headers=_CLOSE)


async def _refused_too_large(request: Request, project: dict[str, Any], category: str,
                             exc: PayloadTooLargeError) -> ApiError:
    """:func:`_too_large` from the event loop: its outcome row is written by the writer thread."""
    error: ApiError = await ctx(request).store.writes.run(partial(_too_large, request, project, category, exc))
    return error


def _declared(request: Request) -> int | None:
    declared = request.headers.get("content-length") or ""
    return int(declared) if declared.isascii() and declared.isdigit() else None


def _body_too_large(limit: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The request body is larger than {size_text(limit)}, the limit Relay also applies; send smaller payloads."
    )


class _Body:
    """A request body read as it arrives and inflated chunk by chunk into one buffer.

    :meth:`first_line` reads only as far as the envelope header line;
    :meth:`rest` reads the remainder, once the request is authenticated.
    """

    def __init__(self, request: Request, raw_limit: int, limit: int) -> None:
        self._stream = request.stream()
        self._inflater = Inflater(request.headers.get("content-encoding"), limit)
        self._raw_limit = raw_limit
        self._raw = 0
        self._out = io.BytesIO()
        self._pieces: Iterator[bytes] = iter(())
        self._done = False

    async def _next(self) -> bool:
        """Receive the next raw chunk (its inflated pieces become ``_pieces``); False at the end."""
        if self._done:
            return False
        try:
            chunk = await self._stream.__anext__()
        except StopAsyncIteration:
            self._done = True
            self._inflater.finish()
            return False
        except ClientDisconnect:
            raise ApiError(400, "The client disconnected before sending the whole body.") from None
        self._raw += len(chunk)
        if self._raw > self._raw_limit:
            raise _body_too_large(self._raw_limit)
        self._pieces = self._inflater.feed(chunk)
        return True

    async def first_line(self, cap: int) -> bytes:
        """The first line of the inflated body, reading (and inflating) no more than ``cap`` bytes of it."""
        head = b""
        while True:
            for piece in self._pieces:
                self._out.write(piece)
                head += piece[: cap + 1 - len(head)]
                if b"\n" in head or len(head) > cap:
                    return head.split(b"\n", 1)[0][:cap]
            if not await self._next():
                return head

    async def rest(self) -> bytes:
        """The whole inflated body."""
        while True:
            self._out.writelines(self._pieces)
            if not await self._next():
                return self._out.getvalue()


def _envelope_dsn(line: bytes) -> str | None:
    """The ``dsn`` of an envelope header line, if it has one."""
    try:
        headers = load_json(line, "envelope header") if line.strip() else {}
    except EnvelopeError:
        return None
    dsn = headers.get("dsn") if isinstance(headers, dict) else None
    return dsn if isinstance(dsn, str) else None


@asynccontextmanager
async def _slot(request: Request, declared: int | None) -> AsyncIterator[None]:
    """Hold one of the server's large-body slots (bodies up to :data:`LARGE_BODY` need none).

    Raises:
        ApiError: 429 with ``Retry-After`` when no slot frees up within :data:`SLOT_WAIT` seconds.
    """
    if declared is not None and declared <= LARGE_BODY:
        yield
        return
    slots = ctx(request).body_slots
    try:
        await asyncio.wait_for(slots.acquire(), SLOT_WAIT)
    except TimeoutError:
        wait = max(1, round(SLOT_WAIT))
        raise ApiError(429, f"This server is already reading its limit of large request bodies; retry in a few"
                            f" seconds (Retry-After: {wait}).", headers={"Retry-After": str(wait)}) from None
    try:
        yield
    finally:
        slots.release()


async def _read(request: Request, project: dict[str, Any], body: _Body, category: str) -> bytes:
    """The rest of an authenticated body; 413 and a ``too_large`` outcome past a limit, 400 if it is corrupt."""
    try:
        return await body.rest()
    except PayloadTooLargeError as exc:
        raise await _refused_too_large(request, project, category, exc) from None
    except EnvelopeError as exc:
        raise ApiError(400, str(exc)) from None


def _open(request: Request, raw_limit: int, limit: int) -> _Body:
    try:
        return _Body(request, raw_limit, limit)
    except EnvelopeError as exc:  # an unsupported Content-Encoding
        raise ApiError(400, str(exc), headers=_CLOSE) from None


async def _check_declared(request: Request, project: dict[str, Any], declared: int | None, category: str) -> None:
    if declared is not None and declared > MAX_ENVELOPE_SIZE:
        raise await _refused_too_large(request, project, category, _body_too_large(MAX_ENVELOPE_SIZE))


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
    project = await _project(request)
    body = _open(request, MAX_ENVELOPE_SIZE, MAX_ENVELOPE_SIZE)
    public = _header_key(request)
    if not public:
        try:
            line = await body.first_line(_HEAD_BYTES)
        except EnvelopeError as exc:
            raise ApiError(400, str(exc), headers=_CLOSE) from None
        public = parse_auth(None, {}, _envelope_dsn(line))
    await _check_key(request, project, public)
    declared = _declared(request)
    await _check_declared(request, project, declared, "default")
    async with _slot(request, declared):
        data = await _read(request, project, body, "default")
        return await _written(request, partial(_accept_envelope, request, project, data))


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

    result = await ctx(request).store.writes.run(keep_errors)
    if isinstance(result, ApiError):
        raise result
    response: JSONResponse = result
    return response


def _accept_envelope(request: Request, project: dict[str, Any], data: bytes) -> JSONResponse:
    """Parse and store an inflated envelope body (on the writer thread)."""
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
    project = await _project(request)
    await _check_key(request, project, _header_key(request))
    declared = _declared(request)
    await _check_declared(request, project, declared, "error")
    body = _open(request, MAX_ENVELOPE_SIZE, MAX_EVENT_SIZE)
    async with _slot(request, declared):
        data = await _read(request, project, body, "error")
        return await _written(request, partial(_accept_event, request, project, data))


def _accept_event(request: Request, project: dict[str, Any], data: bytes) -> JSONResponse:
    """Parse and store an inflated legacy store body (on the writer thread)."""
    store = ctx(request).store
    try:
        payload = load_json(data, "event")
        if not isinstance(payload, dict):
            raise EnvelopeError("The event must be a JSON object; send the event's fields at the top level.")
        with store.tx(savepoint=True):  # a failure undoes what the event wrote so far (its issue's count)
            event_id = guarded("event", partial(save_event, store, project, payload))
    except EnvelopeError as exc:
        record_outcome(store, int(project["org_id"]), project["id"], "invalid", "error", "invalid_json")
        raise ApiError(400, str(exc)) from None
    return respond({"id": event_id})


routes = [
    Route("/api/{project_id}/envelope/", envelope, methods=["POST"]),
    Route("/api/{project_id}/store/", store, methods=["POST"]),
]
