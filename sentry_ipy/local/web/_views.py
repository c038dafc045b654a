"""A small read-only web UI at the paths Sentry's own UI uses.

Tool results link to ``{url}/organizations/{org}/issues/{id}/`` and friends
(see :meth:`SentryClient.web_link`); without these pages every such link into
the local backend would be dead. Each page calls the data functions the
matching ``/api/0/`` handler calls (``issue_page``, ``release_page``...) and
renders their rows as HTML, as the handler renders them as JSON with a
``Link`` header: the data is computed once, so the browser shows exactly what
the tools read and no query logic is duplicated here.

The pages need no token, unlike ``/api/0/``: the server binds to loopback
only, the pages are read-only (GET), and a browser cannot send the bearer
token. Everything shown is escaped (see :mod:`._markup`), since event data is
whatever a notebook sent; what some SDK sent is scrubbed first, as tool
results are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, NamedTuple
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ...scrub import scrub
from .._clock import time_window
from ..api import _alerts_api as alerts
from ..api import _issues_api as issues
from ..api import _orgs_api as orgs
from ..api import _releases_api as releases
from ..api import _replays_api as replays
from ..api import _sessions_api as sessions
from ..api import _stats_api as stats
from ..api._plumbing import (
    NOT_FOUND,
    ApiError,
    aligned,
    buckets,
    ctx,
    cursor_param,
    get_project,
    offset_page,
    offset_param,
    project_filter,
    window,
)
from ..search._query import QueryError
from ..store import _alert_records as alert_records
from ..store._keyset import Page as Rows
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
_PERIODS = ("24h", "7d", "14d", "30d", "90d")
_STATUSES = (("", "Unresolved"), ("resolved", "Resolved"), ("ignored", "Ignored"), ("all", "Any status"))
_DAY = 86400


class Page(NamedTuple):
    """What a view returns: heading, content and an optional muted line."""

    title: str
    body: Any
    subtitle: Any = None


#: A view: plain, so it runs (with its SQLite reads) in the threadpool, as API handlers do.
View = Callable[[Request, dict[str, Any]], Page]


def _pager(request: Request, rows: Rows) -> Html:
    """Newer/older links that keep the page's filters and swap in the neighbours' cursors."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    links = [
        link(f"{request.url.path}?{urlencode([*params, ('cursor', cursor)])}", label)
        for cursor, more, label in ((rows.prev, rows.has_prev, "← Newer"), (rows.next, rows.has_next, "Older →"))
        if more
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


def _issue(request: Request, org: dict[str, Any]) -> dict[str, Any]:
    """The page's issue as its details API shapes it, scrubbed (its title and tags are what an SDK sent)."""
    data: dict[str, Any] = scrub(issues.issue_detail(ctx(request), org, request.path_params["issue"]))
    return data


def _event(request: Request, org: dict[str, Any], which: str) -> dict[str, Any]:
    """An event of the page's issue as its details API shapes it, scrubbed."""
    data: dict[str, Any] = scrub(issues.event_of_issue(ctx(request), org, request.path_params["issue"], which))
    return data


# ---------------------------------------------------------------- issues & events
def issue_list(request: Request, org: dict[str, Any]) -> Page:
    """Issues filtered by ``project``, ``query``, ``status`` and ``statsPeriod``, as Sentry's stream."""
    q, base = request.query_params, _base(org)
    text, status = (q.get("query") or "").strip(), q.get("status") or ""
    if status == "all":
        query: str | None = text
    elif status:
        query = f"is:{status} {text}".strip()
    else:
        query = text or None  # None: the API's default, is:unresolved
    terms = issues.issue_terms(query, [e for e in q.getlist("environment") if e])
    start, end = window(request, "14d")
    found = issues.issue_page(ctx(request), org, project_filter(request, org), terms, start=start, end=end,
                              sort=q.get("sort") or "date", cursor=cursor_param(request), size=100)
    rows = [
        (link(f"{base}issues/{i['id']}/", i["shortId"]),
         join([tag("b", i["title"]), tag("div", i.get("culprit") or "", class_="muted")]),
         level_badge(i["level"]), i["status"], i["count"], i["userCount"], when(i["lastSeen"]),
         link(f"{base}issues/?project={i['project']['id']}", i["project"]["slug"]))
        for i in scrub(found.rows)
    ]
    body = join([_filters(request, status=True),
                 table(("Issue", "Title", "Level", "Status", "Events", "Users", "Last seen", "Project"), rows,
                       empty="No issues match these filters."),
                 _pager(request, found)])
    return Page("Issues", body, f"Showing {len(rows)} issues, most recently seen first.")


