"""Validate live local-backend responses against Sentry's published OpenAPI schema.

The schema file lives outside the repository (``../shared/sentry-api``); the
tests skip when it is absent. Notes on where the official schema is loose or
differs from reality are kept next to the affected cases.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentry_ipy.local import LocalServer

jsonschema = pytest.importorskip("jsonschema")

_CANDIDATES = [
    Path(__file__).resolve().parents[2] / "shared/sentry-api/openapi-derefed.json",
    Path("/work/shared/sentry-api/openapi-derefed.json"),
]
SCHEMA_FILE = next((p for p in _CANDIDATES if p.exists()), None)
O, P = "{organization_id_or_slug}", "{project_id_or_slug}"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if SCHEMA_FILE is None:
        pytest.skip("openapi-derefed.json not found (expected in ../shared/sentry-api)")
    return dict(json.loads(SCHEMA_FILE.read_text()))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalServer, httpx.Client, dict[str, str]]]:
    with LocalServer(tmp_path_factory.mktemp("schema")) as srv:
        key = srv.store.keys(1)[0]["public_key"]
        frames = [{"filename": "app.py", "abs_path": "/app.py", "function": "run", "module": "app",
                   "lineno": 3, "context_line": "x()", "in_app": True, "vars": {"a": "1"}}]
        payload = {"exception": {"values": [{"type": "TypeError", "value": "nope", "stacktrace": {"frames": frames},
                                             "mechanism": {"type": "generic", "handled": False}}]},
                   "release": "1.0", "environment": "prod", "user": {"id": "7"},
                   "breadcrumbs": {"values": [{"message": "hi", "category": "log", "timestamp": time.time()}]},
                   "request": {"url": "http://x/", "method": "GET", "headers": {"A": "b"}},
                   "sdk": {"name": "sentry.python", "version": "2.0"}, "tags": {"cell": "3"}}
        ids = {}
        ids["event"] = httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json=payload).json()["id"]
        httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json={"message": "just text"})
        now = time.time()
        replay = {"type": "replay_event", "replay_id": "d" * 32, "segment_id": 0, "timestamp": now,
                  "replay_start_timestamp": now - 5, "urls": ["http://x/"], "error_ids": [ids["event"]],
                  "trace_ids": [], "replay_type": "session", "environment": "prod",
                  "contexts": {"browser": {"name": "Chrome", "version": "1"}}, "user": {"id": "7"}}
        env = b"\n".join([b"{}", b'{"type":"replay_event"}', json.dumps(replay).encode()])
        httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}", content=env)
        session = {"sid": "e" * 32, "status": "crashed", "errors": 1, "init": True, "started": now - 5,
                   "attrs": {"release": "1.0", "environment": "prod"}}
        env = b"\n".join([b"{}", b'{"type":"session"}', json.dumps(session).encode()])
        httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}", content=env)
        with httpx.Client(base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}) as api:
            ids["issue"] = api.get("organizations/local/issues/", params={"query": "TypeError"}).json()[0]["id"]
            yield srv, api, ids


def _nullable(node: Any) -> Any:
    """Translate OpenAPI 3.0 ``nullable: true`` into JSON Schema (jsonschema ignores it)."""
    if isinstance(node, list):
        return [_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable(v) for k, v in node.items()}
    if out.pop("nullable", False):
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        for key in ("anyOf", "oneOf"):
            if key in out:
                out[key] = [*out[key], {"type": "null"}]
        if "allOf" in out:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _schema(spec: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    op = spec["paths"]["/api/0/" + path][method]
    return dict(_nullable(op["responses"][str(status)]["content"]["application/json"]["schema"]))


def _relax_issue_list(schema: dict[str, Any]) -> None:
    # The schema marks ``owners`` and ``inbox`` required on issue-list items,
    # but Sentry adds them only for ``expand=owners`` / ``expand=inbox``.
    for node in (schema.get("items") or {}, schema.get("properties", {}).get("group") or {}):
        required = node.get("required")
        if required:
            node["required"] = [r for r in required if r not in ("owners", "inbox")]


def _check(spec: dict[str, Any], response: httpx.Response, path: str, method: str = "get") -> None:
    assert response.status_code in (200, 201), response.text
    schema = _schema(spec, path, method, response.status_code)
    _relax_issue_list(schema)
    jsonschema.validate(response.json(), schema)


CASES = [
    ("organizations/", "organizations/", {}),
    ("organizations/local/", f"organizations/{O}/", {}),
    ("organizations/local/projects/", f"organizations/{O}/projects/", {}),
    ("organizations/local/teams/", f"organizations/{O}/teams/", {}),
    ("projects/local/notebook/", f"projects/{O}/{P}/", {}),
    ("projects/local/notebook/keys/", f"projects/{O}/{P}/keys/", {}),
    ("organizations/local/issues/", f"organizations/{O}/issues/", {"query": ""}),
    ("organizations/local/issues/?expand=inbox", f"organizations/{O}/issues/", {"query": "is:unresolved"}),
    ("organizations/local/issues/{issue}/", f"organizations/{O}/issues/{{issue_id}}/", {}),
    ("organizations/local/issues/{issue}/events/", f"organizations/{O}/issues/{{issue_id}}/events/", {}),
    ("organizations/local/issues/{issue}/events/latest/", f"organizations/{O}/issues/{{issue_id}}/events/{{event_id}}/", {}),
    ("organizations/local/shortids/NOTEBOOK-1/", f"organizations/{O}/shortids/{{issue_id}}/", {}),
    ("organizations/local/eventids/{event}/", f"organizations/{O}/eventids/{{event_id}}/", {}),
    ("projects/local/notebook/events/", f"projects/{O}/{P}/events/", {}),
    ("projects/local/notebook/events/{event}/", f"projects/{O}/{P}/events/{{event_id}}/", {}),
    ("organizations/local/events/", f"organizations/{O}/events/",
     {"dataset": "errors", "field": ["id", "title", "issue", "count()"], "statsPeriod": "1d"}),
    ("organizations/local/releases/", f"organizations/{O}/releases/", {}),
    ("organizations/local/releases/1.0/", f"organizations/{O}/releases/{{version}}/", {}),
    ("projects/local/notebook/releases/", f"projects/{O}/{P}/releases/", {}),
    ("organizations/local/stats_v2/", f"organizations/{O}/stats_v2/",
     {"field": "sum(quantity)", "groupBy": ["outcome", "category"], "statsPeriod": "1d", "interval": "1h"}),
    ("organizations/local/detectors/", f"organizations/{O}/detectors/", {"query": "type:issue_stream"}),
    ("organizations/local/workflows/", f"organizations/{O}/workflows/", {}),
    ("organizations/local/replays/", f"organizations/{O}/replays/", {"statsPeriod": "1d"}),
    ("organizations/local/replays/" + "d" * 32 + "/", f"organizations/{O}/replays/{{replay_id}}/", {}),
    ("organizations/local/sessions/", f"organizations/{O}/sessions/",
     {"field": "sum(session)", "groupBy": "session.status", "statsPeriod": "1d", "interval": "1h"}),
    ("organizations/local/sessions/?groupBy=release", f"organizations/{O}/sessions/",
     {"field": ["sum(session)", "count_unique(user)"], "groupBy": ["project", "environment"], "project": "1",
      "statsPeriod": "2d", "interval": "1d"}),
]


@pytest.mark.parametrize(("url", "path", "params"), CASES, ids=[c[0] for c in CASES])
def test_get_matches_schema(spec: dict[str, Any], live: Any, url: str, path: str, params: dict[str, Any]) -> None:
    srv, api, ids = live
    _check(spec, api.get(url.format(**ids), params=params), path)


def test_post_shapes_match_schema(spec: dict[str, Any], live: Any) -> None:
    srv, api, ids = live
    r = api.post("teams/local/local/projects/", json={"name": "schema-proj"})
    _check(spec, r, f"teams/{O}/{{team_id_or_slug}}/projects/", "post")
    r = api.post("projects/local/notebook/keys/", json={"name": "Extra"})
    _check(spec, r, f"projects/{O}/{P}/keys/", "post")
    r = api.post("organizations/local/releases/", json={"version": "2.0", "projects": ["notebook"]})
    _check(spec, r, f"organizations/{O}/releases/", "post")
    det = api.get("organizations/local/detectors/").json()[0]["id"]
    r = api.post("organizations/local/workflows/", json={
        "name": "wf", "config": {"frequency": 30},
        "triggers": {"logicType": "any-short", "conditions": [{"type": "first_seen_event", "comparison": True, "conditionResult": True}]},
        "actionFilters": [{"logicType": "any", "conditions": [], "actions": [{"type": "email", "config": {"targetType": "issue_owners"}}]}],
        "detectorIds": [int(det)]})
    _check(spec, r, f"organizations/{O}/workflows/", "post")
    # PUT on an issue returns the updated issue (same schema as GET in practice).
    r = api.put(f"organizations/local/issues/{ids['issue']}/", json={"status": "resolved"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"


def test_release_lifecycle_teams_environments_match_schema(spec: dict[str, Any], live: Any) -> None:
    srv, api, ids = live
    api.post("organizations/local/releases/", json={"version": "3.0", "projects": ["notebook"]})
    r = api.put("organizations/local/releases/3.0/", json={
        "dateReleased": "2026-01-02T03:04:05Z", "ref": "abc",
        "commits": [{"id": "a" * 40, "repository": "acme/app", "message": "fix", "author_name": "Ada",
                     "author_email": "ada@example.com", "timestamp": "2026-01-01T00:00:00Z"}]})
    _check(spec, r, f"organizations/{O}/releases/{{version}}/", "put")
    assert r.json()["dateReleased"].startswith("2026-01-02T03:04:05") and r.json()["commitCount"] == 1
    r = api.post("organizations/local/releases/3.0/deploys/", json={"environment": "prod", "name": "d1"})
    _check(spec, r, f"organizations/{O}/releases/{{version}}/deploys/", "post")
    _check(spec, api.get("organizations/local/releases/3.0/deploys/"), f"organizations/{O}/releases/{{version}}/deploys/")
    commits = api.get("organizations/local/releases/3.0/commits/")
    _check(spec, commits, f"organizations/{O}/releases/{{version}}/commits/")
    assert [c["id"] for c in commits.json()] == ["a" * 40]
    detail = api.get("organizations/local/releases/3.0/").json()
    assert detail["deployCount"] == 1 and detail["lastDeploy"]["environment"] == "prod"
    _check(spec, api.get("organizations/local/repos/"), f"organizations/{O}/repos/")
    r = api.post("organizations/local/teams/", json={"slug": "backend"})
    _check(spec, r, f"organizations/{O}/teams/", "post")
    assert api.post("organizations/local/teams/", json={"slug": "backend"}).status_code == 409
    envs = api.get("organizations/local/environments/")
    _check(spec, envs, f"organizations/{O}/environments/")
    assert [e["name"] for e in envs.json()] == ["prod"]
    penvs = api.get("projects/local/notebook/environments/")
    _check(spec, penvs, f"projects/{O}/{P}/environments/")
    _check(spec, api.get("projects/local/notebook/issues/", params={"query": ""}), f"projects/{O}/{P}/issues/")
    for path in ("dashboards", "monitors"):
        _check(spec, api.get(f"organizations/local/{path}/"), f"organizations/{O}/{path}/")
    assert api.delete("organizations/local/releases/3.0/").status_code == 204
    assert api.get("organizations/local/releases/3.0/").status_code == 404


def test_issue_details_traces_feedback_match_schema(spec: dict[str, Any], live: Any) -> None:
    srv, api, ids = live
    issue = f"organizations/{O}/issues/{{issue_id}}"
    r = api.get(f"organizations/local/issues/{ids['issue']}/tags/cell/")
    _check(spec, r, issue + "/tags/{key}/")
    assert r.json()["topValues"][0]["value"] == "3" and r.json()["uniqueValues"] == 1
    _check(spec, api.get(f"organizations/local/issues/{ids['issue']}/tags/cell/values/"), issue + "/tags/{key}/values/")
    assert api.get(f"organizations/local/issues/{ids['issue']}/tags/nope/").status_code == 404
    r = api.post("projects/local/notebook/user-feedback/", json={
        "event_id": ids["event"], "name": "Ada", "email": "ada@example.com", "comments": "it broke"})
    _check(spec, r, f"projects/{O}/{P}/user-feedback/", "post")
    assert r.json()["issue"] == {"id": ids["issue"]}
    _check(spec, api.get("projects/local/notebook/user-feedback/"), f"projects/{O}/{P}/user-feedback/")
    reports = api.get(f"organizations/local/issues/{ids['issue']}/user-reports/").json()
    assert [x["comments"] for x in reports] == ["it broke"]
    key = srv.store.keys(1)[0]["public_key"]
    envelope = b"\n".join([json.dumps({"event_id": ids["event"]}).encode(),
                           b'{"type":"attachment","length":5,"filename":"log.txt","content_type":"text/plain"}',
                           b"hello"])
    httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}", content=envelope)
    r = api.get(f"projects/local/notebook/events/{ids['event']}/attachments/")
    _check(spec, r, f"projects/{O}/{P}/events/{{event_id}}/attachments/")
    (attachment,) = r.json()
    assert (attachment["name"], attachment["size"], attachment["mimetype"]) == ("log.txt", 5, "text/plain")
    raw = api.get(f"projects/local/notebook/events/{ids['event']}/attachments/{attachment['id']}/?download=1")
    assert raw.content == b"hello"


def test_trace_and_trace_meta_match_schema(spec: dict[str, Any], tmp_path: Path) -> None:
    from tests._sdk import sending_to

    with LocalServer(tmp_path / "trace") as srv:
        import sentry_sdk

        with sending_to(srv.dsn(), traces_sample_rate=1.0, enable_logs=True) as scope:
            with sentry_sdk.start_transaction(name="job", op="task") as txn:
                with sentry_sdk.start_span(op="db", name="SELECT 1"):
                    scope.capture_message("inside the span")
                sentry_sdk.logger.warning("slow job")
            trace_id = txn.trace_id
        with httpx.Client(base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}) as api:
            r = api.get(f"organizations/local/trace/{trace_id}/")
            _check(spec, r, f"organizations/{O}/trace/{{trace_id}}/")
            (root,) = r.json()
            assert (root["op"], root["is_transaction"], root["transaction"]) == ("task", True, "job")
            (child,) = root["children"]
            assert child["op"] == "db" and child["parent_span_id"] == root["event_id"]
            assert [e["description"] for e in child["errors"]] == ["inside the span"]
            meta = api.get(f"organizations/local/trace-meta/{trace_id}/")
            _check(spec, meta, f"organizations/{O}/trace-meta/{{trace_id}}/")
            assert {k: meta.json()[k] for k in ("spansCount", "errorsCount", "logsCount")} == {
                "spansCount": 2, "errorsCount": 1, "logsCount": 1}
            logs = api.get("organizations/local/events/", params={
                "dataset": "logs", "field": ["message", "severity", "trace"], "query": "severity:warn"}).json()
            assert logs["data"] == [{"message": "slow job", "severity": "warn", "trace": trace_id}]  # sentry-sdk says warn
            assert api.get("organizations/local/trace/xyz/").status_code == 400


def test_time_series_count_what_was_stored(spec: dict[str, Any], tmp_path: Path) -> None:
    from tests._sdk import sending_to

    with LocalServer(tmp_path / "series") as srv:
        import sentry_sdk

        with sending_to(srv.dsn(), traces_sample_rate=1.0, environment="prod") as scope:
            for name in ("a", "a", "b"):
                with sentry_sdk.start_transaction(name=name, op="task"):
                    pass
            scope.capture_message("one")
            scope.capture_message("two")
        with httpx.Client(base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}) as api:
            r = api.get("organizations/local/events-timeseries/", params={
                "dataset": "spans", "yAxis": ["count()", "avg(span.duration)"], "query": "is_transaction:true",
                "statsPeriod": "1h", "interval": "5m"})
            _check(spec, r, f"organizations/{O}/events-timeseries/")
            counts, durations = r.json()["timeSeries"]
            assert sum(v["value"] for v in counts["values"]) == 3 and counts["meta"]["interval"] == 300_000
            assert durations["meta"]["valueUnit"] == "millisecond"
            r = api.get("organizations/local/events-timeseries/", params={
                "dataset": "spans", "yAxis": "count()", "groupBy": "transaction", "topEvents": "1",
                "query": "is_transaction:true", "statsPeriod": "1h"})
            _check(spec, r, f"organizations/{O}/events-timeseries/")
            top, other = r.json()["timeSeries"]
            assert top["groupBy"] == [{"key": "transaction", "value": "a"}] and other["meta"]["isOther"]
            assert [sum(v["value"] for v in s["values"]) for s in (top, other)] == [2, 1]
            stats = api.get("organizations/local/events-stats/", params={
                "dataset": "errors", "yAxis": "count()", "statsPeriod": "1h", "interval": "1h"}).json()
            assert sum(point[1][0]["count"] for point in stats["data"]) == 2
            assert api.get("organizations/local/events-stats/", params={
                "dataset": "errors", "yAxis": "p95(x)", "statsPeriod": "1h"}).status_code == 400


def test_project_update_and_teams_match_schema(spec: dict[str, Any], tmp_path: Path) -> None:
    with LocalServer(tmp_path / "proj") as srv, httpx.Client(
            base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}) as api:
        r = api.put("projects/local/notebook/", json={"name": "Notebook", "platform": "python"})
        _check(spec, r, f"projects/{O}/{P}/", "put")
        assert (r.json()["name"], r.json()["slug"]) == ("Notebook", "notebook")
        teams = api.get("projects/local/notebook/teams/")
        _check(spec, teams, f"projects/{O}/{P}/teams/")
        assert [t["slug"] for t in teams.json()] == ["local"]
        api.post("teams/local/local/projects/", json={"name": "other"})
        assert api.put("projects/local/notebook/", json={"slug": "other"}).status_code == 409
        assert api.put("projects/local/notebook/", json={"slug": "Bad Slug"}).status_code == 400
        assert api.put("projects/local/notebook/", json={"slug": "renamed"}).json()["slug"] == "renamed"
        assert api.get("projects/local/renamed/").status_code == 200
