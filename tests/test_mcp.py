"""The MCP face through an in-memory ``mcp.Client``: schemas, annotations, filters, errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client
from pydantic import BaseModel, Field

from sentry_ipy.config import Settings
from sentry_ipy.errors import ConfigurationError, NotFoundError
from sentry_ipy.mcp import (ANNOTATION_DEFAULTS, MAX_ARGUMENT_CHARS, build_mcp_server, select_tools,
                            toolset_names)
from sentry_ipy.tools import ToolContext, ToolResult, ToolSpec, registry
from tests._mcp_examples import examples, seed_tools

SEED = {t["name"]: t for t in seed_tools()}


def run(server: Any, body: Callable[[Client], Awaitable[Any]]) -> Any:
    """Connect an in-memory client to ``server`` and run ``body(client)``."""

    async def main() -> Any:
        async with Client(server) as client:
            return await body(client)

    return anyio.run(main)


def listed(server: Any) -> dict[str, Any]:
    async def body(client: Client) -> Any:
        return {t.name: t for t in (await client.list_tools()).tools}

    return run(server, body)


@pytest.fixture()
def api_ctx(local_server: Any) -> Iterator[ToolContext]:
    """A context configured like a real user's: URL, token, org and DSN of the local backend."""
    settings = Settings.resolve(url=local_server.url, auth_token=local_server.token,
                                org=local_server.org_slug, project="notebook",
                                dsn=local_server.dsn("notebook"))
    context = ToolContext(settings)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture()
def server(api_ctx: ToolContext) -> Any:
    return build_mcp_server(context=api_ctx)


def test_tools_list_has_every_seed_tool(server: Any) -> None:
    tools = listed(server)
    assert set(SEED) <= set(tools)
    assert set(tools) == set(registry())
    for name, tool in tools.items():
        spec = registry()[name]
        assert tool.title == spec.title
        assert tool.description == spec.description
        assert tool.input_schema == spec.input_schema()


@pytest.mark.parametrize("name", sorted(SEED))
def test_schema_matches_seed(server: Any, name: str) -> None:
    ours = listed(server)[name].input_schema
    seed = SEED[name]["inputSchema"]
    jsonschema.Draft202012Validator.check_schema(ours)
    assert sorted(ours.get("required") or []) == sorted(seed.get("required") or [])
    assert set(seed["properties"]) <= set(ours["properties"])
    validator = jsonschema.Draft202012Validator(ours)
    for label, args in examples(SEED[name]):
        errors = [e.message for e in validator.iter_errors(args)]
        assert not errors, f"{name} rejects the seed example {label} {args}: {errors}"


def test_every_tool_is_annotated(server: Any) -> None:
    """Every tool has annotations; a hint left out means the MCP default, so only
    hints that differ from it are sent, and the effective values match the registry."""
    for name, tool in listed(server).items():
        ann = tool.annotations
        assert ann is not None, name
        spec = registry()[name]
        sent = ann.model_dump(exclude_none=True)
        assert all(sent[k] != ANNOTATION_DEFAULTS[k] for k in sent if k in ANNOTATION_DEFAULTS), name
        assert "title" not in sent, name  # the title travels once, as the tool's title
        effective = {k: sent.get(k, default) for k, default in ANNOTATION_DEFAULTS.items()}
        assert effective == {"read_only_hint": spec.read_only, "destructive_hint": spec.destructive,
                             "idempotent_hint": spec.idempotent,
                             "open_world_hint": spec.open_world}, name


def test_read_only_hides_exactly_the_write_tools(api_ctx: ToolContext) -> None:
    everything = set(listed(build_mcp_server(context=api_ctx)))
    read_only = listed(build_mcp_server(context=api_ctx, read_only=True))
    writes = {name for name, spec in registry().items() if spec.writes}
    assert writes and everything - set(read_only) == writes
    assert all(t.annotations.read_only_hint for t in read_only.values())
    assert {"sentry_list_issues", "sentry_get_issue"} <= set(read_only)
    assert "sentry_capture_exception" not in read_only


