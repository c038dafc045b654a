"""Explore tools: any dataset's rows or aggregates from ``organizations/{o}/events/``.

One query names a dataset (``errors``, ``spans``, ``logs``, ``transactions`` or any
other the server has), up to 20 fields (columns and aggregates such as
``count()`` or ``p95(span.duration)``), a search query and a sort. The server
says each column's type in ``meta.fields`` (and unit in ``meta.units``), so the
frame is typed from the answer, with no schema per query.

Every page up to ``limit`` is read, pages fetched concurrently
(:func:`~sentry_ipy.api.collect_offset_pages`). A plain (non-aggregate) query
sorted newest first reads past Sentry's 10,000-row offset ceiling by walking back
through time windows (:func:`._window.collect_newest_first`); any other query
that reaches the ceiling says so.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..api import OFFSET_CEILING, OffsetPages, collect_offset_pages
from ..errors import ToolInputError
from ._context import ToolContext
from ._lookup import project_info, say
from ._params import Number, Params, limit_field, period_field
from ._registry import tool
from ._result import ToolResult, plural
from ._window import When, collect_newest_first, describe, end_field, start_field, window_params

__all__ = ["DEFAULT_FIELDS", "MAX_FIELDS", "DatasetScope", "SearchEventsParams", "is_aggregate",
           "object_at", "scope_params"]

#: Every tool here reads the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): explore.
PURPOSE = "explore"

#: Fields one query may select (Sentry refuses more).
MAX_FIELDS = 20
#: Columns when a call names none, per dataset.
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "errors": ("id", "title", "timestamp", "level", "issue", "project"),
    "transactions": ("id", "transaction", "transaction.duration", "timestamp", "project"),
    "spans": ("id", "span.op", "span.description", "span.duration", "transaction", "timestamp",
              "project"),
    "logs": ("id", "timestamp", "severity", "message", "project"),
}
_NEWEST_FIRST = "-timestamp"
#: What a row names for the next call, by field.
_NEXT = {"issue": ("sentry_get_issue", "issueId"), "trace": ("sentry_get_trace", "traceId")}


def is_aggregate(name: str) -> bool:
    """True for a function (``count()``, ``p95(span.duration)``) or an equation."""
    return "(" in name or name.startswith("equation|")


class DatasetScope(Params):
    """What a query reads: a dataset, a search, projects, environments and a time window."""

    dataset: str = Field("errors", pattern=r"^[a-z_]+$",
                         description="errors, spans, logs, transactions…")
    query: str | None = None
    projects: list[str] | None = Field(None, description="Slugs or IDs; default all")
    environments: list[str] | None = None
    statsPeriod: str = period_field("14d")
    start: When = start_field()
    end: When = end_field()


def scope_params(ctx: ToolContext, p: DatasetScope) -> list[tuple[str, Any]]:
    """The query parameters of ``p``'s dataset, projects (as IDs), environments and search."""
    client = ctx.api()
    out: list[tuple[str, Any]] = [("dataset", p.dataset)]
    out += [("project", project_info(client, s)["id"]) for s in p.projects or ()]
    out += [("environment", e) for e in p.environments or ()]
    return out + ([("query", p.query)] if p.query else [])


class SearchEventsParams(DatasetScope):
    fields: list[str] | None = Field(None, min_length=1, max_length=MAX_FIELDS,
                                     description="Columns, aggregates; default per dataset")
    sort: str | None = Field(None, description="A selected field, - descending")
    limit: Number = limit_field(100, "rows")


@tool("sentry_search_events", title="Search events", read_only=True, idempotent=True,
      alias="events")
