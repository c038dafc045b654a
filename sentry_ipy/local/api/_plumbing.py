"""HTTP plumbing shared by the API handlers: errors, auth, paging, headers.

Handlers stay thin: they raise :class:`ApiError` for any expected failure,
call :func:`paginate` for lists and look objects up with :func:`get_org` /
:func:`get_project`. The ASGI middleware here checks the bearer token and adds
Sentry's rate-limit headers to every ``/api/0/`` response, so no handler can
forget them.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from .._clock import PeriodError, iso, parse_period, time_window
from ..ingest._envelope import EnvelopeError, load_json
from ..store._keyset import Cursor, CursorError, Page, Rows, keyset_page
from ..store._store import Store

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ApiError",
    "ApiMiddleware",
    "Context",
    "FastJSONResponse",
    "READ_SLOTS",
    "ReadSlots",
    "MAX_POINTS",
    "aligned",
    "bool_param",
    "buckets",
    "ctx",
    "ctx_of",
    "cursor_param",
    "get_org",
    "get_project",
    "int_param",
    "interval_seconds",
    "json_body",
    "keyset_list",
    "offset_page",
    "offset_param",
    "paginate",
    "read_json_body",
    "project_filter",
    "respond",
    "respond_page",
    "stamp",
    "window",
]

NOT_FOUND = "The requested resource does not exist"
#: Relay's ``max_api_payload_size``.
MAX_API_PAYLOAD_SIZE = 20 * 1024 * 1024
#: How many large ingest bodies one server reads (and holds in memory) at the same time.
LARGE_BODY_SLOTS = 2
#: How many reads (GET and HEAD of the Web API and pages) one server computes at the same time.
#: Each runs in a thread of its own and holds the GIL for most of its time; 20 of them at once left
#: the event loop and the ingest writer a twentieth of it each (a writer among 20 listing readers
#: stored 13 events/s). Queued reads wait on the event loop at no cost; two at a time still lets
#: one's SQLite work (which releases the GIL) overlap the other's Python, and the readers' own
#: throughput stayed what it was with 20.
READ_SLOTS = 2


@dataclass
class Context:
    """Per-server state the handlers need (put in each request's ASGI scope)."""

    store: Store
    token: str
    url: str = ""
    workflows: bool = True
    #: Ingest bodies over 1 MiB read and stored at once (see :mod:`..ingest._ingest_endpoints`).
    body_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(LARGE_BODY_SLOTS))
    #: Reads computed at once; the rest wait on the event loop (see :class:`ReadSlots`).
    read_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(READ_SLOTS))


