"""A small read-only web UI at the paths Sentry's own UI uses.

Tool results link to ``{url}/organizations/{org}/issues/{id}/`` and friends
(see :meth:`SentryClient.web_link`); without these pages every such link into
the local backend would be dead. Each page calls the matching ``/api/0/``
handler in-process and renders its JSON, so the browser shows exactly what the
tools read and no query logic is duplicated here.

The pages need no token, unlike ``/api/0/``: the server binds to loopback
only, the pages are read-only (GET), and a browser cannot send the bearer
token. Everything shown is escaped (see :mod:`._markup`), since event data is
whatever a notebook sent.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..api import _alerts_api as alerts
from ..api import _issues_api as issues
from ..api import _orgs_api as orgs
from ..api import _releases_api as releases
from ..api import _replays_api as replays
from ..api import _sessions_api as sessions
from ..api import _stats_api as stats
from ..api._plumbing import NOT_FOUND, ApiError, ctx
from ...scrub import scrub
from ..search._query import QueryError
from ._event_markup import event_body, issue_facts, issue_tags, level_badge
from ._markup import (
    Html,
    dl,
    external,
    join,
    link,
    page,
    pre,
    section,
    segment,
    table,
    tag,
    url,
    when,
)

__all__ = ["error_page", "routes"]

Handler = Callable[[Request], Awaitable[Response]]
#: An API handler: async, or plain (then it runs in the threadpool, as Starlette runs it).
ApiHandler = Callable[[Request], Awaitable[Response] | Response]
_LINK_RE = re.compile(r'rel="(\w+)"; results="(true|false)"; cursor="([^"]*)"')
_PERIODS = ("24h", "7d", "14d", "30d", "90d")
_STATUSES = (("", "Unresolved"), ("resolved", "Resolved"), ("ignored", "Ignored"), ("all", "Any status"))


class Page(NamedTuple):
    """What a view returns: heading, content and an optional muted line."""

    title: str
    body: Any
    subtitle: Any = None


View = Callable[[Request, dict[str, Any]], Awaitable[Page]]


@dataclass(frozen=True)
class Answer:
    """A decoded API response plus the cursors of the pages that exist."""

    data: Any
    cursors: dict[str, str] = field(default_factory=dict)


async def _api(request: Request, handler: ApiHandler, query: Iterable[tuple[str, Any]] = (), **path: str) -> Answer:
    """Call an ``/api/0/`` handler in-process with other path and query parameters."""
    scope = dict(request.scope)
    scope["path_params"] = {"org": request.path_params["org"], **path}
    pairs = [(k, str(v)) for k, v in query if v is not None]
    scope["query_string"] = urlencode(pairs).encode()
    call = Request(scope, request.receive)
    result = handler(call) if inspect.iscoroutinefunction(handler) else await run_in_threadpool(handler, call)
    response = await result if inspect.isawaitable(result) else result
    links = _LINK_RE.findall(response.headers.get("link", ""))
    data = json.loads(bytes(response.body))
    if handler in _SENT_BY_SDKS:
        data = scrub(data)
    return Answer(data, {rel: cur for rel, more, cur in links if more == "true"})


#: Handlers whose answers carry what some SDK sent (messages, tags, frame variables, users):
#: scrubbed like an outgoing event before a page shows them, as tool results are. Others
#: (a project's keys page, release health counts) show our own data and stay as they are.
_SENT_BY_SDKS: frozenset[ApiHandler] = frozenset({
    issues.list_issues, issues.get_issue, issues.get_issue_event, issues.list_issue_events,
    replays.list_replays, replays.get_replay})


def _passthrough(request: Request, *names: str) -> list[tuple[str, str]]:
    """The page's own query parameters that the API call takes unchanged."""
    return [(k, v) for k, v in request.query_params.multi_items() if k in names]


