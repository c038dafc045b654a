"""The local backend's HTML pages: every link a tool returns must open a real page.

Events are sent by sentry-sdk into a project of their own, then each of the 15
API tools runs through ``run_tool`` and every link into the local server that
its result carries is fetched over loopback; the page must be HTML that shows
the issue, event, release... the tool was talking about. Event text is
untrusted, so a message holding a ``<script>`` tag must come back escaped.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk

from sentry_ipy.config import Settings
from sentry_ipy.local import LocalServer
from sentry_ipy.tools import ToolContext, ToolResult, run_tool
from tests._sdk import capture_replay, sending_to
from tests.test_api_tools import API_TOOLS

SCRIPT = "<script>alert(1)</script>"
REPLAY_ID = uuid.uuid4().hex
RELEASE = "webui@1.0"


@dataclass
class Site:
    """What the fixture sent and created, to look for on the pages."""

    slug: str
    project_id: str
    dsn: str
    created: ToolResult
    setup: ToolResult
    event_ids: list[str]


def _explode_for_the_web_ui(n: int) -> None:
    raise KeyError(f"missing column {n}")


def _send(dsn: str) -> list[str]:
    event_ids = []
    with sending_to(dsn, release=RELEASE, environment="web") as scope:
        scope.set_user({"id": "user-7", "email": "seven@example.com"})
        scope.set_context("notebook", {"cell": 12, "kernel": "python3"})
        sentry_sdk.add_breadcrumb(category="cell", message="ran cell 12")
        for n in range(2):
            try:
                _explode_for_the_web_ui(n)
            except KeyError as exc:
                event_ids.append(str(sentry_sdk.capture_exception(exc)))
        sentry_sdk.capture_message(f"user input was {SCRIPT}", level="warning")
        capture_replay(scope, REPLAY_ID, environment="web", urls=["http://app.test/<b>"], duration=9)
    return event_ids


@pytest.fixture(scope="module")
def site(tctx: ToolContext, local_server: LocalServer) -> Site:
    slug = f"web-{uuid.uuid4().hex[:6]}"
    created = run_tool("sentry_create_project", {"name": "Web UI", "slug": slug, "team": "local",
                                                 "platform": "python"}, tctx)
    setup = run_tool("sentry_setup_project", {"projectSlug": slug, "platform": "python"}, tctx)
    assert created.data is not None and setup.data is not None
    event_ids = _send(setup.data["dsn"])
    project = local_server.store.project(1, slug)
    deadline = time.time() + 10
    while time.time() < deadline and not (len(local_server.store.events(project_id=project["id"])) >= 3
                                          and local_server.store.replays(project["id"])):
        time.sleep(0.05)
    return Site(slug=slug, project_id=str(created.data["id"]), dsn=setup.data["dsn"], created=created,
                setup=setup, event_ids=event_ids)


@pytest.fixture(scope="module")
def web(local_server: LocalServer) -> Iterator[httpx.Client]:
    """A browser-like client: no token."""
    with httpx.Client(base_url=local_server.url) as client:
        yield client


def _issue(tctx: ToolContext, site: Site, query: str) -> dict[str, Any]:
    result = run_tool("sentry_list_issues", {"projectSlug": site.slug, "query": query}, tctx)
    assert result.records is not None and len(result.records) == 1, result.summary
    return result.records[0]


def _local_links(result: ToolResult, base: str) -> list[str]:
    links = [u for u in result.links.values() if u.startswith(base)]
    links += [r["url"] for r in result.records or [] if str(r.get("url", "")).startswith(base)]
    assert links, f"no link into the local server in {result.links}"
    return links


def _page(web: httpx.Client, address: str, *needles: str) -> str:
    response = web.get(address)
    assert response.status_code == 200, (address, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    for needle in needles:
        assert html.escape(needle) in response.text, (address, needle)
    return response.text


def test_every_tool_link_opens_a_page(tctx: ToolContext, site: Site, local_server: LocalServer,
                                      web: httpx.Client) -> None:
    raised = _issue(tctx, site, "KeyError")
    message = _issue(tctx, site, "user input")
    short, title = raised["shortId"], raised["title"]
    version = f"webui@2.0+build 7 {uuid.uuid4().hex[:4]}"
    until = str(int(time.time()) + 3600)
    calls: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
        ("sentry_list_projects", {}, (site.slug,)),
        ("sentry_list_issues", {"projectSlug": site.slug}, (short, title, message["shortId"])),
        ("sentry_get_issue", {"issueId": short}, (short, title, "_explode_for_the_web_ui")),
        ("sentry_resolve_short_id", {"shortId": short}, (short, title)),
        ("sentry_list_issue_events", {"issueId": raised["id"]}, (short, site.event_ids[0][:12])),
        ("sentry_search_errors_in_file", {"projectSlug": site.slug, "filename": "test_local_web.py"},
         (short,)),
        ("sentry_get_event", {"projectSlug": site.slug, "eventId": site.event_ids[0]},
         (site.event_ids[0], short, "ran cell 12")),
        ("sentry_list_error_events_in_project", {"projectSlug": site.slug}, (short,)),
        ("sentry_create_release", {"version": version, "projects": [site.slug]}, (version,)),
        ("sentry_list_releases", {"projectSlug": site.slug}, (version, RELEASE)),
        ("sentry_get_organization_stats", {"stat": "received", "since": str(time.time() - 3600),
                                           "until": until, "project": site.slug}, ("accepted", "error")),
        ("sentry_create_alert_rule", {"projectSlug": site.slug, "name": "Web <new> issues"},
         ("Web <new> issues",)),
        ("sentry_list_organization_replays", {"project": site.slug}, (REPLAY_ID[:12],)),
    ]
    results = [(name, run_tool(name, args, tctx), needles) for name, args, needles in calls]
    results += [("sentry_create_project", site.created, (site.slug,)),
                ("sentry_setup_project", site.setup, (site.dsn,))]
    assert sorted(name for name, _, _ in results) == sorted(API_TOOLS)
    for name, result, needles in results:
        for address in _local_links(result, local_server.url):
            _page(web, address, *needles)
    _page(web, f"{local_server.url}/organizations/local/explore/replays/{REPLAY_ID}/", REPLAY_ID,
          "http://app.test/<b>")


def test_issue_page_shows_stack_breadcrumbs_user_contexts(tctx: ToolContext, site: Site,
                                                          web: httpx.Client) -> None:
    raised = _issue(tctx, site, "KeyError")
    text = _page(web, f"/organizations/local/issues/{raised['id']}/", raised["title"],
                 "raise KeyError(f\"missing column {n}\")", "_explode_for_the_web_ui", "ran cell 12",
                 "seven@example.com", "kernel", RELEASE, "Events")
    assert text.count('class="frame app"') >= 1
    events = _page(web, f"/organizations/local/issues/{raised['id']}/events/", *(e[:12] for e in site.event_ids))
    assert events.count("/events/") >= 2
    newest = _page(web, f"/organizations/local/issues/{raised['id']}/events/{site.event_ids[1]}/",
                   site.event_ids[1], "Older event")
    assert f"/events/{site.event_ids[0]}/" in newest


def test_untrusted_text_is_escaped(tctx: ToolContext, site: Site, web: httpx.Client) -> None:
    issue = _issue(tctx, site, "user input")
    for address in (f"/organizations/local/issues/{issue['id']}/", f"/organizations/local/issues/{issue['id']}/events/",
                    f"/organizations/local/issues/?project={site.project_id}&query=user+input"):
        text = web.get(address).text
        assert SCRIPT not in text and html.escape(SCRIPT) in text, address
    text = web.get("/organizations/local/issues/", params={"query": '"><script>x</script>'}).text
    assert "<script>x" not in text and "&lt;script&gt;x" in text


def test_issue_filters(tctx: ToolContext, site: Site, local_server: LocalServer, web: httpx.Client) -> None:
    raised, message = _issue(tctx, site, "KeyError"), _issue(tctx, site, "user input")
    base = f"/organizations/local/issues/?project={site.project_id}"
    only = web.get(base + "&query=KeyError").text
    assert raised["shortId"] in only and message["shortId"] not in only
    api = httpx.put(f"{local_server.url}/api/0/organizations/local/issues/{message['id']}/",
                    json={"status": "resolved"}, headers={"Authorization": f"Bearer {local_server.token}"})
    assert api.status_code == 200
    default = web.get(base).text
    assert raised["shortId"] in default and message["shortId"] not in default
    resolved = web.get(base + "&status=resolved").text
    assert message["shortId"] in resolved and raised["shortId"] not in resolved
    every = web.get(base + "&status=all").text
    assert message["shortId"] in every and raised["shortId"] in every
    assert web.get(f"/organizations/local/issues/?project={site.slug}&query=KeyError").status_code == 200


def test_navigation_errors_and_auth(site: Site, local_server: LocalServer, web: httpx.Client) -> None:
    home = web.get("/")
    assert home.status_code == 302 and home.headers["location"] == "/organizations/local/issues/"
    assert web.get("/organizations/local/").headers["location"] == "/organizations/local/issues/"
    for address in ("/organizations/nope/issues/", "/organizations/nope/issues/1/", "/organizations/nope/stats/"):
        response = web.get(address)
        assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")
        assert "nope" in response.text and "local" in response.text
    for address in ("/organizations/local/issues/999999/", "/organizations/local/releases/no-such/",
                    "/organizations/local/explore/replays/0000/", "/no/such/page/",
                    "/organizations/local/settings/projects/nope/keys/",
                    "/organizations/local/issues/automations/424242/"):
        response = web.get(address)
        assert response.status_code == 404 and "<html" in response.text, address
    assert web.get("/organizations/local/issues/?project=no-such-project").status_code == 403
    assert web.get("/api/0/organizations/").status_code == 401
    assert web.get("/api/0/no/such/").json() == {"detail": "Authentication credentials were not provided."}
    for page in ("projects/", "releases/", "stats/", "alerts/", "alerts/rules/", "issues/automations/",
                 "explore/replays/", f"settings/projects/{site.slug}/"):
        needles = (site.slug,) if page.startswith(("projects", "settings")) else ()
        _page(web, f"/organizations/local/{page}", *needles)


def test_legacy_alert_rule_link(tmp_path: Path) -> None:
    with LocalServer(tmp_path, workflows=False) as old:
        context = ToolContext(Settings(), local_server=old)
        try:
            result = run_tool("sentry_create_alert_rule", {"projectSlug": "notebook", "name": "Old <style>"},
                              context)
        finally:
            context.close()
        assert (result.data or {})["api"] == "rules"
        with httpx.Client() as web:
            for address in _local_links(result, old.url):
                assert "/alerts/rules/notebook/" in address
                _page(web, address, "Old <style>")
            _page(web, f"{old.url}/organizations/local/alerts/rules/", "Old <style>", "notebook")


def test_issue_without_events_still_shows(tmp_path: Path) -> None:
    with LocalServer(tmp_path) as srv:
        key = srv.store.keys(1)[0]["public_key"]
        sent = httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json={"message": "short-lived"})
        assert sent.status_code == 200
        srv.store.execute("DELETE FROM events")
        with httpx.Client(base_url=srv.url) as web:
            _page(web, "/organizations/local/issues/1/", "short-lived", "No events stored.")


def test_issue_search_by_stack_filename_keeps_only_that_files_issues(local_server: Any) -> None:
    """The link search_errors_in_file returns must list only issues with that file in a frame."""
    import httpx

    from sentry_ipy.config import Settings
    from sentry_ipy.tools import ToolContext, run_tool

    ctx = ToolContext(Settings(), local_server=local_server)
    try:
        tel = ctx.telemetry()
        try:
            raise LookupError("only-in-this-test-file")
        except LookupError as exc:
            tel.capture_exception(exc)
        run_tool("sentry_capture_message", {"message": "no stack at all 4471"}, ctx)
        hits = httpx.get(f"{local_server.url}/api/0/organizations/local/issues/",
                         params={"query": 'stack.filename:"*test_local_web.py"', "project": 1},
                         headers={"Authorization": f"Bearer {local_server.token}"}).json()
    finally:
        ctx.telemetry().close()
        ctx.close()
    titles = [i["title"] for i in hits]
    assert any("only-in-this-test-file" in t for t in titles)
    assert not any("no stack at all" in t for t in titles)


def test_only_http_addresses_become_links(tmp_path: Path) -> None:
    """Release, replay and request URLs are untrusted: only http(s) ones get an href."""
    from sentry_ipy.local.web._markup import external, link, safe_href

    hostile = ["javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)",
               "data:text/html,<script>x</script>", "vbscript:x", "//evil.test/", "https://"]
    for address in hostile:
        assert safe_href(address) is None and "href" not in external(address) and "href" not in link(address, "t")
    assert 'href="https://ok.test/a?b=1"' in external("https://ok.test/a?b=1")
    assert safe_href("/organizations/local/issues/") == "/organizations/local/issues/"
    with LocalServer(tmp_path) as srv:
        srv.store.ensure_release(1, "old@1", [1], url="javascript:alert(document.domain)")  # stored by an old version
        srv.store.ensure_release(1, "good@1", [1], url="https://example.com/changelog")
        key = srv.store.keys(1)[0]["public_key"]
        event = {"message": "req", "request": {"url": "javascript:alert(2)", "method": "GET"}}
        event_id = httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json=event).json()["id"]
        now = time.time()
        replay = {"type": "replay_event", "replay_id": "e" * 32, "segment_id": 0, "timestamp": now,
                  "replay_start_timestamp": now - 5, "urls": ["javascript:alert(3)", "https://app.test/x"]}
        httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}",
                   content=b'{}\n{"type":"replay_event"}\n' + json.dumps(replay).encode())
        with httpx.Client(base_url=srv.url) as web:
            pages = [web.get(p).text for p in ("/organizations/local/releases/old%401/",
                                               f"/organizations/local/issues/1/events/{event_id}/",
                                               "/organizations/local/explore/replays/" + "e" * 32 + "/")]
            good = web.get("/organizations/local/releases/good%401/").text
    for text in pages:
        hrefs = re.findall(r'href="([^"]*)"', text)
        assert hrefs and all(h.startswith("/") or h.startswith("https://") for h in hrefs), hrefs
        assert "javascript:alert(" in text  # still shown, as text
    assert 'href="https://example.com/changelog"' in good
    assert 'href="https://app.test/x"' in pages[2]


def test_release_pages_show_release_health(tmp_path: Path) -> None:
    with LocalServer(tmp_path) as srv:
        key = srv.store.keys(1)[0]["public_key"]
        for sid, status, errors in (("a", "exited", 0), ("b", "crashed", 1), ("c", "exited", 3), ("d", "exited", 0)):
            session = {"sid": sid * 32, "status": status, "errors": errors, "init": True, "started": time.time() - 9,
                       "attrs": {"release": "health@1"}}
            httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}",
                       content=b'{}\n{"type":"session"}\n' + json.dumps(session).encode())
        srv.store.ensure_release(1, "quiet@1", [1])
        with httpx.Client(base_url=srv.url) as web:
            listing = web.get("/organizations/local/releases/").text
            detail = web.get("/organizations/local/releases/health%401/").text
            quiet = web.get("/organizations/local/releases/quiet%401/").text
    rows = {m[0]: m[1] for m in re.findall(r'releases/([^/"]+)/">[^<]*</a></td>(.*?)</tr>', listing)}
    assert re.findall(r"<td>([^<]*)</td>", rows["health%401"])[2:5] == ["4", "1", "75 %"]
    assert re.findall(r"<td>([^<]*)</td>", rows["quiet%401"])[2:5] == ["0", "0", "—"]
    facts = dict(re.findall(r"<dt>([^<]*)</dt><dd>([^<]*)</dd>", detail))
    assert {k: facts[k] for k in ("Sessions", "Crash-free sessions", "Healthy", "Errored", "Crashed", "Abnormal")} == {
        "Sessions": "4", "Crash-free sessions": "75 %", "Healthy": "2", "Errored": "1", "Crashed": "1",
        "Abnormal": "0"}
    assert "No sessions for this release" in quiet


def test_tables_break_only_long_words() -> None:
    """Headers and short cells wrap between words; only identifier-like cells may break inside one."""
    from sentry_ipy.local.web._markup import _CSS, Html, table

    assert "word-break:break-word" not in _CSS and "td.long{overflow-wrap:anywhere" in _CSS
    markup = table(("Level", "Events"), [("unresolved", Html('<a href="/x">NOTEBOOK-1</a>')),
                                         ("x" * 40, Html("<b>KeyError: " + "y" * 30 + "</b>"))])
    assert markup.count('class="long"') == 2 and "<td>unresolved</td>" in markup