def search_events(ctx: ToolContext, p: SearchEventsParams) -> ToolResult:
    """Query any dataset (errors, spans, logs…): rows or aggregates grouped by the other fields, every page up to limit.

    E.g. {"dataset":"spans","fields":["span.op","count()","p95(span.duration)"],"query":"is_transaction:true"}
    """
    client = ctx.api()
    fields = _fields(p)
    aggregated = any(is_aggregate(f) for f in fields)
    if p.sort and p.sort.lstrip("-") not in fields:
        raise ToolInputError(f"sort {p.sort!r} must be one of the selected fields "
                             f"({', '.join(fields)}), with - for descending.")
    hidden = [f for f in ("id", "timestamp") if f not in fields]  # what time windows page by
    walk = (not aggregated and (p.sort or _NEWEST_FIRST) == _NEWEST_FIRST
            and len(fields) + len(hidden) <= MAX_FIELDS)
    sort = p.sort or (f"-{next(f for f in fields if is_aggregate(f))}" if aggregated
                      else _NEWEST_FIRST if walk or "timestamp" in fields else None)
    base = scope_params(ctx, p)
    asked = [*fields, *hidden] if walk else fields
    base += [("field", f) for f in asked] + ([("sort", sort)] if sort else [])
    limit = ctx.row_limit(p)
    pages: list[OffsetPages] = []

    def fetch(window: list[tuple[str, str]], want: int | None) -> tuple[list[dict[str, Any]], bool]:
        found = collect_offset_pages(client, "organizations", client.org, "events",
                                     params=[*base, *window], limit=want, scope="org:read",
                                     progress=ctx.progress)
        pages.append(found)
        return found.rows, found.more

    def run() -> tuple[list[dict[str, Any]], bool]:
        if walk:
            return collect_newest_first(fetch, p, "14d", limit)
        return fetch(window_params(p, "14d"), limit)

    rows, truncated = client.features.first("events (Discover/Explore) API", [("events", run)])
    if walk and hidden:
        rows = [{f: r.get(f) for f in fields} for r in rows]
    meta = pages[0].meta if pages else {}
    notes = _notes(pages, meta, aggregated, walk)
    types = object_at(meta, "fields")
    units = object_at(meta, "units")
    ordered = f", sorted by {sort}" if sort else ""
    return ToolResult(
        untrusted=True,
        summary=f"Found {plural(len(rows), 'row', more=truncated)} in dataset {p.dataset!r} "
                f"{describe(p, '14d')}{ordered}.{say(notes)}",
        records=rows, truncated=truncated, columns=tuple(fields[:6]),
        types={f: str(types.get(f) or "string") for f in fields},
        units={f: str(u) for f in fields if isinstance(u := units.get(f), str) and u},
        hints=_hints(rows, fields))


def object_at(meta: dict[str, Any], key: str) -> dict[str, Any]:
    """``meta[key]`` when it is an object, else an empty one (servers omit or null parts)."""
    value = meta.get(key)
    return value if isinstance(value, dict) else {}


def _fields(p: SearchEventsParams) -> list[str]:
    """The fields asked for, else the dataset's defaults; blanks and repeats are refused."""
    if p.fields is None:
        if p.dataset not in DEFAULT_FIELDS:
            raise ToolInputError(f"Dataset {p.dataset!r} has no default fields here; pass fields "
                                 "(the columns and aggregates to select).")
        return list(DEFAULT_FIELDS[p.dataset])
    fields = [f.strip() for f in p.fields]
    if any(not f for f in fields):
        raise ToolInputError("fields holds an empty name; give column or aggregate names.")
    if len(set(fields)) < len(fields):
        raise ToolInputError("fields names a column twice; give each once.")
    return fields


def _notes(pages: list[OffsetPages], meta: dict[str, Any], aggregated: bool, walk: bool) -> list[str]:
    """What the answer must say about the data the server scanned and where paging stopped."""
    notes = []
    if any(page.partial for page in pages):
        notes.append("Sentry scanned only part of the data (meta.dataScanned is 'partial'), so "
                     "counts are estimates; a shorter period scans all of it.")
    if meta.get("isMetricsData") is True:
        notes.append("Sentry answered from metrics (meta.isMetricsData), not from stored events.")
    if any(page.capped for page in pages) and not walk:
        how = ("group by fewer fields or filter the query" if aggregated
               else "sort by -timestamp (then time windows read every row) or narrow the query")
        notes.append(f"Sentry pages at most {OFFSET_CEILING:,} rows per query; {how} for the rest.")
    return notes


def _hints(rows: list[dict[str, Any]], fields: list[str]) -> list[str]:
    for name, (tool_name, arg) in _NEXT.items():
        value = rows[0].get(name) if rows and name in fields else None
        if value:
            return [f'Next: {tool_name} with {{"{arg}": "{value}"}}.']
    return []
