"""Build the MCP server from the tool registry: no per-tool code lives here.

Each registered tool becomes one MCP tool with the seed's name, its title and
description, the registry's compact JSON Schema as ``inputSchema`` (so the
schemas match the seed exactly) and the annotation hints that differ from the
MCP defaults. A call goes through :func:`run_tool` (the path every face
shares) on a worker thread and answers with short markdown plus the result's
structured content.

What a text-only client sees. Many clients (Claude Desktop among them) hand the
model ``content`` only, never ``structuredContent``, so the text must stand on
its own. The MCP specification says a tool returning structured content SHOULD
also return it serialized in a text block; sending the whole structured content
twice would double the tokens of every list answer for the clients that forward
both, so we serialize only what the markdown leaves out:

* ``content[0]`` is the markdown: summary, a table of the first rows, the fields
  worth reading (an event's stack trace, tags, user, breadcrumbs, request), links
  and the next step.
* ``content[1]`` exists only when the table left rows out: those rows as compact
  JSON lines, the table's columns only, up to :data:`TEXT_ROWS_BUDGET` characters
  (about 5k tokens). Rows past that are counted and listed by ID in the markdown.

Structured content (capped, the fields worth a model's context) stays the
complete machine-readable answer.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult, TextContent, ToolAnnotations

from .._types import PURPOSES
from ..config import Settings
from ..errors import ConfigurationError, SentryIpyError, error_line
from ..scrub import redact_text, replace_secrets
from ..local import preferred_local_port
from ..tools import (MAX_ARGUMENT_CHARS, TEXT_ROWS_BUDGET, ToolContext, ToolResult, ToolSpec, registry,
                     run_tool)

if TYPE_CHECKING:  # pragma: no cover
    from ..tools import Progress

__all__ = [
    "ANNOTATION_DEFAULTS",
    "MAX_ARGUMENT_CHARS",
    "SERVER_NAME",
    "TEXT_ROWS_BUDGET",
    "build_mcp_server",
    "select_tools",
    "toolset_names",
]

log = logging.getLogger("sentry_ipy.mcp")

SERVER_NAME = "sentry-ipy"

_INSTRUCTIONS = (
    "Sentry tools. 'sdk' tools send telemetry through the Sentry SDK (capture, scope, "
    "tracing, sessions); 'api' tools read and manage Sentry data through the Web API "
    "(projects, issues, events, releases, stats, alerts, replays). Results give IDs and "
    "links to use in the next call."
)

#: Toolsets that select everything.
_ALL = frozenset({"all", "*"})

# The progress reporter of the call running on this thread (set per call, read by
# the shared ToolContext's progress callback).
_CALL_PROGRESS: contextvars.ContextVar[Progress | None] = contextvars.ContextVar(
    "sentry_ipy_mcp_progress", default=None)


def _toolsets_of(spec: ToolSpec) -> set[str]:
    """The toolsets a tool belongs to: its family, its purpose and its module's name (``issues``)."""
    return {spec.family, spec.purpose, spec.fn.__module__.rsplit(".", 1)[-1]}


def toolset_names(tools: Mapping[str, ToolSpec] | None = None) -> list[str]:
    """Every toolset name ``--toolsets`` accepts: families, then purposes, then modules."""
    tools = registry() if tools is None else tools
    families = sorted({s.family for s in tools.values()})
    purposes = [p for p in PURPOSES if any(s.purpose == p for s in tools.values())]
    modules = sorted(set().union(*(_toolsets_of(s) for s in tools.values()))
                     - set(families) - set(purposes))
    return ["all", *families, *purposes, *modules]


def _parse_toolsets(toolsets: str | Iterable[str] | None) -> list[str]:
    if toolsets is None:
        return []
    items = toolsets.split(",") if isinstance(toolsets, str) else list(toolsets)
    return [t.strip().lower() for t in items if t and t.strip()]


