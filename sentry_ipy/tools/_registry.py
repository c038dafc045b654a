"""The tool registry: every tool defined once, every face generated from it.

A tool is a typed function ``fn(ctx, params) -> ToolResult`` plus metadata
(seed name, title, annotations, magic alias, result frame). Tool modules register
with the :func:`tool` decorator when imported; :func:`registry` imports the modules
named in ``TOOL_MODULES`` on first use, so ``import sentry_ipy`` stays cheap.

Each fact is written once: the parameter model is the annotation of the
function's second argument, the family is the module's ``FAMILY`` constant, and
the magic alias is the decorator's ``alias=`` (which :func:`declared_aliases`
reads from the source, so ``%load_ext`` registers the short magics without
importing pydantic).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import threading
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from .._types import PURPOSES, Family, Purpose
from ..errors import ToolInputError

if TYPE_CHECKING:  # pragma: no cover
    from ..frames import Frame
    from pydantic import BaseModel

    from ._context import ToolContext
    from ._result import ToolResult

__all__ = ["MAX_ARGUMENT_CHARS", "TOOL_MODULES", "ToolSpec", "declared_aliases", "get_tool", "parse_args", "registry",
           "run_tool", "tool"]

#: Largest input one call may bring, in characters: the JSON of an MCP call's arguments, a
#: magic's line. Sentry drops events far smaller than this, and a caller that sends more is
#: looping or pasting, not working; every face refuses it in one sentence.
MAX_ARGUMENT_CHARS = 256 * 1024

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
    "sentry_ipy.tools.explore",
    "sentry_ipy.tools.timeseries",
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
        purpose: what the tool is for (``triage``, ``explore``, ``capture``, ``admin``),
            the module's ``PURPOSE``; an MCP toolset of its own.
        params: pydantic model of the arguments; its JSON Schema is the tool's input schema.
        fn: the implementation, ``fn(ctx, params) -> ToolResult``.
        read_only, destructive, idempotent, open_world: MCP annotations.
        alias: short magic name (``issues`` for ``%sentry_issues``), if any.
        frame: the column schema of the result's rows (:class:`~sentry_ipy.frames.Frame`).
    """

    name: str
    title: str
    description: str
    family: Family
    purpose: Purpose
    params: type[BaseModel]
    fn: Callable[..., ToolResult]
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True
    alias: str | None = None
    frame: Frame | None = None

    @property
    def writes(self) -> bool:
        """True for tools hidden by ``--read-only``."""
        return not self.read_only

    def input_schema(self) -> dict[str, Any]:
        """The tool's JSON Schema, compact: no titles, nested models inlined."""
        from ._schema import compact_schema

        return compact_schema(self.params)

    def output_schema(self) -> dict[str, Any]:
        """The JSON Schema every result's structured content conforms to (one model, all tools)."""
        from ._render import output_schema

        return output_schema()


_TOOLS: dict[str, ToolSpec] = {}
_LOCK = threading.Lock()
_loaded = False


def tool(name: str, *, title: str, read_only: bool, destructive: bool = False,
         idempotent: bool = False, open_world: bool = True, alias: str | None = None,
         frame: Frame | None = None) -> Callable[[F], F]:
    """Register ``fn`` as tool ``name``; the docstring becomes its description.

    The docstring's first line (an imperative sentence) opens the description and is
    the magic's help line; the rest says when to use the tool, what to call next and
    gives one example. Wrapped lines are joined and paragraphs end in a single newline,
    since every character is sent to the model on every turn.

    The parameter model is the annotation of ``fn``'s second argument and the family
    the defining module's ``FAMILY``; ``alias`` must be a string literal here (the
    notebook reads it from the source). ``frame`` is stamped on every result.

    Raises:
        TypeError: no docstring, no parameter model annotation, or no module ``FAMILY``.
        ValueError: the name or the alias is taken.
    """

    def decorate(fn: F) -> F:
        from ..frames import Frame  # here, not at import: %load_ext imports this module

        doc = _description(fn.__doc__)
        if not doc:
            raise TypeError(f"tool {name} needs a docstring: it is the tool's description")
        spec = ToolSpec(name=name, title=title, description=doc, family=_family_of(name, fn),
                        purpose=_purpose_of(name, fn),
                        params=_params_of(name, fn), fn=fn, read_only=read_only,
                        destructive=destructive, idempotent=idempotent, open_world=open_world,
                        alias=alias, frame=Frame(frame) if frame is not None else None)
        if name in _TOOLS and _TOOLS[name].fn is not fn:
            raise ValueError(f"tool {name} is registered twice")
        clash = [t.name for t in _TOOLS.values() if alias and t.alias == alias and t.name != name]
        if clash:
            raise ValueError(f"tool {name} reuses the alias {alias!r} of {clash[0]}")
        _TOOLS[name] = spec
        return fn

    return decorate


def _family_of(name: str, fn: Callable[..., Any]) -> Family:
    """The ``FAMILY`` of the module defining ``fn`` (one family per tool module)."""
    family = getattr(sys.modules.get(fn.__module__), "FAMILY", None)
    if family not in ("sdk", "api"):
        raise TypeError(f"tool {name}: module {fn.__module__} must set FAMILY = 'sdk' or 'api' "
                        "before its tools")
    return typing.cast(Family, family)


def _purpose_of(name: str, fn: Callable[..., Any]) -> Purpose:
    """The ``PURPOSE`` of the module defining ``fn`` (declared once, beside ``FAMILY``)."""
    purpose = getattr(sys.modules.get(fn.__module__), "PURPOSE", None)
    if purpose not in PURPOSES:
        raise TypeError(f"tool {name}: module {fn.__module__} must set PURPOSE to one of "
                        f"{', '.join(PURPOSES)} before its tools")
    return typing.cast(Purpose, purpose)


def _params_of(name: str, fn: Callable[..., Any]) -> type[BaseModel]:
    """The pydantic model annotated on ``fn``'s second argument (``p: ListIssuesParams``)."""
    from pydantic import BaseModel

    arg = list(inspect.signature(fn).parameters)[1:2]
    model = typing.get_type_hints(fn).get(arg[0]) if arg else None
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise TypeError(f"tool {name}: annotate the second argument with its parameter model, "
                        "e.g. def fn(ctx: ToolContext, p: MyParams) -> ToolResult")
    return model


#: ``@tool("sentry_x", ..., alias="x")`` in a tool module's source, up to the ``def``.
_DECORATOR = re.compile(r'^@tool\(\s*"(?P<name>\w+)"(?P<args>.*?)\)\s*\ndef ', re.DOTALL | re.MULTILINE)
_ALIAS = re.compile(r'\balias="(?P<alias>\w+)"')


def declared_aliases() -> dict[str, str]:
    """Magic alias -> tool name, read from the tool modules' source without importing them.

    The decorator's ``alias=`` is the one declaration; reading it as text (about a
    millisecond) lets ``%load_ext`` register ``%sentry_issues`` and friends without
    loading pydantic. ``tests/test_notebook.py`` checks this matches the registry.
    """
    root = Path(__file__).resolve().parent.parent.parent
    out: dict[str, str] = {}
    for module in TOOL_MODULES:
        source = (root / (module.replace(".", "/") + ".py")).read_text(encoding="utf-8")
        for match in _DECORATOR.finditer(source):
            found = _ALIAS.search(match.group("args"))
            if found:
                out[found.group("alias")] = match.group("name")
    return dict(sorted(out.items()))


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
    if spec.frame is not None and result.frame is None:
        result.frame = spec.frame
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
