"""Issue and event lists of the local backend: SQL search with Python's meaning, keyset cursors.

The issue search runs in SQL; each query here is checked against the Python
matcher it replaced (:class:`IssueCandidate`, still the reference for what a
term means) over every stored issue. Paging is checked by walking the
``Link`` cursors both ways through pages full of equal sort keys.
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentry_ipy.local import LocalServer
from sentry_ipy.local.ingest._pipeline import save_events
from sentry_ipy.local.search._issue_search import IssueCandidate
from sentry_ipy.local.search._query import parse_query
from sentry_ipy.local.store._tables import SCHEMA_VERSION


def _word(i: int) -> str:
    """Distinct letters per number (grouping folds digits, so digits would merge issues)."""
    return "".join(chr(ord("a") + int(d)) for d in str(i))


def _seed(srv: LocalServer, issues: int, per_issue: int = 2) -> None:
    now = time.time()
    frames = [{"filename": "lib/util.py", "function": "helper", "module": "lib.util", "lineno": 3, "in_app": True}]
    payloads: list[dict[str, Any]] = []
    for n in range(issues * per_issue):
        i = n % issues
        payload: dict[str, Any] = {
            "message": f"seeded Problem {_word(i)}", "level": "error" if i % 3 else "warning",
            "timestamp": now - 60 * n, "environment": "prod" if i % 2 else "Staging",
            "tags": {"shard": f"s{i % 4}", "Cell": str(n % 3)}, "user": {"id": str(n % 5)},
        }
        if i % 5 == 0:
            payload["release"] = f"1.{i % 2}"
        if i % 7 == 0:
            del payload["message"]
            payload["fingerprint"] = [f"exc-{i}"]
            payload["exception"] = {"values": [{"type": "KeyError", "value": f"'{_word(i)}'",
                                                "stacktrace": {"frames": frames}}]}
        payloads.append(payload)
    project = srv.store.project_by_id(1)
    assert project is not None
    save_events(srv.store, project, payloads, batch=7)


def _all(api: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    url: str | None = "organizations/local/issues/"
    query: dict[str, Any] | None = params
    while url:
        assert len(rows) < 10_000, "the next cursor does not advance"
        r = api.get(url, params=query)
        assert r.status_code == 200, r.text
        rows += r.json()
        nxt = [u for u, rel, more in _links(r) if rel == "next" and more == "true"]
        url, query = (nxt[0], None) if nxt else (None, None)
    return rows


def _links(response: httpx.Response) -> list[tuple[str, str, str]]:
    return re.findall(r'<([^>]+)>; rel="(\w+)"; results="(\w+)"; cursor="[^"]+"', response.headers["Link"])


def _reference(srv: LocalServer, query: str) -> set[str]:
    """The issue IDs the Python matcher accepts (no window: every seeded issue is recent)."""
    projects = {p["id"]: p for p in srv.store.projects(1)}
    rows = srv.store.query("SELECT * FROM issues")
    terms = parse_query(query)
    return {str(r["id"]) for r in rows if IssueCandidate(srv.store, r, projects[r["project_id"]]).matches(terms)}


QUERIES = [
    "", "is:unresolved", "shard:s1", "!shard:s1", "shard:S*", "shard:[s1, s2]", "cell:2", "release:1.0",
    "release:none", "!release:1.1", "environment:staging", "environment:prod shard:s3", "has:release",
    "!has:release", "has:shard", "level:warning", "!level:error", "times_seen:>1", "times_seen:2",
    "firstSeen:-1h", "lastSeen:+1d", "seeded problem b", "PROBLEM", "notebook-1", "error.type:KeyError",
    "type:default", "message:*problem*", "title:ab", "user.id:3", "stack.function:helper",
    "!stack.module:lib.util", "event.timestamp:-30m", "issue:NOTEBOOK-2", "project:notebook", "assigned:me",
    "error.unhandled:false", "is:for_review", "is:ongoing", "shard:none",
]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with LocalServer(tmp_path_factory.mktemp("lists")) as srv:
        _seed(srv, 40)
        with httpx.Client(base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}) as api:
            yield srv, api


@pytest.mark.parametrize("query", QUERIES)
def test_sql_search_matches_python_reference(seeded: Any, query: str) -> None:
    srv, api = seeded
    got = _all(api, {"query": query, "limit": 7, "statsPeriod": "90d"})
    ids = [i["id"] for i in got]
    assert len(ids) == len(set(ids))
    assert set(ids) == _reference(srv, query), query


@pytest.mark.parametrize("sort", ["date", "new", "freq", "user"])
def test_keyset_cursors_walk_both_ways_through_ties(seeded: Any, sort: str) -> None:
    srv, api = seeded
    column = {"date": "last_seen", "new": "first_seen", "freq": "times_seen", "user": "user_count"}[sort]
    expected = [str(r["id"]) for r in srv.store.query(f"SELECT id FROM issues ORDER BY {column} DESC, id DESC")]
    pages: list[list[str]] = []
    r = api.get("organizations/local/issues/", params={"query": "", "sort": sort, "limit": 6})
    while True:
        assert len(pages) <= len(expected), "the next cursor does not advance"
        pages.append([i["id"] for i in r.json()])
        nxt = [u for u, rel, more in _links(r) if rel == "next" and more == "true"]
        if not nxt:
            break
        r = api.get(nxt[0])
    assert [i for p in pages for i in p] == expected
    back: list[list[str]] = []
    while True:
        assert len(back) <= len(pages), "the previous cursor does not advance"
        prev = [u for u, rel, more in _links(r) if rel == "previous" and more == "true"]
        if not prev:
            break
        r = api.get(prev[0])
        back.append([i["id"] for i in r.json()])
    assert back == pages[-2::-1]


def test_plain_offset_cursor_and_bad_cursor(seeded: Any) -> None:
    srv, api = seeded
    everything = [i["id"] for i in api.get("organizations/local/issues/", params={"query": "", "limit": 100}).json()]
    page = api.get("organizations/local/issues/", params={"query": "", "limit": 4, "cursor": "0:8:0"}).json()
    assert [i["id"] for i in page] == everything[8:12]
    bad = api.get("organizations/local/issues/", params={"cursor": "abc:1:0"})
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


def test_issue_events_pages_follow_timestamps(seeded: Any) -> None:
    srv, api = seeded
    issue = srv.store.one("SELECT id FROM issues ORDER BY id LIMIT 1")["id"]
    expected = [r["event_id"] for r in srv.store.query(
        "SELECT event_id FROM events WHERE issue_id = ? ORDER BY timestamp DESC, id DESC", (issue,))]
    seen: list[str] = []
    url: str | None = f"organizations/local/issues/{issue}/events/?per_page=1"
    while url:
        assert len(seen) <= len(expected), "the next cursor does not advance"
        r = api.get(url)
        seen += [e["eventID"] for e in r.json()]
        nxt = [u for u, rel, more in _links(r) if rel == "next" and more == "true"]
        url = nxt[0] if nxt else None
    assert seen == expected and len(seen) == 2


def test_version_1_file_gains_the_search_index(tmp_path: Any) -> None:
    data = tmp_path / "data"
    with LocalServer(data) as srv:
        _seed(srv, 6, 1)
        before = {i["id"] for i in httpx.get(f"{srv.url}/api/0/organizations/local/issues/?query=shard:s1",
                                             headers={"Authorization": f"Bearer {srv.token}"}).json()}
    conn = sqlite3.connect(str(data / "local.sqlite3"))
    conn.executescript("DROP TABLE issue_tags; DROP INDEX issues_users; ALTER TABLE issues DROP COLUMN user_count;"
                       " UPDATE meta SET value = '1' WHERE key = 'schema_version';")
    conn.close()
    with LocalServer(data) as srv:
        api = httpx.Client(base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"})
        after = {i["id"] for i in api.get("organizations/local/issues/", params={"query": "shard:s1"}).json()}
        assert after == before and len(after) == 2
        by_users = api.get("organizations/local/issues/", params={"query": "", "sort": "user"}).json()
        assert all(i["userCount"] == 1 for i in by_users)
        assert srv.store.meta("schema_version") == str(SCHEMA_VERSION)


def test_readers_during_ingest_see_only_committed_growing_lists(srv: LocalServer) -> None:
    """Readers and senders at once: every read succeeds and no reader ever sees the count shrink."""
    import threading

    key = srv.store.keys(1)[0]["public_key"]
    headers = {"Authorization": f"Bearer {srv.token}"}
    stop, problems, counts = threading.Event(), [], []

    def read() -> None:
        seen = 0
        with httpx.Client(base_url=srv.url, headers=headers, timeout=30) as client:
            while not stop.is_set():
                r = client.get("/api/0/organizations/local/issues/", params={"query": "", "limit": 100})
                if r.status_code != 200:
                    problems.append(r.text)
                    continue
                n = len(r.json())
                if n < seen:
                    problems.append(f"count went from {seen} to {n}")
                seen = n
            counts.append(seen)

    def send(offset: int) -> None:
        with httpx.Client(timeout=30) as client:
            for n in range(offset, offset + 30):
                r = client.post(f"{srv.url}/api/1/store/?sentry_key={key}", json={"message": f"m {_word(n)}"})
                if r.status_code != 200:
                    problems.append(r.text)

    readers = [threading.Thread(target=read) for _ in range(4)]
    senders = [threading.Thread(target=send, args=(k * 30,)) for k in range(3)]
    for t in readers + senders:
        t.start()
    for t in senders:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert problems == []
    assert len(srv.store.issues()) == 90 and len(counts) == 4


def test_retention_deletes_only_what_is_older_than_the_period(tmp_path: Any) -> None:
    from sentry_ipy.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="not a number of days"):
        LocalServer(tmp_path / "bad", retention_days=-1)
    srv = LocalServer(tmp_path / "data", retention_days=30)  # not started: no hourly cleanup racing this one
    try:
        _seed(srv, 6, 2)
        old = srv.store.one("SELECT id FROM issues ORDER BY id LIMIT 1")["id"]
        gone = time.time() - 31 * 86400
        with srv.store.tx() as conn:
            conn.execute("UPDATE issues SET last_seen = ?, first_seen = ? WHERE id = ?", (gone, gone, old))
            conn.execute("UPDATE events SET received = ? WHERE issue_id = ?", (gone, old))
            conn.execute("UPDATE events SET received = ? WHERE id = (SELECT MAX(id) FROM events)", (gone,))
        kept_events = srv.store.one("SELECT COUNT(*) AS n FROM events WHERE received > ?", (gone + 1,))["n"]
        deleted = srv.purge()
        assert deleted["issues"] == 1 and deleted["events"] == 3
        assert srv.store.one("SELECT COUNT(*) AS n FROM events")["n"] == kept_events
        assert srv.store.one("SELECT COUNT(*) AS n FROM issue_tags WHERE issue_id = ?", (old,))["n"] == 0
        assert [i["id"] for i in srv.store.issues()] == [i for i in range(old + 1, old + 6)]
        assert srv.purge() == {"events": 0, "sessions": 0, "replays": 0, "outcomes": 0, "issues": 0}
    finally:
        srv.stop()
    with LocalServer(tmp_path / "data", retention_days=0) as started:
        assert started.purge() == {} and len(started.store.issues()) == 5


def test_a_release_page_costs_the_same_queries_whatever_its_size(tmp_path: Path) -> None:
    """Release shapes are built per page with batched queries, not a few queries per release."""
    from sentry_ipy.local.api._plumbing import Context
    from sentry_ipy.local.api._releases_api import release_page
    from sentry_ipy.local.store._store import Store

    store = Store(tmp_path / "db.sqlite")
    org = store.orgs()[0]
    pid = int(store.projects(org["id"])[0]["id"])
    for i in range(40):
        store.ensure_release(org["id"], f"app@{i}", [pid])
    statements: list[str] = []
    store._reader().set_trace_callback(statements.append)

    def cost(size: int) -> int:
        statements.clear()
        page = release_page(Context(store, "t"), org, size=size)
        assert len(page.rows) == size and page.rows[0]["projects"][0]["id"] == pid
        return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))

    assert cost(30) == cost(3)
    store.close()
