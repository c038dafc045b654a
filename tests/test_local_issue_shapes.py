"""The issue list's shapes: built per page with batched queries, each row the issue's own.

A page of issues reads its stats and triage fields with one query each for the
whole page; these tests check that the cost does not grow with the page and
that no row gets a neighbour's values (every triage state on one page, each
row compared with what the issue's own endpoint answers).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from sentry_ipy.local import LocalServer
from sentry_ipy.local.ingest._pipeline import save_events

#: Updates that leave a different mark on an issue's list row (a team, the user, flags, status).
_TRIAGE: tuple[dict[str, Any], ...] = (
    {"assignedTo": "team:{team}"}, {"assignedTo": "user:1"}, {"isBookmarked": True}, {"priority": "low"},
    {"hasSeen": True}, {"status": "ignored", "statusDetails": {"ignoreCount": 5}},
    {"status": "resolved", "statusDetails": {"inNextRelease": True}}, {},
)
#: Keys only the list shape has, or that the details endpoint answers differently (with more stats).
_LIST_ONLY = {"lifetime", "filtered", "sessionCount", "matchingEventId", "matchingEventEnvironment", "stats",
              "inbox"}


def _seed(srv: LocalServer, issues: int) -> None:
    now = time.time()
    word = lambda i: "".join(chr(ord("a") + int(d)) for d in str(i))  # noqa: E731  (digits would merge issues)
    payloads = [{"message": f"shaped problem {word(n % issues)}", "level": ("error", "warning")[n % 2],
                 "timestamp": now - 600 * n, "user": {"id": str(n % 3)}} for n in range(issues * 2)]
    project = srv.store.project_by_id(1)
    assert project is not None
    save_events(srv.store, project, payloads)


def _triage_all(api: httpx.Client, ids: list[str], team: str) -> dict[str, dict[str, Any]]:
    """Give the issues the states of :data:`_TRIAGE` in turn; returns what each was given."""
    given = {}
    for n, issue_id in enumerate(ids):
        body = {k: (v.format(team=team) if isinstance(v, str) else v) for k, v in _TRIAGE[n % len(_TRIAGE)].items()}
        if body:
            api.put(f"organizations/local/issues/{issue_id}/", json=body).raise_for_status()
        given[issue_id] = body
    return given


def test_each_row_of_an_issue_page_carries_its_own_issue_s_triage_and_stats(srv: LocalServer) -> None:
    _seed(srv, 24)
    with httpx.Client(base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}) as api:
        first = api.get("organizations/local/issues/", params={"query": "", "limit": 100}).json()
        team = api.get("organizations/local/teams/").json()[0]["slug"]
        given = _triage_all(api, [r["id"] for r in first], team)
        page = api.get("organizations/local/issues/", params={"query": "", "limit": 100}).json()
        assert sorted(r["id"] for r in page) == sorted(given)
        marks = set()
        for row in page:
            own = api.get(f"organizations/local/issues/{row['id']}/").json()
            assert {k: v for k, v in row.items() if k not in _LIST_ONLY} == \
                   {k: v for k, v in own.items() if k in row and k not in _LIST_ONLY}, row["id"]
            assert row["stats"]["24h"] == own["stats"]["24h"]
            body = given[row["id"]]
            if "assignedTo" in body:
                assert row["assignedTo"]["type"] == body["assignedTo"].partition(":")[0]
            assert row["isBookmarked"] is bool(body.get("isBookmarked"))
            wanted = body.get("statusDetails", {})
            assert {k: row["statusDetails"].get(k) for k in wanted} == wanted and bool(row["statusDetails"]) is bool(wanted)
            marks.add((row["assignedTo"] or {}).get("type"))
        assert marks == {None, "team", "user"}


def test_an_issue_page_costs_the_same_queries_whatever_its_size(srv: LocalServer) -> None:
    """Shapes read their stats and triage once per page, not once per issue."""
    from sentry_ipy.local.api._issues_api import issue_page, issue_terms
    from sentry_ipy.local.api._plumbing import Context

    _seed(srv, 40)
    store = srv.store
    with httpx.Client(base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}) as api:
        team = api.get("organizations/local/teams/").json()[0]["slug"]
        ids = [r["id"] for r in api.get("organizations/local/issues/", params={"query": "", "limit": 100}).json()]
        _triage_all(api, ids, team)
    org = store.orgs()[0]
    statements: list[str] = []
    store._reader().set_trace_callback(statements.append)

    def cost(size: int) -> int:
        statements.clear()
        page = issue_page(Context(store, "t"), org, store.projects(org["id"]), issue_terms("", []), start=None,
                          end=None, size=size)
        assert len(page.rows) == size
        return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))

    try:
        assert cost(30) == cost(3)
    finally:
        store._reader().set_trace_callback(None)


def test_timestamps_are_written_as_sentry_writes_them_over_the_whole_range() -> None:
    """``iso`` (a list page formats two per issue) against the ``strftime`` format it stands for."""
    import random
    from datetime import datetime, timezone

    from sentry_ipy.local._clock import MAX_TIMESTAMP, iso

    rnd = random.Random(9)
    values = [0.0, MAX_TIMESTAMP, 0.9999995, 1.0000005, 1e9 + 0.4999995, MAX_TIMESTAMP - 1e-7, 1764600000.9999996]
    values += [rnd.uniform(0, MAX_TIMESTAMP) for _ in range(20000)] + [rnd.uniform(1.6e9, 1.8e9) for _ in range(20000)]
    values += [rnd.randrange(2 * 10**9) + rnd.choice((0.0, 0.5e-6, 1.5e-6, 0.9999995)) for _ in range(20000)]
    for value in values:
        assert iso(value) == datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), value
    assert [iso(v) for v in (None, float("nan"), "junk", -5, 1e300, 7)] == [
        None, None, None, "1970-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.000000Z", "1970-01-01T00:00:07.000000Z"]


def test_environments_by_skip_scan_answer_what_a_pass_over_every_event_answered(tmp_path: Path) -> None:
    """The project shape's ``environments`` and the environments lists, against the full scans they replaced.

    Random events over three projects (NULL, empty, case and accent variants,
    ties in ``received``) and sessions; every subset of projects is compared.
    """
    import itertools
    import random

    from sentry_ipy.local.store._lookups import environments
    from sentry_ipy.local.store._project_queries import project_environments
    from sentry_ipy.local.store._store import Store

    store = Store(tmp_path / "db.sqlite")
    rnd = random.Random(5)
    names = [None, None, "", "prod", "Prod", "staging", "prév", "z", "a b", "10", "9"]
    with store.tx():
        for n in range(3000):
            env, pid = rnd.choice(names), rnd.choice((1, 2, 3))
            store.execute("INSERT INTO events (event_id, project_id, type, timestamp, received, environment, payload)"
                          " VALUES (?, ?, 'error', 0, ?, ?, '{}')", (f"{n:032x}", pid, float(rnd.randrange(500)), env))
        for _ in range(200):
            store.execute("INSERT INTO sessions (project_id, kind, environment, received, payload)"
                          " VALUES (?, 'session', ?, ?, '{}')", (rnd.choice((1, 2, 3)), rnd.choice(names),
                                                                 float(rnd.randrange(500))))
    for pid in (1, 2, 3, 4):
        full = store.query("SELECT DISTINCT environment FROM events WHERE project_id = ? AND environment IS NOT NULL"
                           " ORDER BY environment", (pid,))
        assert project_environments(store, pid) == [r["environment"] for r in full]
    for size in (1, 2, 3):
        for ids in itertools.permutations((1, 2, 3, 4), size):
            marks = ",".join("?" * len(ids))
            full = store.query(
                f"SELECT environment AS name, MIN(first) AS first FROM ("
                f" SELECT environment, MIN(received) AS first FROM events WHERE project_id IN ({marks})"
                f" AND environment IS NOT NULL AND environment != '' GROUP BY environment"
                f" UNION ALL SELECT environment, MIN(received) FROM sessions WHERE project_id IN ({marks})"
                f" AND environment IS NOT NULL AND environment != '' GROUP BY environment)"
                f" GROUP BY environment ORDER BY first, environment", [*ids, *ids])
            assert environments(store, list(ids)) == [{"id": i, "name": r["name"]} for i, r in enumerate(full, 1)]
    store.close()
