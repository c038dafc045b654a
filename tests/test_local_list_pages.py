"""Every growing list of the local backend pages by keyset, and a page's cost does not grow with its size.

Each list is walked over real loopback HTTP by its ``Link`` cursors, with ties in
the sort value and rows written between two pages, and compared with the order
SQL gives over the whole table. The cost of a page is counted in SQL statements
(every connection the store opens is traced), for a small and a large page.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentry_ipy.local import LocalServer
from sentry_ipy.local.ingest._pipeline import save_events
from sentry_ipy.local.store import _store

Statements = list[str]


@pytest.fixture()
def traced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalServer, httpx.Client, Statements]]:
    """A fresh server whose every SQLite connection records the statements it runs."""
    statements: Statements = []
    connect = _store._connect

    def traced_connect(path: Path) -> sqlite3.Connection:
        conn = connect(path)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(_store, "_connect", traced_connect)
    with LocalServer(tmp_path / "data") as srv, httpx.Client(
        base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}, timeout=30
    ) as api:
        yield srv, api, statements


def _links(response: httpx.Response) -> dict[str, tuple[str, bool]]:
    found = re.findall(r'<([^>]+)>; rel="(\w+)"; results="(\w+)"; cursor="[^"]+"', response.headers["Link"])
    return {rel: (url, more == "true") for url, rel, more in found}


def walk(api: httpx.Client, url: str, params: dict[str, Any], rows: Callable[[Any], list[Any]] = list,
         between: Callable[[int], None] | None = None) -> list[list[Any]]:
    """Every page of a list, following ``next`` while it has results (``between(n)`` runs after page n)."""
    pages: list[list[Any]] = []
    r = api.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        pages.append(rows(r.json()))
        assert len(pages) < 500, "the next cursor does not advance"
        if between is not None:
            between(len(pages))
        nxt, more = _links(r)["next"]
        if not more:
            return pages
        r = api.get(nxt)


def selects(statements: Statements, fetch: Callable[[], Any]) -> int:
    """How many SELECT statements ``fetch`` ran."""
    statements.clear()
    fetch()
    return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))


def _seed_events(srv: LocalServer, n: int, start: float, releases: bool = True) -> None:
    """``n`` error events over three issues, three to a timestamp (ties), some with a release."""
    payloads = []
    for i in range(n):
        payload: dict[str, Any] = {"message": f"event of group {'abc'[i % 3]}", "fingerprint": [f"g{i % 3}"],
                                   "timestamp": start - 60 * (i // 3), "level": "error", "environment": "prod"}
        if releases and i % 2 == 0:
            payload["release"] = f"app@{i % 8}"
        payloads.append(payload)
    project = srv.store.project_by_id(1)
    assert project is not None
    save_events(srv.store, project, payloads, batch=50)


def _neighbours(srv: LocalServer) -> dict[str, tuple[str | None, str | None]]:
    """The reference: next and previous event of each event within its issue, from one sorted list in Python."""
    rows = srv.store.query("SELECT event_id, issue_id, timestamp, id FROM events")
    out: dict[str, tuple[str | None, str | None]] = {}
    for issue in {r["issue_id"] for r in rows}:
        mine = sorted((r for r in rows if r["issue_id"] == issue), key=lambda r: (r["timestamp"], r["id"]))
        for k, r in enumerate(mine):
            out[r["event_id"]] = (mine[k + 1]["event_id"] if k + 1 < len(mine) else None,
                                  mine[k - 1]["event_id"] if k else None)
    return out


def test_full_event_pages_walk_every_event_once_with_its_neighbours(traced: Any) -> None:
    srv, api, _ = traced
    now = time.time()
    _seed_events(srv, 40, now - 3600)
    original = [r["event_id"] for r in srv.store.query("SELECT event_id FROM events ORDER BY timestamp DESC, id DESC")]
    late: list[dict[str, Any]] = []

    def insert(n: int) -> None:  # one event newer than everything, one among the rows not yet shown
        if n <= 2:
            project = srv.store.project_by_id(1)
            assert project is not None
            late.extend([{"message": "late new", "fingerprint": ["g0"], "timestamp": now - 1},
                         {"message": "late old", "fingerprint": ["g1"], "timestamp": now - 3600 - 60 * 12}])
            save_events(srv.store, project, late[-2:])

    pages = walk(api, "projects/local/notebook/events/", {"full": "true", "per_page": 4}, between=insert)
    seen = [e for p in pages for e in p]
    ids = [e["eventID"] for e in seen]
    assert len(ids) == len(set(ids))
    assert [i for i in ids if i in original] == original
    every = {r["event_id"]: r for r in srv.store.query("SELECT * FROM events")}
    newer = {i for i in every if every[i]["timestamp"] > now - 60}
    assert set(ids) == set(every) - newer, "an event written below the cursor is shown, one above it is not"
    seen = [e for p in walk(api, "projects/local/notebook/events/", {"full": "true", "per_page": 4}) for e in p]
    expected = _neighbours(srv)
    culprits = {str(r["id"]): r["culprit"] for r in srv.store.query("SELECT id, culprit FROM issues")}
    for event in seen:
        assert (event["nextEventID"], event["previousEventID"]) == expected[event["eventID"]]
        assert event["culprit"] == culprits[event["groupID"]] and event["event.type"] == "default"
        assert (event["release"] or {}).get("version") == every[event["eventID"]]["release"]
        if event["release"]:  # the fields of the release's own detail, as Sentry's event serializer shows them
            release = api.get(f"organizations/local/releases/{event['release']['version']}/").json()
            assert event["release"] == {k: release[k] for k in event["release"]} and len(event["release"]) == 14
        detail = api.get(f"projects/local/notebook/events/{event['eventID']}/").json()
        assert {k: v for k, v in event.items() if k != "event.type"} == detail


def test_full_event_page_costs_the_same_statements_whatever_its_size(traced: Any) -> None:
    srv, api, statements = traced
    _seed_events(srv, 60, time.time() - 3600)
    issue = srv.store.one("SELECT id FROM issues ORDER BY id LIMIT 1")["id"]
    for url in ("projects/local/notebook/events/", f"organizations/local/issues/{issue}/events/"):
        def page(size: int, url: str = url) -> None:
            r = api.get(url, params={"full": "true", "per_page": size})
            assert r.status_code == 200 and len(r.json()) == size
            assert any(e["release"] for e in r.json()) and all(e["nextEventID"] or e["previousEventID"]
                                                                for e in r.json())

        assert selects(statements, lambda: page(2)) == selects(statements, lambda: page(20)), url


def _seed_two_projects(srv: LocalServer, n: int, start: float) -> None:
    """Error and message events in two projects, two to a timestamp across them (ties), every third an exception."""
    other = srv.store.create_project(1, 1, "other", "other", "python")
    projects = [srv.store.project_by_id(1), other]
    for k, project in enumerate(projects):
        assert project is not None
        payloads = []
        for i in range(n):
            payload: dict[str, Any] = {"message": f"discover {'xyz'[i % 3]} {k}", "timestamp": start - 60 * (i // 2),
                                       "environment": "prod" if i % 2 else "dev", "tags": {"shard": f"s{i % 4}"}}
            if i % 3 == 0:
                del payload["message"]
                payload["exception"] = {"values": [{"type": "KeyError" if i % 2 else "ValueError", "value": str(i)}]}
            payloads.append(payload)
        save_events(srv.store, project, payloads, batch=50)


DISCOVER = "organizations/local/events/"


def _discover_ids(pages: list[list[Any]]) -> list[str]:
    return [row["id"] for page in pages for row in page]


@pytest.mark.parametrize("query", ["", "error.type:KeyError", "shard:s1 OR message:*z*", "!environment:dev"])
@pytest.mark.parametrize("sort", ["-timestamp", "timestamp", None])
def test_discover_pages_walk_every_event_once_in_timestamp_order(traced: Any, query: str, sort: str | None) -> None:
    srv, api, _ = traced
    _seed_two_projects(srv, 30, time.time() - 600)
    params = {"field": ["id", "timestamp", "title"], "query": query, "per_page": 4, "statsPeriod": "1d",
              **({"sort": sort} if sort else {})}
    everything = _discover_ids(walk(api, DISCOVER, {**params, "sort": "-title", "per_page": 100},
                                    rows=lambda body: body["data"]))
    pages = walk(api, DISCOVER, params, rows=lambda body: body["data"])
    got = _discover_ids(pages)
    assert len(got) == len(set(got)) and set(got) == set(everything) and got, query
    order = "DESC" if sort != "timestamp" else "ASC"
    ranked = [r["event_id"] for r in srv.store.query(f"SELECT event_id FROM events ORDER BY timestamp {order}, id {order}")]
    assert got == [i for i in ranked if i in set(got)]
    assert max(len(p) for p in pages) == 4 and len(pages) == -(-len(got) // 4)


def test_discover_cursor_survives_rows_written_between_pages_and_old_offset_cursors(traced: Any) -> None:
    srv, api, _ = traced
    start = time.time() - 600
    _seed_two_projects(srv, 20, start)
    before = [r["event_id"] for r in srv.store.query("SELECT event_id FROM events ORDER BY timestamp DESC, id DESC")]
    project = srv.store.project_by_id(1)
    assert project is not None

    def insert(n: int) -> None:
        if n == 1:  # newer than the cursor (not shown), and tied with the rows still to come (shown)
            save_events(srv.store, project, [{"message": "discover late new", "timestamp": start + 30},
                                             {"message": "discover late tie", "timestamp": start - 60 * 7}])

    params = {"field": ["id", "timestamp"], "per_page": 5, "statsPeriod": "1d"}
    got = _discover_ids(walk(api, DISCOVER, params, rows=lambda body: body["data"], between=insert))
    late = {r["event_id"]: r["message"] for r in srv.store.query("SELECT event_id, message FROM events")
            if r["event_id"] not in before}
    assert len(got) == len(set(got)) and [i for i in got if i in before] == before
    assert {late[i] for i in got if i in late} == {"discover late tie"}
    offset = api.get(DISCOVER, params={**params, "cursor": "0:10:0"})
    now_ranked = [r["event_id"] for r in srv.store.query("SELECT event_id FROM events ORDER BY timestamp DESC, id DESC")]
    assert offset.status_code == 200 and [r["id"] for r in offset.json()["data"]] == now_ranked[10:15]
    assert api.get(DISCOVER, params={**params, "cursor": "0:10000:0"}).status_code == 400


@pytest.mark.parametrize("query", ["", "message:*discover*"])
def test_discover_page_costs_the_same_statements_whatever_its_size(traced: Any, query: str) -> None:
    srv, api, statements = traced
    _seed_two_projects(srv, 60, time.time() - 600)

    def page(size: int) -> None:
        first = api.get(DISCOVER, params={"field": ["id", "issue", "title"], "query": query, "per_page": size})
        assert first.status_code == 200 and len(first.json()["data"]) == size
        second = api.get(_links(first)["next"][0])
        assert second.status_code == 200 and len(second.json()["data"]) == size

    assert selects(statements, lambda: page(2)) == selects(statements, lambda: page(40)), query


def walk_back(api: httpx.Client, last: httpx.Response, rows: Callable[[Any], list[Any]]) -> list[list[Any]]:
    """Every page before the response ``last``, following ``previous`` while it has results (nearest first)."""
    pages: list[list[Any]] = []
    r = last
    while True:
        url, more = _links(r)["previous"]
        if not more:
            return pages
        r = api.get(url)
        assert r.status_code == 200, r.text
        pages.append(rows(r.json()))
        assert len(pages) < 500, "the previous cursor does not advance"


@pytest.mark.parametrize(("query", "sort"), [("", "-timestamp"), ("error.type:KeyError", "timestamp"),
                                             ("message:*y*", "-timestamp")])
def test_discover_previous_cursors_walk_the_same_pages_back(traced: Any, query: str, sort: str) -> None:
    srv, api, _ = traced
    _seed_two_projects(srv, 30, time.time() - 600)
    params = {"field": ["id", "timestamp"], "query": query, "sort": sort, "per_page": 3, "statsPeriod": "1d"}
    pages, r = [], api.get(DISCOVER, params=params)
    while True:
        pages.append([row["id"] for row in r.json()["data"]])
        nxt, more = _links(r)["next"]
        if not more:
            break
        r = api.get(nxt)
    assert len(pages) > 3
    assert walk_back(api, r, lambda body: [row["id"] for row in body["data"]]) == pages[-2::-1]


#: The keyset lists of what users and the API write: (table, its sort column, the list's URL).
WRITTEN = {
    "notes": ("issue_activity", "date_created", "organizations/local/issues/{issue}/notes/"),
    "deploys": ("deploys", "date_finished", "organizations/local/releases/app@1/deploys/"),
    "user-feedback": ("user_reports", "date_created", "projects/local/notebook/user-feedback/"),
    "issue-user-reports": ("user_reports", "date_created", "organizations/local/issues/{issue}/user-reports/"),
}


def _write_one(srv: LocalServer, api: httpx.Client, kind: str, issue: int, n: int) -> None:
    if kind == "notes":
        r = api.post(f"organizations/local/issues/{issue}/notes/", json={"text": f"note {n}"})
    elif kind == "deploys":
        r = api.post("organizations/local/releases/app@1/deploys/", json={"environment": f"env{n % 3}"})
    else:
        event = srv.store.one("SELECT event_id FROM events WHERE issue_id = ? ORDER BY id LIMIT 1 OFFSET ?",
                              (issue, n % 5))["event_id"]
        r = api.post("projects/local/notebook/user-feedback/", json={"event_id": event, "comments": f"c {n}"})
    assert r.status_code in (200, 201), r.text


def _tie(srv: LocalServer, table: str, column: str, value: float, where: str = "1") -> None:
    with srv.store.tx() as conn:
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (value,))


@pytest.mark.parametrize("kind", list(WRITTEN))
def test_written_lists_walk_every_row_once_through_ties_and_late_rows(traced: Any, kind: str) -> None:
    srv, api, statements = traced
    table, column, url = WRITTEN[kind]
    _seed_events(srv, 15, time.time() - 600, releases=False)
    srv.store.ensure_release(1, "app@1", [1])
    issue = int(srv.store.one("SELECT id FROM issues ORDER BY id LIMIT 1")["id"])
    url = url.format(issue=issue)
    for n in range(22):
        _write_one(srv, api, kind, issue, n)
    base = time.time() - 100
    for k in range(8):  # three rows to a value
        _tie(srv, table, column, base - k, f"id IN (SELECT id FROM {table} ORDER BY id LIMIT 3 OFFSET {3 * k})")
    kept = "type = 'note'" if kind == "notes" else "1"
    order = f"SELECT id FROM {table} WHERE {kept} ORDER BY {column} DESC, id DESC"
    before = [str(r["id"]) for r in srv.store.query(order)]

    def insert(page: int) -> None:
        if page == 1:  # one row newer than the cursor (not shown), one tied with rows still to come (shown)
            _write_one(srv, api, kind, issue, 100)
            _write_one(srv, api, kind, issue, 101)
            _tie(srv, table, column, base - 5, f"id = (SELECT MAX(id) FROM {table})")

    got = [str(row["id"]) for page in walk(api, url, {"per_page": 4}, between=insert) for row in page]
    after = [str(r["id"]) for r in srv.store.query(order)]
    assert len(got) == len(set(got)) and [i for i in got if i in before] == before
    assert [i for i in got if i not in before] == [str(max(map(int, after)))]
    old = api.get(url, params={"per_page": 3, "cursor": "0:6:0"})  # an offset cursor of the old lists
    assert [str(r["id"]) for r in old.json()] == after[6:9]

    def page(size: int) -> None:
        r = api.get(url, params={"per_page": size})
        assert r.status_code == 200 and len(r.json()) == size
        r = api.get(_links(r)["next"][0])
        assert r.status_code == 200 and len(r.json()) >= 2

    assert selects(statements, lambda: page(2)) == selects(statements, lambda: page(12)), kind


@pytest.mark.parametrize("seed", range(12))
def test_scan_rows_cut_the_pages_and_cursors_of_the_python_reference(seed: int) -> None:
    """:class:`ScanRows` (chunks from SQL, a Python test, two partitions) against :class:`ListRows` over the
    rows Python keeps, both directions, every cursor either gives, with a window and many ties."""
    import random

    from sentry_ipy.local.store._keyset import Cursor, ListRows, keyset_page
    from sentry_ipy.local.store._scan_rows import ScanRows

    rnd = random.Random(seed)
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, k REAL NOT NULL, part INTEGER, flag INTEGER)")
    conn.execute("CREATE INDEX t_k ON t (part, k)")
    n = rnd.randint(0, 60)
    conn.executemany("INSERT INTO t (k, part, flag) VALUES (?, ?, ?)",
                     [(float(rnd.randint(1, 12)), rnd.randint(1, 2), int(rnd.random() < 0.6)) for _ in range(n)])
    low, high = (None, None) if seed % 3 == 0 else (float(rnd.randint(1, 4)), float(rnd.randint(8, 12)))

    def query(sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return [dict(r) for r in conn.execute(sql, params)]

    def keep(rows: list[dict[str, Any]]) -> list[bool]:
        return [bool(r["flag"]) for r in rows]

    for descending in (True, False):
        for python_test in (keep, None):
            scan = ScanRows(query, "*", "t", [("part = ?", [1]), ("part = ?", [2])], "k", "id", python_test,
                            descending, low, high, chunk=rnd.randint(1, 5))
            sign = 1 if descending else -1
            kept = [{**r, "_key": sign * r["k"], "_id": sign * r["id"]} for r in query("SELECT * FROM t", [])
                    if (python_test is None or r["flag"]) and (low is None or low <= r["k"] <= high)]
            reference = ListRows(kept)
            size = rnd.randint(1, 7)
            todo, seen = [Cursor(), Cursor(None, rnd.randint(0, 9)), Cursor(None, 0, True)], set()
            while todo:
                cursor = todo.pop()
                if cursor in seen:
                    continue
                seen.add(cursor)
                got, want = keyset_page(scan, cursor, size), keyset_page(reference, cursor, size)
                assert [r["id"] for r in got.rows] == [r["id"] for r in want.rows], (cursor, descending)
                assert (got.next, got.prev, got.has_next, got.has_prev) == (want.next, want.prev, want.has_next,
                                                                           want.has_prev), cursor
                todo += [Cursor.parse(c) for c, more in ((got.next, got.has_next), (got.prev, got.has_prev)) if more]
            assert len(seen) >= 2 or not kept


def _seed_logs(srv: LocalServer, n: int, start: float) -> None:
    """Log records in two projects, two to a timestamp across them (ties)."""
    from sentry_ipy.local.store._trace_records import insert_logs

    other = srv.store.project(1, "other") or srv.store.create_project(1, 1, "other", "other", "python")
    rows = [{"project_id": pid, "item_id": f"{pid:02d}{i:030d}", "trace_id": None, "span_id": None,
             "timestamp": start - 60 * (i // 2), "severity": "info" if i % 3 else "error", "severity_number": 9,
             "body": f"log {'xyz'[i % 3]} {i}", "attributes": {"shard": f"s{i % 4}"}, "release": None,
             "environment": "prod", "received": start}
            for pid in (1, int(other["id"])) for i in range(n)]
    insert_logs(srv.store, rows)


@pytest.mark.parametrize("query", ["", "severity:error", "message:*y*"])
@pytest.mark.parametrize("sort", ["-timestamp", "timestamp", None])
def test_explore_logs_walk_every_item_once_in_time_order(traced: Any, query: str, sort: str | None) -> None:
    srv, api, statements = traced
    _seed_logs(srv, 25, time.time() - 600)
    params = {"dataset": "logs", "field": ["id", "timestamp", "message"], "query": query, "per_page": 4,
              "statsPeriod": "1d", **({"sort": sort} if sort else {})}
    everything = _discover_ids(walk(api, DISCOVER, {**params, "sort": "-message", "per_page": 100},
                                    rows=lambda body: body["data"]))
    got = _discover_ids(walk(api, DISCOVER, params, rows=lambda body: body["data"]))
    assert len(got) == len(set(got)) and set(got) == set(everything) and got, query
    order = "DESC" if sort != "timestamp" else "ASC"
    ranked = [r["item_id"] for r in srv.store.query(f"SELECT item_id FROM logs ORDER BY timestamp {order}, id {order}")]
    assert got == [i for i in ranked if i in set(got)]

    def page(size: int) -> None:
        first = api.get(DISCOVER, params={**params, "per_page": size})
        assert first.status_code == 200 and len(first.json()["data"]) == size
        assert api.get(_links(first)["next"][0]).status_code == 200

    assert selects(statements, lambda: page(2)) == selects(statements, lambda: page(8))


def test_explore_spans_walk_by_their_end(traced: Any) -> None:
    srv, api, _ = traced
    from sentry_ipy.local.store._trace_records import insert_spans

    start = time.time() - 600
    insert_spans(srv.store, [
        {"project_id": 1, "event_id": f"{i:032x}", "trace_id": f"{i % 3:032x}", "span_id": f"{i:016x}",
         "parent_span_id": None, "is_transaction": int(i % 5 == 0), "op": "db" if i % 2 else "http",
         "description": f"span {i}", "transaction_name": "t", "status": "ok", "start": start - 60 * (i // 3) - 1,
         "end": start - 60 * (i // 3), "release": None, "environment": "prod", "platform": "python",
         "sdk_name": "sentry.python", "data": {}} for i in range(20)])
    for query in ("", "span.op:db"):
        got = _discover_ids(walk(api, DISCOVER, {"dataset": "spans", "field": ["id", "timestamp"], "query": query,
                                                 "per_page": 3, "statsPeriod": "1d"}, rows=lambda body: body["data"]))
        ranked = [r["span_id"] for r in srv.store.query('SELECT span_id, op FROM spans ORDER BY "end" DESC, id DESC')
                  if not query or r["op"] == "db"]
        assert got == ranked, query