def test_toolsets_filter_by_family_module_and_name(api_ctx: ToolContext) -> None:
    tools = registry()
    sdk = set(listed(build_mcp_server(context=api_ctx, toolsets="sdk")))
    api = set(listed(build_mcp_server(context=api_ctx, toolsets=["api"])))
    assert sdk == {n for n, s in tools.items() if s.family == "sdk"}
    assert api == {n for n, s in tools.items() if s.family == "api"}
    assert sdk and api and not sdk & api and sdk | api == set(tools)
    some = set(listed(build_mcp_server(context=api_ctx, toolsets="issues, list_projects")))
    assert {"sentry_list_issues", "sentry_get_issue", "sentry_list_projects"} <= some
    assert "sentry_capture_message" not in some
    assert set(listed(build_mcp_server(context=api_ctx, toolsets="all"))) == set(tools)
    both = select_tools(tools, read_only=True, toolsets="sdk")
    assert all(s.family == "sdk" and s.read_only for s in both)
    assert {"all", "sdk", "api", "issues", "capture"} <= set(toolset_names())


def test_unknown_toolset_is_one_clear_sentence(api_ctx: ToolContext) -> None:
    with pytest.raises(ConfigurationError) as info:
        build_mcp_server(context=api_ctx, toolsets="sdk,bogus")
    message = str(info.value)
    assert "'bogus'" in message and "sdk" in message and "api" in message
    assert message.count(".") >= 1 and "\n" not in message


def test_read_tool_returns_markdown_and_structured_content(server: Any) -> None:
    async def body(client: Client) -> Any:
        return await client.call_tool("sentry_list_projects", {})

    result = run(server, body)
    assert not result.is_error
    text = result.content[0].text
    assert "notebook" in text
    data = result.structured_content
    assert data["summary"] in text
    assert any(r.get("slug") == "notebook" for r in data["records"])


def test_seed_examples_run(server: Any, local_server: Any) -> None:
    """A few seed examples end to end: capture arrives at the backend, reads answer."""
    marker = "mcp in-memory seed example"

    async def body(client: Client) -> list[Any]:
        return [
            await client.call_tool("sentry_set_user", {"id": "mcp-user-7"}),
            await client.call_tool("sentry_capture_message",
                                   {"message": marker, "level": "warning",
                                    "tags": {"face": "mcp"}}),
            await client.call_tool("sentry_list_issues", {"projectSlug": "notebook"}),
            await client.call_tool("sentry_get_organization_stats",
                                   {"stat": "received", "resolution": "1h"}),
        ]

    results = run(server, body)
    assert [r.is_error for r in results] == [False] * 4, [r.content[0].text for r in results]
    assert all(r.content[0].text for r in results)

    def arrived() -> list[dict[str, Any]]:  # the message event (a tools/call transaction may mention it too)
        return [e for e in local_server.store.events() if marker in json.dumps(e) and e.get("type") != "transaction"]

    for _ in range(100):
        if arrived():
            break
        anyio.run(anyio.sleep, 0.05)
    events = arrived()
    assert events, "the captured message never reached the local backend"
    # the user set by the previous call is on the event: SDK scope state persists between calls
    assert events[-1].get("user", {}).get("id") == "mcp-user-7"
    assert events[-1].get("tags", {}).get("face") == "mcp" or ["face", "mcp"] in events[-1].get("tags", [])


BAD_CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("wrong type", "sentry_list_issues", {"projectSlug": ["not", "a", "string"]}),
    ("missing required", "sentry_get_event", {"projectSlug": "notebook"}),
    ("unknown tool", "sentry_does_not_exist", {}),
    ("1 MB argument", "sentry_capture_message", {"message": "x" * 1_000_000}),
    ("unknown project", "sentry_list_issues", {"projectSlug": "no-such-project"}),
    ("unknown issue", "sentry_get_issue", {"issueId": "NOPE-999999"}),
    ("bad enum", "sentry_capture_message", {"message": "m", "level": "loud"}),
]