def _pager(request: Request, answer: Answer) -> Html:
    """Newer/older links that keep the page's filters and swap the cursor."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    links = [
        link(f"{request.url.path}?{urlencode([*params, ('cursor', answer.cursors[rel])])}", label)
        for rel, label in (("previous", "← Newer"), ("next", "Older →"))
        if rel in answer.cursors
    ]
    return tag("p", *links, class_="pager") if links else Html("")


def _select(name: str, chosen: str, options: Iterable[tuple[str, str]]) -> Html:
    return tag("select", *(tag("option", label, value=value, selected="" if value == chosen else None)
                           for value, label in options), name=name)


def _filters(request: Request, *, query: bool = True, status: bool = False) -> Html:
    """A GET form for search text, status and period; kept filters ride along as hidden fields."""
    q = request.query_params
    fields: list[Html] = [tag("input", type="hidden", name="project", value=p) for p in q.getlist("project")]
    if query:
        fields.append(tag("input", type="text", name="query", value=q.get("query") or "",
                          placeholder="Search, e.g. level:error release:1.0"))
    if status:
        fields.append(_select("status", q.get("status") or "", _STATUSES))
    fields.append(_select("statsPeriod", q.get("statsPeriod") or "14d", ((p, f"Last {p}") for p in _PERIODS)))
    fields.append(tag("button", "Apply", type="submit"))
    return tag("form", *fields, method="get")


def _base(org: dict[str, Any]) -> str:
    return f"/organizations/{org['slug']}/"


# ---------------------------------------------------------------- issues & events
async def issue_list(request: Request, org: dict[str, Any]) -> Page:
    """Issues filtered by ``project``, ``query``, ``status`` and ``statsPeriod``, as Sentry's stream."""
    q, base = request.query_params, _base(org)
    text, status = (q.get("query") or "").strip(), q.get("status") or ""
    if status == "all":
        query: str | None = text
    elif status:
        query = f"is:{status} {text}".strip()
    else:
        query = text or None  # None: the API's default, is:unresolved
    answer = await _api(request, issues.list_issues,
                        [("limit", 100), ("query", query),
                         *_passthrough(request, "project", "statsPeriod", "sort", "cursor", "environment")])
    rows = [
        (link(f"{base}issues/{i['id']}/", i["shortId"]),
         join([tag("b", i["title"]), tag("div", i.get("culprit") or "", class_="muted")]),
         level_badge(i["level"]), i["status"], i["count"], i["userCount"], when(i["lastSeen"]),
         link(f"{base}issues/?project={i['project']['id']}", i["project"]["slug"]))
        for i in answer.data
    ]
    body = join([_filters(request, status=True),
                 table(("Issue", "Title", "Level", "Status", "Events", "Users", "Last seen", "Project"), rows,
                       empty="No issues match these filters."),
                 _pager(request, answer)])
    return Page("Issues", body, f"Showing {len(rows)} issues, most recently seen first.")


async def issue_detail(request: Request, org: dict[str, Any]) -> Page:
    """One issue: facts, tags and its latest event with stack trace and breadcrumbs."""
    base, ident = _base(org), request.path_params["issue"]
    issue = (await _api(request, issues.get_issue, issue=ident)).data
    try:
        latest = (await _api(request, issues.get_issue_event, issue=ident, event="latest")).data
    except ApiError:  # every event of the issue was deleted; the issue itself still shows
        latest = None
    events = "The only event" if str(issue["count"]) == "1" else f"All {issue['count']} events"
    nav = [link(f"{base}issues/{issue['id']}/events/", events)]
    if latest:
        nav.append(link(f"{base}issues/{issue['id']}/events/{latest['eventID']}/", "Latest event permalink"))
    body = join([tag("p", join(nav, " · ")), issue_facts(issue, base),
                 section("Tags", issue_tags(issue.get("tags") or [])),
                 section("Latest event", event_body(latest, base) if latest else tag("p", "No events stored."))])
    return Page(issue["title"], body, f"{issue['shortId']} · {issue.get('culprit') or ''}")


