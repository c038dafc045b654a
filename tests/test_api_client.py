"""SentryClient over real HTTP: a scripted loopback server plays Sentry's edge cases.

The server returns queued responses and records every raw request, so the
tests can count requests, read the exact path that went over the wire, and
check the waits the client asked for (``sleep`` is a recorder, not a wait).
"""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest

from sentry_ipy.api import SentryClient, next_cursor, parse_link_header
from sentry_ipy.config import Settings
from sentry_ipy.errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    UnsupportedFeatureError,
)
from tests._scripted import TOKEN, Reply, ScriptedServer, scripted_client
from tests._scripted import server  # noqa: F401  (fixture)


@pytest.fixture()
def waits() -> list[float]:
    return []


def page(start: int, n: int) -> list[dict[str, Any]]:
    return [{"id": str(i)} for i in range(start, start + n)]


# ---------------------------------------------------------------- pagination
@pytest.mark.parametrize("style", ["standard", "unquoted", "reordered", "spaced", "no-results"])
def test_paginate_follows_every_page(server: ScriptedServer, waits: list[float], style: str) -> None:
    for i in range(5):
        cursor = f"0:{(i + 1) * 100}:0" if i < 4 else None
        server.queue(Reply(body=page(i * 100, 100 if i < 4 else 37),
                           headers={"Link": server.link(cursor, style)}))
    with scripted_client(server.url, waits) as client:
        rows = list(client.paginate("organizations", "acme", "projects"))
    assert [r["id"] for r in rows] == [str(i) for i in range(437)]
    assert len(server.requests) == 5
    assert "cursor" not in server.requests[0].path
    for i, seen in enumerate(server.requests[1:], start=1):
        assert f"cursor=0%3A{i * 100}%3A0" in seen.path
        assert "per_page=100" in seen.path
    assert waits == []


def test_link_parser_variants() -> None:
    assert next_cursor(None) is None
    assert next_cursor('<u>; rel="next"; results="false"; cursor="0:100:0"') is None
    assert next_cursor('<u>; rel="next"; results="true"; cursor="1700000000:0:0"') == "1700000000:0:0"
    assert next_cursor("garbage, more garbage") is None
    entries = parse_link_header('<a>; rel="previous"; results="false"; cursor="0:0:1", <b>; rel="next"')
    assert [e.rel for e in entries] == ["previous", "next"] and entries[1].cursor is None


def test_collect_stops_at_limit_and_reports_truncation(server: ScriptedServer, waits: list[float]) -> None:
    for i in range(5):
        server.queue(Reply(body=page(i * 100, 100), headers={"Link": server.link(f"0:{(i + 1) * 100}:0")}))
    with scripted_client(server.url, waits) as client:
        rows, truncated = client.collect("organizations", "acme", "issues", limit=150,
                                         page_size_param="limit", params={"project": "1"})
    assert len(rows) == 150 and truncated is True
    assert len(server.requests) == 2
    assert all("limit=100" in r.path and "project=1" in r.path for r in server.requests)


def test_collect_small_limit_sets_page_size(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(body=page(0, 7), headers={"Link": server.link("0:7:0")}))
    with scripted_client(server.url, waits) as client:
        rows, truncated = client.collect("x", limit=7)
    assert len(rows) == 7 and truncated is True
    assert len(server.requests) == 1 and "per_page=7" in server.requests[0].path


def test_collect_exact_end_is_not_truncated(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(body=page(0, 100), headers={"Link": server.link("0:100:0")}),
                 Reply(body=page(100, 50), headers={"Link": server.link(None)}))
    progress: list[tuple[int, int | None, str]] = []
    with scripted_client(server.url, waits) as client:
        rows, truncated = client.collect("x", limit=150, progress=lambda *a: progress.append(a))
    assert len(rows) == 150 and truncated is False
    assert progress[0] == (100, 150, "page 1")


def test_paginate_unwraps_data(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(body={"data": page(0, 3), "meta": {}}, headers={"Link": server.link(None)}))
    with scripted_client(server.url, waits) as client:
        assert len(list(client.paginate("organizations", "acme", "replays", unwrap="data"))) == 3


