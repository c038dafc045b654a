"""``sentry_search_events`` end to end: the local backend in every face, and Sentry at scale.

The local backend answers with what it ingested (errors sent to its store API,
a transaction with spans sent through sentry-sdk); every assertion compares an
answer with what was sent. ``tests/_events_server.py`` plays sentry.io where
the local store cannot: a strict concurrency limit and 23,456 rows behind the
10,000-row offset ceiling.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import httpx
import pytest
import sentry_sdk
from mcp import Client

from sentry_ipy.api import MAX_CONCURRENT, collect_offset_pages
from sentry_ipy.config import Settings
from sentry_ipy.errors import APIError, ToolInputError, UnsupportedFeatureError
from sentry_ipy.mcp import build_mcp_server
from sentry_ipy.tools import ToolContext, registry, run_tool
from tests._events_server import T0, EventsServer, span_rows
from tests._scripted import Reply, ScriptedServer, html_page, scripted_client, scripted_settings, server
from tests._sdk import reset_sentry_sdk, sending_to  # noqa: F401  (autouse fixture)
from tests._shell import ip

__all__ = ["ip", "server"]

ERRORS = 230  # more than two pages of 100


@dataclass
class Seeded:
    slug: str
    token: str


@pytest.fixture(scope="module")
def seeded(tctx: ToolContext, local_server: Any) -> Seeded:
    token = uuid.uuid4().hex[:8]
    slug = f"explore-{token}"
    run_tool("sentry_create_project", {"name": "Explore", "slug": slug, "team": "local"}, tctx)
    setup = run_tool("sentry_setup_project", {"projectSlug": slug}, tctx)
    assert setup.data is not None
    dsn = setup.data["dsn"]
    key, project_id = dsn.split("//")[1].split("@")[0], dsn.rsplit("/", 1)[1]
    with httpx.Client() as http:
        for i in range(ERRORS):
            http.post(f"{local_server.url}/api/{project_id}/store/?sentry_key={key}",
                      json={"message": f"explore {token} {i}", "level": "error" if i % 5 else "warning",
                            "environment": "prod" if i % 2 else "dev"}).raise_for_status()
    with sending_to(dsn, traces_sample_rate=1.0, environment="prod"):
        for name in ("checkout", "checkout", "search"):
            with sentry_sdk.start_transaction(name=name, op="http.server"):
                with sentry_sdk.start_span(op="db", name="SELECT 1"):
                    pass
    return Seeded(slug, token)


def test_registered_with_honest_annotations() -> None:
    spec = registry()["sentry_search_events"]
    assert spec.read_only and spec.idempotent and not spec.destructive and spec.alias == "events"
    assert registry()["sentry_list_error_events_in_project"].alias == "error_events"


def test_every_page_typed_by_the_servers_meta(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_search_events", {"projects": [seeded.slug], "query": seeded.token}, tctx)
    assert result.records is not None and len(result.records) == ERRORS and not result.truncated
    assert len({r["id"] for r in result.records}) == ERRORS
    frame = result.to_frame()
    assert list(frame.columns) == ["id", "title", "timestamp", "level", "issue", "project"]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]" and str(frame["id"].dtype) == "string"
    assert frame["timestamp"].is_monotonic_decreasing  # -timestamp, the default sort
    assert result.summary.startswith(f"Found {ERRORS} rows in dataset 'errors'")


def test_aggregates_group_and_carry_units(tctx: ToolContext, seeded: Seeded) -> None:
    result = run_tool("sentry_search_events", {
        "projects": [seeded.slug], "query": seeded.token,
        "fields": ["level", "count()", "count_unique(user)", "last_seen()"]}, tctx)
    counts = {r["level"]: r["count()"] for r in result.records or []}
    assert counts == {"error": ERRORS - ERRORS // 5, "warning": ERRORS // 5}
    frame = result.to_frame()
    assert str(frame["count()"].dtype) == "Int64" and str(frame["last_seen()"].dtype) == "datetime64[ns, UTC]"
    assert list(frame["level"]) == ["error", "warning"]  # sorted by -count() when no sort is given

    spans = run_tool("sentry_search_events", {
        "dataset": "spans", "projects": [seeded.slug],
        "fields": ["transaction", "count()", "p95(span.duration)"], "query": "is_transaction:true"}, tctx)
    by_name = {r["transaction"]: r["count()"] for r in spans.records or []}
    assert by_name == {"checkout": 2, "search": 1}
    frame = spans.to_frame()
    assert str(frame["p95(span.duration)"].dtype) == "Float64"
    assert frame.attrs["units"] == {"p95(span.duration)": "millisecond"}


def test_environments_limit_and_bad_input(tctx: ToolContext, seeded: Seeded) -> None:
    dev = run_tool("sentry_search_events", {"projects": [seeded.slug], "query": seeded.token,
                                            "environments": ["dev"], "limit": 150}, tctx)
    assert dev.records is not None and len(dev.records) == ERRORS // 2 and not dev.truncated
    assert {r["id"] for r in dev.records}.isdisjoint(
        r["id"] for r in run_tool("sentry_search_events", {
            "projects": [seeded.slug], "query": seeded.token, "environments": ["prod"]},
            tctx).records or [])
    capped = run_tool("sentry_search_events", {"projects": [seeded.slug], "query": seeded.token,
                                               "limit": 150}, tctx)
    assert len(capped.records or []) == 150 and capped.truncated
    with pytest.raises(ToolInputError, match="sort 'title' must be one of the selected fields"):
        run_tool("sentry_search_events", {"fields": ["id", "timestamp"], "sort": "title"}, tctx)
    with pytest.raises(ToolInputError, match="argument 'fields'"):
        run_tool("sentry_search_events", {"fields": [f"tags[t{i}]" for i in range(21)]}, tctx)
    with pytest.raises(ToolInputError, match="no default fields"):
        run_tool("sentry_search_events", {"dataset": "uptime_results"}, tctx)
    with pytest.raises(APIError, match="Unsupported dataset 'nosuch'"):
        run_tool("sentry_search_events", {"dataset": "nosuch", "fields": ["id"]}, tctx)


def test_mcp_face_returns_rows_as_structured_content(local_server: Any, seeded: Seeded) -> None:
    context = ToolContext(Settings(), local_server=local_server, fetch_all=False)
    server = build_mcp_server(context=context)

    async def main() -> Any:
        async with Client(server) as client:
            return await client.call_tool("sentry_search_events", {
                "dataset": "errors", "projects": [seeded.slug], "query": seeded.token,
                "fields": ["environment", "count()"]})

    result = anyio.run(main)
    assert not result.is_error
    records = result.structured_content["records"]
    assert sorted((r["environment"], r["count()"]) for r in records) == [("dev", ERRORS // 2),
                                                                          ("prod", ERRORS // 2)]
    assert "| environment | count() |" in result.content[0].text
    context.close()


def test_notebook_magic_returns_the_typed_frame(ip: Any, seeded: Seeded) -> None:
    ip.run_line_magic("sentry_events", f"--projects {seeded.slug} --dataset spans "
                                       "--fields span.op span.duration timestamp -o spans")
    frame = ip.user_ns["spans"]
    assert sorted(frame["span.op"].unique()) == ["db", "http.server"] and len(frame) == 6
    assert str(frame["span.duration"].dtype) == "Float64"
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"


# -- at Sentry's scale: a scripted server -------------------------------------------------

def _events_client(srv: EventsServer) -> Any:
    return scripted_client(srv.url, [])


def test_pages_are_fetched_concurrently_within_the_servers_bound() -> None:
    rows = span_rows(1234)
    with EventsServer(rows, limit=3) as srv:
        client = _events_client(srv)
        got = collect_offset_pages(client, "organizations", "acme", "events",
                                   params=[("field", "id"), ("field", "timestamp")], limit=None)
    assert [r["id"] for r in got.rows] == [r["id"] for r in rows]  # all of them, in order
    assert not got.more and not got.capped
    assert 2 <= srv.peak <= 3 and got.peak <= 3
    offsets = srv.offsets()
    assert len(set(offsets)) == len(offsets) and set(range(0, 1300, 100)) <= set(offsets)  # each page once
    assert len(offsets) - 13 <= 2  # asked past the end only while the end was unknown, within the bound


def test_never_more_than_seven_in_flight() -> None:
    with EventsServer(span_rows(3000), limit=50) as srv:
        got = collect_offset_pages(_events_client(srv), "organizations", "acme", "events",
                                   params=[("field", "id")], limit=2500)
    assert len(got.rows) == 2500 and got.more
    assert 2 <= srv.peak <= MAX_CONCURRENT
    assert max(srv.offsets()) < 2500  # nothing past the limit was asked for


def test_past_the_offset_ceiling_time_windows_read_every_row() -> None:
    rows = span_rows(23_456)
    with EventsServer(rows, limit=25, hold=0.0) as srv:
        context = ToolContext(scripted_settings(srv.url))
        result = run_tool("sentry_search_events", {
            "dataset": "spans", "fields": ["span.op", "span.duration"],
            "start": (T0 - timedelta(days=1)).isoformat(), "end": (T0 + timedelta(seconds=1)).isoformat()},
            context)
        context.close()
    assert result.records is not None and len(result.records) == len(rows) and not result.truncated
    assert [r["span.op"] for r in result.records] == [r["span.op"] for r in rows]
    assert list(result.records[0]) == ["span.op", "span.duration"]  # id/timestamp only paged by
    assert max(srv.offsets()) < 10_000
    assert len({q["end"][0] for q in srv.seen}) >= 3  # three windows at least
    frame = result.to_frame()
    assert str(frame["span.duration"].dtype) == "Float64"


def test_aggregates_at_the_ceiling_say_so_and_sampling_is_named() -> None:
    rows = span_rows(10_250)
    with EventsServer(rows, limit=25, hold=0.0, meta={"dataScanned": "partial"}) as srv:
        context = ToolContext(scripted_settings(srv.url))
        result = run_tool("sentry_search_events", {"dataset": "spans", "fields": ["id", "span.duration"],
                                                   "sort": "-span.duration"}, context)
        context.close()
    assert result.records is not None and len(result.records) == 10_000 and result.truncated
    assert "at most 10,000 rows per query" in result.summary
    assert "meta.dataScanned is 'partial'" in result.summary


@pytest.mark.parametrize("reply", [Reply(405, {"detail": "Method not allowed"}), html_page(200)])
def test_a_server_without_the_endpoint_gets_one_sentence(server: ScriptedServer, reply: Reply) -> None:
    server.route("GET", "/api/0/organizations/", Reply(200, [{"slug": "acme"}]))
    server.route("GET", "/api/0/organizations/acme/events/", reply)
    context = ToolContext(scripted_settings(server.url))
    with pytest.raises(UnsupportedFeatureError, match=r"^This server \(.*\) has no events \(Discover/Explore\) API\.$"):
        run_tool("sentry_search_events", {"fields": ["id"]}, context)
    context.close()



# -- sentry_get_timeseries -------------------------------------------------------------------

def test_timeseries_long_form_per_group_in_every_face(tctx: ToolContext, seeded: Seeded, ip: Any,
                                                      local_server: Any) -> None:
    args = {"dataset": "spans", "projects": [seeded.slug], "groupBy": ["transaction"],
            "query": "is_transaction:true", "interval": "1h", "statsPeriod": "1d"}
    result = run_tool("sentry_get_timeseries", args, tctx)
    frame = result.to_frame()
    assert list(frame.columns) == ["time", "series", "yAxis", "value"]
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]" and str(frame["value"].dtype) == "Float64"
    assert frame.groupby("series")["value"].sum().to_dict() == {"checkout": 2.0, "search": 1.0}
    assert len(frame.pivot(index="time", columns="series", values="value")) >= 24  # ready to plot
    assert "(from events-timeseries)" in result.summary and "checkout: peak 2" in result.to_markdown()

    ip.run_line_magic("sentry_timeseries", f"--projects {seeded.slug} --query {seeded.token} "
                                           "--statsPeriod 1d --interval 1h -o ts")
    assert ip.user_ns["ts"]["value"].sum() == ERRORS

    server = build_mcp_server(context=ToolContext(Settings(), local_server=local_server, fetch_all=False))

    async def main() -> Any:
        async with Client(server) as client:
            return await client.call_tool("sentry_get_timeseries", {**args, "yAxis": ["count()", "p95(span.duration)"]})

    answer = anyio.run(main)
    assert not answer.is_error
    records = answer.structured_content["records"]
    assert {r["series"] for r in records} == {"checkout count()", "checkout p95(span.duration)",
                                              "search count()", "search p95(span.duration)"}


def test_timeseries_falls_back_to_events_stats(server: ScriptedServer) -> None:
    server.route("GET", "/api/0/organizations/acme/events-timeseries/", Reply(404, {"detail": "Not found"}))
    server.route("GET", "/api/0/organizations/acme/events-stats/", Reply(200, {
        "checkout": {"data": [[1780000000, [{"count": 3}]], [1780003600, [{"count": 1}]]], "order": 0},
        "Other": {"data": [[1780000000, [{"count": 2}]], [1780003600, [{"count": 0}]]], "order": 1}}))
    context = ToolContext(scripted_settings(server.url))
    result = run_tool("sentry_get_timeseries", {"groupBy": ["transaction"], "interval": "1h"}, context)
    again = run_tool("sentry_get_timeseries", {"groupBy": ["transaction"], "interval": "1h"}, context)
    context.close()
    assert [(r["time"], r["series"], r["value"]) for r in result.records or []] == [
        ("2026-05-28T20:26:40Z", "checkout", 3), ("2026-05-28T21:26:40Z", "checkout", 1),
        ("2026-05-28T20:26:40Z", "Other", 2), ("2026-05-28T21:26:40Z", "Other", 0)]
    assert "(from events-stats)" in result.summary and again.records == result.records
    stats = [s for s in server.requests if s.route.endswith("events-stats/")]
    assert [s.route for s in server.requests].count("/api/0/organizations/acme/events-timeseries/") == 1
    assert stats[0].query["field"] == ["transaction", "count()"] and stats[0].arg("topEvents") == "5"
    assert stats[0].arg("sort") == "-count()"


def test_timeseries_on_a_server_without_either_route(server: ScriptedServer) -> None:
    server.route("GET", "/api/0/organizations/", Reply(200, [{"slug": "acme"}]))
    server.route("GET", "/api/0/organizations/acme/events-timeseries/", Reply(405, {}))
    server.route("GET", "/api/0/organizations/acme/events-stats/", html_page(200))
    context = ToolContext(scripted_settings(server.url))
    with pytest.raises(UnsupportedFeatureError, match=r"^This server \(.*\) has no time series API "
                                                      r"\(events-timeseries or events-stats\)\.$"):
        run_tool("sentry_get_timeseries", {}, context)
    context.close()
