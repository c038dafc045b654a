"""API handlers for issues, their events, and short-ID / event-ID lookups."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..ingest._grouping import short_id, short_id_seq
from ..search._issue_search import IssueCandidate, validate_issue_query
from ..search._query import Term, parse_query
from ..store._issue_updates import Plan, UpdateError, apply_update, plan_update
from ..store._issue_queries import SORT_COLUMNS, issue_filter
from ..store._event_queries import (
    event_in_org,
    event_rows,
    issue_by_id,
    issue_by_short_id,
    issue_event,
    issue_in_org,
    project_event,
)
from ..store._keyset import FIRST, Cursor, ListRows, Page, Rows, SqlRows, keyset_page
from ..store._store import MAX_DB_ID, as_db_id
from ._event_shapes import (
    event_shape,
    event_shapes,
    issue_detail_shape,
    issue_shape,
    issue_shapes,
    simple_event_shape,
)
from ._plumbing import (
    NOT_FOUND,
    ApiError,
    Context,
    bool_param,
    ctx,
    cursor_param,
    get_org,
    get_project,
    int_param,
    project_filter,
    read_json_body,
    respond,
    respond_page,
    window,
)

__all__ = [
    "event_list_filter",
    "event_of_issue",
    "event_page",
    "find_issue",
    "issue_detail",
    "issue_events_page",
    "issue_list",
    "issue_page",
    "issue_terms",
    "matching_issue_ids",
    "routes",
    "update_plan",
]



def find_issue(c: Context, org: dict[str, Any], ident: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Find an issue by numeric ID or short ID within an org; 404 otherwise."""
    store = c.store
    issue = None
    numeric = as_db_id(ident)
    if numeric is not None:
        issue = issue_in_org(store, org["id"], numeric)
    if issue is None:
        parsed = short_id_seq(ident)
        if parsed is not None and parsed[1] <= MAX_DB_ID:
            issue = issue_by_short_id(store, org["id"], parsed[0], parsed[1])
    if issue is None:
        raise ApiError(404, NOT_FOUND)
    project = store.project_by_id(issue["project_id"])
    assert project is not None
    return issue, project


def issue_terms(query: str | None, envs: list[str]) -> list[Term]:
    """Parse and check an issue search (``is:unresolved`` when absent), with environments as a term."""
    terms = parse_query("is:unresolved" if query is None else query)
    validate_issue_query(terms)
    if envs:
        terms.append(Term("environment", tuple(envs)))
    return terms


def matching_issue_ids(c: Context, projects: dict[int, dict[str, Any]], terms: list[Term], limit: int) -> list[int]:
    """IDs of the issues of ``projects`` (any time) matching ``terms``, newest first, at most ``limit``."""
    with c.store.snapshot():
        found = issue_filter(terms, projects, None, None, c.store.query, limit)
        rows = SqlRows(c.store.query, "i.*", found.source, found.sql, found.all_params, SORT_COLUMNS["date"], "i.id")
        kept = [r for r in rows.window(None, 0, -1, False)
                if not found.residual or IssueCandidate(c.store, r, projects[r["project_id"]]).matches(found.residual)]
    return [int(r["id"]) for r in kept[:limit]]


def issue_page(
    c: Context,
    org: dict[str, Any],
    project_rows: list[dict[str, Any]],
    terms: list[Term],
    *,
    start: float | None,
    end: float | None,
    sort: str = "date",
    cursor: Cursor = FIRST,
    size: int = 25,
    expand: frozenset[str] = frozenset(),
) -> Page:
    """One page of an issue search over ``project_rows``, its rows shaped as Sentry's issue list.

    The search runs in SQL (:func:`issue_filter`) and only the page's rows are
    shaped, with one query per page for their stats and one for their triage; terms SQL cannot decide are
    checked in Python over the rows SQL kept.
    """
    if sort not in SORT_COLUMNS:
        raise ApiError(400, f"Invalid sort {sort!r}: use date, new, freq or user.")
    projects = {p["id"]: p for p in project_rows}
    with c.store.snapshot():
        found = issue_filter(terms, projects, start, end, c.store.query, size)
        rows = SqlRows(c.store.query, "i.*", found.source, found.sql, found.all_params, SORT_COLUMNS[sort], "i.id")
        if found.residual:
            kept = [r for r in rows.window(None, 0, -1, False)
                    if IssueCandidate(c.store, r, projects[r["project_id"]]).matches(found.residual)]
            page = keyset_page(ListRows(kept), cursor, size)
        else:
            page = keyset_page(rows, cursor, size)
        shapes = issue_shapes(page.rows, projects, c.store, c.url, org["slug"], expand)
    return replace(page, rows=shapes)