class ApiError(Exception):
    """An expected API failure rendered as JSON (``{"detail": ...}`` by default)."""

    def __init__(self, status: int, detail: Any = NOT_FOUND, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.headers = headers
        self.body = detail if isinstance(detail, (dict, list)) else {"detail": str(detail)}


def ctx(request: Request) -> Context:
    """Return the server context of a request."""
    return ctx_of(request.scope)


def ctx_of(scope: Scope) -> Context:
    """Return the server context of a request's ASGI scope (put there by :class:`ApiMiddleware`)."""
    context: Context = scope["sentry_ipy.ctx"]
    return context


class FastJSONResponse(JSONResponse):
    """A :class:`JSONResponse` written by orjson: the same compact UTF-8 JSON, ten times faster.

    Encoding was a quarter of the CPU of an issue page (2.2 ms of ~9 for 100 issues, 178 kB).
    What orjson refuses (integers beyond 64 bits, keys that are not strings) is written by
    the standard library as before. Differences that keep the meaning: a float may be
    spelled otherwise (``0.00001`` for ``1e-05``), and NaN or infinity becomes ``null``
    where the standard library refused it.
    """

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError is one
            return super().render(content)


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """Render JSON the way the rest of the API does."""
    return FastJSONResponse(data, status_code=status, headers=headers)


async def json_body(request: Request) -> dict[str, Any]:
    """Decode a JSON object body or raise a 400 (413 past 20 MiB) with a readable detail.

    Decoding is the ingest path's (:func:`load_json`): lone surrogates become
    U+FFFD and ``NaN`` becomes null, so a stored value always reads back.
    """
    declared = request.headers.get("content-length") or ""
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_API_PAYLOAD_SIZE:
        raise ApiError(413, "The request body is larger than 20 MiB, the Web API's limit; send less data per call.")
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = load_json(raw, "request body")
    except EnvelopeError as exc:
        raise ApiError(400, f"Malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    return data


def read_json_body(request: Request) -> dict[str, Any]:
    """:func:`json_body` for a handler running in the threadpool.

    Handlers are plain functions so that Starlette runs them, and their SQLite
    work, off the event loop; reading the body is the one thing that needs the
    loop, so it is handed back to it for the time it takes.
    """
    import anyio.from_thread

    return anyio.from_thread.run(json_body, request)


def int_param(request: Request, name: str, default: int, lo: int = 1, hi: int = 100) -> int:
    """Read a bounded integer query parameter (400 if not a number)."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid {name}: {raw!r} is not an integer.") from None
    if value < lo:
        raise ApiError(400, f"Invalid {name}: must be at least {lo}.")
    return min(value, hi)


def bool_param(request: Request, name: str) -> bool:
    """Read a truthy query flag (``1``, ``true``, ``yes``)."""
    return (request.query_params.get(name) or "").lower() in ("1", "true", "yes", "on")


def window(request: Request, default: str | None = "14d") -> tuple[float | None, float | None]:
    """Resolve the request's time window or raise a 400."""
    try:
        return time_window(request.query_params, default)
    except PeriodError as exc:
        raise ApiError(400, str(exc)) from None


def get_org(request: Request) -> dict[str, Any]:
    """Look up ``{organization_id_or_slug}`` or raise a 404."""
    org = ctx(request).store.org(request.path_params["org"])
    if org is None:
        raise ApiError(404, NOT_FOUND)
    return org


def get_project(request: Request, org: dict[str, Any] | None = None) -> dict[str, Any]:
    """Look up ``{project_id_or_slug}`` inside the org or raise a 404."""
    org = org or get_org(request)
    project = ctx(request).store.project(org["id"], request.path_params["project"])
    if project is None:
        raise ApiError(404, NOT_FOUND)
    return project


def project_filter(request: Request, org: dict[str, Any]) -> list[dict[str, Any]]:
    """Resolve repeatable ``project=`` (IDs or slugs; ``-1`` = all) to project rows."""
    store = ctx(request).store
    wanted = [p for p in request.query_params.getlist("project") if p not in ("", "-1")]
    if not wanted:
        return store.projects(org["id"])
    projects = []
    for ident in wanted:
        project = store.project(org["id"], ident)
        if project is None:
            raise ApiError(403, "You do not have permission to perform this action.")
        projects.append(project)
    return projects


#: Sentry's cap on buckets per series (``MAX_POINTS`` in its stats endpoints).
MAX_POINTS = 10000


def interval_seconds(request: Request) -> int:
    """Read ``interval`` (default 1h) or raise a 400: 1h to 1d, dividing a day evenly."""
    raw = request.query_params.get("interval") or "1h"
    try:
        seconds = int(parse_period(raw))
    except PeriodError:
        raise ApiError(400, f"Invalid interval {raw!r}: use 1h to 1d.") from None
    if seconds < 3600:
        raise ApiError(400, "The interval has to be at least one hour (1h); 10s-style resolutions no longer exist.")
    if seconds > 86400 or 86400 % seconds:
        raise ApiError(400, "The interval has to be at most one day and divide a day evenly.")
    return seconds


def buckets(request: Request, step: int, default: str = "14d") -> tuple[float, float, int]:
    """The request's window aligned to ``step``: ``(start, end, number_of_buckets)``, or a 400."""
    start, end = window(request, default)
    if start is None or end is None:  # only an empty statsPeriod opens the window; stats need one
        raise ApiError(400, "Invalid statsPeriod: it is empty; give one such as 14d, or start and end.")
    return aligned(start, end, step)


def aligned(start: float, end: float, step: int) -> tuple[float, float, int]:
    """``start``..``end`` widened to whole ``step`` buckets: ``(first, last, number_of_buckets)``, or a 400."""
    first = float(int(start // step) * step)
    last = float(int(end // step + 1) * step)
    n = int((last - first) // step)
    if n > MAX_POINTS:
        raise ApiError(
            400,
            "Your interval and date range would create too many results; use a larger interval or a smaller date range.",
        )
    return first, last, n


def stamp(ts: float) -> str:
    """A bucket boundary as Sentry writes it (``2024-05-01T12:00:00Z``)."""
    return (iso(ts) or "").replace(".000000", "")



def cursor_param(request: Request) -> Cursor:
    """Read ``cursor`` (Sentry's ``value:offset:is_prev``) or raise a 400."""
    try:
        return Cursor.parse(request.query_params.get("cursor"))
    except CursorError as exc:
        raise ApiError(400, str(exc)) from None


def respond_page(
    request: Request,
    page: Page,
    items: list[Any],
    *,
    wrap: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """Answer with ``items`` (the page's rows, shaped) and the Link header of its keyset cursors."""
    link = ", ".join(
        [_link(request, page.prev, "previous", page.has_prev), _link(request, page.next, "next", page.has_next)]
    )
    body: Any = items if wrap is None else {wrap: items, **(extra or {})}
    return respond(body, headers={"Link": link})


def keyset_list(request: Request, rows: Rows, shape: Callable[[list[dict[str, Any]]], list[Any]], *,
                default_size: int = 100) -> JSONResponse:
    """Answer a list of keyset ``rows``: the page at the request's ``cursor`` (``per_page`` rows), only it shaped.

    An offset cursor a client got before (``0:200:0``) still skips 200 rows.
    """
    c = ctx(request)
    cursor, size = cursor_param(request), int_param(request, "per_page", default_size)
    with c.store.snapshot():
        page = keyset_page(rows, cursor, size)
        items = shape(page.rows)
    return respond_page(request, page, items)


def offset_param(request: Request) -> int:
    """Read ``cursor`` as a plain offset (its middle part), for lists cut in memory; 400 if unreadable."""
    raw = request.query_params.get("cursor") or ""
    if not raw:
        return 0
    parts = raw.split(":")
    try:
        return max(int(parts[1]) if len(parts) >= 2 else int(parts[0]), 0)
    except ValueError:
        raise ApiError(400, f"Invalid cursor parameter {raw!r}.") from None


def _link(request: Request, cursor: str, rel: str, results: bool) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", cursor))
    url = f"{ctx(request).url}{request.url.path}?{urlencode(params, safe=':')}"
    flag = "true" if results else "false"
    return f'<{url}>; rel="{rel}"; results="{flag}"; cursor="{cursor}"'


def offset_page(items: list[Any], offset: int, size: int) -> Page:
    """Cut ``size`` items at ``offset`` from the full, sorted ``items``, with Sentry's offset cursors."""
    return Page(items[offset : offset + size], f"0:{offset + size}:0", f"0:{max(offset - size, 0)}:1",
                offset + size < len(items), offset > 0)


def paginate(
    request: Request,
    items: list[Any],
    *,
    size_param: str = "per_page",
    default_size: int = 100,
    wrap: str | None = None,
    extra: dict[str, Any] | None = None,
    max_offset: int | None = None,
) -> JSONResponse:
    """Slice ``items`` by ``cursor`` and add Sentry's two-entry Link header.

    Args:
        items: the full, already sorted result list.
        size_param: ``per_page`` for most lists, ``limit`` for issue lists.
        wrap: put the page under this key (``data`` for Discover/replays).
        extra: further top-level keys when wrapped (e.g. Discover ``meta``).
        max_offset: the largest offset a cursor may ask for (Sentry's events
            endpoint stops at 10,000 rows per query); past it, a 400.
    """
    size = int_param(request, size_param, default_size)
    offset = offset_param(request)
    if max_offset is not None and offset >= max_offset:
        raise ApiError(400, "Pagination offset too large")
    page = offset_page(items, offset, size)
    return respond_page(request, page, page.rows, wrap=wrap, extra=extra)


def _rate_headers() -> list[tuple[bytes, bytes]]:
    reset = str(int(time.time()) + 1).encode()
    return [
        (b"x-sentry-rate-limit-limit", b"40"),
        (b"x-sentry-rate-limit-remaining", b"39"),
        (b"x-sentry-rate-limit-reset", reset),
        (b"x-sentry-rate-limit-concurrentlimit", b"25"),
        (b"x-sentry-rate-limit-concurrentremaining", b"24"),
    ]


class ApiMiddleware:
    """Check the bearer token and stamp rate-limit headers on ``/api/0/``."""

    def __init__(self, app: ASGIApp, context: Context, router: Any) -> None:
        self.app = app
        self.context = context
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["sentry_ipy.ctx"] = self.context
        scope["app"] = self.router  # makes Starlette raise HTTPException for 404/405
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/api/0/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"").decode("latin-1").strip()
        scheme, _, token = auth.partition(" ")
        ok = scheme.lower() == "bearer" and secrets.compare_digest(
            token.strip().encode(), self.context.token.encode()
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers") or []) + _rate_headers()
            await send(message)

        if not ok:
            detail = "Invalid token" if token else "Authentication credentials were not provided."
            response = JSONResponse({"detail": detail}, status_code=401)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


class ReadSlots:
    """Compute at most :data:`READ_SLOTS` reads at once, so readers cannot starve ingest of the GIL.

    A GET or HEAD (other than ``/_health``) waits for a slot before its handler
    runs and gives it back as soon as its response starts: the body is already
    rendered then, so a client that reads its answer slowly holds no slot.
    Requests with a body (ingest, API writes) take none: their body arrives at
    the client's pace, and a stalled upload must not hold back every reader.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD") or scope.get("path") == "/_health":
            await self.app(scope, receive, send)
            return
        slots = ctx_of(scope).read_slots
        await slots.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                slots.release()

        async def send_and_release(message: Message) -> None:
            if message["type"] == "http.response.start":
                give_back()
            await send(message)

        try:
            await self.app(scope, receive, send_and_release)
        finally:
            give_back()