def issue_detail(request: Request, org: dict[str, Any]) -> Page:
    """One issue: facts, tags and its latest event with stack trace and breadcrumbs."""
    base = _base(org)
    issue = _issue(request, org)
    latest: dict[str, Any] | None
    try:
        latest = _event(request, org, "latest")
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


def issue_events(request: Request, org: dict[str, Any]) -> Page:
    """The events of one issue, newest first."""
    base = _base(org)
    issue = _issue(request, org)
    found = issues.issue_events_page(ctx(request), org, request.path_params["issue"],
                                     issues.event_list_filter(request), cursor=cursor_param(request), size=100)
    rows = []
    for e in scrub(found.rows):
        tags = {t["key"]: t["value"] for t in e.get("tags") or []}
        rows.append((link(f"{base}issues/{issue['id']}/events/{e['eventID']}/", e["eventID"][:12]),
                     e.get("message") or e.get("title"), when(e.get("dateCreated")), tags.get("environment"),
                     tags.get("release"), tags.get("user")))
    body = join([tag("p", link(f"{base}issues/{issue['id']}/", f"← {issue['shortId']}")),
                 table(("Event", "Message", "Date", "Environment", "Release", "User"), rows),
                 _pager(request, found)])
    return Page(f"Events of {issue['shortId']}", body, issue["title"])


def event_detail(request: Request, org: dict[str, Any]) -> Page:
    """One event of an issue, with links to its neighbours."""
    base = _base(org)
    issue = _issue(request, org)
    event = _event(request, org, request.path_params["event"])
    here = f"{base}issues/{issue['id']}/"
    nav = [link(here, f"← {issue['shortId']}"), link(f"{here}events/", "All events")]
    if event.get("previousEventID"):
        nav.append(link(f"{here}events/{event['previousEventID']}/", "Older event"))
    if event.get("nextEventID"):
        nav.append(link(f"{here}events/{event['nextEventID']}/", "Newer event"))
    body = join([tag("p", join(nav, " · ")), event_body(event, base)])
    return Page(event.get("title") or issue["title"], body, f"{issue['shortId']} · event {event['eventID']}")


# ---------------------------------------------------------------- projects & keys
def project_list(request: Request, org: dict[str, Any]) -> Page:
    """Every project with links to its issues and client keys."""
    base = _base(org)
    found = offset_page(orgs.project_list(ctx(request), org, request.query_params.get("query") or ""),
                        offset_param(request), 100)
    rows = [(link(f"{base}issues/?project={p['id']}", p["slug"]), p["name"], p.get("platform"),
             when(p.get("firstEvent")), join([link(f"{base}settings/projects/{p['slug']}/", "settings"),
                                              link(f"{base}settings/projects/{p['slug']}/keys/", "keys")], " · "))
            for p in found.rows]
    return Page("Projects", join([table(("Project", "Name", "Platform", "First event", ""), rows),
                                  _pager(request, found)]))


def project_settings(request: Request, org: dict[str, Any]) -> Page:
    """A project's settings and its client keys with DSNs (a local dev server shows them)."""
    base, row = _base(org), get_project(request, org)
    project, keys = orgs.project_detail(ctx(request), row), orgs.key_list(ctx(request), row)
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


