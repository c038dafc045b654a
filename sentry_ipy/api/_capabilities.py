"""Capabilities tools ask for, each reached by whichever route this server offers.

A tool asks for "the issue", "its events", "the issue a short ID names" or
"this project's error events"; the function here tries Sentry's current route
first and falls back, through :class:`~._features.ServerFeatures`, to what older
Sentry versions and Sentry-compatible servers (GlitchTip) serve:

=================  ==========================================  ===========================================
capability         first                                       then
=================  ==========================================  ===========================================
issue, events      ``organizations/{o}/issues/{id}/…``         ``issues/{id}/…`` (rows may be snake_case)
short ID           ``organizations/{o}/shortids/{id}/``        a bounded scan of the project's issue list
error events       Discover (``organizations/{o}/events/``)    ``projects/{o}/{p}/events/``, window and
                                                               text filter applied here
issue sort         Sentry's names (``date``, ``freq``…)        the server's names from its 422, or none
=================  ==========================================  ===========================================

Whatever a server did not apply is either applied here or returned as a note
for the result to say, so no tool reports a filter it did not get.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._types import Progress
from ..errors import APIError, NotFoundError, UnsupportedFeatureError
from ._paths import SHORT_ID_RE

if TYPE_CHECKING:  # pragma: no cover
    from ._client import SentryClient

__all__ = [
    "SHORT_ID_SCAN",
    "Listing",
    "camel_row",
    "discover",
    "discover_missing",
    "error_events_without_discover",
    "get_issue",
    "issue_event",
    "issue_events",
    "list_issues",
    "period_start",
    "short_id_issue",
    "update_issue",
]

#: Issues scanned for a short ID on a server without ``/shortids/``.
SHORT_ID_SCAN = 1000
#: Issues scanned when the server ignores the status query and it is applied here.
ISSUE_SCAN = 5000
#: Events scanned (newest first) when the project event list cannot filter by itself.
EVENT_SCAN = 2000
#: Sentry's issue sort names and the field each orders by, newest/most first.
SORT_FIELDS = {"date": "last_seen", "new": "first_seen", "freq": "count"}
_QUOTED = re.compile(r"'([^']+)'")
_PERIOD = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: snake_case keys whose Sentry spelling ends in ``ID`` rather than ``Id``.
_ID_KEYS = {"event_id": "eventID", "group_id": "groupID", "project_id": "projectID"}


#: An absolute time window, ``(start, end)`` in UTC.
Window = tuple[datetime, datetime]


@dataclass
class Listing:
    """Rows from a capability, whether more exist, and what the result must say about them."""

    rows: list[dict[str, Any]]
    truncated: bool
    notes: list[str] = field(default_factory=list)


def camel_row(row: dict[str, Any]) -> dict[str, Any]:
    """Add Sentry's camelCase spelling of snake_case keys (``event_id`` → ``eventID``).

    Keys already spelled Sentry's way win; the snake_case originals stay. A row
    with nothing to add (Sentry's own rows) is returned as it is, not copied.
    """
    added = _camel_additions(tuple(row))
    if not added:
        return row
    out = dict(row)
    for key, camel in added:
        out.setdefault(camel, row[key])
    return out


@functools.lru_cache(maxsize=256)
def _camel_additions(keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The ``(snake_key, camelKey)`` pairs a row with these keys gets: every row of a list has the same keys."""
    return tuple((key, _camel(key)) for key in keys
                 if isinstance(key, str) and "_" in key and not key.startswith("_") and "." not in key
                 and "(" not in key and _camel(key) not in keys)


@functools.lru_cache(maxsize=1024)
def _camel(key: str) -> str:
    """``event_id`` → ``eventID``, ``first_seen`` → ``firstSeen``: the same few keys on every row."""
    return _ID_KEYS.get(key) or re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), key)


