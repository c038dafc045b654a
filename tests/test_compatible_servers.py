"""Sentry-compatible servers (GlitchTip 5, older self-hosted Sentry): the data or one true sentence.

``CompatibleServer`` is a scripted loopback server that behaves as such a
server was seen to: the org-scoped issue route is PUT/DELETE only (405 on GET),
the legacy ``/api/0/issues/{id}/…`` routes serve the data with some rows in
snake_case, unknown ``/api/0/`` paths fall into a web app's catch-all (200 on
GET, a 403 CSRF page on POST, a 404 page for some), there are no short IDs,
Discover, replays or workflows, ``stats_v2`` ignores ``groupBy``, filters are
silently ignored, ``sort`` takes its own enum (422 with pydantic ``detail``
lists), re-creating a release is a 500, a taken project slug becomes
``slug-2``. Lists page with real ``Link`` cursors. Each test asserts the
fallback we took or the sentence we said, in the tool layer, MCP and notebook.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sentry_ipy.config import Settings
from sentry_ipy.errors import NotFoundError, UnsupportedFeatureError
from sentry_ipy.tools import ToolContext, ToolResult, run_tool
from tests._scripted import TOKEN, Reply, ScriptedServer, Seen, html_page

ORG = "acme"
SORTS = ("last_seen", "first_seen", "count", "priority")
NOW = datetime.now(timezone.utc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


PROJECTS = [{"id": "1", "slug": "web", "name": "Web", "platform": "python"},
            {"id": "2", "slug": "other", "name": "Other", "platform": "python"}]


def _issue(n: int, project: dict[str, Any], status: str = "unresolved") -> dict[str, Any]:
    return {"id": str(n), "shortId": f"{project['slug'].upper()}-{n}", "title": f"Error {n}",
            "culprit": "app.py in run", "level": "error", "status": status, "count": str(n),
            "userCount": 0, "firstSeen": _iso(NOW - timedelta(days=2, minutes=n)),
            "lastSeen": _iso(NOW - timedelta(minutes=n)), "project": project,
            "permalink": f"http://glitch.test/{project['slug']}/issues/{n}"}


ISSUES = ([_issue(n, PROJECTS[0]) for n in range(1, 151)]
          + [_issue(151, PROJECTS[0], "resolved"), _issue(152, PROJECTS[1])])


def _event(n: int, minutes_ago: float, filename: str = "app.py") -> dict[str, Any]:
    """An event row as this server spells it: snake_case IDs and dates, level and release in tags."""
    return {"event_id": f"{n:032x}", "group_id": "1", "title": f"TypeError: boom {n}",
            "message": f"boom {n}" + (" checkout" if n % 2 else ""),
            "date_created": _iso(NOW - timedelta(minutes=minutes_ago)),
            "tags": [{"key": "level", "value": "error"}, {"key": "release", "value": "web@2.0"},
                     {"key": "environment", "value": "prod"}],
            "entries": [{"type": "exception", "data": {"values": [{
                "type": "TypeError", "value": f"boom {n}",
                "stacktrace": {"frames": [{"filename": f"src/{filename}", "function": "run",
                                           "lineNo": 3, "inApp": True}]}}]}}]}


#: Newest first; the last two are older than 14 days (the server ignores statsPeriod).
EVENTS = ([_event(n, n * 10) for n in range(1, 8)] + [_event(8, 60, "pay.py")]
          + [_event(9, 60 * 24 * 20), _event(10, 60 * 24 * 30)])
RELEASES = [{"version": "web@2.0", "projects": [PROJECTS[0]], "dateCreated": _iso(NOW)},
            {"version": "web@1.0", "projects": [PROJECTS[0]], "dateCreated": _iso(NOW - timedelta(days=1))},
            {"version": "other@9.0", "projects": [PROJECTS[1]], "dateCreated": _iso(NOW)}]


def _paged(server: ScriptedServer, seen: Seen, rows: list[dict[str, Any]],
           size_param: str = "per_page") -> Reply:
    """One page of ``rows`` with a Link header like Sentry's (offset cursors)."""
    size = int(seen.arg(size_param) or seen.arg("limit") or 100)
    offset = int((seen.arg("cursor") or "0:0:0").split(":")[1])
    page = rows[offset:offset + size]
    more = offset + size < len(rows)
    base = f"{server.url}{seen.route}?cursor="
    link = (f'<{base}0:{max(0, offset - size)}:1>; rel="previous"; results="{str(offset > 0).lower()}"; '
            f'cursor="0:{max(0, offset - size)}:1", <{base}0:{offset + size}:0>; rel="next"; '
            f'results="{str(more).lower()}"; cursor="0:{offset + size}:0"')
    return Reply(body=page, headers={"Link": link})