async def issue_events(request: Request, org: dict[str, Any]) -> Page:
    """The events of one issue, newest first."""
    base, ident = _base(org), request.path_params["issue"]
    issue = (await _api(request, issues.get_issue, issue=ident)).data
    answer = await _api(request, issues.list_issue_events,
                        [("per_page", 100), *_passthrough(request, "query", "cursor", "environment")], issue=ident)
    rows = []
    for e in answer.data:
        tags = {t["key"]: t["value"] for t in e.get("tags") or []}
        rows.append((link(f"{base}issues/{issue['id']}/events/{e['eventID']}/", e["eventID"][:12]),
                     e.get("message") or e.get("title"), when(e.get("dateCreated")), tags.get("environment"),
                     tags.get("release"), tags.get("user")))
    body = join([tag("p", link(f"{base}issues/{issue['id']}/", f"← {issue['shortId']}")),
                 table(("Event", "Message", "Date", "Environment", "Release", "User"), rows),
                 _pager(request, answer)])
    return Page(f"Events of {issue['shortId']}", body, issue["title"])


async def event_detail(request: Request, org: dict[str, Any]) -> Page:
    """One event of an issue, with links to its neighbours."""
    base, ident = _base(org), request.path_params["issue"]
    issue = (await _api(request, issues.get_issue, issue=ident)).data
    event = (await _api(request, issues.get_issue_event, issue=ident, event=request.path_params["event"])).data
    here = f"{base}issues/{issue['id']}/"
    nav = [link(here, f"← {issue['shortId']}"), link(f"{here}events/", "All events")]
    if event.get("previousEventID"):
        nav.append(link(f"{here}events/{event['previousEventID']}/", "Older event"))
    if event.get("nextEventID"):
        nav.append(link(f"{here}events/{event['nextEventID']}/", "Newer event"))
    body = join([tag("p", join(nav, " · ")), event_body(event, base)])
    return Page(event.get("title") or issue["title"], body, f"{issue['shortId']} · event {event['eventID']}")


# ---------------------------------------------------------------- projects & keys
async def project_list(request: Request, org: dict[str, Any]) -> Page:
    """Every project with links to its issues and client keys."""
    base = _base(org)
    answer = await _api(request, orgs.list_projects, _passthrough(request, "query", "cursor"))
    rows = [(link(f"{base}issues/?project={p['id']}", p["slug"]), p["name"], p.get("platform"),
             when(p.get("firstEvent")), join([link(f"{base}settings/projects/{p['slug']}/", "settings"),
                                              link(f"{base}settings/projects/{p['slug']}/keys/", "keys")], " · "))
            for p in answer.data]
    return Page("Projects", join([table(("Project", "Name", "Platform", "First event", ""), rows),
                                  _pager(request, answer)]))


async def project_settings(request: Request, org: dict[str, Any]) -> Page:
    """A project's settings and its client keys with DSNs (a local dev server shows them)."""
    base, slug = _base(org), request.path_params["project"]
    project = (await _api(request, orgs.get_project_detail, project=slug)).data
    keys = (await _api(request, orgs.list_keys, [("per_page", 100)], project=slug)).data
    facts = dl([("ID", project["id"]), ("Slug", project["slug"]), ("Platform", project.get("platform")),
                ("Team", (project.get("team") or {}).get("slug")), ("Created", when(project.get("dateCreated"))),
                ("First event", when(project.get("firstEvent"))),
                ("Issues", link(f"{base}issues/?project={project['id']}", "open the issue stream"))])
    rows = [(k["name"], tag("code", k["dsn"]["public"]), "active" if k["isActive"] else "disabled",
             when(k.get("dateCreated"))) for k in keys]
    body = join([facts, section("Client keys (DSN)", table(("Name", "DSN", "Status", "Created"), rows))])
    return Page(f"Project {project['slug']}", body, "Settings and client keys")


# ---------------------------------------------------------------- releases
_HEALTH_PERIOD = "90d"


async def _health(request: Request, projects: Iterable[Any] = ()) -> dict[str, dict[str, Any]]:
    """Release health per version over the last 90 days (the sessions API grouped by release and status)."""
    answer = await _api(request, sessions.org_sessions, [
        ("field", "sum(session)"), ("groupBy", "release"), ("groupBy", "session.status"),
        ("statsPeriod", _HEALTH_PERIOD), ("interval", "1d"), *(("project", p) for p in projects)])
    counts: dict[str, dict[str, int]] = {}
    for group in answer.data["groups"]:
        by = group["by"]
        counts.setdefault(by["release"], {})[by["session.status"]] = int(group["totals"]["sum(session)"])
    return {version: sessions.health_summary(c) for version, c in counts.items()}


