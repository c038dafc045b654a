"""Identity, bulk issue changes, legacy issue paths and replay counts of the local Web API."""

from __future__ import annotations

import httpx

from sentry_ipy.local import LocalServer


def _seed(srv: LocalServer, *messages: str) -> list[str]:
    key = srv.store.keys(1)[0]["public_key"]
    for text in messages:
        httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json={"message": text, "level": "error"})
    return [str(i["id"]) for i in srv.store.issues()]


def test_identity_names_the_local_user_and_scopes(srv: LocalServer, api: httpx.Client) -> None:
    index = api.get("").json()
    assert index["version"] == "0" and "project:releases" in index["auth"]["scopes"]
    assert index["user"]["email"] == "local@localhost"
    assert api.get("auth/").json()["username"] == "local"
    assert httpx.get(srv.url + "/api/0/auth/").status_code == 401


def test_bulk_update_by_id_and_by_query_then_delete(srv: LocalServer, api: httpx.Client) -> None:
    first, second, third = _seed(srv, "one", "two", "three")
    r = api.put("projects/local/notebook/issues/", params=[("id", first), ("id", second)], json={"status": "resolved"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    assert {i["id"]: i["status"] for i in srv.store.issues()} == {
        int(first): "resolved", int(second): "resolved", int(third): "unresolved"}
    r = api.put("organizations/local/issues/", params={"query": "is:resolved"}, json={"status": "ignored"})
    assert r.json()["substatus"] == "archived_until_escalating"
    assert [i["status"] for i in srv.store.issues()] == ["ignored", "ignored", "unresolved"]
    assert api.put("projects/local/notebook/issues/", params={"id": "999"}, json={"status": "resolved"}).status_code == 204
    assert api.put("projects/local/notebook/issues/", params={"id": "x"}, json={}).status_code == 400
    listed = api.get("projects/local/notebook/issues/", params={"query": "is:ignored"}).json()
    assert sorted(i["id"] for i in listed) == sorted([first, second])
    assert api.delete("projects/local/notebook/issues/", params={"id": first}).status_code == 204
    assert [str(i["id"]) for i in srv.store.issues()] == [second, third]
    assert api.get(f"organizations/local/issues/{first}/").status_code == 404


def test_legacy_issue_paths_answer_like_the_org_scoped_ones(srv: LocalServer, api: httpx.Client) -> None:
    (issue,) = _seed(srv, "legacy")
    assert api.get(f"issues/{issue}/").json() == api.get(f"organizations/local/issues/{issue}/").json()
    events = api.get(f"issues/{issue}/events/").json()
    assert [e["message"] for e in events] == ["legacy"]
    assert api.put(f"issues/{issue}/", json={"status": "resolved"}).json()["status"] == "resolved"
    assert api.get("issues/424242/").status_code == 404


def test_replay_count_follows_error_ids(srv: LocalServer, api: httpx.Client) -> None:
    import json
    import time

    key = srv.store.keys(1)[0]["public_key"]
    event_id = httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json={"message": "in a replay"}).json()["id"]
    (issue,) = [str(i["id"]) for i in srv.store.issues()]
    replay = {"type": "replay_event", "replay_id": "c" * 32, "segment_id": 0, "timestamp": time.time(),
              "error_ids": [event_id], "trace_ids": [], "urls": []}
    httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}",
               content=b"\n".join([b"{}", b'{"type":"replay_event"}', json.dumps(replay).encode()]))
    query = {"query": f"issue.id:[{issue}]"}
    assert api.get("organizations/local/replay-count/", params=query).json() == {issue: 1}
    assert api.get("organizations/local/replay-count/", params={**query, "returnIds": "true"}).json() == {issue: ["c" * 32]}
    assert api.get("organizations/local/replay-count/", params={"query": "issue.id:[77]"}).json() == {}


def test_a_deleted_release_comes_back_with_its_next_event(srv: LocalServer, api: httpx.Client) -> None:
    """Ingest remembers the releases it linked; deleting one must not leave it unknown for later events."""
    key = srv.store.keys(1)[0]["public_key"]
    store_url = f"{srv.url}/api/1/store/?sentry_key={key}"
    event = {"message": "hello", "level": "info", "release": "gone@1"}
    assert httpx.post(store_url, json=event).status_code == 200
    assert api.get("organizations/local/releases/gone@1/").status_code == 200
    # The message's issue started in the release, so Sentry refuses the delete until the issue is gone.
    assert api.delete("organizations/local/releases/gone@1/").status_code == 400
    issue = srv.store.issues()[0]["id"]
    assert api.delete("projects/local/notebook/issues/", params={"id": issue}).status_code == 204
    assert api.delete("organizations/local/releases/gone@1/").status_code == 204
    assert api.get("organizations/local/releases/gone@1/").status_code == 404
    assert httpx.post(store_url, json={**event, "message": "again"}).status_code == 200
    again = api.get("organizations/local/releases/gone@1/")
    assert again.status_code == 200 and again.json()["version"] == "gone@1"