class CompatibleServer(ScriptedServer):
    """A GlitchTip-like server on loopback (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.releases = [dict(r) for r in RELEASES]
        self.issues = [dict(i) for i in ISSUES]  # an update persists, as on the real server
        self.slugs = {p["slug"] for p in PROJECTS}
        api = "/api/0"
        self.route("GET", f"{api}/organizations/", Reply(body=[{"slug": ORG, "name": "Acme"}]))
        self.route("GET", f"{api}/organizations/{ORG}/projects/",
                   lambda seen, _: _paged(self, seen, PROJECTS))
        self.route("GET", f"{api}/projects/{ORG}/(?P<slug>[^/]+)/", self._project)
        self.route("GET", f"{api}/organizations/{ORG}/issues/", self._issues)
        self.route("GET", f"{api}/organizations/{ORG}/issues/[^/]+/",
                   Reply(405, {"detail": 'Method "GET" not allowed.'}))
        self.route("PUT", f"{api}/organizations/{ORG}/issues/(?P<id>\\d+)/", self._update_issue)
        self.route("GET", f"{api}/issues/(?P<id>\\d+)/", self._legacy_issue)
        self.route("GET", f"{api}/issues/(?P<id>\\d+)/events/",
                   lambda seen, _: _paged(self, seen, EVENTS))  # ignores query and statsPeriod
        self.route("GET", f"{api}/issues/(?P<id>\\d+)/events/latest/", Reply(body=EVENTS[0]))
        self.route("GET", f"{api}/organizations/{ORG}/shortids/.*", html_page(404, "Not Found"))
        self.route("GET", f"{api}/organizations/{ORG}/(events|replays)/", html_page(404, "Not Found"))
        self.route("GET", f"{api}/projects/{ORG}/web/events/",
                   lambda seen, _: _paged(self, seen, EVENTS))
        self.route("GET", f"{api}/projects/{ORG}/web/events/(?P<id>[0-9a-f]{{32}})/", self._event)
        self.route("GET", f"{api}/organizations/{ORG}/stats_v2/", self._stats)
        self.route("GET", f"{api}/organizations/{ORG}/releases/",
                   lambda seen, _: _paged(self, seen, self.releases))  # ignores project and query
        self.route("GET", f"{api}/projects/{ORG}/(?P<slug>[^/]+)/releases/", self._project_releases)
        self.route("GET", f"{api}/organizations/{ORG}/releases/(?P<v>[^/]+)/", self._release)
        self.route("POST", f"{api}/organizations/{ORG}/releases/", self._create_release)
        self.route("POST", f"{api}/teams/{ORG}/(?P<team>[^/]+)/projects/", self._create_project)
        self.route("POST", f"{api}/projects/{ORG}/web/alerts/", self._create_alert)
        self.route("GET", f"{api}/.*", html_page(200, "GlitchTip"))  # the web app's catch-all
        self.route("*", f"{api}/.*", html_page(403, "CSRF verification failed"))

    def _project(self, seen: Seen, match: Any) -> Reply:
        found = next((p for p in PROJECTS if p["slug"] == match["slug"]), None)
        return Reply(body=found) if found else Reply(404, {"detail": "Not found."})

    def _issues(self, seen: Seen, match: Any) -> Reply:
        sort = seen.arg("sort")
        if sort is not None and sort.lstrip("-") not in SORTS:
            expected = ", ".join(f"'{v}'" for s in SORTS for v in (s, f"-{s}"))
            return Reply(422, {"detail": [{"type": "enum", "loc": ["query", "sort"],
                                           "msg": f"Input should be {expected}", "input": sort,
                                           "ctx": {"expected": expected}}]})
        rows = [i for i in self.issues if not seen.arg("project") or i["project"]["id"] == seen.arg("project")]
        if sort:  # query is ignored: no default is:unresolved either
            key = {"last_seen": "lastSeen", "first_seen": "firstSeen", "count": "count"}.get(
                sort.lstrip("-"), "id")
            rows = sorted(rows, key=lambda i: (int(i[key]) if key == "count" else i[key]),
                          reverse=sort.startswith("-"))
        return _paged(self, seen, rows, "limit")

    def _legacy_issue(self, seen: Seen, match: Any) -> Reply:
        found = next((i for i in self.issues if i["id"] == match["id"]), None)
        return Reply(body=found) if found else Reply(404, {"detail": "Not found."})

    def _update_issue(self, seen: Seen, match: Any) -> Reply:
        found = next((i for i in self.issues if i["id"] == match["id"]), None)
        if found is None:
            return Reply(404, {"detail": "Not found."})
        found.update(seen.json())
        return Reply(body=found)

    def _event(self, seen: Seen, match: Any) -> Reply:
        found = next((e for e in EVENTS if e["event_id"] == match["id"]), None)
        return Reply(body=found) if found else Reply(404, {"detail": "Not found."})

    def _stats(self, seen: Seen, match: Any) -> Reply:
        # groupBy=outcome ignored: one group, no "by", accepted events only, no totals.
        return Reply(body={"start": seen.arg("start"), "end": seen.arg("end"),
                           "intervals": [_iso(NOW - timedelta(hours=h)) for h in (3, 2, 1)],
                           "groups": [{"series": {"sum(quantity)": [None, 8, None]}}]})

    def _project_releases(self, seen: Seen, match: Any) -> Reply:  # filters by project, not query
        rows = [r for r in self.releases if any(p["slug"] == match["slug"] for p in r["projects"])]
        return _paged(self, seen, rows)

    def _release(self, seen: Seen, match: Any) -> Reply:
        from urllib.parse import unquote

        found = next((r for r in self.releases if r["version"] == unquote(match["v"])), None)
        return Reply(body=found) if found else Reply(404, {"detail": "Not found."})

    def _create_release(self, seen: Seen, match: Any) -> Reply:
        body = seen.json()
        if any(r["version"] == body["version"] for r in self.releases):
            return Reply(500, raw=b"Internal Server Error", headers={"Content-Type": "text/plain"})
        row = {"version": body["version"], "projects": [p for p in PROJECTS if p["slug"] in body["projects"]],
               "dateCreated": _iso(NOW)}
        self.releases.insert(0, row)
        return Reply(201, row)

    def _create_project(self, seen: Seen, match: Any) -> Reply:
        body = seen.json()
        slug = body["slug"]
        while slug in self.slugs:
            slug = f"{body['slug']}-{len([s for s in self.slugs if s.startswith(body['slug'])]) + 1}"
        self.slugs.add(slug)
        return Reply(201, {"id": "9", "slug": slug, "name": body["name"], "platform": body.get("platform")})

    def _create_alert(self, seen: Seen, match: Any) -> Reply:
        body = seen.json()
        if set(body) != {"name", "timespanMinutes", "quantity", "alertRecipients"}:
            return Reply(422, {"detail": [{"type": "missing", "loc": ["body", "quantity"], "msg": "Field required"}]})
        return Reply(201, {"id": "5", **body})

    def paths(self) -> list[str]:
        return [f"{r.method} {r.route}" for r in self.requests]


@pytest.fixture()
def glitch() -> Iterator[CompatibleServer]:
    with CompatibleServer() as srv:
        yield srv


@pytest.fixture()
def gctx(glitch: CompatibleServer) -> Iterator[ToolContext]:
    context = ToolContext(Settings(url=glitch.url, auth_token=TOKEN, org=ORG, project="web"))
    try:
        yield context
    finally:
        context.close()


def call(ctx: ToolContext, tool: str, /, **args: Any) -> ToolResult:
    return run_tool(tool, args, ctx)


# ------------------------------------------------------------------ issues
def test_issue_detail_and_latest_event_come_from_the_legacy_routes(gctx: ToolContext,
                                                                  glitch: CompatibleServer) -> None:
    result = call(gctx, "sentry_get_issue", issueId="7")
    data = result.data or {}
    assert data["shortId"] == "WEB-7" and data["eventId"] == EVENTS[0]["event_id"]
    assert "TypeError: boom 1" in (data["stacktrace"] or "")
    assert glitch.paths()[-4:] == ["GET /api/0/organizations/acme/issues/7/", "GET /api/0/issues/7/",
                                   "GET /api/0/organizations/acme/issues/7/events/latest/",
                                   "GET /api/0/issues/7/events/latest/"]
    glitch.requests.clear()
    call(gctx, "sentry_get_issue", issueId="8")  # learned once: the 405 route is not asked again
    assert glitch.paths() == ["GET /api/0/issues/8/", "GET /api/0/issues/8/events/latest/"]


def test_issue_permalink_names_the_project_not_the_org(gctx: ToolContext) -> None:
    result = call(gctx, "sentry_get_issue", issueId=ISSUES[2]["permalink"])
    assert (result.data or {})["id"] == "3"


def test_issue_events_read_snake_case_rows_over_real_cursors(gctx: ToolContext,
                                                             glitch: CompatibleServer) -> None:
    result = call(gctx, "sentry_list_issue_events", issueId="1", limit=5)
    rows = result.records or []
    assert [r["eventID"] for r in rows] == [e["event_id"] for e in EVENTS[:5]]
    assert rows[0]["dateCreated"] == EVENTS[0]["date_created"] and result.truncated
    every = call(gctx, "sentry_list_issue_events", issueId="1", limit=100)
    assert len(every.records or []) == 10 and not every.truncated
    window = call(gctx, "sentry_list_issue_events", issueId="1", statsPeriod="14d", query="checkout")
    assert [r["eventID"] for r in window.records or []] == [
        e["event_id"] for e in EVENTS[:8] if "checkout" in e["message"]]
    structured = call(gctx, "sentry_list_issue_events", issueId="1", query="level:error")
    assert ("This server only has the legacy issue events route, so whether it applied the query "
            "'level:error' was not checked.") in structured.summary
    assert "GET /api/0/organizations/acme/issues/1/events/" in glitch.paths()  # the HTML catch-all


def test_short_ids_are_found_by_a_bounded_scan_of_the_project(gctx: ToolContext,
                                                              glitch: CompatibleServer) -> None:
    result = call(gctx, "sentry_resolve_short_id", shortId="web-140")
    assert (result.data or {})["issueId"] == "140" and (result.data or {})["project"] == "web"
    scans = [r for r in glitch.requests if r.route == "/api/0/organizations/acme/issues/"]
    assert [r.arg("cursor") for r in scans] == [None, "0:100:0"]  # the second page, by its cursor
    assert {r.arg("project") for r in scans} == {"1"} and {r.arg("query") for r in scans} == {""}
    issue = call(gctx, "sentry_get_issue", issueId="WEB-3")
    assert (issue.data or {})["id"] == "3"
    assert sum(r.route.endswith("/shortids/WEB-3/") for r in glitch.requests) == 0  # learned


def test_a_short_id_the_scan_does_not_meet_is_said_truly(gctx: ToolContext) -> None:
    with pytest.raises(NotFoundError) as err:
        call(gctx, "sentry_resolve_short_id", shortId="WEB-999")
    assert str(err.value) == (
        "Short ID 'WEB-999' is not among the 151 most recent issues of project 'web'; this server "
        f"({gctx.api().features.where}) has no short-ID lookup, so give the numeric issue ID.")


def test_default_query_is_sent_and_enforced(gctx: ToolContext, glitch: CompatibleServer) -> None:
    result = call(gctx, "sentry_list_issues", projectSlug="web", limit=1000)
    rows = result.records or []
    assert len(rows) == 150 and {r["status"] for r in rows} == {"unresolved"}
    assert "This server ignores is:unresolved, so issues were filtered here (1 of other statuses left out)." in result.summary
    assert {r.arg("query") for r in glitch.requests if r.route.endswith("/issues/")} == {"is:unresolved"}
    levels = call(gctx, "sentry_list_issues", projectSlug="web", query="is:unresolved level:fatal",
                  limit=1000)
    assert levels.summary.endswith("(1 of other statuses left out); the rest of the query "
                                   "('level:fatal') was not applied.")
    everything = call(gctx, "sentry_list_issues", projectSlug="web", query="", limit=1000)
    assert len(everything.records or []) == 151 and "ignored" not in everything.summary


@pytest.mark.parametrize(("sort", "sent", "note"), [
    ("date", "-last_seen", "Sorted by -last_seen (this server's name for sort 'date')."),
    ("freq", "-count", "Sorted by -count (this server's name for sort 'freq')."),
    ("user", None, "This server cannot sort issues by 'user' (it offers last_seen, -last_seen,"),
])
def test_sentry_sort_values_become_the_servers_own(gctx: ToolContext, glitch: CompatibleServer,
                                                   sort: str, sent: str | None, note: str) -> None:
    result = call(gctx, "sentry_list_issues", projectSlug="web", sort=sort, limit=3)
    assert note in result.summary and len(result.records or []) == 3
    sorts = [r.arg("sort") for r in glitch.requests if r.route.endswith("/issues/")]
    assert sorts[:2] == [sort, sent] and set(sorts[1:]) == {sent}
    if sort == "freq":
        assert [r["count"] for r in result.records or []] == ["150", "149", "148"]
    glitch.requests.clear()
    call(gctx, "sentry_list_issues", projectSlug="web", sort=sort, limit=3)  # learned: no second 422
    assert {r.arg("sort") for r in glitch.requests if r.route.endswith("/issues/")} == {sent}


# ------------------------------------------------------------------ events
def test_error_events_without_discover_apply_the_window_here(gctx: ToolContext,
                                                             glitch: CompatibleServer) -> None:
    result = call(gctx, "sentry_list_error_events_in_project", projectSlug="web")
    rows = result.records or []
    assert [r["id"] for r in rows] == [e["event_id"] for e in EVENTS[:8]]  # not the 20/30-day-old ones
    assert rows[0]["level"] == "error" and rows[0]["release"] == "web@2.0"
    assert "This server has no Discover, so the project's event list was read and the 14d window " \
           "applied here." in result.summary
    week = call(gctx, "sentry_list_error_events_in_project", projectSlug="web", statsPeriod="30m")
    assert [r["id"] for r in week.records or []] == [e["event_id"] for e in EVENTS[:2]]
    assert sum(r.route == "/api/0/organizations/acme/events/" for r in glitch.requests) == 1


def test_error_events_query_is_matched_here_or_named(gctx: ToolContext) -> None:
    text = call(gctx, "sentry_list_error_events_in_project", projectSlug="web", query="checkout")
    assert [r["id"] for r in text.records or []] == [e["event_id"] for e in EVENTS[:8]
                                                      if "checkout" in e["message"]]
    structured = call(gctx, "sentry_list_error_events_in_project", projectSlug="web",
                      query="level:warning")
    assert len(structured.records or []) == 8
    assert ("The query 'level:warning' needs Discover, which this server lacks, so it was not "
            "applied: these are all error events in the window.") in structured.summary


def test_search_errors_in_file_falls_back_to_the_event_list(gctx: ToolContext) -> None:
    result = call(gctx, "sentry_search_errors_in_file", projectSlug="web", filename="pay.py")
    rows = result.records or []
    assert len(rows) == 1 and rows[0]["issue.id"] == "1" and rows[0]["count()"] == 1
    assert "has no Discover" in result.summary and "1 event" in result.summary
    none = call(gctx, "sentry_search_errors_in_file", projectSlug="web", filename="nothere.py")
    assert none.records == []


def test_get_event_reads_level_and_release_from_tags(gctx: ToolContext) -> None:
    result = call(gctx, "sentry_get_event", projectSlug="web", eventId=EVENTS[1]["event_id"])
    data = result.data or {}
    assert data["eventID"] == EVENTS[1]["event_id"] and data["level"] == "error"
    assert data["release"] == "web@2.0" and data["dateCreated"] == EVENTS[1]["date_created"]


# ------------------------------------------------------------------ stats, releases, projects
def test_stats_without_groups_are_the_total_said_as_such(gctx: ToolContext) -> None:
    result = call(gctx, "sentry_get_organization_stats", stat="received")
    assert [r["count"] for r in result.records or []] == [0, 8, 0]
    assert "8 errors in organization 'acme'" in result.summary
    assert "this server ignored groupBy=outcome, so its count is not split by outcome and is not " \
           "a received count." in result.summary


def test_releases_are_this_projects_and_match_the_query_here(gctx: ToolContext) -> None:
    result = call(gctx, "sentry_list_releases", projectSlug="web")
    assert [r["version"] for r in result.records or []] == ["web@2.0", "web@1.0"]
    matched = call(gctx, "sentry_list_releases", projectSlug="web", query="1.")
    assert [r["version"] for r in matched.records or []] == ["web@1.0"]
    assert "This server ignored query '1.'; the versions were matched here (1 other left out)." \
           in matched.summary


def test_create_release_of_an_existing_version_reports_it_as_existing(gctx: ToolContext) -> None:
    first = call(gctx, "sentry_create_release", version="web@3.0", projects=["web"])
    again = call(gctx, "sentry_create_release", version="web@3.0", projects=["web"])
    assert "was created" in first.summary and (first.data or {})["alreadyExisted"] is False
    assert again.summary.startswith("Release 'web@3.0' already existed (nothing changed)")
    assert (again.data or {})["alreadyExisted"] is True


def test_projects_query_the_server_ignored_is_applied_here(gctx: ToolContext) -> None:
    result = call(gctx, "sentry_list_projects", query="OTH")
    assert [r["slug"] for r in result.records or []] == ["other"]
    assert "This server ignored query 'OTH'; names and slugs were matched here (1 other left out)." \
           in result.summary


def test_create_project_says_when_the_server_changed_the_slug(gctx: ToolContext) -> None:
    result = call(gctx, "sentry_create_project", name="Web", slug="web", team="core")
    assert (result.data or {})["slug"] == "web-2"
    assert "The server changed the slug: it is 'web-2', not 'web'" in result.summary


# ------------------------------------------------------------------ alerts, replays
def test_alert_rule_falls_back_to_the_servers_alerts_api(gctx: ToolContext, glitch: CompatibleServer) -> None:
    result = call(gctx, "sentry_create_alert_rule", projectSlug="web", name="New issues", frequency=60)
    data = result.data or {}
    assert data["api"] == "alerts" and data["id"] == "5"
    posted = [r for r in glitch.requests if r.route == "/api/0/projects/acme/web/alerts/"][0].json()
    assert posted == {"name": "New issues", "timespanMinutes": 60, "quantity": 1,
                      "alertRecipients": [{"recipientType": "email"}]}
    assert "its alerts API fires when an issue gets 1 event within 60 min" in result.summary
    assert "scope" not in result.summary
    glitch.requests.clear()
    call(gctx, "sentry_create_alert_rule", projectSlug="web", name="Again")
    assert [p for p in glitch.paths() if "alert" in p or "rules" in p or "workflows" in p] == [
        "POST /api/0/projects/acme/web/alerts/"]


def test_missing_replays_are_one_sentence(gctx: ToolContext, glitch: CompatibleServer) -> None:
    with pytest.raises(UnsupportedFeatureError) as err:
        call(gctx, "sentry_list_organization_replays")
    assert str(err.value) == f"This server ({glitch.url}) has no replays API."


# ------------------------------------------------------------------ faces
def test_mcp_says_the_same_sentence_as_an_error_result(gctx: ToolContext, glitch: CompatibleServer) -> None:
    import anyio
    from mcp import Client

    from sentry_ipy.mcp import build_mcp_server

    async def main() -> Any:
        async with Client(build_mcp_server(context=gctx)) as client:
            return (await client.call_tool("sentry_list_organization_replays", {}),
                    await client.call_tool("sentry_get_issue", {"issueId": "2"}))

    replays, issue = anyio.run(main)
    assert replays.is_error and f"This server ({glitch.url}) has no replays API." in replays.content[0].text
    assert "organization" not in replays.content[0].text and TOKEN not in replays.content[0].text
    assert not issue.is_error and "WEB-2" in issue.content[0].text


def test_notebook_says_it_in_one_line(glitch: CompatibleServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core.error import UsageError

    from tests._shell import loaded_shell

    for key, value in {"SENTRY_URL": glitch.url, "SENTRY_AUTH_TOKEN": TOKEN, "SENTRY_ORG": ORG,
                       "SENTRY_PROJECT": "web"}.items():
        monkeypatch.setenv(key, value)
    with loaded_shell() as shell:
        with pytest.raises(UsageError) as err:
            shell.run_line_magic("sentry_replays", "")
        frame = shell.run_line_magic("sentry_issues", "web --sort date --limit 2")
    text = str(err.value)
    assert "\n" not in text and text.endswith(f"This server ({glitch.url}) has no replays API.")
    assert list(frame["shortId"]) == ["WEB-1", "WEB-2"]


def test_issue_browser_opens_sorted_by_date_and_resolves(gctx: ToolContext, glitch: CompatibleServer) -> None:
    """%sentry_browse always asks for sort=date: the widget must open on this server too.

    Resolve goes through sentry_update_issue: this server has no bulk ``PUT …/issues/?id=`` (its
    catch-all answers a 403 page), so the tool puts the one issue, then reads it back.
    """
    pytest.importorskip("ipywidgets")
    from sentry_ipy.notebook._widgets import IssueBrowser

    browser = IssueBrowser(gctx, "web", limit=5)
    assert [v for _, v in browser.issue_list.options] == ["1", "2", "3", "4", "5"]
    assert "5 issues (query: is:unresolved)" in browser.status_line.value
    browser.issue_list.value = "2"
    assert "TypeError: boom 1" in browser.detail.value
    browser.resolve_button.click()
    puts = [(r.route, r.json()) for r in glitch.requests if r.method == "PUT"]
    assert puts == [(f"/api/0/organizations/{ORG}/issues/", {"status": "resolved"}),
                    (f"/api/0/organizations/{ORG}/issues/2/", {"status": "resolved"})]
    assert "WEB-2: status unresolved → resolved (read back from the server)." in browser.status_line.value


def test_the_html_catch_all_is_never_a_scope_or_org_problem(gctx: ToolContext,
                                                            glitch: CompatibleServer) -> None:
    """Every failure a catch-all page causes names the missing feature, never a scope, org or URL."""
    call(gctx, "sentry_list_projects")
    for path in (("organizations", ORG, "detectors"), ("projects", ORG, "web", "rules")):
        method = "POST" if path[-1] == "rules" else "GET"
        with pytest.raises(UnsupportedFeatureError) as err:
            gctx.api().request(method, *path, json={} if method == "POST" else None)
        text = str(err.value)
        assert text.startswith(f"This server ({glitch.url}) has no API route {method} /api/0/")
        for wrong in ("scope", "SENTRY_URL", "check the organization", "not found", "not a Sentry"):
            assert wrong not in text, text


# ------------------------------------------------------------------ web links
#: What every link we build from Sentry's web UI paths holds; this server's pages live elsewhere.
SENTRY_UI = f"/organizations/{ORG}/"

_LINKING_CALLS = [("sentry_list_issues", {"projectSlug": "web"}), ("sentry_list_projects", {}),
                  ("sentry_list_releases", {"projectSlug": "web"}),
                  ("sentry_get_organization_stats", {"stat": "received"}),
                  ("sentry_list_issue_events", {"issueId": "1"}),
                  ("sentry_get_event", {"projectSlug": "web", "eventId": EVENTS[0]["event_id"]}),
                  ("sentry_list_error_events_in_project", {"projectSlug": "web"})]


def _said(result: ToolResult) -> str:
    return result.to_markdown() + repr(result.to_dict()) + repr(result.records)


def test_links_are_the_servers_own_permalinks_or_none(gctx: ToolContext) -> None:
    """A GlitchTip permalink (``{base}/{slug}/issues/{id}``) shows its web UI is not Sentry's:
    the server's own links are kept, and the ones we would build from Sentry's paths are left out."""
    issue = call(gctx, "sentry_get_issue", issueId="7")
    assert issue.links == {"Issue": ISSUES[6]["permalink"]}
    for tool, args in _LINKING_CALLS:
        result = call(gctx, tool, **args)
        assert SENTRY_UI not in _said(result), (tool, result.links)
    rows = call(gctx, "sentry_list_issues", projectSlug="web", limit=3).records or []
    assert [r["permalink"] for r in rows] == [i["permalink"] for i in ISSUES[:3]]


def test_a_web_page_on_an_api_route_is_enough_to_know(gctx: ToolContext, glitch: CompatibleServer) -> None:
    with pytest.raises(UnsupportedFeatureError):
        call(gctx, "sentry_list_teams")  # the catch-all's page: Sentry answers JSON there
    for tool in ("sentry_list_projects", "sentry_get_organization_stats"):
        result = call(gctx, tool, **({"stat": "received"} if tool.endswith("stats") else {}))
        assert not result.links and SENTRY_UI not in _said(result), (tool, result.links)


def test_sentry_itself_keeps_the_links_we_build(tctx: ToolContext) -> None:
    """The local backend is Sentry-faithful: its permalinks have Sentry's shape, so links stay."""
    call(tctx, "sentry_list_issues", projectSlug="notebook")
    projects = call(tctx, "sentry_list_projects")
    assert (projects.links["Projects"] or "").endswith("/projects/") and "/organizations/" in \
        (projects.links["Projects"] or ""), projects.links