@pytest.mark.parametrize(("label", "name", "args"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_input_is_a_tool_error_and_the_server_keeps_serving(
        server: Any, api_ctx: ToolContext, label: str, name: str, args: dict[str, Any]) -> None:
    async def body(client: Client) -> Any:
        bad = await client.call_tool(name, args)
        good = await client.call_tool("sentry_list_projects", {})
        return bad, good

    bad, good = run(server, body)
    assert bad.is_error, f"{label}: {bad}"
    text = bad.content[0].text
    assert text and len(text) < 600 and "Traceback" not in text
    assert api_ctx.settings.auth_token not in text
    assert not good.is_error


def test_error_messages_name_the_problem(server: Any) -> None:
    async def body(client: Client) -> Any:
        return [await client.call_tool(n, a) for _, n, a in BAD_CALLS]

    texts = {label: r.content[0].text for (label, _, _), r in zip(BAD_CALLS, run(server, body))}
    assert "projectSlug" in texts["wrong type"]
    assert "eventId" in texts["missing required"]
    assert "sentry_does_not_exist" in texts["unknown tool"]
    assert "KB" in texts["1 MB argument"] and str(MAX_ARGUMENT_CHARS // 1024) in texts["1 MB argument"]
    assert "no-such-project" in texts["unknown project"]


def test_token_never_appears_in_results(server: Any, api_ctx: ToolContext) -> None:
    token = api_ctx.settings.auth_token
    assert token

    async def body(client: Client) -> list[Any]:
        calls = [("sentry_list_projects", {}), ("sentry_list_issues", {"projectSlug": "notebook"}),
                 ("sentry_setup_project", {"projectSlug": "notebook"}),
                 ("sentry_get_issue", {"issueId": token}),
                 ("sentry_list_issues", {"projectSlug": token}),
                 ("sentry_capture_message", {"message": f"leak {token}"})]
        return [await client.call_tool(n, a) for n, a in calls]

    for result in run(server, body):
        dumped = result.model_dump_json(by_alias=True)
        assert token not in dumped, dumped[:300]


# -- the bridge itself, with hand-made tool specs --------------------------------------

class _Args(BaseModel):
    pages: int = Field(3, description="pages to fetch")


def _spec(fn: Callable[..., ToolResult], name: str = "sentry_probe", family: str = "api") -> ToolSpec:
    return ToolSpec(name=name, title="Probe", description="Probe the bridge.", family=family,
                    purpose="explore", params=_Args, fn=fn, read_only=True)


def test_progress_reaches_the_client_from_the_worker_thread() -> None:
    def probe(ctx: ToolContext, args: _Args) -> ToolResult:
        for page in range(args.pages):
            ctx.progress(page + 1, args.pages, f"page {page + 1}")
        return ToolResult(summary=f"fetched {args.pages} pages")

    context = ToolContext(Settings(url="http://127.0.0.1:9", auth_token="sntrys_probe_token_123"))
    server = build_mcp_server(context=context, tools={"sentry_probe": _spec(probe)})
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        seen.append((done, total, message))

    async def body(client: Client) -> Any:
        return await client.call_tool("sentry_probe", {"pages": 3}, progress_callback=on_progress)

    result = run(server, body)
    assert not result.is_error and result.structured_content == {"summary": "fetched 3 pages"}
    assert seen == [(1, 3, "page 1"), (2, 3, "page 2"), (3, 3, "page 3")]


def test_crash_is_generic_for_the_client_and_logged_without_the_token(
        caplog: pytest.LogCaptureFixture) -> None:
    token = "sntrys_crash_token_abcdefgh"

    def crash(ctx: ToolContext, args: _Args) -> ToolResult:
        raise RuntimeError(f"bug while using {token}")

    def missing(ctx: ToolContext, args: _Args) -> ToolResult:
        raise NotFoundError(f"Issue 7 was not found with {token}; check the ID.", status=404,
                            url="http://127.0.0.1:9/api/0/issues/7/")

    context = ToolContext(Settings(url="http://127.0.0.1:9", auth_token=token))
    server = build_mcp_server(context=context, tools={"sentry_crash": _spec(crash, "sentry_crash"),
                                                      "sentry_missing": _spec(missing, "sentry_missing")})

    async def body(client: Client) -> Any:
        return (await client.call_tool("sentry_crash", {}), await client.call_tool("sentry_missing", {}))

    with caplog.at_level(logging.ERROR, logger="sentry_ipy.mcp"):
        crashed, missed = run(server, body)
    assert crashed.is_error and crashed.content[0].text == "Internal error in sentry_crash; see the server log."
    assert missed.is_error and missed.content[0].text.startswith("Issue 7 was not found with [Filtered]")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged and "Traceback" in logged and token not in logged


def test_one_tool_context_per_server() -> None:
    made: list[int] = []

    def probe(ctx: ToolContext, args: _Args) -> ToolResult:
        made.append(id(ctx))
        return ToolResult(summary="ok")

    server = build_mcp_server(Settings(url="http://127.0.0.1:9", auth_token="sntrys_probe_token_123"),
                              tools={"sentry_probe": _spec(probe)})

    async def body(client: Client) -> None:
        for _ in range(3):
            await client.call_tool("sentry_probe", {})

    run(server, body)
    assert len(made) == 3 and len(set(made)) == 1


def test_api_calls_deliver_queued_captures_first(api_ctx: ToolContext) -> None:
    """MCP calls go through run_tool, so an API read sees every capture made before it."""

    def pending(ctx: ToolContext, args: _Args) -> ToolResult:
        telemetry = ctx.telemetry_in_use
        return ToolResult(summary=f"pending {telemetry.stats.pending if telemetry else 'none'}")

    def queue(ctx: ToolContext, args: _Args) -> ToolResult:  # a capture that does not wait
        ctx.telemetry().capture_exception(ValueError(f"queued {args.pages}"))
        return ToolResult(summary="queued")

    tools = {"sentry_probe": _spec(pending), "sentry_queue": _spec(queue, "sentry_queue", "sdk")}
    server = build_mcp_server(context=api_ctx, tools=tools)

    async def body(client: Client) -> list[Any]:
        out = []
        for n in range(5):
            await client.call_tool("sentry_queue", {"pages": n})
            out.append(await client.call_tool("sentry_probe", {}))
        return out

    assert [r.content[0].text for r in run(server, body)] == ["pending 0"] * 5


def test_sdk_tools_share_context_state_across_calls_and_event_loops() -> None:
    """sentry-sdk keeps scope in context variables; SDK tools must see what earlier calls set."""
    import contextvars

    scope: contextvars.ContextVar[int | None] = contextvars.ContextVar("probe_scope", default=None)

    def set_scope(ctx: ToolContext, args: _Args) -> ToolResult:
        scope.set(args.pages)
        return ToolResult(summary="set")

    def get_scope(ctx: ToolContext, args: _Args) -> ToolResult:
        return ToolResult(summary=f"scope {scope.get()}")

    server = build_mcp_server(
        Settings(url="http://127.0.0.1:9", auth_token="sntrys_probe_token_123"),
        tools={"sentry_set_probe": _spec(set_scope, "sentry_set_probe", family="sdk"),
               "sentry_get_probe": _spec(get_scope, "sentry_get_probe", family="sdk")})

    async def first(client: Client) -> Any:
        return await client.call_tool("sentry_set_probe", {"pages": 7})

    async def second(client: Client) -> Any:
        return await client.call_tool("sentry_get_probe", {})

    run(server, first)
    assert run(server, second).content[0].text == "scope 7"