def _health(request: Request, org: dict[str, Any], project_ids: list[int]) -> dict[str, dict[str, Any]]:
    """Release health per version over the last 90 days (the sessions API's data, by release and status)."""
    start, end = time_window({"statsPeriod": _HEALTH_PERIOD})
    assert start is not None and end is not None
    first, last, n = aligned(start, end, _DAY)
    report = sessions.session_report(ctx(request).store, sessions.SessionQuery(
        ["sum(session)"], ["release", "session.status"], _DAY, first, last, n, project_ids))
    counts: dict[str, dict[str, int]] = {}
    for group in report["groups"]:
        by = group["by"]
        counts.setdefault(by["release"], {})[by["session.status"]] = int(group["totals"]["sum(session)"])
    return {version: sessions.health_summary(c) for version, c in counts.items()}


def _percent(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f} %".replace(".00 %", " %")


def release_list(request: Request, org: dict[str, Any]) -> Page:
    """Releases, newest first, optionally for some projects, with their release health."""
    base, c, q = _base(org), ctx(request), request.query_params
    found = releases.release_page(c, org, releases.release_projects(c, org, q.getlist("project")),
                                  (q.get("query") or "").lower(), cursor=cursor_param(request), size=100)
    health = _health(request, org, [int(p["id"]) for p in project_filter(request, org)])
    rows = []
    for r in found.rows:
        h = health.get(r["version"]) or sessions.health_summary({})
        rows.append((link(f"{base}releases/{segment(r['version'])}/", r["version"]),
                     ", ".join(p["slug"] for p in r.get("projects") or []), r.get("newGroups"),
                     h["sessions"], h["crashed"], _percent(h["crashFreeSessions"]),
                     when(r.get("lastEvent")), when(r.get("dateCreated"))))
    body = join([table(("Version", "Projects", "New issues", "Sessions", "Crashed", "Crash-free sessions",
                        "Last event", "Created"), rows),
                 _pager(request, found)])
    return Page("Releases", body, f"Sessions and crash-free rate over the last {_HEALTH_PERIOD}.")


def release_detail(request: Request, org: dict[str, Any]) -> Page:
    """One release with its release health, projects and a link to the issues seen in it."""
    base, c = _base(org), ctx(request)
    release = releases.release_detail(c, org, request.path_params["version"])
    version = release["version"]
    facts = dl([("Version", version), ("Status", release.get("status")), ("Ref", release.get("ref")),
                ("URL", external(release["url"]) if release.get("url") else None),
                ("Created", when(release.get("dateCreated"))), ("Released", when(release.get("dateReleased"))),
                ("First event", when(release.get("firstEvent"))), ("Last event", when(release.get("lastEvent"))),
                ("Issues", link(url(f"{base}issues/", query=f'release:"{version}"', status="all",
                                    statsPeriod="90d"), "issues with events in this release"))])
    projects = release.get("projects") or []
    ids = [int(p["id"]) for p in projects] or [int(p["id"]) for p in c.store.projects(org["id"])]
    h = _health(request, org, ids).get(version)
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
def stats_page(request: Request, org: dict[str, Any]) -> Page:
    """Outcome counts by day, category and outcome (the ``stats_v2`` data)."""
    period = request.query_params.get("statsPeriod") or "14d"
    start, end, n = buckets(request, _DAY)
    report = stats.outcome_report(ctx(request).store, org, ["sum(quantity)"], ["category", "outcome"], step=_DAY,
                                  start=start, end=end, n=n,
                                  project_ids=stats.stats_project_ids(request.query_params.getlist("project")))
    groups, days = report["groups"], report["intervals"]
    daily = [(day[:10], g["by"]["category"], g["by"]["outcome"], n)
             for i, day in enumerate(days) for g in groups if (n := g["series"]["sum(quantity)"][i])]
    totals = [(g["by"]["category"], g["by"]["outcome"], g["totals"]["sum(quantity)"]) for g in groups]
    body = join([_filters(request, query=False), section("Totals", table(("Category", "Outcome", "Quantity"), totals)),
                 section("By day", table(("Day (UTC)", "Category", "Outcome", "Quantity"), daily[::-1]))])
    return Page("Stats", body, f"Outcomes over the last {period}")


