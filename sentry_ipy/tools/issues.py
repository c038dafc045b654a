"""Issue tools: list, get, resolve short IDs, list an issue's events, search by file."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import Field

from ..api import capabilities
from ..errors import NotFoundError, SentryIpyError, ToolInputError, UnsupportedFeatureError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import (count_of, dicts, not_found_as, project_info, resolve_issue, say,
                      stack_summary)
from ._params import Number, Params, environment_field, limit_field, period_field, project_field
from ._registry import tool
from ._result import ToolResult, plural
from ._window import When, describe, end_field, start_field, window_bounds, window_params

__all__ = [
    "GetIssueParams",
    "ListIssueEventsParams",
    "ListIssuesParams",
    "ResolveShortIdParams",
    "SearchErrorsInFileParams",
    "discover_quote",
    "merge_by_issue",
]

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): triage.
PURPOSE = "triage"

ISSUE_COLUMNS = ("shortId", "title", "level", "status", "count", "userCount", "lastSeen")
#: What markdown shows of one issue: enough to decide the next step, no flags.
ISSUE_FIELDS = ("id", "shortId", "title", "culprit", "level", "status", "substatus", "priority",
                "count", "userCount", "firstSeen", "lastSeen", "platform", "eventId", "stacktrace")
EVENT_COLUMNS = ("eventID", "title", "dateCreated", "message")

IssueSort = Literal["date", "new", "trends", "freq", "user", "inbox", "recommended"]


class ListIssuesParams(Params):
    projectSlug: str = project_field()
    query: str | None = Field(None, description="Default 'is:unresolved'; '' for all")
    limit: Number = limit_field(100, "issues")
    sort: IssueSort | None = Field(None, description="date = last seen")
    statsPeriod: str | None = period_field(None)
    environment: str | None = environment_field()
    start: When = start_field()
    end: When = end_field()


@tool("sentry_list_issues", title="List issues", read_only=True, idempotent=True, alias="issues",
      frame=Frame.ISSUES)
def list_issues(ctx: ToolContext, p: ListIssuesParams) -> ToolResult:
    """List a project's issues, all pages up to limit, to triage failures.

    Then sentry_get_issue. E.g. {"projectSlug":"backend","query":"level:error"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    params: list[tuple[str, Any]] = [("project", project["id"])]
    params += [("environment", p.environment)] if p.environment else []
    params += window_params(p)
    listing = capabilities.list_issues(client, client.org, params,
                                       query="is:unresolved" if p.query is None else p.query,
                                       sort=p.sort, limit=ctx.row_limit(p), progress=ctx.progress)
    rows, truncated = listing.rows, listing.truncated
    query = "is:unresolved (default)" if p.query is None else (repr(p.query) if p.query else "all")
    first = rows[0].get("shortId") or rows[0].get("id") if rows else None
    return ToolResult(untrusted=True,
        summary=f"Found {plural(len(rows), 'issue', more=truncated)} in project {project['slug']!r} "
                f"(query: {query}).{say(listing.notes)}",
        records=rows, columns=ISSUE_COLUMNS, truncated=truncated,
        links={"Issues": client.web_link(f"issues/?project={project['id']}")},
        hints=[f'Next: sentry_get_issue with {{"issueId": "{first}"}}.'] if first else [])


class GetIssueParams(Params):
    issueId: str = Field(description="ID, short ID or URL")


@tool("sentry_get_issue", title="Get issue", read_only=True, idempotent=True, alias="issue",
      frame=Frame.ISSUES)
def get_issue(ctx: ToolContext, p: GetIssueParams) -> ToolResult:
    """Get an issue's details and its latest (or the URL's) event's stack trace.

    Then sentry_list_issue_events. E.g. {"issueId":"BACKEND-1Z"}
    """
    client = ctx.api()
    issue_id, org, ref, issue = resolve_issue(client, p.issueId)
    if issue is None:
        with not_found_as(f"Issue {ref.issue_id!r} was not found in organization {org!r}."):
            issue = capabilities.get_issue(client, org, issue_id)
    event_key = ref.event_id or "latest"
    try:
        event: dict[str, Any] | None = capabilities.issue_event(client, org, issue_id, event_key)
    except (NotFoundError, UnsupportedFeatureError):
        event = None  # the issue is the answer; its latest event only adds the stack trace
    data = dict(issue)
    if event:
        data["eventId"] = event.get("eventID") or event.get("id")
        data["stacktrace"] = stack_summary(event)
    link = issue.get("permalink") or client.web_link(f"issues/{issue_id}/")
    short = issue.get("shortId") or issue_id
    return ToolResult(untrusted=True,
        summary=f"{short}: {issue.get('title')} ({issue.get('status')}, "
                f"{plural(str(issue.get('count', '?')), 'event')}, "
                f"last seen {issue.get('lastSeen')}).",
        data=data, columns=ISSUE_FIELDS, links={"Issue": link},
        hints=[f'Next: sentry_list_issue_events with {{"issueId": "{issue_id}"}} for every event.'])


class ResolveShortIdParams(Params):
    shortId: str


@tool("sentry_resolve_short_id", title="Resolve short ID", read_only=True, idempotent=True,
      alias="shortid")
def resolve_short_id(ctx: ToolContext, p: ResolveShortIdParams) -> ToolResult:
    """Resolve a short ID like 'PROJ-123' to its issue ID, project and status.

    E.g. {"shortId":"BACKEND-1Z"}
    """
    client = ctx.api()
    text = p.shortId.strip()
    if text.isdigit() or "/" in text:
        raise ToolInputError(f"{text!r} is not a short ID; short IDs look like PROJ-123 "
                             "(use sentry_get_issue for numeric IDs and URLs).")
    issue_id, org, _, issue = resolve_issue(client, text)
    issue = issue or {}
    data: dict[str, Any] = {"shortId": issue.get("shortId") or text.upper(), "issueId": issue_id,
            "organization": org, "project": (issue.get("project") or {}).get("slug"),
            "title": issue.get("title"), "status": issue.get("status"), "level": issue.get("level"),
            "count": issue.get("count"), "lastSeen": issue.get("lastSeen"),
            "permalink": issue.get("permalink") or client.web_link(f"issues/{issue_id}/")}
    return ToolResult(untrusted=True,
        summary=f"{data['shortId']} is issue {issue_id} in project {data['project']!r}: {data['title']}.",
        data=data, links={"Issue": data["permalink"]},
        hints=[f'Next: sentry_get_issue with {{"issueId": "{issue_id}"}}.'])


class ListIssueEventsParams(Params):
    issueId: str = Field(description="ID, short ID or URL")
    limit: Number = limit_field(50, "events")
    query: str | None = None
    statsPeriod: str | None = period_field(None)
    start: When = start_field()
    end: When = end_field()


@tool("sentry_list_issue_events", title="List issue events", read_only=True, idempotent=True,
      alias="issue_events", frame=Frame.EVENTS)
def list_issue_events(ctx: ToolContext, p: ListIssueEventsParams) -> ToolResult:
    """List an issue's events, newest first, all pages up to limit.

    Then sentry_get_event. E.g. {"issueId":"BACKEND-1Z"}
    """
    client = ctx.api()
    issue_id, org, ref, _ = resolve_issue(client, p.issueId)
    with not_found_as(f"Issue {ref.issue_id!r} was not found in organization {org!r}."):
        listing = capabilities.issue_events(client, org, issue_id, query=p.query,
                                            period=p.statsPeriod, window=window_bounds(p),
                                            full=ctx.fetch_all, limit=ctx.row_limit(p),
                                            progress=ctx.progress)
    rows, truncated = listing.rows, listing.truncated
    first = rows[0].get("eventID") if rows else None
    return ToolResult(untrusted=True,
        summary=f"Found {plural(len(rows), 'event', more=truncated)} for issue {ref.issue_id}."
                f"{say(listing.notes)}",
        records=rows, columns=EVENT_COLUMNS, truncated=truncated,
        links={"Events": client.web_link(f"issues/{issue_id}/events/")},
        hints=[f"Next: sentry_get_event with the projectSlug and {{\"eventId\": \"{first}\"}}."]
        if first else [])


class SearchErrorsInFileParams(Params):
    projectSlug: str = project_field()
    filename: str = Field(description="Name or path suffix")
    limit: Number = limit_field(100, "issues")
    statsPeriod: str = period_field("14d")
    start: When = start_field()
    end: When = end_field()


@tool("sentry_search_errors_in_file", title="Search errors in file", read_only=True,
      idempotent=True, alias="file_errors", frame=Frame.FILE_ERRORS)
def search_errors_in_file(ctx: ToolContext, p: SearchErrorsInFileParams) -> ToolResult:
    """Find the issues whose stack traces pass through a file.

    Then sentry_get_issue. E.g. {"projectSlug":"backend","filename":"pay.py"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    name = p.filename.strip()
    if not name:
        raise ToolInputError("The filename is empty; give a file name such as 'app.py'.")
    query = f'stack.filename:"*{discover_quote(name)}"'
    # Grouped by issue alone (no title: Discover would split an issue per distinct
    # title), so `limit` counts issues and count() is exact; titles come after.
    params: list[tuple[str, Any]] = [
        ("dataset", "errors"), ("project", project["id"]), ("query", query),
        *window_params(p, "14d"), ("sort", "-last_seen"),
        *[("field", f) for f in ("issue", "issue.id", "project", "last_seen()", "count()")]]
    notes: list[str] = []
    found = capabilities.discover(client, client.org, params, limit=ctx.row_limit(p), progress=ctx.progress)
    rows, truncated = found if found is not None else (None, False)
    if rows is None:
        rows, truncated, notes = _file_errors_without_discover(client, project["slug"], name, p,
                                                               ctx.row_limit(p), ctx)
    else:
        rows = merge_by_issue(rows)
        titles = _issue_titles(client, project["id"], [r.get("issue.id") for r in rows],
                               window_params(p, "14d"))
        rows = [{"issue": r.get("issue"), "issue.id": r.get("issue.id"),
                 "title": titles.get(str(r.get("issue.id"))), **r} for r in rows]
    total = sum(count_of(r.get("count()"), "an event count") for r in rows)
    first = rows[0].get("issue") if rows else None
    return ToolResult(untrusted=True,
        summary=f"Found {plural(len(rows), 'issue', more=truncated)} ({plural(total, 'event')}) "
                f"with {name!r} in their stack traces in project {project['slug']!r} "
                f"{describe(p, '14d')}.{say(notes)}",
        records=rows, truncated=truncated,
        columns=("issue", "title", "count()", "last_seen()"),
        links={"Issues": client.web_link("issues/?" + urlencode({"project": project["id"],
                                                                 "query": query}))},
        hints=[f'Next: sentry_get_issue with {{"issueId": "{first}"}}.'] if first else
        [f"No errors in {name!r}; try a shorter path or a longer statsPeriod."])


def _file_errors_without_discover(client: Any, slug: str, name: str, p: SearchErrorsInFileParams,
                                  limit: int | None, ctx: ToolContext
                                  ) -> tuple[list[dict[str, Any]], bool, list[str]]:
    """Discover-shaped rows (one per issue) from the project's full events, for servers without it.

    Each event's stack frames are matched on our side (the file name as a path
    suffix), so the count is of the events scanned, which the note says.
    """
    events = capabilities.error_events_without_discover(
        client, client.org, slug, period=p.statsPeriod, window=window_bounds(p), query=None,
        limit=capabilities.EVENT_SCAN,
        full=True, keep=lambda e: _passes_through(e, name), progress=ctx.progress)
    rows = merge_by_issue([{"issue": None, "issue.id": e.get("groupID"), "title": e.get("title"),
                            "project": slug, "last_seen()": e.get("dateCreated"), "count()": 1}
                           for e in events.rows])
    notes = [*events.notes, "Stack traces were matched on this side, event by event."]
    if limit is None:
        return rows, events.truncated, notes
    return rows[:limit], len(rows) > limit or events.truncated, notes


def _passes_through(event: dict[str, Any], name: str) -> bool:
    """True when a frame of the event's exception names a file ending in ``name``."""
    for entry in dicts(event.get("entries")):
        if entry.get("type") != "exception":
            continue
        for exc in dicts(_field(entry, "data", "values")):
            for frame in dicts(_field(exc, "stacktrace", "frames")):
                paths = (frame.get("filename"), frame.get("absPath"), frame.get("abs_path"))
                if any(isinstance(v, str) and v.endswith(name) for v in paths):
                    return True
    return False


