"""Who is calling: ``GET /api/0/``, ``GET /api/0/auth/`` and the regions it can reach.

sentry-cli ``info``, the npm ``sentry`` CLI's ``info`` and the official MCP
server's ``whoami`` ask these first. The local token stands for the machine's
one user (:func:`._shapes.user_shape`) with every scope the backend serves.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ._plumbing import ctx, respond
from ._shapes import user_shape

__all__ = ["TOKEN_SCOPES", "routes"]

#: What the local token may do: everything the backend serves.
TOKEN_SCOPES = ("alerts:read", "alerts:write", "event:admin", "event:read", "event:write", "member:read",
                "org:admin", "org:read", "org:write", "project:admin", "project:read", "project:releases",
                "project:write", "team:admin", "team:read", "team:write")


def _user(request: Request) -> dict[str, object]:
    org = ctx(request).store.orgs()[0]
    return user_shape(org)


def api_index(request: Request) -> JSONResponse:
    """``GET /api/0/``: ``{version, auth: {scopes}, user}``."""
    return respond({"version": "0", "auth": {"scopes": list(TOKEN_SCOPES)}, "user": _user(request)})


def auth_index(request: Request) -> JSONResponse:
    """``GET /api/0/auth/``: the authenticated user."""
    return respond(_user(request))


def user_regions(request: Request) -> JSONResponse:
    """``GET /api/0/users/me/regions/``: the one region, this server (sentry.io lists US and EU)."""
    return respond({"regions": [{"name": "local", "url": ctx(request).url}]})


routes = [
    Route("/", api_index, methods=["GET"]),
    Route("/users/me/regions/", user_regions, methods=["GET"]),
    Route("/auth/", auth_index, methods=["GET"]),
]