# ------------------------------------------------------------------ issues
def _learn_from_permalinks(client: SentryClient, org: str, rows: list[dict[str, Any]]) -> None:
    """Learn from the first issue row with a ``permalink`` whether this server's web UI is Sentry's.

    Sentry links an issue as ``{base}/organizations/{org}/issues/{id}/`` (or
    ``https://{org}.sentry.io/issues/{id}/``); GlitchTip as ``{base}/{org}/issues/{id}``.
    Another shape means the links we would build from Sentry's paths are wrong here.
    """
    if client.is_saas or client.features.not_sentry():
        return
    for row in rows:
        link, issue_id = row.get("permalink"), row.get("id")
        if isinstance(link, str) and link and issue_id not in (None, ""):
            parts = urlsplit(link)
            path = parts.path.rstrip("/")
            if not (path.endswith(f"/organizations/{org}/issues/{issue_id}")
                    or (path == f"/issues/{issue_id}" and (parts.hostname or "").startswith(f"{org}."))):
                client.features.learn_not_sentry(f"an issue permalink of another shape ({link})")
            return


def get_issue(client: SentryClient, org: str, issue_id: str) -> dict[str, Any]:
    """One issue: the org-scoped route, else the legacy ``issues/{id}/`` one."""
    issue = client.features.first("issue detail API", [
        ("org issue", lambda: client.get_object("organizations", org, "issues", issue_id,
                                                scope="event:read")),
        ("legacy issue", lambda: camel_row(client.get_object("issues", issue_id,
                                                             scope="event:read")))])
    _learn_from_permalinks(client, org, [issue])
    return issue


def update_issue(client: SentryClient, org: str, issue_id: str,
                 changes: dict[str, Any]) -> dict[str, Any]:
    """Change an issue (its status): the org-scoped route, else the legacy ``issues/{id}/`` one."""
    return client.features.first("issue update API", [
        ("org issue update", lambda: client.put_object("organizations", org, "issues", issue_id,
                                                       json=changes, scope="event:write")),
        ("legacy issue update", lambda: camel_row(client.put_object(
            "issues", issue_id, json=changes, scope="event:write")))])


def issue_event(client: SentryClient, org: str, issue_id: str, key: str) -> dict[str, Any]:
    """An issue's event by ID or ``latest``: org-scoped route, else the legacy one."""
    return client.features.first("issue event API", [
        ("org issue events", lambda: client.get_object("organizations", org, "issues", issue_id,
                                                       "events", key, scope="event:read")),
        ("legacy issue events", lambda: camel_row(client.get_object(
            "issues", issue_id, "events", key, scope="event:read")))])


def issue_events(client: SentryClient, org: str, issue_id: str, *, query: str | None,
                 period: str | None, limit: int | None, progress: Progress | None = None,
                 window: Window | None = None, full: bool = False) -> Listing:
    """An issue's events, every page up to ``limit``, by whichever route the server offers.

    On the legacy route (which some servers serve without its filters) the
    window and a plain-text query are applied here as well; a structured query
    is sent on and the note says it could not be checked. ``window`` (start, end)
    replaces ``period``; ``full`` asks for whole events (contexts included).
    """
    params = [*([("query", query)] if query else []), *_time_params(period, window),
              *([("full", "true")] if full else [])]

    def current() -> Listing:
        rows, more = client.collect("organizations", org, "issues", issue_id, "events",
                                    params=params, limit=limit, scope="event:read",
                                    progress=progress)
        return Listing(rows, more)

    def legacy() -> Listing:
        listing = _scan_events(client, ("issues", issue_id, "events"), period=period, query=query,
                               limit=limit, scope="event:read", progress=progress, window=window,
                               full=full)
        if query and ":" in query:
            listing.notes.append(f"This server only has the legacy issue events route, so "
                                 f"whether it applied the query {query!r} was not checked.")
        return listing

    return client.features.first("issue events API", [("org issue events", current),
                                                       ("legacy issue events", legacy)])


