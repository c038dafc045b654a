"""What an MCP client reads: IDs, links and the fields worth a model's context, never a raw API dump."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client

from sentry_ipy.config import Settings
from sentry_ipy.mcp import build_mcp_server
from sentry_ipy.tools import ToolContext, run_tool
from tests._sdk import reset_sentry_sdk, sending_to  # noqa: F401  (autouse: no scope leaks in)


@pytest.fixture()
def mcp_ctx(local_server: Any) -> Iterator[ToolContext]:
    context = ToolContext(Settings(), local_server=local_server)
    try:
        yield context
    finally:
        context.close()


def call(server: Any, name: str, args: dict[str, Any]) -> Any:
    async def main() -> Any:
        async with Client(server) as client:
            return await client.call_tool(name, args)

    return anyio.run(main)


def test_issue_list_structured_content_keeps_ids_and_drops_api_noise(local_server: Any,
                                                                      mcp_ctx: ToolContext) -> None:
    with sending_to(local_server.dsn()) as sdk:
        sdk.capture_message("structured content probe 7781")
    server = build_mcp_server(context=mcp_ctx)
    result = call(server, "sentry_list_issues", {"projectSlug": "notebook", "query": "probe 7781"})
    assert not result.is_error
    content = result.structured_content
    row = content["records"][0]
    assert row["shortId"].startswith("NOTEBOOK-") and row["title"] == "structured content probe 7781"
    assert {"id", "count", "lastSeen", "permalink", "project.slug"} <= set(row)
    for noise in ("seerFixabilityScore", "statusDetails", "stats", "annotations", "isSubscribed"):
        assert noise not in row
    full = run_tool("sentry_list_issues", {"projectSlug": "notebook", "query": "probe 7781"}, mcp_ctx)
    assert "statusDetails" in full.records[0]  # Python and the notebook still get every field
    assert len(json.dumps(row)) < len(json.dumps(full.records[0])) / 2


def test_single_issue_structured_content_is_the_curated_fields(local_server: Any,
                                                                mcp_ctx: ToolContext) -> None:
    with sending_to(local_server.dsn()) as sdk:
        sdk.capture_message("single issue probe 9127")
    server = build_mcp_server(context=mcp_ctx)
    listed = call(server, "sentry_list_issues", {"projectSlug": "notebook", "query": "probe 9127"})
    short_id = listed.structured_content["records"][0]["shortId"]
    result = call(server, "sentry_get_issue", {"issueId": short_id})
    data = result.structured_content["data"]
    assert data["shortId"] == short_id and data["eventId"]
    assert "activity" not in data and "seenBy" not in data


def test_text_only_clients_get_the_rows_past_the_table(local_server: Any, mcp_ctx: ToolContext,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import sentry_ipy.mcp._server as server_module

    marker = f"text rows probe {uuid.uuid4().hex[:8]}"
    with sending_to(local_server.dsn()) as sdk:
        for i in range(20):
            sdk.capture_event({"message": f"{marker} {i}", "level": "error",
                               "fingerprint": [marker, str(i)]})
    server = build_mcp_server(context=mcp_ctx)
    args = {"projectSlug": "notebook", "query": marker}
    result = call(server, "sentry_list_issues", args)
    markdown, rows = (c.text for c in result.content)
    assert "The JSON lines below hold the next 5 rows." in markdown
    assert "structured result" not in markdown and "not shown here" not in markdown
    lines = [json.loads(line) for line in rows.splitlines()]
    table = [line.split(" | ")[0].strip("| ") for line in markdown.splitlines()
             if line.startswith("| NOTEBOOK-")]
    assert len(table) == 15 and len(lines) == 5
    assert {r["shortId"] for r in lines}.isdisjoint(table)
    assert {r["shortId"] for r in lines} | set(table) == {
        r["shortId"] for r in result.structured_content["records"]}
    assert set(lines[0]) == {"shortId", "title", "level", "status", "count", "userCount", "lastSeen"}

    monkeypatch.setattr(server_module, "TEXT_ROWS_BUDGET", 400)  # room for 2 rows only
    squeezed = call(server, "sentry_list_issues", args)
    markdown, rows = (c.text for c in squeezed.content)
    assert len(rows.splitlines()) == 2
    assert "The JSON lines below hold the next 2 rows. 3 more rows not shown here (shortId: " in markdown
    missing = [r["shortId"] for r in squeezed.structured_content["records"][17:]]
    assert f"(shortId: {', '.join(missing)}); narrow the query" in markdown

    few = call(server, "sentry_list_issues", {**args, "limit": 3})
    assert len(few.content) == 1  # nothing left out of the table: no second block


def test_event_text_has_what_a_model_needs_to_debug(local_server: Any, mcp_ctx: ToolContext) -> None:
    marker = f"debug probe {uuid.uuid4().hex[:8]}"
    frames = [{"filename": "app/checkout.py", "function": "pay", "lineno": 42, "in_app": True}]
    event = {
        "level": "error", "fingerprint": [marker],
        "exception": {"values": [{"type": "KeyError", "value": marker,
                                  "stacktrace": {"frames": frames}}]},
        "tags": {"feature": "checkout"}, "user": {"id": "u-7", "email": "dev@example.com"},
        "breadcrumbs": {"values": [{"message": f"step {i}", "category": "ui", "timestamp": 1.7e9 + i}
                                   for i in range(14)]},
        "request": {"method": "POST", "url": "https://shop.example/pay"},
        "contexts": {"os": {"name": "Linux", "version": "6.1"},
                     "runtime": {"name": "CPython", "version": "3.12.1"}},
    }
    with sending_to(local_server.dsn()) as sdk:
        event_id = sdk.capture_event(event)
    server = build_mcp_server(context=mcp_ctx)
    result = call(server, "sentry_get_event", {"projectSlug": "notebook", "eventId": event_id})
    (text,) = (c.text for c in result.content)
    assert "at pay (app/checkout.py:42)" in text
    assert "feature=checkout" in text
    assert "id=u-7, email=dev@example.com" in text
    assert "- **request**: POST https://shop.example/pay" in text
    assert "os (Linux 6.1)" in text and "runtime (CPython 3.12.1)" in text
    assert "**breadcrumbs (last 10 of 14)**:" in text
    assert "ui info: step 13" in text and "ui info: step 4\n" in text and "step 3\n" not in text
    assert len(text) < 3000
    assert result.structured_content["data"]["user"]["id"] == "u-7"