def _percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} %".replace(".00 %", " %")


async def release_list(request: Request, org: dict[str, Any]) -> Page:
    """Releases, newest first, optionally for some projects, with their release health."""
    base = _base(org)
    answer = await _api(request, releases.list_org_releases,
                        [("per_page", 100), *_passthrough(request, "project", "query", "cursor")])
    health = await _health(request, request.query_params.getlist("project"))
    rows = []
    for r in answer.data:
        h = health.get(r["version"]) or sessions.health_summary({})
        rows.append((link(f"{base}releases/{segment(r['version'])}/", r["version"]),
                     ", ".join(p["slug"] for p in r.get("projects") or []), r.get("newGroups"),
                     h["sessions"], h["crashed"], _percent(h["crashFreeSessions"]),
                     when(r.get("lastEvent")), when(r.get("dateCreated"))))
    body = join([table(("Version", "Projects", "New issues", "Sessions", "Crashed", "Crash-free sessions",
                        "Last event", "Created"), rows),
                 _pager(request, answer)])
    return Page("Releases", body, f"Sessions and crash-free rate over the last {_HEALTH_PERIOD}.")


async def release_detail(request: Request, org: dict[str, Any]) -> Page:
    """One release with its release health, projects and a link to the issues seen in it."""
    base = _base(org)
    release = (await _api(request, releases.get_release, version=request.path_params["version"])).data
    version = release["version"]
    facts = dl([("Version", version), ("Status", release.get("status")), ("Ref", release.get("ref")),
                ("URL", external(release["url"]) if release.get("url") else None),
                ("Created", when(release.get("dateCreated"))), ("Released", when(release.get("dateReleased"))),
                ("First event", when(release.get("firstEvent"))), ("Last event", when(release.get("lastEvent"))),
                ("Issues", link(url(f"{base}issues/", query=f'release:"{version}"', status="all",
                                    statsPeriod="90d"), "issues with events in this release"))])
    projects = release.get("projects") or []
    h = (await _health(request, [p["id"] for p in projects])).get(version)
    if h:
        health = dl([("Sessions", h["sessions"]), ("Crash-free sessions", _percent(h["crashFreeSessions"])),
                     ("Healthy", str(h["healthy"])), ("Errored", str(h["errored"])),
                     ("Crashed", str(h["crashed"])), ("Abnormal", str(h["abnormal"]))])
    else:
        health = tag("p", "No sessions for this release; start and end sessions (sentry_start_session) "
                          "to see crash-free rates.", class_="muted")
    rows = [(link(f"{base}issues/?project={p['id']}", p["slug"]), p.get("platform"), p.get("newGroups"))
            for p in projects]
    body = join([facts, section(f"Release health (last {_HEALTH_PERIOD})", health),
                 section("Projects", table(("Project", "Platform", "New issues"), rows))])
    return Page(f"Release {release.get('shortVersion') or version}", body, version)


# ---------------------------------------------------------------- stats
async def stats_page(request: Request, org: dict[str, Any]) -> Page:
    """Outcome counts by day, category and outcome (the ``stats_v2`` data)."""
    period = request.query_params.get("statsPeriod") or "14d"
    answer = await _api(request, stats.stats_v2, [
        ("field", "sum(quantity)"), ("groupBy", "category"), ("groupBy", "outcome"), ("interval", "1d"),
        ("statsPeriod", period), *_passthrough(request, "project")])
    groups, days = answer.data["groups"], answer.data["intervals"]
    daily = [(day[:10], g["by"]["category"], g["by"]["outcome"], n)
             for i, day in enumerate(days) for g in groups if (n := g["series"]["sum(quantity)"][i])]
    totals = [(g["by"]["category"], g["by"]["outcome"], g["totals"]["sum(quantity)"]) for g in groups]
    body = join([_filters(request, query=False), section("Totals", table(("Category", "Outcome", "Quantity"), totals)),
                 section("By day", table(("Day (UTC)", "Category", "Outcome", "Quantity"), daily[::-1]))])
    return Page("Stats", body, f"Outcomes over the last {period}")


