"""Explore over trace items: ``organizations/{o}/events/?dataset=spans|logs`` and ``events/validate/``.

The ``spans`` dataset holds every stored transaction's spans, the transaction
itself with ``is_transaction:true`` (what the npm CLI sends for ``trace list``
and ``explore --dataset transactions``); ``logs`` holds sentry-sdk's log
records. Fields not built in are read from span data or log attributes, as
Sentry's trace-item attributes are, so an unknown name is an empty column,
not an error. Aggregates (``count()``, ``count_unique(f)``, ``avg``/``sum``/
``min``/``max``/``p50``…``p99`` of a number) group by the other fields.

A list of items (no aggregate) by time, the default newest first or
``sort=timestamp`` oldest first, is a keyset page over ``(time, id)``
(:func:`item_scan_rows`): the query's terms are tested in Python over the rows
read from the cursor on, so a page costs the rows scanned to fill it. Aggregates
and other sorts read and sort every item of the window on each page (they are
known only once all of it is read) and page by offset, as Sentry's do.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._clock import iso
from ..search._query import And, Expr, QueryError, Term, evaluate, leaves, match_any, match_date, match_number, parse_search
from ..store._keyset import Cursor, keyset_page
from ..store._trace_records import item_rows, item_scan_rows
from ._plumbing import (
    ApiError,
    ctx,
    cursor_param,
    get_org,
    int_param,
    paginate,
    project_filter,
    respond,
    respond_page,
    window,
)

__all__ = ["EXPLORE_DATASETS", "MAX_FIELDS", "MAX_OFFSET", "aggregate_items", "check_fields", "explore", "explore_items", "field_type", "keyset_request", "routes"]

#: Dataset names Explore serves here, with the older ``ourlogs`` alias.
EXPLORE_DATASETS = {"spans": "spans", "logs": "logs", "ourlogs": "logs"}
#: Fields one ``events/`` query may select, and the offset its cursors stop at, as Sentry's.
MAX_FIELDS = 20
MAX_OFFSET = 10_000
_AGGREGATE_RE = re.compile(r"^(count|count_unique|avg|sum|min|max|p50|p75|p90|p95|p99)\(([^()]*)\)$")
_PERCENTILES = {"p50": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99}
Getter = Callable[["_Item"], Any]


def _project_fields() -> dict[str, tuple[str, Getter]]:
    return {
        "project": ("string", lambda i: i.project["slug"]),
        "project.slug": ("string", lambda i: i.project["slug"]),
        "project.name": ("string", lambda i: i.project["slug"]),
        "project.id": ("integer", lambda i: int(i.project["id"])),
        "release": ("string", lambda i: i.row["release"]),
        "environment": ("string", lambda i: i.row["environment"]),
        "trace": ("string", lambda i: i.row["trace_id"]),
    }


_SPAN_FIELDS: dict[str, tuple[str, Getter]] = {
    **_project_fields(),
    "id": ("string", lambda i: i.row["span_id"]),
    "span_id": ("string", lambda i: i.row["span_id"]),
    "parent_span": ("string", lambda i: i.row["parent_span_id"]),
    "parent_span_id": ("string", lambda i: i.row["parent_span_id"]),
    "transaction": ("string", lambda i: i.row["transaction_name"]),
    "transaction.id": ("string", lambda i: i.row["event_id"]),
    "transaction.event_id": ("string", lambda i: i.row["event_id"]),
    "transaction.span_id": ("string", lambda i: i.root_span_id),
    "is_transaction": ("boolean", lambda i: bool(i.row["is_transaction"])),
    "span.op": ("string", lambda i: i.row["op"]),
    "op": ("string", lambda i: i.row["op"]),
    "span.description": ("string", lambda i: i.row["description"]),
    "description": ("string", lambda i: i.row["description"]),
    "span.name": ("string", lambda i: i.row["description"]),
    "span.status": ("string", lambda i: i.row["status"]),
    "span.duration": ("duration", lambda i: round((i.row["end"] - i.row["start"]) * 1000, 3)),
    "transaction.duration": ("duration", lambda i: round((i.row["end"] - i.row["start"]) * 1000, 3)
                             if i.row["is_transaction"] else None),
    "timestamp": ("date", lambda i: iso(i.row["end"])),
    "precise.start_ts": ("number", lambda i: i.row["start"]),
    "precise.finish_ts": ("number", lambda i: i.row["end"]),
    "platform": ("string", lambda i: i.row["platform"]),
    "sdk.name": ("string", lambda i: i.row["sdk_name"]),
}
_LOG_FIELDS: dict[str, tuple[str, Getter]] = {
    **_project_fields(),
    "id": ("string", lambda i: i.row["item_id"]),
    "sentry.item_id": ("string", lambda i: i.row["item_id"]),
    "span_id": ("string", lambda i: i.row["span_id"]),
    "severity": ("string", lambda i: i.row["severity"]),
    "log.level": ("string", lambda i: i.row["severity"]),
    "severity_number": ("integer", lambda i: i.row["severity_number"]),
    "message": ("string", lambda i: i.row["body"]),
    "log.body": ("string", lambda i: i.row["body"]),
    "timestamp": ("date", lambda i: iso(i.row["timestamp"])),
    "timestamp_precise": ("integer", lambda i: int(round(i.row["timestamp"] * 1e9))),
    "observed_timestamp": ("integer", lambda i: int(round(i.row["received"] * 1e9))),
}
_FIELDS = {"spans": _SPAN_FIELDS, "logs": _LOG_FIELDS}
_TEXT_FIELDS = {"spans": ("description", "transaction", "span.op"), "logs": ("message",)}


class _Item:
    """One span or log row with its project; fields read lazily."""

    def __init__(self, dataset: str, row: dict[str, Any], project: dict[str, Any]) -> None:
        self.dataset = dataset
        self.row: dict[str, Any] = row
        self.project: dict[str, Any] = project
        self._extra: dict[str, Any] | None = None

    @property
    def timestamp(self) -> float:
        """When the item happened (a span's end, as for transactions)."""
        return float(self.row["end"] if self.dataset == "spans" else self.row["timestamp"])

    @property
    def root_span_id(self) -> str | None:
        return self.row["span_id"] if self.row["is_transaction"] else None

    def extra(self) -> dict[str, Any]:
        if self._extra is None:
            raw = self.row["data"] if self.dataset == "spans" else self.row["attributes"]
            decoded = json.loads(raw) if isinstance(raw, str) else {}
            self._extra = decoded if isinstance(decoded, dict) else {}
        return self._extra

    def field(self, name: str) -> Any:
        known = _FIELDS[self.dataset].get(name)
        if known is not None:
            return known[1](self)
        if name.startswith(("tags[", "tag[")) and name.endswith("]"):
            name = name[name.index("[") + 1 : -1].split(",")[0]
        value = self.extra().get(name)
        return value if value is None or isinstance(value, (str, int, float, bool)) else json.dumps(value)

    def matches(self, term: Term) -> bool:
        if term.key is None:
            text = term.value.lower()
            hit = any(text in str(self.field(f) or "").lower() for f in _TEXT_FIELDS[self.dataset])
            return hit != term.negate
        if term.key == "has":
            hit = any(self.field(v) not in (None, "") for v in term.values)
            return hit != term.negate
        kind = field_type(self.dataset, term.key)
        value = self.field(term.key)
        if kind == "date":
            return match_date(term, self.timestamp)
        if kind in ("duration", "integer", "number"):
            return match_number(term, value)
        if kind == "boolean":
            return match_any(term, [str(value).lower(), "1" if value else "0"])
        return match_any(term, [value])


def field_type(dataset: str, name: str) -> str:
    """The meta type of a field or aggregate (``string`` for attributes not built in)."""
    known = _FIELDS[dataset].get(name)
    if known is not None:
        return known[0]
    match = _AGGREGATE_RE.match(name)
    if match:
        fn, arg = match.groups()
        if fn in ("count", "count_unique"):
            return "integer"
        return field_type(dataset, arg) if arg else "number"
    return "string"


def _aggregate(fn: str, arg: str, members: list[_Item]) -> Any:
    if fn == "count":
        return len(members)
    values = [m.field(arg) for m in members]
    present = [v for v in values if v is not None]
    if fn == "count_unique":
        return len(set(present))
    numbers = sorted(float(v) for v in present if isinstance(v, (int, float)) and not isinstance(v, bool))
    if not numbers:
        return None
    if fn == "sum":
        return sum(numbers)
    if fn == "avg":
        return sum(numbers) / len(numbers)
    if fn == "min":
        return numbers[0]
    if fn == "max":
        return numbers[-1]
    rank = _PERCENTILES[fn] * (len(numbers) - 1)  # linear interpolation between closest ranks
    low, high = math.floor(rank), math.ceil(rank)
    return numbers[low] + (numbers[high] - numbers[low]) * (rank - low)


def check_fields(dataset: str, fields: list[str]) -> None:
    if not fields:
        raise ApiError(400, "No columns selected: pass at least one field parameter.")
    if len(fields) > MAX_FIELDS:
        raise ApiError(400, f"You can view up to {MAX_FIELDS} fields at a time. Please delete some and try again.")
    for name in fields:
        if "(" in name and not _AGGREGATE_RE.match(name):
            raise ApiError(400, f"Unknown function {name!r} for the {dataset} dataset.")
        match = _AGGREGATE_RE.match(name)
        if match and match.group(1) not in ("count",) and not match.group(2):
            raise ApiError(400, f"{match.group(1)}() needs a field, e.g. {match.group(1)}(span.duration).")


def explore_items(request: Request, dataset: str, expr: Expr) -> list[_Item]:
    """The dataset's items in the request's projects, window and environments matching ``expr``, newest first."""
    c, org = ctx(request), get_org(request)
    projects = {p["id"]: p for p in project_filter(request, org)}
    start, end = window(request, "14d")
    envs = [e for e in request.query_params.getlist("environment") if e]
    items = [_Item(dataset, r, projects[r["project_id"]])
             for r in item_rows(c.store, dataset, list(projects), start, end, envs)]
    return [i for i in items if evaluate(expr, i.matches)]


def aggregate_items(items: list[_Item], fields: list[str]) -> list[dict[str, Any]]:
    """Rows of ``fields``: one per item, or one per group of the plain fields when any field aggregates."""
    aggregates = {f: _AGGREGATE_RE.match(f) for f in fields}
    if not any(aggregates.values()):
        return [{f: i.field(f) for f in fields} for i in items]
    plain = [f for f in fields if not aggregates[f]]
    groups: dict[tuple[Any, ...], list[_Item]] = {}
    for item in items:
        groups.setdefault(tuple(item.field(f) for f in plain), []).append(item)
    out = []
    for key, members in groups.items():
        row = dict(zip(plain, key, strict=True))
        for name, match in aggregates.items():
            if match:
                row[name] = _aggregate(match.group(1), match.group(2), members)
        out.append({f: row[f] for f in fields})
    return out


def _sort(request: Request, fields: list[str]) -> str | None:
    """The request's ``sort`` (or ``orderby``), None without one; 400 when it names a field not selected."""
    sort = request.query_params.get("sort") or request.query_params.get("orderby")
    if sort and sort.lstrip("-") not in fields:
        raise ApiError(400, f"Cannot sort by a field that is not selected: {sort}.")
    return sort or None


def _sorted(request: Request, data: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    sort = _sort(request, fields)
    if not sort:
        return data
    name = sort.lstrip("-")
    present = [d for d in data if d.get(name) is not None]
    missing = [d for d in data if d.get(name) is None]
    return sorted(present, key=lambda d: d[name], reverse=sort.startswith("-")) + missing


def explore(request: Request, dataset: str) -> JSONResponse:
    """Answer ``events/?dataset=spans|logs`` as Sentry's Explore does (``data`` and ``meta``)."""
    dataset = EXPLORE_DATASETS[dataset]
    fields = request.query_params.getlist("field")
    check_fields(dataset, fields)
    expr = parse_search(request.query_params.get("query"))
    sort = _sort(request, fields)
    keyset = not any(_AGGREGATE_RE.match(f) for f in fields) and (sort or "-timestamp").lstrip("-") == "timestamp"
    data = [] if keyset else _sorted(request, aggregate_items(explore_items(request, dataset, expr), fields), fields)
    types = {f: field_type(dataset, f) for f in fields}
    meta = {"fields": types, "units": {f: "millisecond" if t == "duration" else None for f, t in types.items()},
            "dataset": dataset, "datasetReason": "unchanged", "isMetricsData": False,
            "isMetricsExtractedData": False, "tips": {}, "accuracy": {"confidence": []},
            "dataScanned": "full"}
    if keyset:
        return _item_page(request, dataset, fields, expr, not (sort and not sort.startswith("-")), meta)
    return paginate(request, data, wrap="data", extra={"meta": meta}, default_size=50, max_offset=MAX_OFFSET)


def keyset_request(request: Request, org: dict[str, Any]) -> tuple[dict[int, dict[str, Any]], float | None,
                                                                   float | None, list[str], Cursor, int]:
    """What a keyset page of ``events/`` reads: ``(projects by ID, start, end, environments, cursor, per_page)``.

    An offset cursor (``0:N:0``) past Sentry's 10,000 rows is refused with Sentry's 400.
    """
    projects = {p["id"]: p for p in project_filter(request, org)}
    start, end = window(request, "14d")
    envs = [e for e in request.query_params.getlist("environment") if e]
    cursor, size = cursor_param(request), int_param(request, "per_page", 50)
    if cursor.value is None and cursor.offset >= MAX_OFFSET:
        raise ApiError(400, "Pagination offset too large")
    return projects, start, end, envs, cursor, size


def _item_page(request: Request, dataset: str, fields: list[str], expr: Expr, descending: bool,
               meta: dict[str, Any]) -> JSONResponse:
    """One keyset page of items by time (``descending``: newest first), the query's terms tested in Python."""
    c = ctx(request)
    projects, start, end, envs, cursor, size = keyset_request(request, get_org(request))

    def items(rows: list[dict[str, Any]]) -> list[_Item]:
        return [_Item(dataset, r, projects[r["project_id"]]) for r in rows]

    def keep(rows: list[dict[str, Any]]) -> list[bool]:
        return [evaluate(expr, i.matches) for i in items(rows)]

    everything = isinstance(expr, And) and not expr.parts
    with c.store.snapshot():
        rows = item_scan_rows(c.store, dataset, list(projects), start, end, envs, None if everything else keep,
                              descending)
        page = keyset_page(rows, cursor, size)
        data = aggregate_items(items(page.rows), fields)
    return respond_page(request, replace(page, rows=data), data, wrap="data", extra={"meta": meta})


def _attr(dataset: str, name: str) -> dict[str, Any]:
    kind = field_type(dataset, name) if dataset in _FIELDS else "string"
    attr_type = {"boolean": "boolean", "string": "string", "date": "string"}.get(kind, "number")
    return {"name": name, "valid": True, "attrType": attr_type, "error": None}


def validate(request: Request) -> JSONResponse:
    """``GET organizations/{o}/events/validate/``: check a query before running it.

    The official MCP server calls it with ``/events/`` parameters before every
    ``search_events``; each part is reported valid or with the sentence the
    query itself would get as a 400.
    """
    org = get_org(request)
    raw = request.query_params.get("dataset") or "spans"
    dataset = EXPLORE_DATASETS.get(raw, raw)
    known = dataset in _FIELDS or dataset in ("errors", "transactions", "discover")
    projects: list[dict[str, Any]]
    try:
        projects = [{"valid": True, "error": None}] if project_filter(request, org) else []
    except ApiError as exc:
        projects = [{"valid": False, "error": str(exc)}]
    fields = request.query_params.getlist("field")
    query: dict[str, Any] = {"valid": True, "error": None, "fields": []}
    try:
        expr = parse_search(request.query_params.get("query"))
        keys = dict.fromkeys(t.key for t in leaves(expr) if t.key and t.key != "has")
        query["fields"] = [_attr(dataset, k) for k in keys]
    except QueryError as exc:
        query = {"valid": False, "error": str(exc), "fields": []}
    orderby = [_attr(dataset, v.lstrip("-")) for v in request.query_params.getlist("orderby")]
    envs = [{"valid": True, "error": None} for _ in request.query_params.getlist("environment")]
    body: dict[str, Any] = {"dataset": [{"name": raw, "valid": known,
                         "error": None if known else f"Unsupported dataset {raw!r}."}],
            "projects": projects, "environment": envs, "field": [_attr(dataset, f) for f in fields],
            "query": query, "orderby": orderby}
    body["valid"] = known and query["valid"] and all(p["valid"] for p in projects)
    return respond(body)


routes = [Route("/organizations/{org}/events/validate/", validate, methods=["GET"])]
