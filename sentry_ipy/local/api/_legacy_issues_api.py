"""``/api/0/issues/{id}/…``: the organisation-less issue paths older clients and self-hosted Sentry use.

Each is the org-scoped route under ``organizations/{o}/issues/{id}/`` with
the organisation taken from the issue itself (numeric IDs only, as in Sentry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ._plumbing import NOT_FOUND, ApiError, ctx

__all__ = ["legacy_routes"]

_ORG_ISSUE = "/organizations/{org}/issues/{issue}/"
Endpoint = Callable[[Request], Response]


def _with_issue_org(endpoint: Endpoint) -> Endpoint:
    def legacy(request: Request) -> Response:
        org = ctx(request).store.issue_org(request.path_params["issue"])
        if org is None:
            raise ApiError(404, NOT_FOUND)
        request.scope["path_params"] = {**request.path_params, "org": org["slug"]}
        return endpoint(request)

    legacy.__doc__ = f"Legacy form of: {endpoint.__doc__ or endpoint.__name__}"
    return legacy


def legacy_routes(routes: Iterable[BaseRoute]) -> list[Route]:
    """A ``/issues/{issue}/…`` twin of every org-scoped issue route in ``routes``."""
    twins = []
    for route in routes:
        if isinstance(route, Route) and route.path.startswith(_ORG_ISSUE):
            path = "/issues/{issue}/" + route.path[len(_ORG_ISSUE):]
            twins.append(Route(path, _with_issue_org(route.endpoint), methods=sorted(route.methods or ())))
    return twins