def short_id_issue(client: SentryClient, org: str, short_id: str) -> tuple[str, dict[str, Any] | None]:
    """``(numeric issue ID, issue or None)`` for a short ID like ``BACKEND-1Z``.

    Servers without ``/shortids/`` still put ``shortId`` on every issue row, so
    the project the prefix names (or the whole org) is scanned, newest first,
    up to :data:`SHORT_ID_SCAN` issues.

    Raises:
        NotFoundError: Sentry knows no such short ID, or the scan did not meet it
            (the sentence says how far it looked).
    """
    wanted = short_id.upper()
    if not client.features.lacks("shortids"):
        try:
            body = client.get_object("organizations", org, "shortids", wanted, scope="event:read",
                                     require={"groupId": (str, int)})
        except UnsupportedFeatureError:
            client.features.learn_missing("shortids")
        except NotFoundError as exc:
            raise NotFoundError(f"Short ID {short_id!r} was not found in organization {org!r}; "
                                "check the org and the ID (case does not matter).",
                                status=exc.status, url=exc.url, detail=exc.detail) from None
        else:
            group = body.get("group")
            return str(body.get("groupId")), group if isinstance(group, dict) else None
    return _scan_for_short_id(client, org, short_id, wanted)


def _scan_for_short_id(client: SentryClient, org: str, short_id: str,
                       wanted: str) -> tuple[str, dict[str, Any] | None]:
    match = SHORT_ID_RE.match(wanted)
    prefix = match.group(1) if match else wanted
    projects, _ = client.collect("organizations", org, "projects", limit=1000, scope="org:read")
    project = next((p for p in projects if str(p.get("slug") or "").upper() == prefix), None)
    params: list[tuple[str, Any]] = [("query", "")]
    where = f"organization {org!r}"
    if project is not None:
        params.append(("project", project.get("id")))
        where = f"project {project.get('slug')!r}"
    scanned = 0
    for row in client.paginate("organizations", org, "issues", params=params, limit=SHORT_ID_SCAN,
                               page_size_param="limit", scope="event:read"):
        scanned += 1
        row = camel_row(row)
        if str(row.get("shortId") or "").upper() == wanted and row.get("id") not in (None, ""):
            return str(row["id"]), row
    raise NotFoundError(
        f"Short ID {short_id!r} is not among the {scanned} most recent issues of {where}; this "
        f"server ({client.features.where}) has no short-ID lookup, so give the numeric issue ID.",
        status=404, url=client.url("organizations", org, "issues"))


def list_issues(client: SentryClient, org: str, params: list[tuple[str, Any]], *,
                query: str, sort: str | None, limit: int | None,
                progress: Progress | None = None) -> Listing:
    """A project's issues: ``query`` sent explicitly, ``sort`` in the server's own words.

    Sentry applies ``is:unresolved`` by default, other servers do not, so it is
    always sent; when rows of another status come back anyway the server ignored
    the query, and the rows are filtered here (and a note says so).
    """
    notes: list[str] = []
    sent = _server_sort(client, sort, notes)
    base = [*params, ("query", query)]

    def fetch(order: str | None) -> tuple[list[dict[str, Any]], bool]:
        query_params = base + ([("sort", order)] if order else [])
        return client.collect("organizations", org, "issues", params=query_params, limit=limit,
                              page_size_param="limit", scope="event:read", progress=progress)

    unresolved = _only_unresolved(query)
    if unresolved and client.features.learned("ignores is:unresolved"):
        return _unresolved_here(client, org, base, sent, limit, notes, progress, query)
    try:
        rows, truncated = fetch(sent)
    except APIError as exc:
        accepted = _sort_choices(exc) if sent else None
        if accepted is None:
            raise
        client.features.learn("issue sort", accepted)
        notes.clear()
        sent = _server_sort(client, sort, notes)
        rows, truncated = fetch(sent)
    rows = [camel_row(r) for r in rows]
    _learn_from_permalinks(client, org, rows)
    if unresolved and any(r.get("status") not in (None, "unresolved") for r in rows):
        client.features.learn("ignores is:unresolved", True)
        client.features.learn_not_sentry("the default query is:unresolved was ignored")
        return _unresolved_here(client, org, base, sent, limit, notes, progress, query)
    return Listing(rows, truncated, notes)


