"""The 15 API tools end to end: real events sent by sentry-sdk, read back over HTTP.

A module fixture creates its own project through ``sentry_create_project``,
takes its DSN from ``sentry_setup_project`` and sends, through sentry-sdk,
130 distinct error messages, one message 105 times, one exception three times
and a replay. Every assertion compares a tool's answer with what was sent.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk

from sentry_ipy import frames
from sentry_ipy.config import Settings
from sentry_ipy.errors import APIError, ConflictError, NotFoundError, ToolInputError
from sentry_ipy.local import LocalServer
from sentry_ipy.tools import ToolContext, ToolResult, registry, run_tool
from tests._scripted import Reply, ScriptedServer
from tests._sdk import capture_replay, sending_to

API_TOOLS = ("sentry_list_projects", "sentry_create_project", "sentry_setup_project",
             "sentry_list_issues", "sentry_get_issue", "sentry_resolve_short_id",
             "sentry_list_issue_events", "sentry_search_errors_in_file", "sentry_get_event",
             "sentry_list_error_events_in_project", "sentry_create_release",
             "sentry_list_releases", "sentry_get_organization_stats", "sentry_create_alert_rule",
             "sentry_list_organization_replays")
DISTINCT = 130
REPEATED = 105
RAISED = 3
TOTAL_ERRORS = DISTINCT + REPEATED + RAISED
RELEASE = "apitools@1.0"
REPLAY_ID = uuid.uuid4().hex


@dataclass
class Seeded:
    """What the fixture sent, to compare the tools' answers against."""

    slug: str
    project_id: str
    dsn: str
    warnings: int
    exception_event_ids: list[str]
    started: datetime


def _word(n: int) -> str:
    """Distinct words without digits or hex letters (the grouping normalises those)."""
    letters = "ghijklmnopqrstuvwxyz"
    return "".join(letters[int(d)] for d in f"{n:03d}")


def _explode(n: int) -> None:
    raise ValueError(f"bad input {n}")


def _send(dsn: str) -> tuple[int, list[str]]:
    warnings = 0
    event_ids = []
    with sending_to(dsn, release=RELEASE, environment="test", transport_queue_size=1000) as scope:
        for n in range(DISTINCT):
            level = "warning" if n % 4 == 0 else "error"
            warnings += level == "warning"
            sentry_sdk.capture_message(f"distinct failure {_word(n)}", level=level)
        for _ in range(REPEATED):
            sentry_sdk.capture_message("repeated failure in the nightly job", level="error")
        for n in range(RAISED):
            try:
                _explode(n)
            except ValueError as exc:
                event_ids.append(str(sentry_sdk.capture_exception(exc)))
        capture_replay(scope, REPLAY_ID, environment="test", urls=["http://app.test/"], duration=42)
    return warnings, event_ids


@pytest.fixture(scope="module")
def seeded(tctx: ToolContext, local_server: LocalServer) -> Seeded:
    started = datetime.now(timezone.utc) - timedelta(minutes=1)
    slug = f"apitools-{uuid.uuid4().hex[:6]}"
    created = run_tool("sentry_create_project", {"name": "API tools", "slug": slug, "team": "local",
                                                 "platform": "python"}, tctx)
    assert created.data is not None and created.data["slug"] == slug
    setup = run_tool("sentry_setup_project", {"projectSlug": slug, "platform": "python"}, tctx)
    assert setup.data is not None
    dsn = setup.data["dsn"]
    warnings, event_ids = _send(dsn)
    deadline = time.time() + 10
    while time.time() < deadline:
        project = local_server.store.project(1, slug)
        if len(local_server.store.events(project_id=project["id"])) >= TOTAL_ERRORS:
            break
        time.sleep(0.05)
    return Seeded(slug=slug, project_id=str(created.data["id"]), dsn=dsn, warnings=warnings,
                  exception_event_ids=event_ids, started=started)


def _issue(tctx: ToolContext, seeded: Seeded, query: str) -> dict[str, Any]:
    result = run_tool("sentry_list_issues", {"projectSlug": seeded.slug, "query": query}, tctx)
    assert result.records is not None and len(result.records) == 1, result.summary
    return result.records[0]


