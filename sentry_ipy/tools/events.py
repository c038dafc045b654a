"""Event tools: one event in detail, and a project's recent error events."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..api import capabilities, normalise_hex_id
from ..errors import APIError, NotFoundError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import say, dicts, not_found_as, project_info, stack_summary
from ._params import Number, Params, limit_field, period_field, project_field
from ._registry import tool
from ._result import ToolResult, plural
from ._window import (When, collect_newest_first, describe, end_field, start_field, window_bounds,
                      window_params)

__all__ = ["GetEventParams", "ListErrorEventsParams", "event_digest"]

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): triage.
PURPOSE = "triage"

#: Discover columns for the error list, in display order.
ERROR_FIELDS = ("id", "title", "timestamp", "level", "issue", "issue.id", "culprit", "message",
                "release", "environment", "project", "platform")
#: What a full event adds to a Discover row for analysis: tags, contexts and the user as columns.
DETAIL_KEYS = ("tags", "contexts", "user")


class GetEventParams(Params):
    projectSlug: str = project_field()
    eventId: str = Field(description="32 hex chars, dashes ok")


@tool("sentry_get_event", title="Get event", read_only=True, idempotent=True, alias="event",
      frame=Frame.EVENT)
def get_event(ctx: ToolContext, p: GetEventParams) -> ToolResult:
    """Get one event: message, tags, user, stack trace, breadcrumbs.

    E.g. {"projectSlug":"backend","eventId":"9fac2ceed9344f2bbfdd1fdacb0ed9b1"}
    """
    client = ctx.api()
    event_id = normalise_hex_id(p.eventId)
    note = ""
    try:
        event = client.get_object("projects", client.org, p.projectSlug, "events", event_id,
                                  scope="project:read")
    except NotFoundError:
        with not_found_as(f"Event {event_id} was not found in project {p.projectSlug!r} nor "
                          f"anywhere in organization {client.org!r}; events expire after the "
                          "retention period."):
            found = client.get_object("organizations", client.org, "eventids", event_id,
                                      scope="org:read", require={"event": dict})
        event = found["event"]
        note = f" (found in project {found.get('projectSlug')!r}, not {p.projectSlug!r})"
    data = event_digest(capabilities.camel_row(event))
    links = {}
    if data.get("groupID"):
        links["Issue"] = client.web_link(f"issues/{data['groupID']}/events/{event_id}/")
    return ToolResult(untrusted=True,
        summary=f"Event {event_id}{note}: {data.get('title')} ({data.get('level') or 'no level'}, "
                f"{data.get('dateCreated')}).",
        data=data, links=links, details=event_details(data),
        hints=[f'Next: sentry_get_issue with {{"issueId": "{data["groupID"]}"}}.']
        if data.get("groupID") else [])


def event_digest(event: dict[str, Any]) -> dict[str, Any]:
    """The parts of an event a person or a model reads, in a flat-ish dict.

    Keeps tags as a mapping, the stack trace as text and breadcrumbs as short
    rows; drops the raw ``entries`` and ``_meta`` that only the web UI needs.
    """
    tags = {t.get("key"): t.get("value") for t in dicts(event.get("tags"))}
    crumbs: list[dict[str, Any]] = []
    request: dict[str, Any] | None = None
    message = event.get("message")
    for entry in dicts(event.get("entries")):
        data = raw_data if isinstance(raw_data := entry.get("data"), dict) else {}
        if entry.get("type") == "request":
            request = {"method": data.get("method"), "url": data.get("url")}
        if entry.get("type") == "breadcrumbs":
            crumbs = [{k: c.get(k) for k in ("timestamp", "category", "level", "message")}
                      for c in dicts(data.get("values"))]
        if entry.get("type") == "message" and not message:
            message = data.get("formatted")
    return {
        "eventID": event.get("eventID") or event.get("id"),
        "groupID": event.get("groupID"),
        "projectID": event.get("projectID"),
        "title": event.get("title"),
        "message": message,
        "level": tags.get("level") or event.get("level"),
        "platform": event.get("platform"),
        "dateCreated": event.get("dateCreated"),
        "dateReceived": event.get("dateReceived"),
        "release": _release(event, tags),
        "environment": tags.get("environment"),
        "culprit": event.get("culprit"),
        "user": event.get("user"),
        "tags": tags,
        "stacktrace": stack_summary(event, max_frames=20),
        "breadcrumbs": crumbs,
        "contexts": event.get("contexts") or {},
        "request": request,
        "sdk": event.get("sdk"),
    }


#: Context fields worth a line in markdown, per context name.
_CONTEXT_FIELDS = {"os": ("name", "version"), "runtime": ("name", "version"),
                   "browser": ("name", "version"), "device": ("family", "model"),
                   "app": ("app_name", "app_version")}
_CRUMBS = 10  # breadcrumbs shown in markdown, newest last


def event_details(data: dict[str, Any]) -> dict[str, str]:
    """The nested parts of an event digest as short markdown lines (text-only MCP clients).

    Tags as ``key=value``, the user, the request, key context fields and the last
    breadcrumbs; structured content keeps the full objects.
    """
    out: dict[str, str] = {}
    tags = data.get("tags") if isinstance(data.get("tags"), dict) else {}
    if tags:
        out["tags"] = ", ".join(f"{k}={v}" for k, v in tags.items())
    user = data.get("user")
    if isinstance(user, dict):
        out["user"] = ", ".join(f"{k}={v}" for k, v in user.items()
                                if v not in (None, "", {}, []) and not isinstance(v, (dict, list)))
    request = data.get("request")
    if isinstance(request, dict) and (request.get("url") or request.get("method")):
        out["request"] = " ".join(str(v) for v in (request.get("method"), request.get("url")) if v)
    contexts = data.get("contexts") if isinstance(data.get("contexts"), dict) else {}
    if contexts:
        described = []
        for name, ctx in contexts.items():
            keys = _CONTEXT_FIELDS.get(name, ())
            values = [str(ctx.get(k)) for k in keys if isinstance(ctx, dict) and ctx.get(k)]
            described.append(f"{name} ({' '.join(values)})" if values else str(name))
        out["contexts"] = "; ".join(described)
    crumbs = [c for c in data.get("breadcrumbs") or [] if isinstance(c, dict)]
    if crumbs:
        last = crumbs[-_CRUMBS:]
        lines = [" ".join(str(c.get(k)) for k in ("timestamp", "category", "level") if c.get(k))
                 + f": {' '.join(str(c.get('message') or '').split())[:200]}" for c in last]
        label = (f"breadcrumbs (last {len(last)} of {len(crumbs)})" if len(crumbs) > len(last)
                 else "breadcrumbs")
        out[label] = "\n".join(lines)
    return out


class ListErrorEventsParams(Params):
    projectSlug: str = project_field()
    limit: Number = limit_field(50, "events")
    query: str | None = None
    statsPeriod: str = period_field("14d")
    start: When = start_field()
    end: When = end_field()


@tool("sentry_list_error_events_in_project", title="List error events", read_only=True,
      idempotent=True, alias="error_events", frame=Frame.ERROR_EVENTS)
def list_error_events(ctx: ToolContext, p: ListErrorEventsParams) -> ToolResult:
    """List a project's recent error events, all pages up to limit.

    Then sentry_get_event. E.g. {"projectSlug":"backend"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    params: list[tuple[str, Any]] = [("dataset", "errors"), ("project", project["id"]),
                                     ("sort", "-timestamp"), *[("field", f) for f in ERROR_FIELDS]]
    if p.query:
        params.append(("query", p.query))
    notes: list[str] = []

    def discover(window: list[tuple[str, str]], limit: int | None) -> tuple[list[dict[str, Any]], bool]:
        found = capabilities.discover(client, client.org, [*params, *window], limit=limit,
                                      progress=ctx.progress)
        if found is None:
            raise _NoDiscover
        return found

    try:
        rows, truncated = collect_newest_first(discover, p, "14d", ctx.row_limit(p))
    except _NoDiscover:
        listing = capabilities.error_events_without_discover(
            client, client.org, project["slug"], period=p.statsPeriod, window=window_bounds(p),
            query=p.query, limit=ctx.row_limit(p), full=ctx.fetch_all, progress=ctx.progress)
        rows, truncated, notes = ([_legacy_row(e, ctx.fetch_all) for e in listing.rows],
                                  listing.truncated, listing.notes)
    if ctx.fetch_all and not notes:
        _add_details(ctx, project["slug"], rows, p)
    first = rows[0].get("id") if rows else None
    source = "the project event list" if notes else "Discover"
    return ToolResult(untrusted=True,
        summary=f"Found {plural(len(rows), 'error event', more=truncated)} in project "
                f"{project['slug']!r} {describe(p, '14d')} (from {source}).{say(notes)}",
        records=rows, truncated=truncated,
        columns=("id", "timestamp", "level", "issue", "title"),
        links={"Issues": client.web_link(f"issues/?project={project['id']}")},
        hints=[f'Next: sentry_get_event with {{"projectSlug": "{project["slug"]}", "eventId": '
               f'"{first}"}}.'] if first else [])


class _NoDiscover(Exception):
    """The server has no Discover: read the project's event list instead."""


def _add_details(ctx: ToolContext, project_slug: str, rows: list[dict[str, Any]],
                 p: ListErrorEventsParams) -> None:
    """Give Discover rows their event's tags, contexts and user, for tag columns in the frame.

    Discover returns only the fields asked for, and custom tag keys are unknown in
    advance. Full events come from the project's event list (``full=true``, 100 per
    request, same window, newest first), as many as there are rows; rows it did not
    cover (a query the list reads differently) get their event one by one. Progress
    is reported throughout; an event that cannot be fetched leaves its row as it was.
    """
    if not rows:
        return
    client = ctx.api()
    found: dict[str, dict[str, Any]] = {}
    if not p.query:
        full, _ = client.collect("projects", client.org, project_slug, "events",
                                 params=[*window_params(p, "14d"), ("full", "true")],
                                 limit=len(rows), scope="project:read", progress=ctx.progress)
        found = {str(e.get("eventID") or e.get("id")).replace("-", ""): e for e in full}
    missing = [r for r in rows if str(r.get("id")) not in found]
    for done, row in enumerate(missing, 1):
        try:
            found[str(row.get("id"))] = client.get_object(
                "projects", client.org, project_slug, "events", str(row.get("id")),
                scope="project:read")
        except APIError:
            continue
        if done % 100 == 0:
            ctx.progress(done, len(missing), "event details")
    for row in rows:
        event = found.get(str(row.get("id")))
        if event is not None:
            row.update({k: event.get(k) for k in DETAIL_KEYS if event.get(k) is not None})


def _legacy_row(event: dict[str, Any], details: bool) -> dict[str, Any]:
    """Shape a legacy ``/projects/{o}/{p}/events/`` row like a Discover row.

    With ``details`` (the faces that build frames) the row keeps the event's tags,
    contexts and user, as :func:`_add_details` gives Discover rows.
    """
    tags = {t.get("key"): t.get("value") for t in dicts(event.get("tags"))}
    row = {"id": event.get("eventID") or event.get("id"), "title": event.get("title"),
           "timestamp": event.get("dateCreated"), "level": event.get("level") or tags.get("level"),
           "issue": None, "issue.id": event.get("groupID"), "culprit": event.get("culprit"),
           "message": event.get("message"), "release": _release(event, tags),
           "environment": tags.get("environment"), "platform": event.get("platform")}
    if details:
        row.update({k: event[k] for k in DETAIL_KEYS if event.get(k) is not None})
    return row


def _release(event: dict[str, Any], tags: dict[Any, Any]) -> Any:
    """The event's release version: top-level (a string or ``{version}``), else its tag."""
    release = event.get("release")
    if isinstance(release, dict):
        release = release.get("version")
    return release or tags.get("release")
