"""Web API tests of the local backend over real HTTP: auth, paging, errors, writes."""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from sentry_ipy.local import LocalServer


def _send(srv: LocalServer, payload: dict) -> str:
    key = srv.store.keys(1)[0]["public_key"]
    r = httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json=payload)
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _links(response: httpx.Response) -> list[tuple[str, str, str]]:
    return re.findall(r'<([^>]+)>; rel="(\w+)"; results="(\w+)"; cursor="[^"]+"', response.headers["Link"])


def test_auth_headers_and_errors(srv: LocalServer, api: httpx.Client) -> None:
    r = httpx.get(f"{srv.url}/api/0/organizations/")
    assert r.status_code == 401 and "detail" in r.json()
    r = httpx.get(f"{srv.url}/api/0/organizations/", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json() == {"detail": "Invalid token"}
    r = api.get("organizations/")
    for name in ("Limit", "Remaining", "Reset", "ConcurrentLimit", "ConcurrentRemaining"):
        assert f"X-Sentry-Rate-Limit-{name}" in r.headers
    assert r.json()[0]["links"]["regionUrl"] == srv.url
    assert api.get("no/such/route/").json() == {"detail": "The requested resource does not exist"}
    assert api.get("organizations/nope/").status_code == 404
    assert api.get("projects/local/nope/").status_code == 404
    assert api.get("organizations/local/issues/999/").status_code == 404
    assert api.delete("organizations/").status_code == 405
    r = api.post("teams/local/local/projects/", content=b"{bad", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "detail" in r.json()


def test_projects_keys_and_create(srv: LocalServer, api: httpx.Client) -> None:
    assert api.get("projects/local/1/").json()["slug"] == "notebook"
    assert api.get("projects/1/notebook/").json()["id"] == "1"
    r = api.post("teams/local/local/projects/", json={"name": "My App", "platform": "python"})
    assert r.status_code == 201 and r.json()["slug"] == "my-app"
    r = api.post("teams/local/local/projects/", json={"name": "again", "slug": "my-app"})
    assert r.status_code == 409 and r.json() == {"detail": "A project with this slug already exists."}
    assert api.post("teams/local/nope/projects/", json={"name": "x"}).status_code == 404
    r = api.post("teams/local/local/projects/", json={"slug": "Bad Slug"})
    assert r.status_code == 400 and set(r.json()) == {"name", "slug"}
    assert [p["slug"] for p in api.get("organizations/local/projects/", params={"query": "app"}).json()] == ["my-app"]
    keys = api.get("projects/local/my-app/keys/", params={"status": "active"}).json()
    assert keys[0]["name"] == "Default" and keys[0]["projectId"] == 2
    assert keys[0]["dsn"]["public"] == srv.dsn("my-app")
    new = api.post("projects/local/my-app/keys/", json={"name": "CI"})
    assert new.status_code == 201 and new.json()["isActive"] is True


def test_issue_pagination_and_filters(srv: LocalServer, api: httpx.Client) -> None:
    for n in range(7):
        _send(srv, {"message": f"distinct{chr(97 + n)} problem", "fingerprint": [f"g{n}"], "level": "warning" if n % 2 else "error"})
    seen: list[str] = []
    url: str | None = "organizations/local/issues/?limit=3&query="
    pages = 0
    while url:
        r = api.get(url)
        seen += [i["shortId"] for i in r.json()]
        nxt = [u for u, rel, more in _links(r) if rel == "next" and more == "true"]
        url = nxt[0] if nxt else None
        pages += 1
    assert pages == 3 and len(set(seen)) == 7
    first = api.get("organizations/local/issues/", params={"limit": 3})
    (prev, _, prev_more), (_, _, next_more) = _links(first)
    assert prev_more == "false" and next_more == "true" and "cursor=0:0:1" in prev
    assert len(api.get("organizations/local/issues/", params={"query": "level:warning"}).json()) == 3
    assert len(api.get("organizations/local/issues/", params={"query": "DISTINCTC"}).json()) == 1
    issue = api.get("organizations/local/issues/", params={"sort": "new", "limit": 1}).json()[0]
    assert issue["shortId"] == "NOTEBOOK-7"
    api.put(f"organizations/local/issues/{issue['shortId']}/", json={"status": "ignored"})
    assert len(api.get("organizations/local/issues/").json()) == 6
    assert len(api.get("organizations/local/issues/", params={"query": "is:ignored"}).json()) == 1
    assert api.put("organizations/local/issues/1/", json={"status": "bogus"}).status_code == 400


def test_events_lookups_and_discover(srv: LocalServer, api: httpx.Client) -> None:
    frames = [{"filename": "lib/util.py", "abs_path": "/src/lib/util.py", "function": "helper", "module": "lib.util",
               "lineno": 10, "context_line": "    boom()", "pre_context": ["def helper():"], "post_context": [], "in_app": True}]
    exc = {"values": [{"type": "KeyError", "value": "'k'", "stacktrace": {"frames": frames}}]}
    ids = [_send(srv, {"exception": exc, "release": "1.2", "environment": "prod", "user": {"email": f"u{n}@x"}}) for n in range(3)]
    _send(srv, {"message": "plain message", "environment": "dev"})
    issue = api.get("organizations/local/issues/", params={"query": "KeyError"}).json()[0]
    assert issue["count"] == "3" and issue["userCount"] == 3
    events = api.get(f"organizations/local/issues/{issue['id']}/events/", params={"per_page": 2})
    assert [e["eventID"] for e in events.json()] == ids[::-1][:2]
    full = api.get(f"organizations/local/issues/{issue['id']}/events/", params={"full": "true"}).json()[0]
    assert full["entries"][0]["type"] == "exception"
    oldest = api.get(f"organizations/local/issues/{issue['id']}/events/oldest/").json()
    assert oldest["eventID"] == ids[0] and oldest["nextEventID"] == ids[1] and oldest["previousEventID"] is None
    frame = oldest["entries"][0]["data"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["absPath"] == "/src/lib/util.py" and frame["lineNo"] == 10 and frame["inApp"] is True
    assert frame["context"] == [[9, "def helper():"], [10, "    boom()"]]
    sid = api.get(f"organizations/local/shortids/{issue['shortId'].lower()}/").json()
    assert sid["groupId"] == issue["id"] and sid["projectSlug"] == "notebook"
    eid = api.get(f"organizations/local/eventids/{ids[1]}/").json()
    assert eid["event"]["eventID"] == ids[1] and eid["groupId"] == issue["id"]
    assert api.get(f"projects/local/notebook/events/{ids[2]}/").json()["release"]["version"] == "1.2"
    legacy = api.get("projects/local/notebook/events/", params={"query": "PLAIN"}).json()
    assert [e["title"] for e in legacy] == ["plain message"]

    r = api.get("organizations/local/events/", params={
        "dataset": "errors", "field": ["issue", "title", "project", "last_seen()", "count()"],
        "query": 'stack.filename:"*util.py" project:notebook', "sort": "-last_seen", "statsPeriod": "24h"})
    assert r.status_code == 200, r.text
    assert r.json()["data"] == [{"issue": issue["shortId"], "title": issue["title"], "project": "notebook",
                                 "last_seen()": r.json()["data"][0]["last_seen()"], "count()": 3}]
    assert r.json()["meta"]["fields"]["count()"] == "integer"
    r = api.get("organizations/local/events/", params={"dataset": "errors", "field": ["id", "environment"], "query": "environment:dev"})
    assert [d["environment"] for d in r.json()["data"]] == ["dev"]
    assert api.get("organizations/local/events/", params={"dataset": "errors"}).status_code == 400
    assert api.get("organizations/local/events/", params={"dataset": "metrics", "field": "id"}).status_code == 400


def test_releases(srv: LocalServer, api: httpx.Client) -> None:
    r = api.post("organizations/local/releases/", json={"version": "app@2.0", "projects": ["notebook"], "ref": "abc"})
    assert r.status_code == 201 and isinstance(r.json()["id"], int)
    r = api.post("organizations/local/releases/", json={"version": "app@2.0", "projects": ["notebook"]})
    assert r.status_code == 208
    for bad in ["", ".", "..", "a/b", "a\nb", "a\tb", " a", "a "]:
        assert api.post("organizations/local/releases/", json={"version": bad, "projects": ["notebook"]}).status_code == 400
    assert [x["version"] for x in api.get("organizations/local/releases/", params={"query": "APP@"}).json()] == ["app@2.0"]
    assert api.get("projects/local/notebook/releases/").json()[0]["shortVersion"] == "2.0"
    assert api.get("organizations/local/releases/app%402.0/").json()["ref"] == "abc"


def test_stats_v2(srv: LocalServer, api: httpx.Client) -> None:
    _send(srv, {"message": "counted"})
    params = {"field": "sum(quantity)", "groupBy": ["outcome", "category"], "statsPeriod": "2d", "interval": "1d"}
    body = api.get("organizations/local/stats_v2/", params=params).json()
    assert body["groups"][0]["by"] == {"outcome": "accepted", "category": "error"}
    assert body["groups"][0]["totals"]["sum(quantity)"] == 1 and len(body["intervals"]) == len(body["groups"][0]["series"]["sum(quantity)"])
    assert api.get("organizations/local/stats_v2/", params={**params, "interval": "10s"}).status_code == 400
    assert api.get("organizations/local/stats_v2/", params={"field": "sum(quantity)"}).status_code == 400
    by_project = api.get("organizations/local/stats_v2/", params={**params, "groupBy": ["project"]}).json()
    assert "series" not in by_project["groups"][0]


def test_stats_v2_empty_stats_period_is_a_400(srv: LocalServer, api: httpx.Client) -> None:
    """``statsPeriod=`` (empty) opens the window at both ends; stats need one, so 400 as Sentry says, not 500."""
    params = {"field": "sum(quantity)", "groupBy": ["outcome"], "interval": "1d", "statsPeriod": ""}
    r = api.get("organizations/local/stats_v2/", params=params)
    assert r.status_code == 400, r.text
    assert "statsPeriod" in r.json()["detail"]


def test_alerts_workflows_and_rules(srv: LocalServer, api: httpx.Client) -> None:
    det = api.get("organizations/local/detectors/", params={"project": "1", "query": "type:issue_stream"}).json()
    assert det[0]["type"] == "issue_stream"
    body = {"name": "New issues", "enabled": True, "config": {"frequency": 30},
            "triggers": {"logicType": "any-short", "conditions": [{"type": "first_seen_event", "comparison": True, "conditionResult": True}]},
            "actionFilters": [{"logicType": "any", "conditions": [], "actions": [{"type": "email", "config": {"targetType": "issue_owners"}}]}],
            "detectorIds": [int(det[0]["id"])]}
    r = api.post("organizations/local/workflows/", json=body)
    assert r.status_code == 201 and r.json()["detectorIds"] == [det[0]["id"]]
    assert api.post("organizations/local/workflows/", json={"enabled": True}).status_code == 400
    assert [w["name"] for w in api.get("organizations/local/workflows/").json()] == ["New issues"]
    rule = {"name": "r", "frequency": 30, "actionMatch": "any",
            "conditions": [{"id": "sentry.rules.conditions.first_seen_event.FirstSeenEventCondition"}],
            "actions": [{"id": "sentry.mail.actions.NotifyEmailAction", "targetType": "IssueOwners"}]}
    r = api.post("projects/local/notebook/rules/", json=rule)
    assert r.status_code == 201 and r.json()["frequency"] == 30
    assert api.post("projects/local/notebook/rules/", json={**rule, "frequency": 1}).status_code == 400
    assert len(api.get("projects/local/notebook/rules/").json()) == 1


def test_workflows_disabled(tmp_path: Path) -> None:
    with LocalServer(tmp_path, workflows=False) as old:
        headers = {"Authorization": f"Bearer {old.token}"}
        assert httpx.get(f"{old.url}/api/0/organizations/local/workflows/", headers=headers).status_code == 404
        assert httpx.get(f"{old.url}/api/0/organizations/local/detectors/", headers=headers).status_code == 404
        assert httpx.get(f"{old.url}/api/0/projects/local/notebook/rules/", headers=headers).status_code == 200


def test_package_import_is_light() -> None:
    import subprocess
    import sys

    code = "import sys, sentry_ipy.local; print('starlette' in sys.modules or 'uvicorn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_release_url_must_be_http(srv: LocalServer, api: httpx.Client) -> None:
    """Sentry's URLField: a javascript:/data: URL is a 400, never stored (the web UI links it)."""
    for bad in ["javascript:alert(1)", "JavaScript:alert(1)", " https://x.test/", "data:text/html,<b>",
                "https://", "example.com/changelog", "ftp:/x", "https://a b.test/", "java\tscript:x", 5]:
        r = api.post("organizations/local/releases/", json={"version": "u@1", "projects": ["notebook"], "url": bad})
        assert r.status_code == 400 and r.json() == {"url": ["Enter a valid URL."]}, bad
    assert api.get("organizations/local/releases/").json() == []
    for n, good in enumerate(["https://example.com/changelog?v=1#top", "HTTP://x.test", ""]):
        r = api.post("organizations/local/releases/", json={"version": f"u@{n}", "projects": ["notebook"], "url": good})
        assert r.status_code == 201 and r.json()["url"] == (good or None), good


def test_release_versions_are_decoded_once(srv: LocalServer, api: httpx.Client) -> None:
    """Starlette decodes path parameters already; ``rel%2541`` is the version ``rel%41``, not ``relA``."""
    versions = ["relA", "rel%41", "50%", "rel%2F", "1.0+build.7", "a b", "app@1.0", "x#y", "q?x=1", "ünï@😀", "%%"]
    for version in versions:
        assert api.post("organizations/local/releases/", json={"version": version, "projects": ["notebook"]}
                        ).status_code == 201, version
    with httpx.Client(base_url=srv.url) as web:
        for version in versions:
            segment = quote(version, safe="")
            r = api.get(f"organizations/local/releases/{segment}/")
            assert r.status_code == 200 and r.json()["version"] == version, (version, r.text)
            page = web.get(f"/organizations/local/releases/{segment}/")
            assert page.status_code == 200 and f"<dd>{html.escape(version)}</dd>" in page.text, version
            assert f'href="/organizations/local/releases/{html.escape(segment)}/"' in web.get(
                "/organizations/local/releases/").text
    assert api.get("organizations/local/releases/rel%252541/").status_code == 404


def _session(srv: LocalServer, sid: str, status: str, errors: int = 0, release: str = "h@1",
             started: float | None = None, **attrs: str) -> None:
    key = srv.store.keys(1)[0]["public_key"]
    payload = {"sid": sid, "did": f"user-{sid[:2]}", "status": status, "errors": errors, "init": status == "ok",
               "started": started or time.time() - 30, "attrs": {"release": release, **attrs}}
    body = b'{}\n{"type":"session"}\n' + json.dumps(payload).encode() + b"\n"
    assert httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}", content=body).status_code == 200


def test_org_sessions_counts_each_sessions_final_update(srv: LocalServer, api: httpx.Client) -> None:
    _session(srv, "a" * 32, "ok")
    _session(srv, "a" * 32, "exited")                 # healthy: its final update
    _session(srv, "b" * 32, "ok")
    _session(srv, "b" * 32, "crashed", errors=1)      # crashed
    _session(srv, "c" * 32, "exited", errors=2)       # errored
    _session(srv, "d" * 32, "abnormal")               # abnormal
    _session(srv, "e" * 32, "ok", release="h@2", environment="prod")  # still running: healthy
    key = srv.store.keys(1)[0]["public_key"]
    agg = {"aggregates": [{"started": time.time() - 60, "exited": 2, "crashed": 1}], "attrs": {"release": "h@2"}}
    body = b'{}\n{"type":"sessions"}\n' + json.dumps(agg).encode() + b"\n"
    assert httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}", content=body).status_code == 200
    params = {"field": "sum(session)", "groupBy": "session.status", "statsPeriod": "1d", "interval": "1h"}
    body = api.get("organizations/local/sessions/", params={**params, "project": "1"}).json()
    totals = {g["by"]["session.status"]: g["totals"]["sum(session)"] for g in body["groups"]}
    assert totals == {"healthy": 4, "crashed": 2, "errored": 1, "abnormal": 1}
    assert body["query"] == "" and len(body["intervals"]) == 25
    assert all(len(g["series"]["sum(session)"]) == 25 and sum(g["series"]["sum(session)"]) == g["totals"]["sum(session)"]
               for g in body["groups"])
    by_release = api.get("organizations/local/sessions/", params={**params, "groupBy": ["release", "session.status"],
                                                                  "query": "release:h@1"}).json()
    assert {g["by"]["release"] for g in by_release["groups"]} == {"h@1"}
    assert sum(g["totals"]["sum(session)"] for g in by_release["groups"]) == 4
    users = api.get("organizations/local/sessions/", params={**params, "field": "count_unique(user)",
                                                             "groupBy": [], "environment": "prod"}).json()
    assert [g["totals"] for g in users["groups"]] == [{"count_unique(user)": 1}]
    assert api.get("organizations/local/sessions/", params={**params, "field": "sum(quantity)"}).status_code == 400
    assert api.get("organizations/local/sessions/", params={**params, "interval": "10s"}).status_code == 400
    assert api.get("organizations/local/sessions/", params={**params, "query": "user:x"}).status_code == 400
    old = api.get("organizations/local/sessions/", params={**params, "start": "2020-01-01T00:00:00",
                                                          "end": "2020-01-02T00:00:00", "statsPeriod": None})
    assert {g["totals"]["sum(session)"] for g in old.json()["groups"]} == {0}