# ---------------------------------------------------------------- alerts
async def _rules(request: Request, org: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    found = []
    for project in ctx(request).store.projects(org["id"]):
        answer = await _api(request, alerts.list_rules, [("per_page", 100)], project=project["slug"])
        found += [(project, rule) for rule in answer.data]
    return found


async def _workflows(request: Request) -> list[dict[str, Any]]:
    if not ctx(request).workflows:
        return []
    data: list[dict[str, Any]] = (await _api(request, alerts.list_workflows, [("per_page", 100)])).data
    return data


async def alert_list(request: Request, org: dict[str, Any]) -> Page:
    """Alert workflows (current API) and legacy per-project issue alert rules."""
    base = _base(org)
    flows = [(link(f"{base}issues/automations/{w['id']}/", w["name"]),
              ", ".join(c["type"] for c in w["triggers"]["conditions"]), (w.get("config") or {}).get("frequency"),
              "enabled" if w.get("enabled") else "disabled", when(w.get("dateCreated")))
             for w in await _workflows(request)]
    rules = [(link(f"{base}alerts/rules/{p['slug']}/{r['id']}/details/", r["name"]), p["slug"],
              ", ".join(c.get("id", "").rsplit(".", 1)[-1] for c in r.get("conditions") or []),
              r.get("frequency"), when(r.get("dateCreated")))
             for p, r in await _rules(request, org)]
    body = join([section("Workflows", table(("Name", "Triggers", "Frequency (min)", "Status", "Created"), flows)),
                 section("Issue alert rules", table(("Name", "Project", "Conditions", "Frequency (min)", "Created"),
                                                    rules))])
    return Page("Alerts", body)


async def workflow_detail(request: Request, org: dict[str, Any]) -> Page:
    """One alert workflow, shown as stored."""
    wanted = request.path_params["workflow"]
    flow = next((w for w in await _workflows(request) if w["id"] == wanted), None)
    if flow is None:
        raise ApiError(404, f"No alert workflow {wanted!r}.")
    return Page(f"Alert: {flow['name']}", join([tag("p", link(f"{_base(org)}alerts/rules/", "← Alerts")), pre(flow)]))


async def rule_detail(request: Request, org: dict[str, Any]) -> Page:
    """One legacy issue alert rule, shown as stored."""
    slug, wanted = request.path_params["project"], request.path_params["rule"]
    answer = await _api(request, alerts.list_rules, [("per_page", 100)], project=slug)
    rule = next((r for r in answer.data if r["id"] == wanted), None)
    if rule is None:
        raise ApiError(404, f"No alert rule {wanted!r} in project {slug!r}.")
    return Page(f"Alert: {rule['name']}", join([tag("p", link(f"{_base(org)}alerts/rules/", "← Alerts")), pre(rule)]),
                f"Issue alert rule of project {slug}")


# ---------------------------------------------------------------- replays
async def replay_list(request: Request, org: dict[str, Any]) -> Page:
    """Session replays, newest first."""
    base = _base(org)
    answer = await _api(request, replays.list_replays,
                        _passthrough(request, "project", "query", "statsPeriod", "cursor", "environment"))
    rows = [(link(f"{base}explore/replays/{r['id']}/", r["id"][:12]), when(r["started_at"]), f"{r['duration']} s",
             r["count_errors"], r["count_urls"], (r.get("user") or {}).get("display_name"), r.get("environment"))
            for r in answer.data["data"]]
    body = join([_filters(request), table(("Replay", "Started", "Duration", "Errors", "URLs", "User", "Environment"),
                                          rows), _pager(request, answer)])
    return Page("Replays", body)


async def replay_detail(request: Request, org: dict[str, Any]) -> Page:
    """One replay record: timing, user, URLs and the errors it saw."""
    r = (await _api(request, replays.get_replay, replay=request.path_params["replay"])).data["data"]
    facts = dl([("Replay ID", r["id"]), ("Started", when(r["started_at"])), ("Finished", when(r["finished_at"])),
                ("Duration", f"{r['duration']} s"), ("Segments", r["count_segments"]),
                ("User", (r.get("user") or {}).get("display_name")), ("Environment", r.get("environment")),
                ("Releases", ", ".join(r.get("releases") or [])),
                ("Browser", " ".join(filter(None, [(r.get("browser") or {}).get("name"),
                                                   (r.get("browser") or {}).get("version")]))),
                ("URLs", tag("ul", *(tag("li", external(u)) for u in r.get("urls") or []))),
                ("Error event IDs", ", ".join(r.get("error_ids") or []))])
    return Page(f"Replay {r['id'][:12]}", join([facts, section("Record", pre(r))]))


# ---------------------------------------------------------------- plumbing
def error_page(status: int, detail: str, org_slug: str = "") -> HTMLResponse:
    """An HTML error page (the API keeps answering JSON)."""
    title = {403: "Forbidden", 404: "Not found"}.get(status, "Error")
    return page(org_slug, f"{status} {title}", tag("p", detail), status=status)


def _view(render: View) -> Handler:
    """Resolve the org, render the page, and turn API errors into HTML error pages."""
    async def endpoint(request: Request) -> Response:
        org = ctx(request).store.org(request.path_params["org"])
        if org is None:
            known = ", ".join(o["slug"] for o in ctx(request).store.orgs())
            return error_page(404, f"No organization {request.path_params['org']!r} here; this server has: {known}.")
        try:
            result = await render(request, org)
        except ApiError as exc:
            detail = exc.body.get("detail") if isinstance(exc.body, dict) else None
            text = NOT_FOUND if detail is None and exc.status == 404 else str(detail or exc.body)
            return error_page(exc.status, text, org["slug"])
        except QueryError as exc:
            return error_page(400, str(exc), org["slug"])
        return page(org["slug"], result.title, result.body, subtitle=result.subtitle)

    endpoint.__doc__ = render.__doc__
    return endpoint


async def home(request: Request) -> Response:
    """``/`` and ``/organizations/{org}/`` lead to the issue stream."""
    slug = request.path_params.get("org") or next(iter(ctx(request).store.orgs()), {}).get("slug", "local")
    return RedirectResponse(f"/organizations/{segment(slug)}/issues/", status_code=302)


_ORG = "/organizations/{org}/"
routes = [
    Route("/", home, methods=["GET"]),
    Route(_ORG, home, methods=["GET"]),
    Route(_ORG + "issues/", _view(issue_list), methods=["GET"]),
    Route(_ORG + "issues/automations/", _view(alert_list), methods=["GET"]),
    Route(_ORG + "issues/automations/{workflow}/", _view(workflow_detail), methods=["GET"]),
    Route(_ORG + "issues/{issue}/", _view(issue_detail), methods=["GET"]),
    Route(_ORG + "issues/{issue}/events/", _view(issue_events), methods=["GET"]),
    Route(_ORG + "issues/{issue}/events/{event}/", _view(event_detail), methods=["GET"]),
    Route(_ORG + "projects/", _view(project_list), methods=["GET"]),
    Route(_ORG + "settings/projects/{project}/", _view(project_settings), methods=["GET"]),
    Route(_ORG + "settings/projects/{project}/keys/", _view(project_settings), methods=["GET"]),
    Route(_ORG + "releases/", _view(release_list), methods=["GET"]),
    Route(_ORG + "releases/{version:path}/", _view(release_detail), methods=["GET"]),
    Route(_ORG + "stats/", _view(stats_page), methods=["GET"]),
    Route(_ORG + "alerts/", _view(alert_list), methods=["GET"]),
    Route(_ORG + "alerts/rules/", _view(alert_list), methods=["GET"]),
    Route(_ORG + "alerts/rules/{project}/{rule}/details/", _view(rule_detail), methods=["GET"]),
    Route(_ORG + "explore/replays/", _view(replay_list), methods=["GET"]),
    Route(_ORG + "explore/replays/{replay}/", _view(replay_detail), methods=["GET"]),
]