def _unresolved_here(client: SentryClient, org: str, params: list[tuple[str, Any]],
                     sort: str | None, limit: int | None, notes: list[str],
                     progress: Progress | None, query: str) -> Listing:
    """Unresolved issues filtered on our side, paging until ``limit`` of them are found."""
    rows: list[dict[str, Any]] = []
    left_out = scanned = 0
    more = False
    for row in client.paginate("organizations", org, "issues", limit=ISSUE_SCAN,
                               params=params + ([("sort", sort)] if sort else []),
                               page_size_param="limit", scope="event:read", progress=progress):
        scanned += 1
        if row.get("status") not in (None, "unresolved"):
            left_out += 1
        elif len(rows) == limit:
            more = True
            break
        else:
            rows.append(camel_row(row))
    more = more or scanned >= ISSUE_SCAN
    rest = " ".join(t for t in query.split() if t != "is:unresolved")
    notes.append(f"This server ignores is:unresolved, so issues were filtered here "
                 f"({left_out} of other statuses left out)" +
                 (f"; the rest of the query ({rest!r}) was not applied." if rest else "."))
    return Listing(rows, more, notes)


def _only_unresolved(query: str) -> bool:
    """True when the query asks for unresolved issues (a filter we can check on each row)."""
    return "is:unresolved" in query.split()


def _sort_choices(exc: APIError) -> tuple[str, ...] | None:
    """The sort values a server listed when it refused ours (400/422 naming ``sort``)."""
    detail = exc.detail or ""
    if exc.status not in (400, 422) or "sort" not in detail.lower():
        return None
    values = tuple(dict.fromkeys(_QUOTED.findall(detail)))
    return values or ()


def _server_sort(client: SentryClient, sort: str | None, notes: list[str]) -> str | None:
    """``sort`` as this server spells it, or ``None`` (with a note) when it has no equivalent."""
    accepted: tuple[str, ...] | None = client.features.learned("issue sort")
    if sort is None or accepted is None or sort in accepted:
        return sort
    name = SORT_FIELDS.get(sort)
    for candidate in (f"-{name}", name) if name else ():
        if candidate in accepted:
            notes.append(f"Sorted by {candidate} (this server's name for sort {sort!r}).")
            return candidate
    offered = ", ".join(accepted) or "no sort values"
    notes.append(f"This server cannot sort issues by {sort!r} (it offers {offered}); shown in "
                 "its default order.")
    return None


# ------------------------------------------------------------------ events
def discover(client: SentryClient, org: str, params: list[tuple[str, Any]], *, limit: int | None,
             progress: Progress | None = None) -> tuple[list[dict[str, Any]], bool] | None:
    """Discover's rows for ``params`` (every page up to ``limit``), or ``None`` when the server lacks it.

    Raises:
        APIError: Discover exists and refused the request (a bad query: the user's answer).
    """
    if client.features.lacks("discover"):
        return None
    try:
        return client.collect("organizations", org, "events", params=params, limit=limit,
                              unwrap="data", scope="org:read", progress=progress)
    except APIError as exc:
        if not discover_missing(client, exc):
            raise
    return None


def discover_missing(client: SentryClient, exc: APIError) -> bool:
    """True (and remembered) when ``exc`` says the server lacks Discover, not that the query is bad.

    Older self-hosted Sentry answers 404, or 400 naming the dataset; other
    servers answer with a web page or 405. A 400 about the query itself must
    reach the user instead of becoming "0 events".
    """
    detail = (exc.detail or "").lower()
    missing = (isinstance(exc, UnsupportedFeatureError) or exc.status == 404
               or (exc.status == 400 and "dataset" in detail))
    if missing:
        client.features.learn_missing("discover")
    return missing