# ------------------------------------------------------------------ registry
def test_all_api_tools_registered_with_seed_compatible_schemas() -> None:
    seed_file = Path(__file__).resolve().parents[2] / "shared" / "spec" / "seed-tools.json"
    seed = ({t["name"]: t["inputSchema"] for t in json.loads(seed_file.read_text())}
            if seed_file.exists() else {})
    tools = registry()
    for name in API_TOOLS:
        spec = tools[name]
        assert spec.family == "api" and spec.description
        schema = spec.input_schema()
        if name not in seed:
            continue
        theirs = seed[name]
        assert sorted(schema.get("required", [])) == sorted(theirs.get("required", [])), name
        for prop, want in theirs["properties"].items():
            ours = schema["properties"][prop]
            for key in ("type", "enum", "default"):
                if key in want:
                    assert ours.get(key) == want[key], (name, prop, key)


# ------------------------------------------------------------------ projects
def test_list_projects(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_list_projects", {}, tctx)
    slugs = [r["slug"] for r in result.records or []]
    assert {"notebook", seeded.slug} <= set(slugs) and result.truncated is False
    frame = result.to_frame()
    assert list(frame.columns[:4]) == ["id", "slug", "name", "platform"]
    assert str(frame["dateCreated"].dtype) == frames.DATETIME
    assert seeded.slug in result.to_markdown()
    only = run_tool("sentry_list_projects", {"query": seeded.slug}, tctx)
    assert [r["slug"] for r in only.records or []] == [seeded.slug]


def test_create_project_errors(tctx: ToolContext, seeded: Seeded) -> None:
    with pytest.raises(ConflictError, match=f"slug '{seeded.slug}' already exists in organization 'local'"):
        run_tool("sentry_create_project", {"name": "x", "slug": seeded.slug, "team": "local"}, tctx)
    with pytest.raises(NotFoundError, match="Team 'no-such-team' was not found in organization 'local'"):
        run_tool("sentry_create_project", {"name": "x", "slug": "x-y", "team": "no-such-team"}, tctx)
    with pytest.raises(ToolInputError, match="needs the argument 'team'"):
        run_tool("sentry_create_project", {"name": "x", "slug": "x"}, tctx)


def test_setup_project_dsn_and_instructions(tctx: ToolContext, seeded: Seeded,
                                            local_server: LocalServer) -> None:
    # the DSN works: the fixture's events arrived through it
    project = local_server.store.project(1, seeded.slug)
    assert len(local_server.store.events(project_id=project["id"])) == TOTAL_ERRORS
    for platform, needle in (("python", "sentry_sdk.init("), ("jupyter", "%load_ext sentry_ipy"),
                             ("ipython", "%load_ext sentry_ipy"), ("javascript", "@sentry/browser"),
                             ("node", "@sentry/node"), ("python-django", "sentry_sdk.init(")):
        result = run_tool("sentry_setup_project", {"projectSlug": seeded.slug, "platform": platform}, tctx)
        assert result.data is not None and result.data["dsn"] == seeded.dsn
        assert result.data["keyCreated"] is False and result.data["keyName"] == "Default"
        assert needle in result.data["instructions"] and seeded.dsn in result.data["instructions"]
    other = run_tool("sentry_setup_project", {"projectSlug": seeded.slug, "platform": "rust"}, tctx)
    assert other.data is not None
    assert "https://docs.sentry.io/platforms/rust/" in other.data["instructions"]
    assert "https://docs.sentry.io/platforms/go/" in other.data["instructions"]
    default = run_tool("sentry_setup_project", {"projectSlug": seeded.slug}, tctx)
    assert default.data is not None and default.data["platform"] == "javascript"
    with pytest.raises(NotFoundError, match="Project 'nope' was not found in organization 'local'"):
        run_tool("sentry_setup_project", {"projectSlug": "nope"}, tctx)


# -------------------------------------------------------------------- issues
def test_list_issues_follows_every_page(tctx: ToolContext, seeded: Seeded) -> None:
    pages: list[tuple[int, int | None, str]] = []
    context = ToolContext(tctx.settings, local_server=tctx.local_server,
                          progress=lambda *a: pages.append(a))
    try:
        result = run_tool("sentry_list_issues", {"projectSlug": seeded.slug, "query": "", "limit": 1000},
                          context)
    finally:
        context.close()
    records = result.records or []
    assert len(records) == DISTINCT + 2 and result.truncated is False
    assert len({r["id"] for r in records}) == len(records)
    assert pages and pages[0][0] == 100
    every = run_tool("sentry_list_issues", {"projectSlug": seeded.slug}, tctx)  # Python: all pages
    assert len(every.records or []) == DISTINCT + 2 and every.truncated is False
    assert every.to_frame().attrs["truncated"] is False and every.truncation_note() is None
    compact = ToolContext(tctx.settings, local_server=tctx.local_server, fetch_all=False)  # as MCP
    try:
        default = run_tool("sentry_list_issues", {"projectSlug": seeded.slug}, compact)
    finally:
        compact.close()
    assert len(default.records or []) == 100 and default.truncated is True
    assert "is:unresolved (default)" in default.summary
    attrs = default.to_frame().attrs
    assert attrs["truncated"] is True and attrs["limit"] == 100 and attrs["rows"] == 100
    assert attrs["server"] == tctx.local_server.url and attrs["query"]["projectSlug"] == seeded.slug
    assert attrs["fetched_at"].tzinfo is not None
    assert "holds 100 rows and stopped at limit=100" in (default.truncation_note() or "")
    by_id = run_tool("sentry_list_issues", {"projectSlug": seeded.project_id, "limit": 500}, tctx)
    assert len(by_id.records or []) == DISTINCT + 2
    warnings = run_tool("sentry_list_issues", {"projectSlug": seeded.slug, "query": "level:warning",
                                               "limit": 500}, tctx)
    assert len(warnings.records or []) == seeded.warnings
    small = run_tool("sentry_list_issues", {"projectSlug": seeded.slug, "limit": 7.0}, tctx)
    assert len(small.records or []) == 7 and small.truncated is True


def test_issue_counts_and_frame(tctx: ToolContext, seeded: Seeded) -> None:
    raised = _issue(tctx, seeded, "ValueError")
    repeated = _issue(tctx, seeded, "repeated")
    assert raised["count"] == str(RAISED) and repeated["count"] == str(REPEATED)
    result = run_tool("sentry_list_issues", {"projectSlug": seeded.slug, "limit": 500}, tctx)
    frame = result.to_frame()
    assert str(frame["count"].dtype) == "Int64" and str(frame["lastSeen"].dtype) == frames.DATETIME
    assert str(frame["shortId"].dtype) == "string" and "project.slug" in frame.columns
    assert int(frame["count"].sum()) == TOTAL_ERRORS
    assert set(frame["project.slug"]) == {seeded.slug}
    markdown = result.to_markdown()
    assert raised["shortId"] in markdown or "more rows" in markdown
    assert (result.records or [])[0]["shortId"] in markdown


def test_get_issue_by_id_short_id_and_urls(tctx: ToolContext, seeded: Seeded) -> None:
    raised = _issue(tctx, seeded, "ValueError")
    issue_id, short = raised["id"], raised["shortId"]
    event_id = seeded.exception_event_ids[-1]
    forms = [issue_id, short, short.lower(),
             f"http://localhost:9000/organizations/local/issues/{issue_id}/?project={seeded.project_id}",
             f"/organizations/local/issues/{issue_id}/",
             f"http://127.0.0.1:9000/organizations/local/issues/{issue_id}/events/{event_id}/"]
    for form in forms:
        result = run_tool("sentry_get_issue", {"issueId": form}, tctx)
        assert result.data is not None and result.data["id"] == issue_id, form
        assert "ValueError: bad input" in (result.data["stacktrace"] or "")
        assert "_explode" in result.data["stacktrace"]
        assert short in result.summary and result.links["Issue"]
    assert run_tool("sentry_get_issue", {"issueId": forms[5]}, tctx).data["eventId"] == event_id
    # sentry.io's URL forms name another server than this one: the same ID there may be another issue
    for form in (f"https://local.sentry.io/issues/{issue_id}/", f"https://other-org.sentry.io/issues/{issue_id}/",
                 f"https://sentry.io/organizations/local/issues/{issue_id}/?project={seeded.project_id}",
                 f"https://sentry.io/local/{seeded.slug}/issues/{issue_id}/"):
        with pytest.raises(ToolInputError, match="That issue URL is on .*sentry.io, but the tools are configured"
                                                 f" for 127.0.0.1, whose issue {issue_id} is not linked there;"):
            run_tool("sentry_get_issue", {"issueId": form}, tctx)
    with pytest.raises(ToolInputError, match="not an issue URL"):
        run_tool("sentry_get_issue", {"issueId": "https://local.sentry.io/projects/"}, tctx)
    with pytest.raises(NotFoundError, match="Issue '999999' was not found in organization 'local'"):
        run_tool("sentry_get_issue", {"issueId": "999999"}, tctx)


def test_resolve_short_id(tctx: ToolContext, seeded: Seeded) -> None:
    repeated = _issue(tctx, seeded, "repeated")
    result = run_tool("sentry_resolve_short_id", {"shortId": repeated["shortId"].lower()}, tctx)
    assert result.data is not None
    assert result.data["issueId"] == repeated["id"] and result.data["project"] == seeded.slug
    assert result.data["shortId"] == repeated["shortId"] and repeated["id"] in result.to_markdown()
    with pytest.raises(NotFoundError, match="Short ID 'NOPE-ZZZ' was not found in organization 'local'"):
        run_tool("sentry_resolve_short_id", {"shortId": "NOPE-ZZZ"}, tctx)
    with pytest.raises(ToolInputError, match="not a short ID"):
        run_tool("sentry_resolve_short_id", {"shortId": "12345"}, tctx)


def test_list_issue_events_all_pages(tctx: ToolContext, seeded: Seeded) -> None:
    repeated = _issue(tctx, seeded, "repeated")
    result = run_tool("sentry_list_issue_events", {"issueId": repeated["shortId"], "limit": 500}, tctx)
    records = result.records or []
    assert len(records) == REPEATED and result.truncated is False
    assert len({r["eventID"] for r in records}) == REPEATED
    capped = run_tool("sentry_list_issue_events", {"issueId": repeated["id"], "limit": 30}, tctx)
    assert len(capped.records or []) == 30 and capped.truncated is True
    raised = _issue(tctx, seeded, "ValueError")
    events = run_tool("sentry_list_issue_events", {"issueId": raised["id"]}, tctx)
    assert sorted(r["eventID"] for r in events.records or []) == sorted(seeded.exception_event_ids)
    frame = events.to_frame()
    assert str(frame["dateCreated"].dtype) == frames.DATETIME and len(frame) == RAISED


def test_search_errors_in_file(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_search_errors_in_file",
                      {"projectSlug": seeded.slug, "filename": "test_api_tools.py"}, tctx)
    records = result.records or []
    assert len(records) == 1 and int(records[0]["count()"]) == RAISED
    assert records[0]["issue"] == _issue(tctx, seeded, "ValueError")["shortId"]
    frame = result.to_frame()
    assert str(frame["count()"].dtype) == "Int64" and str(frame["last_seen()"].dtype) == frames.DATETIME
    none = run_tool("sentry_search_errors_in_file",
                    {"projectSlug": seeded.slug, "filename": 'no"such\\file.py'}, tctx)
    assert none.records == [] and "No errors" in none.to_markdown()


# -------------------------------------------------------------------- events
def test_get_event(tctx: ToolContext, seeded: Seeded) -> None:
    event_id = seeded.exception_event_ids[0]
    result = run_tool("sentry_get_event", {"projectSlug": seeded.slug, "eventId": event_id}, tctx)
    data = result.data or {}
    assert data["eventID"] == event_id and data["release"] == RELEASE
    assert data["environment"] == "test" and "ValueError: bad input 0" in data["stacktrace"]
    dashed = str(uuid.UUID(event_id))
    again = run_tool("sentry_get_event", {"projectSlug": seeded.slug, "eventId": dashed.upper()}, tctx)
    assert (again.data or {})["eventID"] == event_id
    elsewhere = run_tool("sentry_get_event", {"projectSlug": "notebook", "eventId": event_id}, tctx)
    assert f"found in project '{seeded.slug}'" in elsewhere.summary
    frame = result.to_frame()
    assert len(frame) == 1 and str(frame["dateCreated"].dtype) == frames.DATETIME
    with pytest.raises(NotFoundError, match="nor anywhere in organization 'local'"):
        run_tool("sentry_get_event", {"projectSlug": seeded.slug, "eventId": "0" * 32}, tctx)
    with pytest.raises(ToolInputError, match="not a valid event ID"):
        run_tool("sentry_get_event", {"projectSlug": seeded.slug, "eventId": "xyz"}, tctx)


def test_list_error_events_in_project(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_list_error_events_in_project",
                      {"projectSlug": seeded.slug, "limit": 1000}, tctx)
    records = result.records or []
    assert len(records) == TOTAL_ERRORS and result.truncated is False and "Discover" in result.summary
    stamps = [r["timestamp"] for r in records]
    assert stamps == sorted(stamps, reverse=True)
    every = run_tool("sentry_list_error_events_in_project", {"projectSlug": seeded.slug}, tctx)
    assert len(every.records or []) == TOTAL_ERRORS and every.truncated is False
    compact = ToolContext(tctx.settings, local_server=tctx.local_server, fetch_all=False)  # as MCP
    try:
        default = run_tool("sentry_list_error_events_in_project", {"projectSlug": seeded.slug}, compact)
    finally:
        compact.close()
    assert len(default.records or []) == 50 and default.truncated is True
    warnings = run_tool("sentry_list_error_events_in_project",
                        {"projectSlug": seeded.slug, "query": "level:warning", "limit": 1000}, tctx)
    assert len(warnings.records or []) == seeded.warnings
    frame = result.to_frame()
    assert list(frame.columns[:4]) == ["id", "title", "timestamp", "level"]
    assert str(frame["timestamp"].dtype) == frames.DATETIME


def test_list_error_events_falls_back_without_discover() -> None:
    """A server whose Discover answers 404 is read through the legacy project list."""
    recent = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with ScriptedServer() as srv:
        srv.queue(Reply(body={"id": "7", "slug": "old", "name": "old", "platform": "python"}),
                  Reply(404, {"detail": "The requested resource does not exist"}),
                  Reply(body=[{"eventID": "a" * 32, "title": "boom", "dateCreated": recent,
                               "groupID": "3", "tags": [{"key": "level", "value": "error"}],
                               "event.type": "error"}],
                        headers={"Link": '<x>; rel="next"; results="false"; cursor="0:100:0"'}))
        settings = Settings(url=srv.url, auth_token="t0ken", org="acme")
        context = ToolContext(settings)
        try:
            result = run_tool("sentry_list_error_events_in_project", {"projectSlug": "old"}, context)
        finally:
            context.close()
    assert "has no Discover" in result.summary and "14d window applied here" in result.summary
    assert result.records == [{"id": "a" * 32, "title": "boom", "timestamp": recent,
                               "level": "error", "issue": None, "issue.id": "3", "culprit": None,
                               "message": None, "release": None, "environment": None,
                               "platform": None, "tags": [{"key": "level", "value": "error"}]}]
    assert "full=true" in srv.requests[-1].path  # the frame's tag and context columns
    assert result.to_frame()["tags.level"].tolist() == ["error"]
    paths = [r.path.split("?")[0] for r in srv.requests]
    assert paths == ["/api/0/projects/acme/old/", "/api/0/organizations/acme/events/",
                     "/api/0/projects/acme/old/events/"]


def test_list_error_events_reports_a_bad_query_instead_of_falling_back(local_server: Any) -> None:
    """Discover's 400 about the query is the user's answer, not a reason to list 0 legacy events."""
    context = ToolContext(Settings(), local_server=local_server)
    try:
        with pytest.raises(APIError) as err:
            run_tool("sentry_list_error_events_in_project",
                     {"projectSlug": "notebook", "query": "count():>abc"}, context)
    finally:
        context.close()
    assert err.value.status == 400 and "no Discover" not in str(err.value)


# ------------------------------------------------------------------ releases
def test_create_release_twice_and_list(tctx: ToolContext, seeded: Seeded) -> None:
    version = f"apitools@2.0+build 7 {uuid.uuid4().hex[:4]}"
    first = run_tool("sentry_create_release", {"version": version, "projects": [seeded.slug],
                                               "url": "https://example.com/changelog",
                                               "dateReleased": "1735689600"}, tctx)
    assert "was created" in first.summary and (first.data or {})["alreadyExisted"] is False
    second = run_tool("sentry_create_release", {"version": version, "projects": [seeded.slug]}, tctx)
    assert "already existed" in second.summary and (second.data or {})["alreadyExisted"] is True
    assert "%2B" in second.links["Release"] and "%20" in second.links["Release"]
    listed = run_tool("sentry_list_releases", {"projectSlug": seeded.slug}, tctx)
    versions = [r["version"] for r in listed.records or []]
    assert set(versions) == {version, RELEASE}
    assert run_tool("sentry_list_releases", {"projectSlug": seeded.slug, "query": "build"}, tctx).records[0][
        "version"] == version
    frame = listed.to_frame()
    assert str(frame["dateCreated"].dtype) == frames.DATETIME and str(frame["newGroups"].dtype) == "Int64"
    default = run_tool("sentry_create_release", {"version": f"nb-{uuid.uuid4().hex[:6]}"}, tctx)
    assert "for notebook" in default.summary
    with pytest.raises(ToolInputError, match="may not be"):
        run_tool("sentry_create_release", {"version": "a/b", "projects": [seeded.slug]}, tctx)
    for url in ("javascript:alert(1)", "data:text/html,x", "example.com", "https://", "https://a b.test"):
        with pytest.raises(ToolInputError, match="not a valid http\\(s\\) address") as err:
            run_tool("sentry_create_release", {"version": "xss@1", "projects": [seeded.slug], "url": url}, tctx)
        assert str(err.value).count(". ") == 0 and str(err.value).endswith(".")
    assert "xss@1" not in [r["version"] for r in run_tool("sentry_list_releases", {"projectSlug": seeded.slug},
                                                            tctx).records or []]


# --------------------------------------------------------------------- stats
def test_organization_stats_counts_match(tctx: ToolContext, seeded: Seeded) -> None:
    since = seeded.started.strftime("%Y-%m-%dT%H:%M:%SZ")
    until = str(int(time.time()) + 3600)
    result = run_tool("sentry_get_organization_stats",
                      {"stat": "received", "since": since, "until": until, "project": seeded.slug}, tctx)
    records = result.records or []
    assert sum(r["count"] for r in records) == TOTAL_ERRORS
    assert sum(r["accepted"] for r in records) == TOTAL_ERRORS
    assert f"{TOTAL_ERRORS} errors received in project '{seeded.slug}'" in result.summary
    frame = result.to_frame()
    assert str(frame["time"].dtype) == frames.DATETIME and str(frame["count"].dtype) == "Int64"
    coarse = run_tool("sentry_get_organization_stats",
                      {"stat": "received", "since": since, "until": until, "resolution": "10s",
                       "project": seeded.slug}, tctx)
    assert "no longer keeps 10-second stats" in coarse.summary and "1h buckets" in coarse.summary
    daily = run_tool("sentry_get_organization_stats",
                     {"stat": "received", "since": str(time.time() - 3 * 86400), "resolution": "1d",
                      "project": seeded.slug}, tctx)
    assert sum(r["count"] for r in daily.records or []) == TOTAL_ERRORS and "1d buckets" in daily.summary
    for stat in ("rejected", "blacklisted"):
        other = run_tool("sentry_get_organization_stats", {"stat": stat, "project": seeded.slug}, tctx)
        assert sum(r["count"] for r in other.records or []) == 0
    with pytest.raises(ToolInputError, match="must be before"):
        run_tool("sentry_get_organization_stats", {"stat": "received", "since": until, "until": since}, tctx)
    with pytest.raises(ToolInputError, match="neither an ISO date"):
        run_tool("sentry_get_organization_stats", {"stat": "received", "since": "yesterday"}, tctx)


# -------------------------------------------------------------------- alerts
def test_create_alert_rule_workflow(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_create_alert_rule", {"projectSlug": seeded.slug, "name": "New issues"}, tctx)
    data = result.data or {}
    assert data["api"] == "workflows" and data["conditions"] == [{"type": "first_seen_event",
                                                                  "comparison": True}]
    response = data["response"]
    assert response["detectorIds"] and response["triggers"]["conditions"][0]["type"] == "first_seen_event"
    assert response["actionFilters"][0]["actions"][0]["config"]["targetType"] == "issue_owners"
    assert response["config"]["frequency"] == 30
    client = tctx.api()
    listed = client.get("organizations", "local", "workflows", params={"projectSlug": seeded.slug})
    assert data["id"] in [w["id"] for w in listed]
    legacy = run_tool("sentry_create_alert_rule", {
        "projectSlug": seeded.slug, "name": "Legacy style", "frequency": 60,
        "conditions": [{"id": "sentry.rules.conditions.regression_event.RegressionEventCondition"},
                       {"id": "sentry.rules.conditions.event_frequency.EventFrequencyCondition",
                        "value": 100, "interval": "1h"}],
        "actions": [{"id": "sentry.mail.actions.NotifyEmailAction", "targetType": "Team",
                     "targetIdentifier": 1}]}, tctx).data or {}
    body = legacy["response"]
    assert [c["type"] for c in body["triggers"]["conditions"]] == ["regression_event"]
    assert body["actionFilters"][0]["conditions"][0]["comparison"] == {"value": 100, "interval": "1h"}
    assert body["actionFilters"][0]["actions"][0]["config"]["targetIdentifier"] == "1"
    with pytest.raises(ToolInputError, match="Unknown alert condition"):
        run_tool("sentry_create_alert_rule", {"projectSlug": seeded.slug, "name": "x",
                                              "conditions": [{"id": "sentry.rules.Nope"}]}, tctx)
    with pytest.raises(ToolInputError, match="needs 'targetIdentifier'"):
        run_tool("sentry_create_alert_rule", {"projectSlug": seeded.slug, "name": "x",
                                              "actions": [{"type": "email", "targetType": "team"}]}, tctx)


def test_create_alert_rule_falls_back_to_rules(tmp_path: Path) -> None:
    with LocalServer(tmp_path, workflows=False) as old:
        context = ToolContext(Settings(), local_server=old)
        try:
            result = run_tool("sentry_create_alert_rule", {
                "projectSlug": "notebook", "name": "Old server", "frequency": 45,
                "conditions": ["first_seen_event"], "actions": ["email"]}, context)
            rules = context.api().get("projects", "local", "notebook", "rules")
        finally:
            context.close()
    data = result.data or {}
    assert data["api"] == "rules" and "legacy rules API" in result.summary
    assert data["response"]["conditions"] == [
        {"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"}]
    assert data["response"]["actions"][0] == {"id": "sentry.mail.actions.NotifyEmailAction",
                                              "targetType": "IssueOwners",
                                              "fallthroughType": "ActiveMembers"}
    assert data["response"]["frequency"] == 45 and [r["id"] for r in rules] == [data["id"]]


# ------------------------------------------------------------------- replays
def test_list_replays(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_list_organization_replays", {"project": seeded.slug}, tctx)
    records = result.records or []
    assert [r["id"] for r in records] == [REPLAY_ID] and records[0]["duration"] == 42
    assert records[0]["url"].endswith(f"/explore/replays/{REPLAY_ID}/")
    everything = run_tool("sentry_list_organization_replays", {}, tctx)
    assert REPLAY_ID in [r["id"] for r in everything.records or []]
    frame = result.to_frame()
    assert str(frame["started_at"].dtype) == frames.DATETIME and str(frame["duration"].dtype) == "Int64"
    assert REPLAY_ID in result.to_markdown()


# ---------------------------------------------------------------- structure
def test_results_are_json_safe(tctx: ToolContext, seeded: Seeded) -> None:
    for name, args in (("sentry_list_issues", {"projectSlug": seeded.slug, "limit": 3}),
                       ("sentry_get_issue", {"issueId": _issue(tctx, seeded, "ValueError")["id"]})):
        result = run_tool(name, args, tctx)
        assert isinstance(result, ToolResult)
        payload = result.to_dict()
        json.dumps(payload)
        assert payload["summary"] == result.summary


def test_empty_frames_keep_columns() -> None:
    for name, schema in frames.FRAMES.items():
        frame = frames.to_frame([], name)
        assert list(frame.columns) == list(schema.names)
        assert [str(t) for t in frame.dtypes] == [d for _, d in schema.fixed], name
    assert list(itertools.islice(frames.flatten({"a": {"b": {"c": {"d": 1}}}}), 1)) == ["a.b.c"]
