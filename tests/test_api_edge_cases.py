"""A strange server gets one sentence, never a traceback, a hang or a wrong number.

Each case is something a reviewer saw go wrong against a real (scripted) HTTP
server on loopback: unparseable rate-limit headers, ``null`` where an object
belongs, redirects to login pages, answers dripped a byte at a time, cursors
that go round in circles, cut connections under a POST, absurd tool arguments.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sentry_ipy.api import SentryClient
from sentry_ipy.api._wire import retry_after
from sentry_ipy.errors import (
    RateLimitError,
    SentryIpyError,
    ToolInputError,
    TransportError,
    UnexpectedResponseError,
)
from sentry_ipy.tools import ToolContext, ToolResult, run_tool
from sentry_ipy.tools._registry import get_tool, parse_args
from sentry_ipy.tools.stats import stats_window
from tests._scripted import TOKEN, Reply, ScriptedServer, scripted_client, scripted_settings
from tests._scripted import server  # noqa: F401  (fixture)

PROJECT = {"id": "7", "slug": "backend", "name": "Backend", "platform": "python"}


@pytest.fixture()
def other() -> Iterator[ScriptedServer]:
    """A second scripted server: another origin."""
    with ScriptedServer() as srv:
        yield srv


def client_for(url: str, waits: list[float], **settings: Any) -> SentryClient:
    """``scripted_client`` retrying twice, not three times."""
    return scripted_client(url, waits, **{"max_retries": 2, **settings})


def run(server: ScriptedServer, name: str, args: dict[str, Any], **settings: Any) -> ToolResult:
    ctx = ToolContext(scripted_settings(server.url, **{"max_retries": 0, **settings}))
    try:
        return run_tool(name, args, ctx)
    finally:
        ctx.close()


# ------------------------------------------------------------ 1. rate limits
def test_unparseable_retry_after_falls_back_to_the_reset_header(server: ScriptedServer) -> None:
    reset = int(time.time()) + 3
    server.queue(Reply(429, {"detail": "slow"}, headers={"Retry-After": "soon",
                                                         "X-Sentry-Rate-Limit-Reset": str(reset)}),
                 Reply(body={"ok": 1}))
    waits: list[float] = []
    with client_for(server.url, waits) as client:
        assert client.get_object("x") == {"ok": 1}
    assert len(waits) == 1 and 1.0 <= waits[0] <= 3.3


@pytest.mark.parametrize("headers", [{"Retry-After": "soon"}, {"X-Sentry-Rate-Limit-Reset": "inf"},
                                     {"X-Sentry-Rate-Limit-Reset": "nan"},
                                     {"Retry-After": "1e400"}, {"Retry-After": "Mon, 99 Foo"}])
def test_garbage_rate_limit_headers_back_off_and_say_later(server: ScriptedServer,
                                                          headers: dict[str, str]) -> None:
    server.queue(*[Reply(429, {"detail": "slow"}, headers=headers) for _ in range(3)])
    waits: list[float] = []
    with client_for(server.url, waits) as client, pytest.raises(RateLimitError) as info:
        client.get("x")
    assert str(info.value).endswith("try again later.") and info.value.retry_after is None
    assert len(waits) == 2 and all(0 < w <= 8 for w in waits)  # backoff, not "inf s"


def test_retry_after_http_date() -> None:
    import httpx

    when = datetime.now(timezone.utc) + timedelta(seconds=30)
    response = httpx.Response(429, headers={"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")})
    assert 25 <= (retry_after(response) or 0) <= 31
    assert retry_after(httpx.Response(429, headers={"Retry-After": "-5"})) == 0.0
    assert retry_after(httpx.Response(429, headers={"Retry-After": "999999999"})) is None


# ------------------------------------------------------ 2. shapes of answers
@pytest.mark.parametrize("body", [None, [1, "two"], "text", 5])
def test_get_object_refuses_non_objects(server: ScriptedServer, body: Any) -> None:
    server.queue(Reply(raw=b"null" if body is None else None, body=body))
    with client_for(server.url, []) as client, pytest.raises(UnexpectedResponseError,
                                                             match="where an object was expected"):
        client.get_object("organizations", "acme", "issues", "1")


def test_rows_must_be_objects(server: ScriptedServer) -> None:
    server.queue(Reply(body=[{"id": "1"}, 2]))
    with client_for(server.url, []) as client, pytest.raises(
            UnexpectedResponseError, match="a list holding a number where objects were expected"):
        client.collect("x")


@pytest.mark.parametrize(("name", "args", "replies"), [
    ("sentry_get_issue", {"issueId": "123"}, [Reply(raw=b"null")]),
    ("sentry_get_issue", {"issueId": "123"}, [Reply(body=[1, "two"])]),
    ("sentry_setup_project", {"projectSlug": "backend"}, [Reply(raw=b"null")]),
    ("sentry_setup_project", {"projectSlug": "backend"}, [Reply(body=PROJECT), Reply(body={"k": 1})]),
    ("sentry_get_event", {"projectSlug": "backend", "eventId": "a" * 32}, [Reply(raw=b"null")]),
    ("sentry_list_issues", {"projectSlug": "backend"}, [Reply(body=PROJECT), Reply(body=[1, 2])]),
    ("sentry_list_issues", {"projectSlug": "backend"}, [Reply(body={"slug": "backend"})]),
    ("sentry_resolve_short_id", {"shortId": "BACKEND-1"}, [Reply(body={"groupId": None})]),
    ("sentry_get_organization_stats", {"stat": "received"},
     [Reply(body={"intervals": ["t"], "groups": [{"by": {"outcome": "accepted"},
                                                  "series": {"sum(quantity)": ["many"]}}]})]),
])
def test_tools_turn_odd_bodies_into_one_sentence(server: ScriptedServer, name: str,
                                                 args: dict[str, Any], replies: list[Reply]) -> None:
    server.queue(*replies)
    with pytest.raises(UnexpectedResponseError) as info:
        run(server, name, args)
    text = str(info.value)
    assert text.count(". ") == 0 and text.endswith(".") and "SENTRY_URL" in text


# -------------------------------------------------------------- 3. redirects
def test_cross_origin_redirect_is_refused_and_names_the_target(server: ScriptedServer,
                                                              other: ScriptedServer) -> None:
    server.queue(Reply(302, headers={"Location": f"{other.url}/auth/login/?next=/x"}))
    with client_for(server.url, []) as client, pytest.raises(UnexpectedResponseError) as info:
        client.get("organizations", "acme", "projects")
    assert f"to {other.url}/auth/login/" in str(info.value) and "check SENTRY_URL" in str(info.value)
    assert "next=" not in str(info.value)
    assert other.requests == []  # the token never went to the other origin


def test_same_origin_get_redirect_is_followed_with_the_token(server: ScriptedServer) -> None:
    server.queue(Reply(301, headers={"Location": "/api/0/organizations/acme/projects/?per_page=5"}),
                 Reply(body=[PROJECT]))
    with client_for(server.url, []) as client:
        assert client.get("organizations", "old", "projects") == [PROJECT]
    assert server.requests[1].path == "/api/0/organizations/acme/projects/?per_page=5"
    assert server.requests[1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_post_redirect_is_refused(server: ScriptedServer) -> None:
    server.queue(Reply(307, headers={"Location": "/api/0/elsewhere/"}))
    with client_for(server.url, []) as client, pytest.raises(UnexpectedResponseError,
                                                             match="redirected POST"):
        client.post("organizations", "acme", "releases", json={"version": "1"})
    assert len(server.requests) == 1


def test_stats_after_a_redirect_is_an_error_not_zero(server: ScriptedServer) -> None:
    server.queue(Reply(302, headers={"Location": "https://login.example.com/"}))
    with pytest.raises(UnexpectedResponseError, match="https://login.example.com/"):
        run(server, "sentry_get_organization_stats", {"stat": "received"})


# ----------------------------------------------------------- 4. one deadline
def test_a_dripped_body_stops_at_the_deadline(server: ScriptedServer) -> None:
    server.queue(Reply(raw=b'[{"id": "1", "slug": "p"}]' * 4, drip=0.1))
    started = time.monotonic()
    with client_for(server.url, [], timeout=0.5) as client, pytest.raises(
            TransportError, match=r"did not finish answering within 0\.5 s"):
        client.get("x")
    assert time.monotonic() - started < 2.0
    assert len(server.requests) == 1  # a slow answer is not asked for again


# ------------------------------------------------------------- 5. pagination
def _loop_link(server: ScriptedServer) -> dict[str, str]:
    return {"Link": server.link("same")}


def test_a_repeated_cursor_stops_paging(server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    server.queue(*[Reply(body=[{"id": str(i)}], headers=_loop_link(server)) for i in range(5)])
    with client_for(server.url, []) as client:
        rows, truncated = client.collect("x", limit=10_000)
    assert [r["id"] for r in rows] == ["0", "1"] and truncated is True
    assert len(server.requests) == 2 and "repeated a cursor" in caplog.text


def test_a_repeated_page_stops_paging(server: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    server.queue(*[Reply(body=[{"id": "1"}, {"id": "2"}], headers={"Link": server.link(f"c{i}")})
                   for i in range(5)])
    with client_for(server.url, []) as client:
        rows, truncated = client.collect("x", limit=10_000)
    assert [r["id"] for r in rows] == ["1", "2"] and truncated is True
    assert len(server.requests) == 2 and "same 2 rows again" in caplog.text


def test_pages_are_capped_by_the_limit(server: ScriptedServer) -> None:
    # A server that ignores the page size and sends one row per page, forever.
    server.queue(*[Reply(body=[{"id": str(i)}], headers={"Link": server.link(f"c{i}")})
                   for i in range(20)])
    with client_for(server.url, []) as client:
        rows, truncated = client.collect("x", limit=5)
    assert len(server.requests) == 2 and len(rows) == 2 and truncated is True


# ----------------------------------------------------- 6. cuts and retries
def test_a_cut_answer_says_so_and_get_is_retried(server: ScriptedServer) -> None:
    server.queue(Reply(raw=b'[{"id": "1", "sl', cut=True), Reply(body=[{"id": "1"}]))
    waits: list[float] = []
    with client_for(server.url, waits) as client:
        assert client.get("x") == [{"id": "1"}]
    assert len(server.requests) == 2 and len(waits) == 1


@pytest.mark.parametrize("reply", [Reply(raw=b'{"id": "1", "ver', cut=True), Reply(hangup=True)])
def test_a_cut_post_is_not_sent_twice(server: ScriptedServer, reply: Reply) -> None:
    server.queue(reply, Reply(201, {"version": "1"}))
    waits: list[float] = []
    with client_for(server.url, waits) as client, pytest.raises(TransportError) as info:
        client.post("organizations", "acme", "releases", json={"version": "1"})
    assert len(server.requests) == 1 and waits == []
    assert "Could not connect" not in str(info.value) and "was cut" in str(info.value)


def test_a_refused_post_is_retried(server: ScriptedServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits: list[float] = []
    with client_for(f"http://127.0.0.1:{port}", waits) as client, pytest.raises(
            TransportError, match="Could not connect"):
        client.post("organizations", "acme", "releases", json={"version": "1"})
    assert len(waits) == 2  # nothing was sent, so trying again cannot duplicate it


# ------------------------------------------------------------------ 7. stats
@pytest.mark.parametrize(("since", "until", "pattern"), [
    ("-99999999999999", None, "out of range"), ("1e20", None, "out of range"),
    ("nan", None, "not a time"), ("inf", None, "not a time"),
    ("0", None, "more than 90 days ago"), ("0001-01-01T00:00:00+14:00", None, "out of range"),
    ("9999-12-31", None, "must be before now"),
    ("2030-01-01", "2030-02-01", "in the future"),
    (None, "2020-01-01", "'until' .* is more than 90 days ago"),
    ("2026-05-01", "2026-09-01", "longer than the 90 days"),
])
def test_stats_window_is_validated(since: str | None, until: str | None, pattern: str) -> None:
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    with pytest.raises(ToolInputError, match=pattern):
        stats_window(since, until, now)


def test_stats_window_reads_epoch_milliseconds() -> None:
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    start, end = stats_window(str(int((now - timedelta(days=2)).timestamp() * 1000)), None, now)
    assert start == now - timedelta(days=2) and end == now
    start, _ = stats_window(None, None, now)
    assert start == now - timedelta(hours=24)


def test_structured_content_is_capped() -> None:
    records = [{"id": str(i), "junk": "x" * 1000} for i in range(2000)]
    result = ToolResult(summary="Found 2000.", records=records)
    payload = result.to_dict()
    assert payload["count"] == 2000 and payload["truncated"] is True
    assert 0 < len(payload["records"]) < 2000 and payload["omitted"] == 2000 - len(payload["records"])
    assert "Only the first" in payload["note"] and "Only the first" in result.to_markdown()
    assert len(result.to_dict(budget=None)["records"]) == 2000 and len(result.records or []) == 2000
    small = ToolResult(summary="Found 2.", records=records[:2]).to_dict()
    assert small["truncated"] is False and "omitted" not in small


# ---------------------------------------------------------------- 8. numbers
@pytest.mark.parametrize(("name", "args", "pattern"), [
    ("sentry_capture_session", {"sessionId": "s", "duration": 1e308}, "less than or equal to 2592000"),
    ("sentry_capture_session", {"sessionId": "s", "duration": float("inf")}, "finite number"),
    ("sentry_capture_session", {"sessionId": "s", "duration": True}, "not true/false"),
    ("sentry_capture_session", {"sessionId": "s", "duration": -1}, "greater than or equal to 0"),
    ("sentry_list_issues", {"projectSlug": "x", "limit": True}, r"'limit' must be a number, not true"),
    ("sentry_list_issues", {"projectSlug": "x", "limit": 0.0}, r"\(got 0\)\.$"),
    ("sentry_create_alert_rule", {"projectSlug": "x", "name": "n", "frequency": 0},
     "greater than or equal to 5"),
    ("sentry_create_alert_rule", {"projectSlug": "x", "name": "n", "frequency": 50000},
     "less than or equal to 43200"),
])
def test_number_arguments_are_checked(name: str, args: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ToolInputError, match=pattern):
        parse_args(get_tool(name), args)


def test_session_duration_accepts_real_values() -> None:
    params = parse_args(get_tool("sentry_capture_session"), {"sessionId": "s", "duration": 42.5})
    assert params.duration == 42.5  # type: ignore[attr-defined]


# ----------------------------------------------------------------- 9. alerts
@pytest.mark.parametrize(("field", "value", "pattern"), [
    ("actions", [{"type": "weird"}], "needs a 'type' out of discord, email"),
    ("actions", ["sentry.rules.actions.Nope"], "legacy 'id'"),
    ("conditions", ["first_seen"], "needs a 'type' out of age_comparison"),
])
def test_alert_types_are_checked_before_any_request(server: ScriptedServer, field: str,
                                                    value: list[Any], pattern: str) -> None:
    server.queue(Reply(body=PROJECT))
    with pytest.raises(ToolInputError, match=pattern):
        run(server, "sentry_create_alert_rule", {"projectSlug": "backend", "name": "n", field: value})
    assert [r.method for r in server.requests] == ["GET"]  # only the project lookup


def test_errors_are_all_sentry_ipy_errors() -> None:
    assert issubclass(UnexpectedResponseError, SentryIpyError) and issubclass(TransportError,
                                                                             SentryIpyError)