def _field(obj: dict[str, Any], outer: str, inner: str) -> Any:
    """``obj[outer][inner]`` when ``obj[outer]`` is an object, else ``None``."""
    value = obj.get(outer)
    return value.get(inner) if isinstance(value, dict) else None


_TITLE_BATCH = 100  # issue IDs per title lookup (keeps the URL short)


def _issue_titles(client: Any, project_id: str, issue_ids: list[Any],
                  window: list[tuple[str, str]]) -> dict[str, str]:
    """``issue ID -> title`` for Discover rows, from the issues endpoint, best effort.

    Sentry answers ``group=`` IDs directly; servers without it (older ones, the
    local backend) read the ``issue.id:[...]`` query. A failure leaves titles empty
    rather than failing the search: the issue IDs and counts are the answer.
    """
    ids = [str(i) for i in issue_ids if i not in (None, "")]
    titles: dict[str, str] = {}
    for at in range(0, len(ids), _TITLE_BATCH):
        batch = ids[at:at + _TITLE_BATCH]
        params: list[tuple[str, Any]] = [
            ("project", project_id), *window,
            ("query", f"issue.id:[{','.join(batch)}]"), *[("group", i) for i in batch]]
        try:
            found, _ = client.collect("organizations", client.org, "issues", params=params,
                                      limit=len(batch), page_size_param="limit",
                                      scope="event:read")
        except SentryIpyError:
            return titles
        titles.update({str(f.get("id")): f.get("title") for f in found if f.get("title")})
    return titles


def merge_by_issue(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per issue, counts summed: a server that still splits an issue into
    several rows (by a per-event field) must not list it twice."""
    merged: dict[Any, dict[str, Any]] = {}
    for row in rows:
        key = row.get("issue.id") or row.get("issue")
        seen = merged.get(key)
        if seen is None:
            merged[key] = dict(row)
            continue
        seen["count()"] = (count_of(seen.get("count()"), "an event count")
                           + count_of(row.get("count()"), "an event count"))
        if str(row.get("last_seen()") or "") > str(seen.get("last_seen()") or ""):
            seen["last_seen()"], seen["title"] = row.get("last_seen()"), row.get("title")
    return sorted(merged.values(), key=lambda r: str(r.get("last_seen()") or ""), reverse=True)


def discover_quote(text: str) -> str:
    """Escape ``text`` for a double-quoted Discover search value."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