def select_tools(tools: Mapping[str, ToolSpec], *, read_only: bool = False,
                 toolsets: str | Iterable[str] | None = None) -> list[ToolSpec]:
    """Pick the tools to expose.

    ``toolsets`` names families (``sdk``, ``api``), tool modules (``issues``,
    ``capture``...), ``all``, or single tools (``sentry_list_issues`` or
    ``list_issues``); a tool is exposed when any name selects it. Selecting by
    data (family and module) means a new tool module is a new toolset with no
    change here.

    Raises:
        ConfigurationError: a name that selects nothing, with the valid names.
    """
    wanted = _parse_toolsets(toolsets)
    known = set(toolset_names(tools))
    by_short = {name.removeprefix("sentry_"): name for name in tools}
    unknown = [w for w in wanted if w not in known and w not in tools and w not in by_short]
    if unknown:
        raise ConfigurationError(
            f"Unknown toolset {', '.join(repr(u) for u in unknown)}; choose from "
            f"{', '.join(toolset_names(tools))}, or a tool name such as sentry_list_issues.")
    chosen: list[ToolSpec] = []
    for name, spec in tools.items():
        if read_only and spec.writes:
            continue
        if wanted and not _ALL.intersection(wanted) and not any(
                w in _toolsets_of(spec) or w == name or by_short.get(w) == name for w in wanted):
            continue
        chosen.append(spec)
    return chosen


class _RegistryTool(Tool):
    """An MCP tool whose schema comes from the registry and whose run is ours.

    The SDK's ``Tool`` derives its schema and validation from a Python
    signature; ours are already defined by the tool's parameter model, so this
    subclass carries the exact schema and hands the raw arguments to the
    dispatcher, which validates them with that model.
    """

    async def run(self, arguments: dict[str, Any], context: Any,
                  convert_result: bool = False) -> Any:
        return await self.fn(arguments, context)


class _Dispatcher:
    """Runs registry tools for one server: one ToolContext, created on first call.

    SDK tools share one ``contextvars.Context`` and run one at a time, so scope
    state one call sets (``sentry_set_user``) is there for the next
    (``sentry_capture_exception``), as in a notebook kernel, although every call
    runs on some worker thread. API tools run concurrently.
    """

    def __init__(self, settings: Settings, context: ToolContext | None) -> None:
        self.settings = settings
        self._context = context
        self._lock = threading.Lock()
        self._sdk_vars = contextvars.copy_context()
        self._sdk_lock = threading.Lock()  # a thread lock: the server may outlive one event loop
        self._chained: Progress | None = None
        if context is not None:
            self._adopt(context)

    def _adopt(self, context: ToolContext) -> None:
        original = context.progress
        self._chained = original
        context.progress = self._progress

    def _progress(self, done: int, total: int | None, message: str) -> None:
        report = _CALL_PROGRESS.get()
        if report is not None:
            report(done, total, message)
        elif self._chained is not None:
            self._chained(done, total, message)

    def context(self) -> ToolContext:
        """The server's ToolContext, created on first use and shared by every call."""
        with self._lock:
            if self._context is None:
                self._context = ToolContext(self.settings, progress=self._progress, fetch_all=False,
                                            local_port=preferred_local_port())
            return self._context

    def secrets(self) -> tuple[str, ...]:
        """The token and DSN keys, including the local backend's once it runs."""
        out = set(self.settings.secrets)
        ctx = self._context
        if ctx is not None and ctx.running_local_server is not None:
            try:
                out.update(ctx.effective_settings().secrets)
            except Exception:  # pragma: no cover - redaction must never fail a call
                pass
        return tuple(out)

    def redact(self, text: str) -> str:
        return redact_text(text, self.secrets())

    def tokens(self) -> tuple[str, ...]:
        """Bearer tokens only: what a successful result must never carry."""
        out = {self.settings.auth_token}
        local = self._context.running_local_server if self._context is not None else None
        if local is not None:
            out.add(local.token)
        return tuple(t for t in out if t and len(t) >= 8)

    def _run_sdk(self, job: Callable[[], ToolResult]) -> ToolResult:
        """Run an SDK tool in the shared SDK context, one at a time (a Context cannot be
        entered by two threads at once)."""
        with self._sdk_lock:
            return self._sdk_vars.run(job)

    async def call(self, spec: ToolSpec, arguments: dict[str, Any], mcp_ctx: Context[Any, Any]
                   ) -> CallToolResult:
        """Run one tool call; expected failures become ``ToolError`` sentences."""
        size = len(json.dumps(arguments, default=str))
        if size > MAX_ARGUMENT_CHARS:
            raise ToolError(f"{spec.name}: the arguments are {size // 1024} KB, more than the "
                            f"{MAX_ARGUMENT_CHARS // 1024} KB limit; send a shorter text.")
        report = _thread_reporter(mcp_ctx)

        def job() -> ToolResult:
            reset = _CALL_PROGRESS.set(report)
            try:
                return run_tool(spec, arguments, self.context())
            finally:
                _CALL_PROGRESS.reset(reset)

        try:
            if spec.family == "sdk":
                result = await anyio.to_thread.run_sync(self._run_sdk, job)
            else:
                result = await anyio.to_thread.run_sync(job)
        except SentryIpyError as exc:
            raise ToolError(error_line(exc, named=False, secrets=self.secrets())
                            or f"{spec.name} failed.") from None
        except Exception:
            log.error("tool %s raised an unexpected exception:\n%s", spec.name,
                      self.redact(traceback.format_exc()))
            raise ToolError(f"Internal error in {spec.name}; see the server log.") from None
        return self._to_call_result(result)

    def _to_call_result(self, result: ToolResult) -> CallToolResult:
        rows, following = result.rows_json(budget=TEXT_ROWS_BUDGET)
        texts = [result.to_markdown(following=following), *([rows] if rows else [])]
        data = result.to_dict(compact=True)
        tokens = self.tokens()
        texts, data = replace_secrets(texts, tokens), replace_secrets(data, tokens)
        return CallToolResult(content=[TextContent(type="text", text=t) for t in texts],
                              structured_content=data)


