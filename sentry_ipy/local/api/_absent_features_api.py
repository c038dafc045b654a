"""Features the local backend does not have, answered as Sentry answers an org that never set them up.

Dashboards, cron and uptime monitors, metric alert rules, external issue links
and code mappings are configured in Sentry's UI or through integrations; none
exist here, so their lists are ``200 []`` (with paging headers), not the 404
that clients read as "organization not found".
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ._issues_api import find_issue
from ._plumbing import ctx, get_org, get_project, paginate, respond

__all__ = ["routes"]


def empty_org_list(request: Request) -> JSONResponse:
    """An organisation-level collection with nothing in it."""
    get_org(request)
    return paginate(request, [])


def external_issues(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/external-issues/``: no issue-tracker integration, no links."""
    find_issue(ctx(request), get_org(request), request.path_params["issue"])
    return respond([])


def stacktrace_link(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/stacktrace-link/``: no source integration, so no link to source."""
    get_project(request)
    return respond({"config": None, "sourceUrl": None, "integrations": [], "error": "no_code_mappings_for_project"})


routes = [
    *(Route(f"/organizations/{{org}}/{name}/", empty_org_list, methods=["GET"])
      for name in ("dashboards", "monitors", "uptime", "alert-rules")),
    Route("/organizations/{org}/issues/{issue}/external-issues/", external_issues, methods=["GET"]),
    Route("/projects/{org}/{project}/stacktrace-link/", stacktrace_link, methods=["GET"]),
]