def period_start(period: str, now: datetime | None = None) -> datetime:
    """The start of a ``statsPeriod`` window (``14d``, ``24h``, ``1m`` = one minute)."""
    match = _PERIOD.match(period.strip())
    if match is None:
        raise ValueError(f"not a statsPeriod: {period!r}")
    span = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    return (now or datetime.now(timezone.utc)) - span


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def error_events_without_discover(client: SentryClient, org: str, project_slug: str, *,
                                  period: str, query: str | None, limit: int | None,
                                  full: bool = False,
                                  keep: Callable[[dict[str, Any]], bool] | None = None,
                                  progress: Progress | None = None,
                                  window: Window | None = None) -> Listing:
    """A project's error events from its event list, for servers without Discover.

    That list may ignore ``statsPeriod`` and ``query``: the window and a
    plain-text query (Sentry's own legacy list matches it on the message) are
    applied here, and a structured query, which only Discover can apply, is
    named in a note instead of being claimed. ``keep`` filters further (a file
    name in the stack trace).
    """
    text = (query or "").strip()
    structured = ":" in text
    listing = _scan_events(client, ("projects", org, project_slug, "events"), period=period,
                           query=None if structured else text, limit=limit, full=full, keep=keep,
                           scope="project:read", progress=progress, window=window)
    shown = (f"{window[0]:%Y-%m-%d %H:%M:%S} to {window[1]:%Y-%m-%d %H:%M:%S} UTC" if window
             else period)
    listing.notes.insert(0, f"This server has no Discover, so the project's event list was read "
                            f"and the {shown} window applied here.")
    if structured:
        listing.notes.append(f"The query {text!r} needs Discover, which this server lacks, so it "
                             "was not applied: these are all error events in the window.")
    return listing


def _scan_events(client: SentryClient, segments: tuple[str, ...], *, period: str | None,
                 query: str | None, limit: int | None, scope: str, full: bool = False,
                 keep: Callable[[dict[str, Any]], bool] | None = None,
                 progress: Progress | None = None, window: Window | None = None) -> Listing:
    """Error events of an event list (newest first), filtered here as the server may not have.

    The window ends the scan at its start; a plain-text ``query`` must appear in
    the message or title; ``keep`` filters further. At most :data:`EVENT_SCAN`
    events are read, and the note says so when that bound cut the scan.
    """
    start, end = window if window else (period_start(period) if period else None, None)
    text = (query or "").strip()
    plain = bool(text) and ":" not in text
    params: list[tuple[str, Any]] = [*_time_params(period, window),
                                     *([("query", text)] if text else [])]
    if full:
        params.append(("full", "true"))
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    scanned = 0
    more = False
    for raw in client.paginate(*segments, params=params, limit=EVENT_SCAN, scope=scope,
                               progress=progress):
        scanned += 1
        event = camel_row(raw)
        when = _moment(event.get("dateCreated"))
        if start is not None and when is not None and when < start:
            break
        if end is not None and when is not None and when > end:
            continue  # the server ignored end: newer than the window
        if event.get("event.type", "error") == "transaction":
            continue
        if (plain and not _has_text(event, text)) or (keep is not None and not keep(event)):
            continue
        if len(rows) == limit:
            more = True
            break
        rows.append(event)
    else:
        if scanned >= EVENT_SCAN:
            more = True
            notes.append(f"Only the {EVENT_SCAN} most recent events were scanned.")
    return Listing(rows, more, notes)


def _time_params(period: str | None, window: Window | None) -> list[tuple[str, Any]]:
    """``start``/``end`` for an absolute window, else ``statsPeriod`` (Sentry takes one or the other)."""
    if window is not None:
        return [("start", f"{window[0]:%Y-%m-%dT%H:%M:%S.%fZ}"), ("end", f"{window[1]:%Y-%m-%dT%H:%M:%S.%fZ}")]
    return [("statsPeriod", period)] if period else []


def _has_text(event: dict[str, Any], text: str) -> bool:
    needle = text.lower()
    return any(needle in str(event.get(k) or "").lower() for k in ("message", "title"))
