"""Assemble the Starlette application of the local backend.

Imported only when a server starts, so ``import sentry_ipy.local`` stays
stdlib-only. Route modules each export a ``routes`` list; the Web API ones are
mounted under ``/api/0`` behind :class:`ApiMiddleware`, the read-only HTML
pages of :mod:`.web._views` sit at the web UI's own paths (no token).

The app is a bare ``Router`` wrapped in Starlette's exception middlewares
rather than a ``Starlette`` application on purpose: sentry-sdk's Starlette
integration instruments ``Starlette.__call__``, and a user who traces their
notebook would otherwise have every ingest request open a transaction that is
sent back to this very server, which opens another one, and so on.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .api import (
    _absent_features_api,
    _alerts_api,
    _discover_api,
    _environments_api,
    _explore_api,
    _identity_api,
    _issue_bulk_api,
    _issue_details_api,
    _issues_api,
    _orgs_api,
    _release_lifecycle_api,
    _releases_api,
    _replays_api,
    _sessions_api,
    _stats_api,
    _timeseries_api,
    _traces_api,
)
from .api._legacy_issues_api import legacy_routes
from ._guard import HostGuard, allowed_host_names
from .api._plumbing import NOT_FOUND, ApiError, ApiMiddleware, Context, ReadSlots
from .ingest import _ingest_endpoints
from .search._query import QueryError
from .web import _views

__all__ = ["ErrorMiddleware", "build_app"]

logger = logging.getLogger("sentry_ipy.local")


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


async def _query_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": str(exc)}, status_code=400)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and not request.url.path.startswith(("/api/", "/_health")):
        return _views.error_page(404, f"No page at {request.url.path}.")
    if exc.status_code == 404:
        detail = NOT_FOUND
    elif exc.status_code == 405:
        detail = f'Method "{request.method}" not allowed.'
    else:
        detail = str(exc.detail)
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


class ErrorMiddleware:
    """Answer an unexpected exception with a JSON 500 and keep the connection.

    Starlette's ``ServerErrorMiddleware`` re-raises after sending its 500 so
    the server can log it; uvicorn then prints "Exception in ASGI
    application" with a traceback to stderr (into whichever notebook cell is
    running) and, because the response had started, closes the transport, so
    the client's next request on that keep-alive connection is reset. Here the
    exception is logged once on the ``sentry_ipy.local`` logger and handled.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - the point of this middleware
            logger.error("Unexpected error on %s %s", scope.get("method"), scope.get("path"), exc_info=True)
            if started:
                return  # too late for a 500; the server closes the half-sent response
            body = {"detail": f"The local Sentry server hit an internal error ({type(exc).__name__});"
                              " the sentry_ipy.local log has the traceback."}
            await JSONResponse(body, status_code=500)(scope, receive, send)


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def build_app(context: Context, allowed_hosts: frozenset[str] | None = None, web_token: str | None = None,
              secure: bool = False) -> ASGIApp:
    """Build the ASGI app for one server context.

    ``allowed_hosts`` are the ``Host`` names it answers (see :mod:`._guard`); ``None`` means
    loopback names only. ``web_token`` makes pages need the token cookie beyond loopback;
    ``secure`` (https) marks that cookie Secure.
    """
    api: list[BaseRoute] = [
        *_identity_api.routes,
        *_orgs_api.routes,
        *_issues_api.routes,
        *_issue_bulk_api.routes,
        *_issue_details_api.routes,
        *_absent_features_api.routes,
        *_environments_api.routes,
        *_explore_api.routes,
        *_traces_api.routes,
        *_timeseries_api.routes,
        *_discover_api.routes,
        *_release_lifecycle_api.routes,  # before releases: its {version:path} would take …/deploys/
        *_releases_api.routes,
        *_stats_api.routes,
        *_sessions_api.routes,
        *_replays_api.routes,
        *_alerts_api.legacy_routes,
    ]
    api.extend(legacy_routes(api))
    if context.workflows:
        api.extend(_alerts_api.workflow_routes)
    router = Router(
        routes=[
            Route("/_health", _health, methods=["GET"]),
            Mount("/api/0", routes=api),
            *_ingest_endpoints.routes,
            *_views.routes,
        ]
    )
    handled = ExceptionMiddleware(router, handlers={ApiError: _api_error, QueryError: _query_error, HTTPException: _http_error})
    app = ApiMiddleware(ReadSlots(handled), context=context, router=router)
    guarded = HostGuard(app, allowed_hosts if allowed_hosts is not None else allowed_host_names("127.0.0.1"),
                        web_token=web_token, secure=secure)
    return ErrorMiddleware(guarded)
