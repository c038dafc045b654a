"""Ingest tests: sentry-sdk itself sends to the local backend over loopback."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import httpx
import pytest
import sentry_sdk

from sentry_ipy.errors import ConfigurationError
from sentry_ipy.local import LocalServer
from tests._sdk import sending_to


def _fail(n: int) -> None:
    raise ValueError(f"bad value {n}")


def test_sdk_errors_messages_transactions_sessions(srv: LocalServer, api: httpx.Client) -> None:
    with sending_to(srv.dsn(), release="nb@1.0", environment="dev", traces_sample_rate=1.0) as scope:
        scope.set_user({"id": "u1", "email": "a@example.com"})
        for n in range(3):
            try:
                _fail(n)
            except ValueError as exc:
                sentry_sdk.capture_exception(exc)
        sentry_sdk.capture_message("job 17 failed", level="warning")
        sentry_sdk.capture_message("job 18 failed", level="warning")
        with sentry_sdk.start_transaction(name="cell-1", op="notebook.cell"):
            with sentry_sdk.start_span(op="db", name="select 1"):
                pass
        scope.start_session()
        scope.end_session()

    issues = srv.store.issues()
    assert [(i["title"], i["times_seen"]) for i in issues] == [
        ("ValueError: bad value 0", 3),
        ("job 17 failed", 2),
    ]
    assert [i["short_seq"] for i in issues] == [1, 2]
    errors = srv.store.events(type="error")
    assert len(errors) == 3 and errors[0]["exception"]["values"][-1]["type"] == "ValueError"
    assert errors[0]["release"] == "nb@1.0"
    txns = srv.store.transactions()
    assert len(txns) == 1 and txns[0]["transaction"] == "cell-1"
    assert txns[0]["spans"][0]["op"] == "db"
    sessions = srv.store.sessions()
    assert sessions and sessions[-1]["attrs"]["release"] == "nb@1.0"
    outcomes = srv.store.outcomes()
    assert sum(o["quantity"] for o in outcomes if o["category"] == "error") == 5
    assert sum(o["quantity"] for o in outcomes if o["category"] == "transaction") == 1

    listed = api.get("organizations/local/issues/").json()
    assert {i["shortId"] for i in listed} == {"NOTEBOOK-1", "NOTEBOOK-2"}
    detail = api.get("organizations/local/issues/notebook-1/").json()
    assert detail["count"] == "3" and detail["userCount"] == 1
    assert detail["culprit"].endswith("in _fail")
    release = api.get("organizations/local/releases/nb@1.0/").json()
    assert release["projects"][0]["hasHealthData"] is True
    assert release["newGroups"] == 2


def _envelope(*items: tuple[dict, dict | bytes]) -> bytes:
    parts = [json.dumps({"sent_at": "2024-01-01T00:00:00Z"}).encode()]
    for headers, payload in items:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        parts.append(json.dumps({**headers, "length": len(body)}).encode())
        parts.append(body)
    return b"\n".join(parts) + b"\n"


def _auth(srv: LocalServer) -> dict[str, str]:
    key = srv.store.keys(1)[0]["public_key"]
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}, sentry_client=test/1"}


def test_envelope_gzip_fingerprint_and_regression(srv: LocalServer, api: httpx.Client) -> None:
    event = {"event_id": "a" * 32, "message": "custom", "fingerprint": ["my-group"], "level": "error"}
    body = gzip.compress(_envelope(({"type": "event"}, event)))
    r = httpx.post(
        f"{srv.url}/api/1/envelope/", content=body, headers={**_auth(srv), "Content-Encoding": "gzip"}
    )
    assert r.status_code == 200 and r.json() == {"id": "a" * 32}
    issue = srv.store.issues()[0]
    r = api.put(f"organizations/local/issues/{issue['id']}/", json={"status": "resolved"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    other = {"event_id": "b" * 32, "message": "different text", "fingerprint": ["my-group"]}
    r = httpx.post(f"{srv.url}/api/1/envelope/", content=_envelope(({"type": "event"}, other)), headers=_auth(srv))
    assert r.status_code == 200
    again = api.get(f"organizations/local/issues/{issue['id']}/").json()
    assert again["status"] == "unresolved" and again["substatus"] == "regressed" and again["count"] == "2"


def test_newline_items_client_report_and_replay(srv: LocalServer, api: httpx.Client) -> None:
    now = time.time()
    report = {"timestamp": now, "discarded_events": [{"reason": "sample_rate", "category": "transaction", "quantity": 4}]}
    replay = {"type": "replay_event", "replay_id": "c" * 32, "segment_id": 0, "timestamp": now,
              "replay_start_timestamp": now - 30, "urls": ["http://x/"], "error_ids": [], "trace_ids": [],
              "replay_type": "session", "environment": "dev"}
    lines = [b"{}", json.dumps({"type": "client_report"}).encode(), json.dumps(report).encode(),
             json.dumps({"type": "replay_event"}).encode(), json.dumps(replay).encode(),
             json.dumps({"type": "replay_recording"}).encode(), b"ignored"]
    key = srv.store.keys(1)[0]["public_key"]
    r = httpx.post(f"{srv.url}/api/1/envelope/?sentry_key={key}", content=b"\n".join(lines))
    assert r.status_code == 200, r.text
    discards = [o for o in srv.store.outcomes() if o["outcome"] == "client_discard"]
    assert [(o["category"], o["reason"], o["quantity"]) for o in discards] == [("transaction", "sample_rate", 4)]
    data = api.get("organizations/local/replays/", params={"statsPeriod": "1d"}).json()["data"]
    assert data[0]["id"] == "c" * 32 and data[0]["duration"] == 30 and data[0]["urls"] == ["http://x/"]
    one = api.get(f"organizations/local/replays/{'c' * 8}-{'c' * 4}-{'c' * 4}-{'c' * 4}-{'c' * 12}/")
    assert one.status_code == 200 and one.json()["data"]["count_segments"] == 1


def test_ingest_errors(srv: LocalServer) -> None:
    r = httpx.post(f"{srv.url}/api/1/envelope/", content=_envelope(({"type": "event"}, {"message": "x"})),
                   headers={"X-Sentry-Auth": "Sentry sentry_key=" + "0" * 32})
    assert r.status_code == 401 and "detail" in r.json()
    r = httpx.post(f"{srv.url}/api/99/envelope/", content=b"{}\n", headers=_auth(srv))
    assert r.status_code == 404
    r = httpx.post(f"{srv.url}/api/1/envelope/", content=_envelope(({"type": "event"}, b"{not json")), headers=_auth(srv))
    assert r.status_code == 400 and "not valid JSON" in r.json()["detail"]
    assert any(o["outcome"] == "invalid" for o in srv.store.outcomes())
    r = httpx.post(f"{srv.url}/api/1/store/", json={"message": "legacy store"}, headers=_auth(srv))
    assert r.status_code == 200 and len(r.json()["id"]) == 32
    assert srv.store.events()[-1]["message"] == "legacy store"


def test_restart_keeps_token_keys_and_issues(tmp_path: Path) -> None:
    with LocalServer(tmp_path) as first:
        token, dsn = first.token, first.dsn()
        httpx.post(f"{first.url}/api/1/store/", json={"message": "persist me"}, headers=_auth(first))
    assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
    with LocalServer(tmp_path) as second:
        assert second.token == token
        assert second.dsn().split("@")[0] == dsn.split("@")[0]
        r = httpx.get(f"{second.url}/api/0/organizations/local/issues/", headers={"Authorization": f"Bearer {token}"})
        assert [i["title"] for i in r.json()] == ["persist me"]


def test_bind_failure_is_clear(srv: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="is in use; stop the other process"):
        LocalServer(tmp_path / "other", port=int(srv.url.rsplit(":", 1)[1])).start()


INVALID_RELEASES = [".", "..", "a/b", "", "a\nb", "a\tb", " 1.0", "1.0 ", "x" * 201]


def test_invalid_release_names_are_dropped_like_relay(srv: LocalServer, api: httpx.Client) -> None:
    """Releases create_release refuses never come in through ingest: the event keeps no release."""
    for n, bad in enumerate(INVALID_RELEASES):
        r = httpx.post(f"{srv.url}/api/1/envelope/", headers=_auth(srv), content=_envelope(
            ({"type": "event"}, {"message": f"bad release {n}", "release": bad})))
        assert r.status_code == 200, (bad, r.text)
    events = srv.store.events()
    assert len(events) == len(INVALID_RELEASES)
    for bad, event in zip(INVALID_RELEASES, events, strict=True):
        assert "release" not in event
        assert {"type": "invalid_data", "name": "release", "value": bad} in event["errors"]
    # A session with such a release is dropped (an invalid outcome); the event sent with it still counts.
    session = {"sid": "5" * 32, "init": True, "status": "exited", "started": "2024-01-01T00:00:00Z",
               "attrs": {"release": ".."}}
    aggregates = {"aggregates": [{"started": "2024-01-01T00:00:00Z", "exited": 3}], "attrs": {"release": "a/b"}}
    r = httpx.post(f"{srv.url}/api/1/envelope/", headers=_auth(srv), content=_envelope(
        ({"type": "event"}, {"message": "with a bad session", "release": "ok@1"}),
        ({"type": "session"}, session), ({"type": "sessions"}, aggregates)))
    assert r.status_code == 200, r.text
    assert srv.store.sessions() == []
    invalid = [o for o in srv.store.outcomes() if o["outcome"] == "invalid"]
    assert [(o["category"], o["reason"]) for o in invalid] == [("session", "invalid_release")] * 2
    assert [rel["version"] for rel in api.get("organizations/local/releases/").json()] == ["ok@1"]
    good = {**session, "sid": "6" * 32, "attrs": {"release": "ok@1"}}
    assert httpx.post(f"{srv.url}/api/1/envelope/", headers=_auth(srv),
                      content=_envelope(({"type": "session"}, good))).status_code == 200
    assert [s["sid"] for s in srv.store.sessions()] == ["6" * 32]


@pytest.mark.parametrize("endpoint", ["store", "envelope"])
def test_an_event_failing_midway_leaves_no_partial_rows(
    srv: LocalServer, monkeypatch: pytest.MonkeyPatch, endpoint: str
) -> None:
    """A bug after the issue was counted (here: the event row cannot be written) is a 400 and counts nothing."""
    from sentry_ipy.local.ingest import _pipeline

    def broken(*args: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(_pipeline, "insert_event", broken)
    event = {"message": "half written"}
    body = (json.dumps(event).encode() if endpoint == "store"
            else b'{}\n{"type":"event"}\n' + json.dumps(event).encode() + b"\n")
    r = httpx.post(f"{srv.url}/api/1/{endpoint}/", content=body, headers=_auth(srv))
    assert r.status_code == 400
    assert srv.store.issues() == [] and srv.store.events() == []
    assert [o["outcome"] for o in srv.store.outcomes()] == ["invalid"]
