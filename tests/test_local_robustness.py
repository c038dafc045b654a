"""Robustness of the local backend against what clients really send, over loopback HTTP.

Each test pins one reviewer finding: bad input is a 4xx with a one-sentence
``detail`` (or is repaired and stored, as Relay does), never a 500, never a
stored row that breaks later reads, and never a traceback on stderr.
"""

from __future__ import annotations

import gzip
import json
import logging
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentry_ipy.errors import ConfigurationError
from sentry_ipy.local import LocalServer
from sentry_ipy.local.api import _orgs_api as _routes_orgs


def _auth(srv: LocalServer) -> dict[str, str]:
    return {"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={srv.store.keys(1)[0]['public_key']}"}


def _envelope(*items: tuple[dict[str, Any], Any], header: dict[str, Any] | None = None) -> bytes:
    out = json.dumps(header or {}).encode() + b"\n"
    for item_header, payload in items:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        out += json.dumps(item_header).encode() + b"\n" + body + b"\n"
    return out


def _post(srv: LocalServer, body: bytes, path: str = "/api/1/envelope/", **headers: str) -> httpx.Response:
    return httpx.post(f"{srv.url}{path}", content=body, headers={**_auth(srv), **headers}, timeout=60)


def _event(**fields: Any) -> tuple[dict[str, Any], Any]:
    return {"type": "event"}, {"message": "disk full", "level": "error", **fields}


# -- 1. timestamps ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("timestamp", "kind"),
    [
        (time.time() * 1000, "future_timestamp"),
        (1e300, "future_timestamp"),
        (-1e12, "past_timestamp"),
        ("2020-01-01T00:00:00Z", "past_timestamp"),
        (time.time() - 90 * 86400, "past_timestamp"),
        ("yesterday", "invalid_data"),
        (True, "invalid_data"),
    ],
    # Stable ids: two of the values come from the clock, and parallel workers must collect alike.
    ids=["milliseconds", "huge", "negative", "old-iso", "ninety-days-ago", "word", "bool"],
)
def test_bad_timestamps_are_replaced_by_received_time(srv: LocalServer, api: httpx.Client,
                                                      timestamp: Any, kind: str) -> None:
    assert _post(srv, _envelope(_event())).status_code == 200
    before = time.time()
    r = _post(srv, _envelope(_event(timestamp=timestamp)))
    assert r.status_code == 200, r.text
    stored = srv.store.events()[-1]
    assert before - 1 <= stored["timestamp"] <= time.time() + 1
    assert {"type": kind, "name": "timestamp", "value": timestamp} in stored["errors"]
    assert api.get("organizations/local/issues/").status_code == 200
    detail = api.get("organizations/local/issues/NOTEBOOK-1/")
    assert detail.status_code == 200 and detail.json()["count"] == "2"
    event = api.get(f"organizations/local/issues/NOTEBOOK-1/events/{r.json()['id']}/").json()
    assert event["errors"][0]["type"] == kind


def test_nan_timestamp_and_clock_drift(srv: LocalServer) -> None:
    payload = b'{"message": "m", "timestamp": NaN, "extra": {"x": Infinity}}'
    assert _post(srv, _envelope(({"type": "event"}, payload))).status_code == 200
    stored = srv.store.events()[-1]  # JSON has no NaN: it decodes as null, i.e. "not sent"
    assert abs(stored["timestamp"] - time.time()) < 5 and stored["extra"] == {"x": None}
    sent_at = time.time() - 7200  # client clock two hours behind
    body = _envelope(_event(timestamp=sent_at - 5), header={"sent_at": sent_at})
    assert _post(srv, body).status_code == 200
    drifted = srv.store.events()[-1]
    assert abs(drifted["timestamp"] - (time.time() - 5)) < 5
    assert drifted["errors"][0]["type"] == "clock_drift"


def test_reads_heal_rows_stored_before_normalisation(srv: LocalServer, api: httpx.Client) -> None:
    assert _post(srv, _envelope(_event())).status_code == 200
    srv.store.execute("UPDATE events SET timestamp = 1e300, received = -1e12")
    srv.store.execute("UPDATE issues SET last_seen = 1e300, first_seen = -1e12")
    assert api.get("organizations/local/issues/", params={"statsPeriod": ""}).status_code == 200
    assert api.get("organizations/local/issues/NOTEBOOK-1/").status_code == 200
    assert api.get("organizations/local/issues/NOTEBOOK-1/events/latest/").status_code == 200


