"""The tool registry: every tool defined once, every face generated from it.

A tool is a typed function ``fn(ctx, params) -> ToolResult`` plus metadata
(seed name, title, family, annotations, magic alias). Tool modules register with
the :func:`tool` decorator when imported; :func:`registry` imports the modules
named in ``TOOL_MODULES`` on first use, so ``import sentry_ipy`` stays cheap.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ..errors import ToolInputError

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

    from ._context import ToolContext
    from ._result import ToolResult

__all__ = ["TOOL_MODULES", "ToolSpec", "get_tool", "parse_args", "registry", "run_tool", "tool"]

Family = Literal["sdk", "api"]

#: Modules that define tools, imported on first use (registry as data).
TOOL_MODULES: tuple[str, ...] = (
    "sentry_ipy.tools.capture",
    "sentry_ipy.tools.scope",
    "sentry_ipy.tools.tracing",
    "sentry_ipy.tools.sessions",
    "sentry_ipy.tools.projects",
    "sentry_ipy.tools.issues",
    "sentry_ipy.tools.triage",
    "sentry_ipy.tools.health",
    "sentry_ipy.tools.admin",
    "sentry_ipy.tools.events",
    "sentry_ipy.tools.releases",
    "sentry_ipy.tools.stats",
    "sentry_ipy.tools.alerts",
    "sentry_ipy.tools.replays",
    "sentry_ipy.tools.delivery",
    "sentry_ipy.tools.notebooks",
    "sentry_ipy.tools.traces",
    "sentry_ipy.tools.activity",
    "sentry_ipy.tools.issue_tags",
)

F = TypeVar("F", bound=Callable[..., "ToolResult"])


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what every face needs to expose it.

    Attributes:
        name: the seed's name (``sentry_list_issues``), the same in every face.
        title: short human title.
        description: written for a model: what it is for, when to use it, an example.
        family: ``"sdk"`` (sends telemetry) or ``"api"`` (reads or writes the Web API).
        params: pydantic model of the arguments; its JSON Schema is the tool's input schema.
        fn: the implementation, ``fn(ctx, params) -> ToolResult``.
        read_only, destructive, idempotent, open_world: MCP annotations.
        alias: short magic name (``issues`` for ``%sentry_issues``), if any.
    """

    name: str
    title: str
    description: str
    family: Family
    params: type[BaseModel]
    fn: Callable[..., ToolResult]
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True
    alias: str | None = None

    @property
    def writes(self) -> bool:
        """True for tools hidden by ``--read-only``."""
        return not self.read_only

    def input_schema(self) -> dict[str, Any]:
        """The tool's JSON Schema, compact: no titles, nested models inlined."""
        from ._schema import compact_schema

        return compact_schema(self.params)


_TOOLS: dict[str, ToolSpec] = {}
_LOCK = threading.Lock()
_loaded = False


def tool(name: str, *, params: type[BaseModel], title: str, family: Family, read_only: bool,
         destructive: bool = False, idempotent: bool = False, open_world: bool = True,
         alias: str | None = None) -> Callable[[F], F]:
    """Register ``fn`` as tool ``name``; the docstring becomes its description.

    The docstring's first line (an imperative sentence) opens the description and is
    the magic's help line; the rest says when to use the tool, what to call next and
    gives one example. Wrapped lines are joined and paragraphs end in a single newline,
    since every character is sent to the model on every turn.
    """

    def decorate(fn: F) -> F:
        doc = _description(fn.__doc__)
        if not doc:
            raise TypeError(f"tool {name} needs a docstring: it is the tool's description")
        spec = ToolSpec(name=name, title=title, description=doc, family=family, params=params,
                        fn=fn, read_only=read_only, destructive=destructive,
                        idempotent=idempotent, open_world=open_world, alias=alias)
        if name in _TOOLS and _TOOLS[name].fn is not fn:
            raise ValueError(f"tool {name} is registered twice")
        clash = [t.name for t in _TOOLS.values() if alias and t.alias == alias and t.name != name]
        if clash:
            raise ValueError(f"tool {name} reuses the alias {alias!r} of {clash[0]}")
        _TOOLS[name] = spec
        return fn

    return decorate


def _description(docstring: str | None) -> str:
    """A docstring as a description: paragraphs on one line each, one newline between."""
    paragraphs = inspect.cleandoc(docstring or "").strip().split("\n\n")
    return "\n".join(" ".join(line.strip() for line in para.splitlines() if line.strip())
                     for para in paragraphs if para.strip())