def test_paginate_rejects_non_list(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(body={"detail": "odd"}))
    with scripted_client(server.url, waits) as client, pytest.raises(UnexpectedResponseError,
                                                                 match="where a list was expected"):
        list(client.paginate("x"))


# -------------------------------------------------------------------- retries
def test_429_retry_after_then_success(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(429, {"detail": "You are attempting to use this endpoint too frequently."},
                       headers={"Retry-After": "2"}), Reply(body={"ok": True}))
    with scripted_client(server.url, waits) as client:
        assert client.get("x") == {"ok": True}
    assert len(server.requests) == 2
    assert len(waits) == 1 and 2.0 <= waits[0] <= 2.25


def test_429_rate_limit_reset_header_then_success(server: ScriptedServer, waits: list[float]) -> None:
    reset = int(time.time()) + 3
    server.queue(Reply(429, {"detail": "slow down"}, headers={"X-Sentry-Rate-Limit-Reset": str(reset)}),
                 Reply(body=[1]))
    with scripted_client(server.url, waits) as client:
        assert client.get("x") == [1]
    assert len(waits) == 1 and 1.0 <= waits[0] <= 3.3


def test_429_exhausted_raises_rate_limit_error(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(*[Reply(429, {"detail": "slow down"}, headers={"Retry-After": "1"}) for _ in range(3)])
    with scripted_client(server.url, waits, max_retries=2) as client, pytest.raises(RateLimitError) as info:
        client.get("organizations", "acme", "issues")
    assert info.value.retry_after == pytest.approx(1.0)
    assert "rate limiting GET /api/0/organizations/acme/issues/" in str(info.value)
    assert len(waits) == 2


def test_5xx_then_success(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(503, {"detail": "busy"}), Reply(502, raw=b"Bad Gateway"), Reply(body={"ok": 1}))
    with scripted_client(server.url, waits) as client:
        assert client.get("x") == {"ok": 1}
    assert len(server.requests) == 3 and len(waits) == 2 and all(0 < w <= 8 for w in waits)


def test_5xx_exhausted_and_post_not_retried(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(500, {"detail": "boom"}))
    with scripted_client(server.url, waits) as client, pytest.raises(ServerError, match="internal error.*boom"):
        client.post("organizations", "acme", "releases", json={"version": "1"})
    assert len(server.requests) == 1 and waits == []


def test_timeout_is_a_transport_error(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(body={}, delay=1.5), Reply(body={}, delay=1.5))
    with scripted_client(server.url, waits, timeout=0.3, max_retries=1) as client:
        with pytest.raises(TransportError, match=r"did not answer within 0\.3 s") as info:
            client.get("x")
    assert TOKEN not in str(info.value)
    assert len(waits) == 1  # one retry of the GET, then the sentence


def test_connection_refused_is_a_transport_error(waits: list[float]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with scripted_client(f"http://127.0.0.1:{port}", waits, max_retries=2) as client:
        with pytest.raises(TransportError, match=r"Could not connect to Sentry at http://127\.0\.0\.1"):
            client.get("x")
    assert len(waits) == 2


# --------------------------------------------------------------- error texts
@pytest.mark.parametrize(("status", "kind", "pattern"), [
    (401, AuthenticationError, r"rejected the auth token \(401: Invalid token\).*SENTRY_AUTH_TOKEN"),
    (403, PermissionDeniedError, r"may not do GET /api/0/organizations/acme/issues/ .*needs the "
                                 r"event:read scope"),
    (404, NotFoundError, r"found nothing at GET /api/0/organizations/acme/issues/ .*organization 'acme'"),
    (409, ConflictError, r"already exists \(409: Invalid token\)"),
    (400, APIError, r"refused GET .* \(400: Invalid token\); check the arguments"),
])
def test_error_statuses(server: ScriptedServer, waits: list[float], status: int, kind: type,
                        pattern: str) -> None:
    server.queue(Reply(status, {"detail": "Invalid token"}))
    with scripted_client(server.url, waits) as client, pytest.raises(kind, match=pattern) as info:
        client.get("organizations", "acme", "issues", scope="event:read")
    assert info.value.status == status and info.value.detail == "Invalid token"


def test_serializer_errors_are_summarised(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(400, {"name": ["This field is required."], "slug": ["Too long."]}))
    with scripted_client(server.url, waits) as client, pytest.raises(APIError,
                                                                 match="name: This field is required.; slug"):
        client.post("teams", "acme", "core", "projects", json={})


def test_malformed_json(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(raw=b'{"id": "1", "tit'))
    with scripted_client(server.url, waits) as client, pytest.raises(UnexpectedResponseError,
                                                                 match="malformed JSON"):
        client.get("x")


def test_html_page(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(raw=b"<!DOCTYPE html><html><body>Login</body></html>",
                       headers={"Content-Type": "text/html; charset=utf-8"}))
    with scripted_client(server.url, waits) as client, pytest.raises(UnexpectedResponseError,
                                                                 match="HTML page instead of JSON"):
        client.get("x")


def test_html_error_page_status(server: ScriptedServer, waits: list[float]) -> None:
    """A 404 web page from a server that never spoke JSON (the probe gets a page too) is no Sentry."""
    page = Reply(404, raw=b"<html><body>Not Found</body></html>", headers={"Content-Type": "text/html"})
    server.queue(page, page)
    with scripted_client(server.url, waits) as client, pytest.raises(UnexpectedResponseError) as info:
        client.get("x")
    assert info.value.detail is None and "<html" not in str(info.value)
    assert "not a Sentry server" in str(info.value)
    assert [r.path for r in server.requests] == ["/api/0/x/", "/api/0/organizations/"]


@pytest.mark.parametrize("status", [200, 403, 404])
def test_web_page_on_a_json_server_is_a_missing_route(server: ScriptedServer, waits: list[float],
                                                      status: int) -> None:
    """After JSON answers, a catch-all page (any status) names the missing route, not a scope or ID."""
    server.queue(Reply(body=[{"slug": "acme"}]),
                 Reply(status, raw=b"<!doctype html><p>Sign in</p>",
                       headers={"Content-Type": "text/html; charset=utf-8"}))
    with scripted_client(server.url, waits) as client:
        client.get("organizations")
        with pytest.raises(UnsupportedFeatureError) as info:
            client.post("projects", "acme", "web", "rules", json={})
    text = str(info.value)
    assert text == (f"This server ({server.url}) has no API route POST /api/0/projects/acme/web/rules/ "
                    f"(it answered {status} with a web page), so it does not offer that feature.")
    assert not isinstance(info.value, (NotFoundError, PermissionDeniedError))


def test_first_web_page_is_checked_against_the_organizations_list(server: ScriptedServer,
                                                                 waits: list[float]) -> None:
    """No JSON seen yet: one probe of organizations/ tells a missing route from a wrong URL."""
    server.queue(Reply(404, raw=b"<html>nope</html>", headers={"Content-Type": "text/html"}),
                 Reply(body=[{"slug": "acme"}]))
    with scripted_client(server.url, waits) as client, pytest.raises(UnsupportedFeatureError):
        client.get("organizations", "acme", "shortids", "X-1")
    assert [r.path for r in server.requests] == ["/api/0/organizations/acme/shortids/X-1/",
                                                 "/api/0/organizations/"]


def test_405_is_a_missing_route(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(405, {"detail": 'Method "GET" not allowed.'}))
    with scripted_client(server.url, waits) as client, pytest.raises(UnsupportedFeatureError,
                                                                 match=r"has no API route GET .*405"):
        client.get("organizations", "acme", "issues", "7")


def test_pydantic_detail_lists_read_as_one_sentence(server: ScriptedServer, waits: list[float]) -> None:
    expected = ", ".join(f"'{v}'" for v in ("last_seen", "-last_seen", "first_seen", "-first_seen"))
    detail = [{"type": "enum", "loc": ["query", "sort"], "msg": f"Input should be {expected}",
               "input": "date", "ctx": {"expected": expected}},
              {"type": "int_parsing", "loc": ["query", "limit"], "msg": "Input should be a valid integer"}]
    server.queue(Reply(422, {"detail": detail}), Reply(422, {"detail": [{"loc": ["body", "x"],
                                                                         "msg": "word " * 100}]}))
    with scripted_client(server.url, waits) as client:
        with pytest.raises(APIError) as info:
            client.get("organizations", "acme", "issues")
        with pytest.raises(APIError) as long:
            client.get("organizations", "acme", "issues")
    assert info.value.detail == (f"sort: Input should be {expected}; limit: Input should be a valid "
                                 "integer")
    assert "[{" not in str(info.value) and "'type'" not in str(info.value)
    assert long.value.detail is not None and long.value.detail.endswith("word …")
    assert len(long.value.detail) <= 302


# ------------------------------------------------------------------ encoding
def test_path_segments_are_percent_encoded(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(body={}), Reply(body={}))
    with scripted_client(server.url, waits) as client:
        client.get("organizations", "acme", "releases", "1.0 +build/2?x=1#f")
        client.get("projects", "acme", "..", "keys")
    assert server.requests[0].path == "/api/0/organizations/acme/releases/1.0%20%2Bbuild%2F2%3Fx%3D1%23f/"
    assert server.requests[1].path == "/api/0/projects/acme/%2E%2E/keys/"


def test_token_is_sent_as_header_and_never_shown(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(401, {"detail": f"token {TOKEN} is revoked"}),
                 Reply(403, {"detail": f"{TOKEN} lacks scope"}))
    client = scripted_client(server.url, waits)
    errors = []
    for _ in range(2):
        with pytest.raises(APIError) as info:
            client.get("x")
        errors.append(info.value)
    client.close()
    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert all(TOKEN not in r.path for r in server.requests)
    shown = [repr(client), repr(client.settings), *(str(e) for e in errors), *(e.url for e in errors)]
    assert all(TOKEN not in text for text in shown)


# -------------------------------------------------------------------- regions
def _region_transport(region_url: str, seen: list[str]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/api/0/organizations/acme/" and request.url.host == "sentry.io":
            return httpx.Response(200, json={"slug": "acme", "links": {"regionUrl": region_url}})
        return httpx.Response(200, json=[{"id": "1"}])

    return httpx.MockTransport(handler)


def test_region_discovery_routes_to_the_org_region(waits: list[float]) -> None:
    seen: list[str] = []
    settings = Settings(url="https://sentry.io", auth_token=TOKEN, org="acme")
    with SentryClient(settings, transport=_region_transport("https://de.sentry.io", seen),
                      sleep=waits.append) as client:
        client.get("organizations", "acme", "projects")
        client.get("organizations", "acme", "issues")
        assert client.base_url == "https://de.sentry.io/api/0/"
        assert client.web_link("issues/1/") == "https://acme.sentry.io/issues/1/"
    assert seen == ["https://sentry.io/api/0/organizations/acme/",
                    "https://de.sentry.io/api/0/organizations/acme/projects/",
                    "https://de.sentry.io/api/0/organizations/acme/issues/"]


def test_region_discovery_ignores_foreign_hosts(waits: list[float]) -> None:
    seen: list[str] = []
    settings = Settings(url="https://sentry.io", auth_token=TOKEN, org="acme")
    with SentryClient(settings, transport=_region_transport("https://evil.example", seen),
                      sleep=waits.append) as client:
        client.get("organizations", "acme", "projects")
    assert seen[-1] == "https://sentry.io/api/0/organizations/acme/projects/"


def test_self_hosted_has_no_region_lookup(server: ScriptedServer, waits: list[float]) -> None:
    server.queue(Reply(body=[]))
    with scripted_client(server.url, waits) as client:
        client.get("organizations", "acme", "projects")
        assert client.web_link("issues/5/") == f"{server.url}/organizations/acme/issues/5/"
    assert [r.path for r in server.requests] == ["/api/0/organizations/acme/projects/"]
