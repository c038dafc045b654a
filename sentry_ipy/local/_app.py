"""Assemble the Starlette application of the local backend.

Imported only when a server starts, so ``import sentry_ipy.local`` stays
stdlib-only. Route modules each export a ``routes`` list; the Web API ones are
mounted under ``/api/0`` behind :class:`ApiMiddleware`, the read-only HTML
pages of :mod:`._routes_web` sit at the web UI's own paths (no token).

The app is a bare ``Router`` wrapped in Starlette's exception middlewares
rather than a ``Starlette`` application on purpose: sentry-sdk's Starlette
integration instruments ``Starlette.__call__``, and a user who traces their
notebook would otherwise have every ingest request open a transaction that is
sent back to this very server, which opens another one, and so on.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp

from . import (
    _routes_alerts,
    _routes_discover,
    _routes_ingest,
    _routes_issues,
    _routes_orgs,
    _routes_releases,
    _routes_replays,
    _routes_stats,
    _routes_web,
)
from ._http import NOT_FOUND, ApiError, ApiMiddleware, Context

__all__ = ["build_app"]


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404 and not request.url.path.startswith(("/api/", "/_health")):
        return _routes_web.error_page(404, f"No page at {request.url.path}.")
    if exc.status_code == 404:
        detail = NOT_FOUND
    elif exc.status_code == 405:
        detail = f'Method "{request.method}" not allowed.'
    else:
        detail = str(exc.detail)
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"detail": f"Internal error: {type(exc).__name__}"}, status_code=500)


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def build_app(context: Context) -> ASGIApp:
    """Build the ASGI app for one server context."""
    api: list[BaseRoute] = [
        *_routes_orgs.routes,
        *_routes_issues.routes,
        *_routes_discover.routes,
        *_routes_releases.routes,
        *_routes_stats.routes,
        *_routes_replays.routes,
        *_routes_alerts.legacy_routes,
    ]
    if context.workflows:
        api.extend(_routes_alerts.workflow_routes)
    router = Router(
        routes=[
            Route("/_health", _health, methods=["GET"]),
            Mount("/api/0", routes=api),
            *_routes_ingest.routes,
            *_routes_web.routes,
        ]
    )
    handled = ExceptionMiddleware(router, handlers={ApiError: _api_error, HTTPException: _http_error})
    app = ApiMiddleware(handled, context=context, router=router)
    return ServerErrorMiddleware(app, handler=_server_error)
