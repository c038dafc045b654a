"""Release health end to end: sessions sent through sentry-sdk to the local backend, crash-free
rates of sessions and users read back by ``sentry_get_release_health``, long ranges split."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from sentry_ipy.config import Settings
from sentry_ipy.local import LocalServer
from sentry_ipy.tools import ToolContext, run_tool
from tests._sdk import reset_sentry_sdk, sending_to

__all__ = ["reset_sentry_sdk"]

#: (release, user, final status) of each session sent.
SESSIONS = [("app@1", "u1", "crashed"), ("app@1", "u1", "exited"), ("app@1", "u2", "exited"),
            ("app@1", "u3", "exited"), ("app@2", "u4", "exited"), ("app@2", "u4", "exited")]


def _send(srv: LocalServer) -> None:
    for release, user, status in SESSIONS:
        with sending_to(srv.dsn(), release=release, environment="prod") as scope:
            scope.set_user({"id": user})
            scope.start_session()
            if status == "crashed":
                assert scope._session is not None
                scope._session.update(status="crashed")
            scope.end_session()


@pytest.fixture()
def health(srv: LocalServer) -> Iterator[ToolContext]:
    _send(srv)
    context = ToolContext(Settings(), local_server=srv)
    try:
        yield context
    finally:
        context.close()


def _by_release(rows: list[dict[str, object]]) -> dict[object, list[dict[str, object]]]:
    out: dict[object, list[dict[str, object]]] = {}
    for row in rows:
        out.setdefault(row["release"], []).append(row)
    return out


def test_crash_free_rates_of_sessions_and_users_per_release(health: ToolContext) -> None:
    result = run_tool("sentry_get_release_health", {"projectSlug": "notebook", "statsPeriod": "2d"}, health)
    rows = _by_release(result.records or [])
    assert set(rows) == {"app@1", "app@2"}
    for release, want_sessions, want_crashed in (("app@1", 4, 1), ("app@2", 2, 0)):
        assert sum(int(r["sessions"]) for r in rows[release]) == want_sessions  # type: ignore[call-overload]
        assert sum(int(r["crashed"]) for r in rows[release]) == want_crashed  # type: ignore[call-overload]
    for row in result.records or []:
        assert row["crash_free_sessions"] == round(100 * (row["sessions"] - row["crashed"]) / row["sessions"], 4)
    if len(rows["app@1"]) == 1:  # all sent within one day bucket (unless the test straddled midnight UTC)
        (one,) = rows["app@1"]
        assert (one["users"], one["crashed_users"], one["crash_free_sessions"], one["crash_free_users"]) == (
            3, 1, 75.0, 66.6667)
        (two,) = rows["app@2"]
        assert (two["users"], two["crash_free_users"]) == (1, 100.0)
    assert "6 sessions" in result.summary and "1 crashed" in result.summary
    frame = result.to_frame()
    assert {"time", "release", "crash_free_sessions", "crash_free_users"} <= set(frame.columns)


def test_release_filter_and_environment_grouping(health: ToolContext) -> None:
    result = run_tool("sentry_get_release_health", {"release": "app@2", "groupBy": ["environment"],
                                                    "statsPeriod": "2d"}, health)
    assert {r["environment"] for r in result.records or []} == {"prod"}
    assert sum(int(r["sessions"]) for r in result.records or []) == 2


def test_a_range_past_the_point_cap_is_split_into_windows(health: ToolContext, srv: LocalServer,
                                                          api: httpx.Client) -> None:
    end = datetime.now(timezone.utc) + timedelta(hours=1)
    start = end - timedelta(days=200)  # 4,800 hourly points
    too_many = api.get("organizations/local/sessions/", params={
        "field": "sum(session)", "interval": "1h", "start": (end - timedelta(days=500)).isoformat(),
        "end": end.isoformat()})
    assert too_many.status_code == 400  # one query of 12,000 points is refused
    result = run_tool("sentry_get_release_health", {"interval": "1h", "start": start, "end": end}, health)
    assert "in 2 windows" in result.summary
    assert sum(int(r["sessions"]) for r in result.records or []) == len(SESSIONS)
    assert {r["release"] for r in result.records or []} == {"app@1", "app@2"}
