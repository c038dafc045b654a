"""Absolute windows: start/end on list tools, and history longer than one Discover query."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from sentry_ipy.config import Settings
from sentry_ipy.errors import ToolInputError
from sentry_ipy.tools import ToolContext, _window, registry, run_tool
from tests._sdk import sending_to

SENT = 480


@pytest.fixture(scope="module")
def history(local_server: Any) -> dict[str, Any]:
    """A project with SENT error events, their IDs and the time span they were sent in."""
    ctx = ToolContext(Settings(), local_server=local_server)
    run_tool("sentry_create_project", {"name": "windows", "slug": "windows", "team": "local"}, ctx)
    before = datetime.now(timezone.utc)
    with sending_to(local_server.dsn("windows"), transport_queue_size=SENT + 10) as sdk:
        ids = [sdk.capture_message(f"window probe {i % 4}") for i in range(SENT)]
    after = datetime.now(timezone.utc)
    return {"ctx": ctx, "ids": {str(i) for i in ids}, "before": before, "after": after}


def test_every_list_tool_with_a_period_takes_start_and_end() -> None:
    for name, spec in registry().items():
        props = spec.input_schema().get("properties", {})
        if "statsPeriod" in props:
            assert {"start", "end"} <= set(props), name
            assert "start" not in spec.input_schema().get("required", []), name


def test_discover_ceiling_is_walked_back_in_time_without_gaps_or_duplicates(
        history: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_window, "DISCOVER_CEILING", 70)  # so 480 rows need 7 queries
    queries: list[list[tuple[str, str]]] = []
    real = _window.collect_newest_first

    def spy(fetch: Any, *args: Any, **kwargs: Any) -> Any:
        def counted(window: list[tuple[str, str]], limit: int | None) -> Any:
            queries.append(window)
            assert limit is not None and limit <= 70
            return fetch(window, limit)
        return real(counted, *args, **kwargs)

    monkeypatch.setattr("sentry_ipy.tools.events.collect_newest_first", spy)
    result = run_tool("sentry_list_error_events_in_project", {"projectSlug": "windows"}, history["ctx"])
    ids = [r["id"] for r in result.records or []]
    assert len(ids) == len(set(ids)) == SENT and set(ids) == history["ids"]
    assert result.truncated is False and len(queries) >= SENT // 70
    assert queries[0] == [("statsPeriod", "14d")] and all(q[0][0] == "start" for q in queries[1:])
    stamps = [r["timestamp"] for r in result.records or []]
    assert stamps == sorted(stamps, reverse=True)
    capped = run_tool("sentry_list_error_events_in_project", {"projectSlug": "windows", "limit": 100},
                      history["ctx"])
    assert [r["id"] for r in capped.records or []] == ids[:100] and capped.truncated is True


def test_start_and_end_bound_the_rows(history: dict[str, Any]) -> None:
    ctx, before, after = history["ctx"], history["before"], history["after"]
    every = run_tool("sentry_list_error_events_in_project", {"projectSlug": "windows"}, ctx)
    stamps = sorted(datetime.fromisoformat(r["timestamp"].replace("Z", "+00:00"))
                    for r in every.records or [])
    middle = stamps[len(stamps) // 2]
    older = run_tool("sentry_list_error_events_in_project",
                     {"projectSlug": "windows", "start": before - timedelta(seconds=1), "end": middle},
                     ctx)
    newer = run_tool("sentry_list_error_events_in_project",
                     {"projectSlug": "windows", "start": middle.isoformat(),
                      "end": (after + timedelta(seconds=1)).isoformat()}, ctx)
    a = {r["id"] for r in older.records or []}
    b = {r["id"] for r in newer.records or []}
    assert a and b and a | b == history["ids"] and len(a) + len(b) - len(a & b) == SENT
    assert "from " in older.summary and " to " in older.summary
    none = run_tool("sentry_list_error_events_in_project",
                    {"projectSlug": "windows", "start": "2001-01-01T00:00:00Z",
                     "end": "2001-01-02T00:00:00Z"}, ctx)
    assert none.records == []
    issues = run_tool("sentry_list_issues", {"projectSlug": "windows", "query": "",
                                             "start": before - timedelta(seconds=1)}, ctx)
    assert [r["title"] for r in issues.records or []] == ["window probe 0"]  # end defaults to now
    old = run_tool("sentry_list_issues", {"projectSlug": "windows", "query": "",
                                          "start": "2001-01-01T00:00:00Z", "end": "2001-02-01T00:00:00Z"},
                   ctx)
    assert old.records == []


@pytest.mark.parametrize(("args", "message"), [
    ({"statsPeriod": "1d", "start": "2025-01-01T00:00:00Z"}, "either statsPeriod or start/end"),
    ({"end": "2025-01-01T00:00:00Z"}, "end needs a start"),
    ({"start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"}, "must be after start"),
])
def test_bad_windows_are_one_sentence(history: dict[str, Any], args: dict[str, Any], message: str) -> None:
    with pytest.raises(ToolInputError, match=message):
        run_tool("sentry_list_error_events_in_project", {"projectSlug": "windows", **args},
                 history["ctx"])


def test_the_mcp_servers_own_backend_prefers_its_usual_port(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Any) -> None:
    """Free: the backend takes the preferred port (links keep their address); taken: any other."""
    import socket

    import sentry_ipy.local._launcher as context_module
    from sentry_ipy.mcp import build_mcp_server
    from tests.test_mcp_results import call

    with socket.socket() as probe:  # an ephemeral port that is free right now stands for 9000
        probe.bind(("127.0.0.1", 0))
        wanted = probe.getsockname()[1]
    monkeypatch.setenv("SENTRY_IPY_LOCAL_PORT", str(wanted))
    assert context_module.preferred_local_port() == wanted
    for occupied in (True, False):
        monkeypatch.setattr(context_module, "_LOCAL", None)
        monkeypatch.setenv("SENTRY_IPY_DATA_DIR", str(tmp_path / f"data-{occupied}"))
        blocker = socket.socket()
        if occupied:
            blocker.bind(("127.0.0.1", wanted))
            blocker.listen()
        try:
            result = call(build_mcp_server(), "sentry_list_projects", {})
            srv = context_module._LOCAL
            assert srv is not None and not result.is_error
            try:
                assert (srv.port == wanted) is not occupied, (srv.port, wanted, occupied)
                assert f"127.0.0.1:{srv.port}/" in result.content[0].text  # the links name it
            finally:
                srv.stop()
        finally:
            blocker.close()