# -- 2. encodings and JSON types -----------------------------------------------------
def test_lone_surrogate_is_replaced_and_stored(srv: LocalServer, api: httpx.Client) -> None:
    body = _envelope(({"type": "event"}, b'{"message": "price \\ud83d", "tags": {"k\\udc00": "v"}}'))
    r = _post(srv, body)
    assert r.status_code == 200, r.text
    stored = srv.store.events()[-1]
    assert stored["message"] == "price \ufffd" and stored["tags"] == {"k\ufffd": "v"}
    assert api.get("organizations/local/issues/").json()[0]["title"] == "price \ufffd"


def test_wrong_json_types_are_repaired_not_500(srv: LocalServer) -> None:
    r = _post(srv, _envelope(_event(release={"v": 1}, level={"x": 1}, environment=5, user="bob")))
    assert r.status_code == 200, r.text
    stored = srv.store.events()[-1]
    assert "release" not in stored and stored["environment"] == "5"
    assert {e["name"] for e in stored["errors"]} == {"release", "level", "user"}
    report = {"discarded_events": [{"reason": "x", "category": "error", "quantity": "x"},
                                   {"reason": "y", "category": "error", "quantity": 10**30},
                                   {"reason": "ok", "category": "error", "quantity": 2}]}
    assert _post(srv, _envelope(({"type": "client_report"}, report))).status_code == 200
    assert [o["reason"] for o in srv.store.outcomes() if o["outcome"] == "client_discard"] == ["ok"]
    r = _post(srv, _envelope(_event()), path="/api/999999999999999999999999/envelope/")
    assert r.status_code == 404 and r.json()["detail"].startswith("Unknown project")
    r = _post(srv, _envelope(({"type": "session"}, {"sid": {"a": 1}, "attrs": {"release": "r"}})))
    assert r.status_code == 400 and "session item" in r.json()["detail"]


# -- 3. errors keep the connection and stay out of stderr ---------------------------------
def test_500_keeps_keep_alive_connection_and_logs_once(
    srv: LocalServer, api: httpx.Client, monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(*args: Any) -> Any:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(_routes_orgs, "org_shape", boom)
    with caplog.at_level(logging.ERROR, logger="sentry_ipy.local"):
        r = api.get("organizations/local/")
        assert r.status_code == 500 and "RuntimeError" in r.json()["detail"]
        for _ in range(3):  # the same keep-alive connection keeps working
            assert api.get("organizations/local/projects/").status_code == 200
    assert [rec.name for rec in caplog.records] == ["sentry_ipy.local"]
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "Exception in ASGI application" not in err


# -- 4. IDs and numbers out of range ---------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("organizations/local/issues/99999999999999999999999/", 404),
        ("organizations/local/issues/NOTEBOOK-ZZZZZZZZZZZZZZZZZZZZ/", 404),
        ("organizations/local/shortids/NOTEBOOK-ZZZZZZZZZZZZZZZZZZZZZZ/", 404),
        ("organizations/local/eventids/not-hex/", 404),
        ("organizations/99999999999999999999999/issues/", 404),
        ("projects/local/99999999999999999999999/events/", 404),
        ("organizations/local/stats_v2/?field=sum(quantity)&groupBy=outcome&statsPeriod=99999999d", 400),
        ("organizations/local/stats_v2/?field=sum(quantity)&groupBy=outcome&project=99999999999999999999", 400),
        ("organizations/local/issues/?statsPeriod=99999999999999999999d", 400),
        ("organizations/local/events/?field=title&project=99999999999999999999999", 403),
    ],
)
def test_huge_ids_and_periods_are_4xx(api: httpx.Client, path: str, status: int) -> None:
    r = api.get(path)
    assert r.status_code == status, r.text
    assert r.json()["detail"].endswith(".") or status == 404