# ---------------------------------------------------------------- alerts
def _rules(request: Request, org: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    store = ctx(request).store
    return [(project, rule) for project in store.projects(org["id"]) for rule in alert_records.rules(store, project["id"])]


def _workflows(request: Request, org: dict[str, Any]) -> list[dict[str, Any]]:
    return alerts.workflow_list(ctx(request), org) if ctx(request).workflows else []


def alert_list(request: Request, org: dict[str, Any]) -> Page:
    """Alert workflows (current API) and legacy per-project issue alert rules."""
    base = _base(org)
    flows = [(link(f"{base}issues/automations/{w['id']}/", w["name"]),
              ", ".join(c["type"] for c in w["triggers"]["conditions"]), (w.get("config") or {}).get("frequency"),
              "enabled" if w.get("enabled") else "disabled", when(w.get("dateCreated")))
             for w in _workflows(request, org)]
    rules = [(link(f"{base}alerts/rules/{p['slug']}/{r['id']}/details/", r["name"]), p["slug"],
              ", ".join(c.get("id", "").rsplit(".", 1)[-1] for c in r.get("conditions") or []),
              r.get("frequency"), when(r.get("dateCreated")))
             for p, r in _rules(request, org)]
    body = join([section("Workflows", table(("Name", "Triggers", "Frequency (min)", "Status", "Created"), flows)),
                 section("Issue alert rules", table(("Name", "Project", "Conditions", "Frequency (min)", "Created"),
                                                    rules))])
    return Page("Alerts", body)


def workflow_detail(request: Request, org: dict[str, Any]) -> Page:
    """One alert workflow, shown as stored."""
    wanted = request.path_params["workflow"]
    flow = next((w for w in _workflows(request, org) if w["id"] == wanted), None)
    if flow is None:
        raise ApiError(404, f"No alert workflow {wanted!r}.")
    return Page(f"Alert: {flow['name']}", join([tag("p", link(f"{_base(org)}alerts/rules/", "← Alerts")), pre(flow)]))


def rule_detail(request: Request, org: dict[str, Any]) -> Page:
    """One legacy issue alert rule, shown as stored."""
    slug, wanted = request.path_params["project"], request.path_params["rule"]
    project = get_project(request, org)
    rule = next((r for r in alert_records.rules(ctx(request).store, project["id"]) if r["id"] == wanted), None)
    if rule is None:
        raise ApiError(404, f"No alert rule {wanted!r} in project {slug!r}.")
    return Page(f"Alert: {rule['name']}", join([tag("p", link(f"{_base(org)}alerts/rules/", "← Alerts")), pre(rule)]),
                f"Issue alert rule of project {slug}")


# ---------------------------------------------------------------- replays
def replay_list(request: Request, org: dict[str, Any]) -> Page:
    """Session replays, newest first."""
    base, q = _base(org), request.query_params
    start, end = window(request, "14d")
    items = replays.replay_list(ctx(request), [p["id"] for p in project_filter(request, org)], start=start, end=end,
                                environment=q.get("environment"), query=q.get("query"))
    found = offset_page(items, offset_param(request), 50)
    rows = [(link(f"{base}explore/replays/{r['id']}/", r["id"][:12]), when(r["started_at"]), f"{r['duration']} s",
             r["count_errors"], r["count_urls"], (r.get("user") or {}).get("display_name"), r.get("environment"))
            for r in scrub(found.rows)]
    body = join([_filters(request), table(("Replay", "Started", "Duration", "Errors", "URLs", "User", "Environment"),
                                          rows), _pager(request, found)])
    return Page("Replays", body)


def replay_detail(request: Request, org: dict[str, Any]) -> Page:
    """One replay record: timing, user, URLs and the errors it saw."""
    pids = [p["id"] for p in ctx(request).store.projects(org["id"])]
    r = scrub(replays.replay_detail(ctx(request), pids, request.path_params["replay"]))
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
            result = await run_in_threadpool(render, request, org)
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
