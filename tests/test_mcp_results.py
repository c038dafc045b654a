"""What an MCP client reads: IDs, links and the fields worth a model's context, never a raw API dump."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client

from sentry_ipy.config import Settings
from sentry_ipy.mcp import build_mcp_server
from sentry_ipy.tools import ToolContext, run_tool
from tests._sdk import sending_to


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