def issue_list(request: Request, org: dict[str, Any], project_rows: list[dict[str, Any]]) -> JSONResponse:
    """Answer an issue list request over ``project_rows``: query, sort, period and ``limit`` paging."""
    terms = issue_terms(request.query_params.get("query"),
                        [e for e in request.query_params.getlist("environment") if e])
    start, end = window(request, "14d")
    sort = request.query_params.get("sort") or "date"
    size, cursor = int_param(request, "limit", 25), cursor_param(request)
    page = issue_page(ctx(request), org, project_rows, terms, start=start, end=end, sort=sort, cursor=cursor,
                      size=size, expand=frozenset(request.query_params.getlist("expand")))
    return respond_page(request, page, page.rows)


def list_issues(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/``."""
    org = get_org(request)
    return issue_list(request, org, project_filter(request, org))


def issue_detail(c: Context, org: dict[str, Any], ident: str) -> dict[str, Any]:
    """An issue of the org by numeric or short ID, shaped as Sentry's issue details; 404 otherwise."""
    issue, project = find_issue(c, org, ident)
    return issue_detail_shape(issue, project, c.store, c.url, org["slug"])


def get_issue(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/`` (numeric or short ID)."""
    return respond(issue_detail(ctx(request), get_org(request), request.path_params["issue"]))


def update_plan(c: Context, org: dict[str, Any], body: dict[str, Any]) -> Plan:
    """Check a ``PUT`` body against the org (400 with Sentry's field-keyed message) and plan it."""
    try:
        return plan_update(c.store, org["id"], body)
    except UpdateError as exc:
        raise ApiError(400, exc.detail) from None


def update_issue(request: Request) -> JSONResponse:
    """``PUT organizations/{o}/issues/{id}/``: status, assignee, priority, bookmark, seen."""
    c, org = ctx(request), get_org(request)
    issue, project = find_issue(c, org, request.path_params["issue"])
    apply_update(c.store, [int(issue["id"])], update_plan(c, org, read_json_body(request)))
    issue = issue_by_id(c.store, int(issue["id"])) or issue
    return respond(issue_detail_shape(issue, project, c.store, c.url, org["slug"]))


def event_page(c: Context, org_id: int, rows: Rows, *, cursor: Cursor = FIRST, size: int = 100,
               full: bool = False) -> Page:
    """One page of events from ``rows`` (newest first), shaped for the list (``full``: as event details)."""
    with c.store.snapshot():
        page = keyset_page(rows, cursor, size)
        if full:
            shapes = [shape | {"event.type": row["type"]}
                      for row, shape in zip(page.rows, event_shapes(page.rows, c.store, org_id), strict=True)]
        else:
            shapes = [simple_event_shape(row, json.loads(row["payload"])) for row in page.rows]
    return replace(page, rows=shapes)


def event_list_filter(request: Request) -> dict[str, Any]:
    """The filters of an event list request (``statsPeriod``/``start``/``end``, ``environment``, ``query``)."""
    start, end = window(request, None)
    return {"start": start, "end": end, "environments": [e for e in request.query_params.getlist("environment") if e],
            "text": (request.query_params.get("query") or "").strip()}


def _event_list(c: Context, request: Request, org_id: int, *, issue_id: int | None = None,
                project_id: int | None = None) -> JSONResponse:
    """Answer an event list request: one keyset page, filtered in SQL; only the page is shaped."""
    rows = event_rows(c.store, issue_id=issue_id, project_id=project_id, **event_list_filter(request))
    size, cursor = int_param(request, "per_page", 100), cursor_param(request)
    page = event_page(c, org_id, rows, cursor=cursor, size=size, full=bool_param(request, "full"))
    return respond_page(request, page, page.rows)


def issue_events_page(c: Context, org: dict[str, Any], ident: str, filters: dict[str, Any], *,
                      cursor: Cursor = FIRST, size: int = 100, full: bool = False) -> Page:
    """One page of an issue's events, newest first, with :func:`event_list_filter`'s ``filters``; 404 if no issue."""
    issue, _ = find_issue(c, org, ident)
    return event_page(c, org["id"], event_rows(c.store, issue_id=int(issue["id"]), **filters), cursor=cursor,
                      size=size, full=full)


def list_issue_events(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/events/``, newest first."""
    c, org = ctx(request), get_org(request)
    issue, _ = find_issue(c, org, request.path_params["issue"])
    return _event_list(c, request, org["id"], issue_id=int(issue["id"]))


def event_of_issue(c: Context, org: dict[str, Any], ident: str, which: str) -> dict[str, Any]:
    """An event of an issue (an event ID, ``latest``, ``oldest`` or ``recommended``), shaped; 404 otherwise."""
    issue, _ = find_issue(c, org, ident)
    which = which.lower()
    wanted = "latest" if which == "recommended" else which if which in ("latest", "oldest") else which.replace("-", "")
    row = issue_event(c.store, int(issue["id"]), wanted)
    if row is None:
        raise ApiError(404, "Event not found")
    return event_shape(row, c.store, org["id"])


def get_issue_event(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/events/{event_id|latest|oldest|recommended}/``."""
    c, org = ctx(request), get_org(request)
    return respond(event_of_issue(c, org, request.path_params["issue"], request.path_params["event"]))


def resolve_short_id(request: Request) -> JSONResponse:
    """``GET organizations/{o}/shortids/{short_id}/`` (case-insensitive)."""
    c, org = ctx(request), get_org(request)
    ident = request.path_params["short_id"]
    if ident.isdigit() or short_id_seq(ident) is None:
        raise ApiError(404, NOT_FOUND)
    issue, project = find_issue(c, org, ident)
    return respond(
        {
            "organizationSlug": org["slug"],
            "projectSlug": project["slug"],
            "groupId": str(issue["id"]),
            "shortId": short_id(project["slug"], issue["short_seq"]),
            "group": issue_shape(issue, project, c.store, c.url, org["slug"]),
        }
    )


def resolve_event_id(request: Request) -> JSONResponse:
    """``GET organizations/{o}/eventids/{event_id}/``."""
    c, org = ctx(request), get_org(request)
    event_id = request.path_params["event"].replace("-", "").lower()
    row = event_in_org(c.store, org["id"], event_id)
    if row is None:
        raise ApiError(404, NOT_FOUND)
    project = c.store.project_by_id(row["project_id"])
    assert project is not None
    return respond(
        {
            "organizationSlug": org["slug"],
            "projectSlug": project["slug"],
            "groupId": None if row["issue_id"] is None else str(row["issue_id"]),
            "eventId": row["event_id"],
            "event": event_shape(row, c.store, org["id"]),
        }
    )


def list_project_events(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/events/``: legacy list of error events, newest first."""
    c, org = ctx(request), get_org(request)
    project = get_project(request, org)
    return _event_list(c, request, org["id"], project_id=int(project["id"]))


def get_project_event(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/events/{event_id}/``."""
    c, org = ctx(request), get_org(request)
    project = get_project(request, org)
    event_id = request.path_params["event"].replace("-", "").lower()
    row = project_event(c.store, int(project["id"]), event_id)
    if row is None:
        raise ApiError(404, "Event not found")
    return respond(event_shape(row, c.store, org["id"]))


routes = [
    Route("/organizations/{org}/issues/", list_issues, methods=["GET"]),
    Route("/organizations/{org}/issues/{issue}/", get_issue, methods=["GET"]),
    Route("/organizations/{org}/issues/{issue}/", update_issue, methods=["PUT"]),
    Route("/organizations/{org}/issues/{issue}/events/", list_issue_events, methods=["GET"]),
    Route("/organizations/{org}/issues/{issue}/events/{event}/", get_issue_event, methods=["GET"]),
    Route("/organizations/{org}/shortids/{short_id}/", resolve_short_id, methods=["GET"]),
    Route("/organizations/{org}/eventids/{event}/", resolve_event_id, methods=["GET"]),
    Route("/projects/{org}/{project}/events/", list_project_events, methods=["GET"]),
    Route("/projects/{org}/{project}/events/{event}/", get_project_event, methods=["GET"]),
]