def registry() -> Mapping[str, ToolSpec]:
    """All tools by name, importing the tool modules on first call."""
    global _loaded
    if not _loaded:
        with _LOCK:
            if not _loaded:
                for module in TOOL_MODULES:
                    importlib.import_module(module)
                _loaded = True
    return dict(sorted(_TOOLS.items()))


def get_tool(name: str) -> ToolSpec:
    """Find a tool by its seed name, its name without ``sentry_``, or its alias."""
    tools = registry()
    if name in tools:
        return tools[name]
    for spec in tools.values():
        if name in (spec.alias, spec.name.removeprefix("sentry_")):
            return spec
    raise ToolInputError(f"There is no tool named {name!r}; known tools: "
                         f"{', '.join(t.removeprefix('sentry_') for t in tools)}.")


def parse_args(spec: ToolSpec, args: Mapping[str, Any] | None) -> BaseModel:
    """Validate ``args`` against the tool's model, or raise one clear sentence."""
    from pydantic import ValidationError

    try:
        return spec.params.model_validate(dict(args or {}))
    except ValidationError as exc:
        raise ToolInputError(describe_validation_error(spec, exc)) from None


def describe_validation_error(spec: ToolSpec, exc: Any) -> str:
    """Turn pydantic's error list into one sentence a user can act on."""
    err = exc.errors(include_url=False)[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or "arguments"
    known = ", ".join(spec.params.model_fields) or "no arguments"
    kind = err.get("type", "")
    if kind == "missing":
        return f"{spec.name} needs the argument {loc!r}; it takes {known}."
    if kind == "extra_forbidden":
        return f"{spec.name} has no argument {loc!r}; it takes {known}."
    got = err.get("input")
    if isinstance(got, float) and got.is_integer() and abs(got) < 1e15:
        got = int(got)  # JSON has one number type: a model that sent 0 should read 0, not 0.0
    shown = repr(got) if len(repr(got)) <= 60 else repr(got)[:57] + "..."
    msg = str(err.get("msg", "is invalid")).rstrip(".").removeprefix("Value error, ")
    msg = msg[0].lower() + msg[1:] if msg else msg
    return f"{spec.name}: argument {loc!r} {_verb(msg)}{msg} (got {shown})."


def _verb(msg: str) -> str:
    return "" if msg.startswith(("value error", "input should", "must", "is ")) else "is invalid: "


def run_tool(name_or_spec: str | ToolSpec, args: Mapping[str, Any] | None, ctx: ToolContext) -> ToolResult:
    """Validate, run and return one tool's result: the single path every face uses.

    ``name_or_spec`` is a spec (a face that looked it up already, or a hand-made one in a
    test) or any name :func:`get_tool` accepts. Whatever every call needs (API
    tools first deliver queued events, so a capture shows up in the next read)
    happens here, so it reaches the notebook, MCP and Python alike; so does the
    scrubbing of results that carry what an SDK sent (``ToolResult.untrusted``).

    Raises:
        ToolInputError: unknown tool or invalid arguments, as one sentence.
    """
    spec = name_or_spec if isinstance(name_or_spec, ToolSpec) else get_tool(name_or_spec)
    params = parse_args(spec, args)
    if spec.family == "api":
        ctx.settle()
    result = spec.fn(ctx, params)
    if result.untrusted:
        telemetry = ctx.telemetry_in_use
        result = result.scrubbed(telemetry.extra_scrub_keys if telemetry is not None else (),
                                 tuple(s for s in ctx.settings.secrets if s))
    if result.records is not None and spec.family == "api":
        result.fetch = fetch_info(ctx, params)
    return result


def fetch_info(ctx: ToolContext, params: BaseModel) -> dict[str, Any]:
    """What a list result was fetched with, for the frame's ``attrs``: the limit paged to,
    the arguments as validated, the server and the UTC time of the fetch."""
    from datetime import datetime, timezone

    limit = ctx.row_limit(params) if "limit" in type(params).model_fields else None
    query = {k: v for k, v in params.model_dump(mode="json").items() if v is not None}
    return {"limit": limit, "query": query, "server": ctx.effective_settings().url,
            "fetched_at": datetime.now(timezone.utc)}
