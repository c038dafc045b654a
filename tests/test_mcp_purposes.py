"""MCP toolsets by purpose, the one ``outputSchema`` every result conforms to, and a lean ``tools/list``."""

from __future__ import annotations

import json
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client

from sentry_ipy._types import PURPOSES
from sentry_ipy.config import Settings
from sentry_ipy.mcp import build_mcp_server, toolset_names
from sentry_ipy.tools import ToolContext, registry

#: Average ``tools/list`` cost per tool, in tokens (≈ chars / 4): over every tool, and the most
#: any one toolset may average (explore's query tools carry the richest schemas).
TOKENS_PER_TOOL = 300
TOKENS_PER_TOOL_IN_A_TOOLSET = 400


def _listed(**options: Any) -> list[Any]:
    server = build_mcp_server(Settings(url="https://sentry.invalid", auth_token="unused"), **options)

    async def main() -> list[Any]:
        async with Client(server) as client:
            return list((await client.list_tools()).tools)

    return anyio.run(main)


def test_every_tool_has_a_purpose_and_each_purpose_is_a_toolset() -> None:
    tools = registry()
    assert {spec.purpose for spec in tools.values()} == set(PURPOSES)
    names = toolset_names()
    assert names[:3] == ["all", "api", "sdk"] and names[3:7] == list(PURPOSES)
    explore = {t.name for t in _listed(toolsets="explore")}
    assert {"sentry_search_events", "sentry_get_timeseries", "sentry_get_trace",
            "sentry_get_release_health"} <= explore and "sentry_update_issue" not in explore
    triage = {t.name for t in _listed(toolsets="triage")}
    assert {"sentry_update_issue", "sentry_list_issues", "sentry_add_issue_note"} <= triage
    assert {t.name for t in _listed(toolsets="capture")} == {
        n for n, s in tools.items() if s.purpose == "capture"}
    assert all(tools[n].family == "sdk" for n in (t.name for t in _listed(toolsets="capture")))


@pytest.mark.parametrize("toolset", ["all", *PURPOSES, "api", "sdk"])
def test_tools_list_stays_lean_per_toolset(toolset: str) -> None:
    tools = _listed(toolsets=toolset)
    for tool in tools:
        assert tool.output_schema == registry()[tool.name].output_schema()
    chars = len(json.dumps([t.model_dump(by_alias=True, exclude_none=True, mode="json") for t in tools],
                           separators=(",", ":"), ensure_ascii=False))
    bound = TOKENS_PER_TOOL if toolset == "all" else TOKENS_PER_TOOL_IN_A_TOOLSET
    assert chars / 4 / len(tools) <= bound, f"{toolset}: {chars / 4 / len(tools):.0f} tokens per tool"


@pytest.mark.parametrize(("name", "args"), [
    ("sentry_list_projects", {}),
    ("sentry_whoami", {}),
    ("sentry_search_events", {"fields": ["level", "count()"]}),
    ("sentry_get_timeseries", {"statsPeriod": "1d"}),
    ("sentry_find_organizations", {}),
])
def test_structured_content_conforms_to_the_output_schema(local_server: Any, name: str,
                                                           args: dict[str, Any]) -> None:
    context = ToolContext(Settings(), local_server=local_server, fetch_all=False)
    server = build_mcp_server(context=context)

    async def main() -> tuple[Any, Any]:
        async with Client(server) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            return listed[name], await client.call_tool(name, args)  # the client validates too

    tool, result = anyio.run(main)
    context.close()
    assert not result.is_error
    jsonschema.validate(result.structured_content, tool.output_schema)  # an independent validator
    assert tool.output_schema["required"] == ["summary"]