def _thread_reporter(mcp_ctx: Context[Any, Any]) -> Progress:
    """A progress callback a worker thread may call: it hops back to the event loop.

    The SDK sends ``notifications/progress`` only when the client asked for it
    (a progress token in the request), so this costs nothing otherwise.
    """
    token = anyio.lowlevel.current_token()

    def report(done: int, total: int | None, message: str) -> None:
        try:
            anyio.from_thread.run(mcp_ctx.report_progress, float(done),
                                  None if total is None else float(total), message or None,
                                  token=token)
        except Exception:  # progress is best effort: a closed stream must not fail the tool
            log.debug("progress notification dropped", exc_info=True)

    return report


#: The MCP specification's value for each hint a tool leaves out.
ANNOTATION_DEFAULTS = {"read_only_hint": False, "destructive_hint": True,
                       "idempotent_hint": False, "open_world_hint": True}


def _annotations(spec: ToolSpec) -> ToolAnnotations:
    """The tool's hints, leaving out those equal to the spec default (a client assumes them).

    The title is the tool's own ``title``, so ``annotations.title`` stays unset.
    """
    hints: dict[str, Any] = {"read_only_hint": spec.read_only, "destructive_hint": spec.destructive,
             "idempotent_hint": spec.idempotent, "open_world_hint": spec.open_world}
    return ToolAnnotations(**{k: v for k, v in hints.items() if v != ANNOTATION_DEFAULTS[k]})


def _mcp_tool(spec: ToolSpec, dispatcher: _Dispatcher) -> Tool:
    return _RegistryTool(
        fn=functools.partial(dispatcher.call, spec),
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=spec.input_schema(),
        fn_metadata=FuncMetadata(arg_model=ArgModelBase, output_schema=spec.output_schema()),
        is_async=True,
        context_kwarg=None,  # run() hands the context over itself
        annotations=_annotations(spec),
    )


def build_mcp_server(settings: Settings | None = None, *, read_only: bool = False,
                     toolsets: str | Iterable[str] | None = None,
                     context: ToolContext | None = None,
                     tools: Mapping[str, ToolSpec] | None = None) -> MCPServer:
    """Build an MCP server exposing the registry's tools.

    Args:
        settings: how to reach Sentry; ``context.settings`` or ``Settings.resolve()``
            when omitted.
        read_only: hide every tool that writes (captures, creates, changes scope).
        toolsets: names from :func:`toolset_names` or tool names; all tools when omitted.
        context: an existing ToolContext to share (a notebook's, a test's); otherwise
            the server creates one on its first call and keeps it for its life.
        tools: the tools to choose from; the full registry when omitted.

    Raises:
        ConfigurationError: unknown toolset names or unusable settings.
    """
    if settings is None:
        settings = context.settings if context is not None else Settings.resolve()
    specs = select_tools(registry() if tools is None else tools, read_only=read_only,
                         toolsets=toolsets)
    dispatcher = _Dispatcher(settings, context)
    from .. import __version__

    server: MCPServer = MCPServer(
        SERVER_NAME,
        title="Sentry (sentry-ipy)",
        instructions=_INSTRUCTIONS,
        version=__version__,
        tools=[_mcp_tool(spec, dispatcher) for spec in specs],
        log_level="WARNING",  # a no-op once main() has configured logging
    )
    return server
