"""Event tools: one event in detail, and a project's recent error events."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..api import normalise_hex_id
from ..errors import APIError, NotFoundError
from ._context import ToolContext
from ._lookup import dicts, not_found_as, project_info, stack_summary
from ._params import Number, Params, limit_field, period_field, project_field
from ._registry import tool
from ._result import ToolResult

__all__ = ["GetEventParams", "ListErrorEventsParams", "event_digest"]

#: Discover columns for the error list, in display order.
ERROR_FIELDS = ("id", "title", "timestamp", "level", "issue", "issue.id", "culprit", "message",
                "release", "environment")


class GetEventParams(Params):
    projectSlug: str = project_field()
    eventId: str = Field(description="32 hex chars, dashes ok")


@tool("sentry_get_event", params=GetEventParams, title="Get event", family="api", read_only=True,
      idempotent=True, alias="event")
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
    data = event_digest(event)
    links = {}
    if data.get("groupID"):
        links["Issue"] = client.web_link(f"issues/{data['groupID']}/events/{event_id}/")
    return ToolResult(
        summary=f"Event {event_id}{note}: {data.get('title')} ({data.get('level') or 'no level'}, "
                f"{data.get('dateCreated')}).",
        data=data, frame="event", links=links,
        hints=[f'Next: sentry_get_issue with {{"issueId": "{data["groupID"]}"}}.']
        if data.get("groupID") else [])


def event_digest(event: dict[str, Any]) -> dict[str, Any]:
    """The parts of an event a person or a model reads, in a flat-ish dict.

    Keeps tags as a mapping, the stack trace as text and breadcrumbs as short
    rows; drops the raw ``entries`` and ``_meta`` that only the web UI needs.
    """
    tags = {t.get("key"): t.get("value") for t in dicts(event.get("tags"))}
    crumbs: list[dict[str, Any]] = []
    message = event.get("message")
    for entry in dicts(event.get("entries")):
        data = raw_data if isinstance(raw_data := entry.get("data"), dict) else {}
        if entry.get("type") == "breadcrumbs":
            crumbs = [{k: c.get(k) for k in ("timestamp", "category", "level", "message")}
                      for c in dicts(data.get("values"))]
        if entry.get("type") == "message" and not message:
            message = data.get("formatted")
    release = event.get("release")
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
        "release": release.get("version") if isinstance(release, dict) else release,
        "environment": tags.get("environment"),
        "culprit": event.get("culprit"),
        "user": event.get("user"),
        "tags": tags,
        "stacktrace": stack_summary(event, max_frames=20),
        "breadcrumbs": crumbs,
        "contexts": event.get("contexts") or {},
        "sdk": event.get("sdk"),
    }


class ListErrorEventsParams(Params):
    projectSlug: str = project_field()
    limit: Number = limit_field(50, "events")
    query: str | None = None
    statsPeriod: str = period_field("14d")


@tool("sentry_list_error_events_in_project", params=ListErrorEventsParams,
      title="List error events", family="api", read_only=True, idempotent=True, alias="events")
def list_error_events(ctx: ToolContext, p: ListErrorEventsParams) -> ToolResult:
    """List a project's recent error events, all pages up to limit.

    Then sentry_get_event. E.g. {"projectSlug":"backend"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    params: list[tuple[str, Any]] = [("dataset", "errors"), ("project", project["id"]),
                                     ("sort", "-timestamp"), ("statsPeriod", p.statsPeriod),
                                     *[("field", f) for f in ERROR_FIELDS]]
    if p.query:
        params.append(("query", p.query))
    source = "Discover"
    try:
        rows, truncated = client.collect("organizations", client.org, "events", params=params,
                                         limit=p.limit, unwrap="data", scope="org:read",
                                         progress=ctx.progress)
    except APIError as exc:
        if not _discover_missing(exc):
            raise  # e.g. a 400 about the query itself: the user needs that sentence
        source = "the project event list (Discover is unavailable)"
        legacy = [(k, v) for k, v in (("query", p.query), ("statsPeriod", p.statsPeriod)) if v]
        raw, truncated = client.collect("projects", client.org, project["slug"], "events",
                                        params=legacy, limit=p.limit, scope="project:read",
                                        progress=ctx.progress)
        rows = [_legacy_row(e) for e in raw if e.get("event.type", "error") != "transaction"]
    first = rows[0].get("id") if rows else None
    return ToolResult(
        summary=f"Found {len(rows)}{'+' if truncated else ''} error events in project "
                f"{project['slug']!r} over {p.statsPeriod} (from {source}).",
        records=rows, frame="error_events", truncated=truncated,
        columns=("id", "timestamp", "level", "issue", "title"),
        links={"Issues": client.web_link(f"issues/?project={project['id']}")},
        hints=[f'Next: sentry_get_event with {{"projectSlug": "{project["slug"]}", "eventId": '
               f'"{first}"}}.'] if first else [])


def _legacy_row(event: dict[str, Any]) -> dict[str, Any]:
    """Shape a legacy ``/projects/{o}/{p}/events/`` row like a Discover row."""
    tags = {t.get("key"): t.get("value") for t in dicts(event.get("tags"))}
    return {"id": event.get("eventID") or event.get("id"), "title": event.get("title"),
            "timestamp": event.get("dateCreated"), "level": tags.get("level"),
            "issue": None, "issue.id": event.get("groupID"), "culprit": event.get("culprit"),
            "message": event.get("message"), "release": tags.get("release"),
            "environment": tags.get("environment")}


def _discover_missing(exc: APIError) -> bool:
    """True when the server lacks Discover (or its errors dataset), not when the query is bad.

    Older self-hosted Sentry answers 404, or 400 naming the dataset; a 400 about
    the query must reach the user instead of silently becoming "0 events".
    """
    detail = (exc.detail or "").lower()
    return exc.status == 404 or (exc.status == 400 and "dataset" in detail)