# -- 5. search ------------------------------------------------------------------------
def test_discover_boolean_and_comparisons(srv: LocalServer, api: httpx.Client) -> None:
    for level in ("error", "info", "warning", "error"):
        assert _post(srv, _envelope(_event(message=f"{level} msg", level=level))).status_code == 200

    def titles(query: str, *fields: str) -> Any:
        r = api.get("organizations/local/events/", params={"field": list(fields or ("title",)), "query": query})
        return r.json()["data"] if r.status_code == 200 else (r.status_code, r.json()["detail"])

    assert len(titles("level:error OR level:info")) == 3
    assert len(titles("(level:error OR level:warning) !message:error*")) == 1
    assert len(titles("timestamp:>2020-01-01 timestamp:<=-0s")) == 4
    assert titles("count():>1", "title", "count()") == [{"title": "error msg", "count()": 2}]
    assert titles("count():>abc")[0] == 400
    assert titles("timestamp:>garbage")[0] == 400
    assert titles("(level:error")[0] == 400
    assert titles("OR level:error")[0] == 400


def test_issue_search_tags_is_and_assigned(srv: LocalServer, api: httpx.Client) -> None:
    assert _post(srv, _envelope(_event(tags={"region": "eu"}))).status_code == 200
    assert _post(srv, _envelope(_event(message="other", tags=[["region", "us"]]))).status_code == 200

    def search(query: str) -> Any:
        r = api.get("organizations/local/issues/", params={"query": query})
        return [i["title"] for i in r.json()] if r.status_code == 200 else (r.status_code, r.json()["detail"])

    assert search("region:eu") == ["disk full"]
    assert search("!region:eu") == ["other"]
    assert search("bogus:thing") == []
    assert sorted(search("has:region")) == ["disk full", "other"]
    assert search("assigned:me") == [] and search("is:assigned") == []
    assert len(search("is:unassigned times_seen:>=1 age:-1h firstSeen:>2020-01-01")) == 2
    status, detail = search("is:bogus")
    assert status == 400 and detail.startswith("Invalid is: value 'bogus'; use unresolved")
    assert search("region:eu OR region:us")[0] == 400
    assert search("times_seen:>abc")[0] == 400


# -- 6. size limits ---------------------------------------------------------------------
def test_gzip_bomb_and_big_event_get_413(srv: LocalServer) -> None:
    bomb = gzip.compress(b'{}\n{"type":"attachment"}\n' + b"\0" * (101 * 1024 * 1024), 1)
    r = _post(srv, bomb, **{"Content-Encoding": "gzip", "X-Sentry-Auth": "Sentry sentry_key=" + "0" * 32})
    assert r.status_code == 401  # authenticated before anything is inflated
    r = _post(srv, bomb, **{"Content-Encoding": "gzip"})
    assert r.status_code == 413 and "100 MiB" in r.json()["detail"]
    r = _post(srv, _envelope(_event(message="x" * (2 * 1024 * 1024))))
    assert r.status_code == 413 and "1 MiB per event" in r.json()["detail"]
    r = _post(srv, json.dumps({"message": "x" * (2 * 1024 * 1024)}).encode(), path="/api/1/store/")
    assert r.status_code == 413
    assert [(o["outcome"], o["reason"]) for o in srv.store.outcomes()] == [("invalid", "too_large")] * 3
    assert _post(srv, gzip.compress(_envelope(_event()))[:-8], **{"Content-Encoding": "gzip"}).status_code == 400


# -- 7. start-up errors ---------------------------------------------------------------------
def test_start_errors_are_one_configuration_sentence(tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ConfigurationError, match=f"Port {port} on 127.0.0.1 is in use; .*--port 0"):
            LocalServer(tmp_path / "a", port=port).start()
    finally:
        taken.close()
    with pytest.raises(ConfigurationError, match="out of range"):
        LocalServer(tmp_path / "b", port=70000).start()
    with pytest.raises(ConfigurationError, match="Cannot listen on host 'no such host.invalid'"):
        LocalServer(tmp_path / "c", host="no such host.invalid").start()
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ConfigurationError, match=f"{afile} .*SENTRY_IPY_DATA_DIR"):
        LocalServer(afile)
    with pytest.raises(ConfigurationError, match="SENTRY_IPY_DATA_DIR"):
        LocalServer(afile / "sub").start()


def test_web_api_bodies_with_surrogates_are_stored(api: httpx.Client) -> None:
    body = b'{"version": "v\\ud83d", "projects": ["notebook"]}'
    r = api.post("organizations/local/releases/", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["version"] == "v\ufffd"
