"""``GET organizations/{o}/events/``: the Discover subset over stored events.

A list of events (no aggregate field or condition) sorted by ``timestamp``, the
default newest first or ``sort=timestamp`` oldest first, is a keyset page over
``(timestamp, id)`` (:func:`dataset_event_rows`): projects, types, window and
environments are decided in SQL, the query's terms in Python over the rows read
from the cursor on, so a page costs the rows scanned to fill it, not the window.
Offset cursors (``0:5000:0``, what Sentry's offset paginator and our own
concurrent reader send) still mean "skip that many", up to Sentry's 10,000.

Other sorts cannot be keyset: an aggregate (``count()``, ``last_seen()``,
``count_unique(user)``) is known only once every row of the window is grouped,
and a text or payload-derived column (``title``, ``transaction.duration``) has
no index and no numeric cursor value. Those queries read and sort every event
of the window in Python on each page, as before (their cost is the window's
events; Discover's own ``statsPeriod`` default of 14 days bounds it), and page
by offset.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._clock import iso, parse_timestamp
from ..ingest._grouping import STACK_ATTRS, exception_values, short_id, stack_frames
from ..search._query import (
    And,
    Expr,
    QueryError,
    Term,
    evaluate,
    leaves,
    match_any,
    match_date,
    match_number,
    parse_search,
    validate_values,
)
from ..search._issue_search import check_is_values, issue_is
from ..store._event_queries import dataset_event_rows, dataset_events, short_seqs
from ..store._keyset import keyset_page
from ..store._store import Store
from ._explore_api import EXPLORE_DATASETS, MAX_FIELDS, MAX_OFFSET, explore, keyset_request
from ._plumbing import (
    ApiError,
    ctx,
    get_org,
    paginate,
    project_filter,
    respond_page,
    window,
)

__all__ = ["AGGREGATES", "DATASETS", "FIELD_TYPES", "aggregate_rows", "discover_rows", "discover_series_rows", "routes"]

FIELD_TYPES = {
    "id": "string", "title": "string", "timestamp": "date", "issue": "string",
    "issue.id": "integer", "level": "string", "culprit": "string", "project": "string",
    "project.id": "integer", "project.name": "string", "message": "string", "release": "string",
    "environment": "string", "transaction": "string", "event.type": "string",
    "user.email": "string", "user.id": "string", "user.username": "string", "user.display": "string",
    "error.type": "array", "error.value": "array", "trace": "string", "platform": "string",
    "transaction.duration": "duration",
    "count()": "integer", "last_seen()": "date", "count_unique(user)": "integer",
}
AGGREGATES = {"count()", "last_seen()", "count_unique(user)"}
_DATE_KEYS = frozenset({"timestamp", "last_seen()"})
_NUMBER_KEYS = frozenset({"count()", "count_unique(user)", "transaction.duration", "issue.id", "project.id"})
DATASETS = {"errors": ("error", "default"), "transactions": ("transaction",), "discover": ("error", "default", "transaction")}


class _Row:
    """An event row with lazily decoded payload and derived field values."""

    def __init__(self, row: dict[str, Any], project: dict[str, Any], issue: dict[str, Any] | None) -> None:
        self.row, self.project, self.issue = row, project, issue
        self._payload: dict[str, Any] | None = None

    @property
    def payload(self) -> dict[str, Any]:
        if self._payload is None:
            self._payload = json.loads(self.row["payload"])
        return self._payload

    def field(self, name: str) -> Any:
        simple = _FIELDS.get(name)
        if simple is not None:
            return simple(self)
        if name.startswith("tags[") or name.startswith("tag["):
            name = name[name.index("[") + 1 : name.rindex("]")].split(",")[0]
        tags = self.payload.get("tags")
        if isinstance(tags, dict):
            return tags.get(name)
        if isinstance(tags, list):
            for pair in tags:
                if isinstance(pair, list) and len(pair) == 2 and pair[0] == name:
                    return pair[1]
        return None

    def _user(self, key: str) -> str | None:
        user = self.payload.get("user")
        value = user.get(key) if isinstance(user, dict) else None
        return None if value is None else str(value)

    def _duration(self) -> float | None:
        start = parse_timestamp(self.payload.get("start_timestamp"))  # SDKs send ISO text or epoch numbers
        if start is not None:
            ms: float = round((self.row["timestamp"] - start) * 1000, 3)
            return ms
        return None

    def matches(self, term: Term) -> bool:
        key = term.key
        if key is None:
            text = term.value.lower()
            hay = f"{self.row['title'] or ''}\n{self.row['message'] or ''}\n{self.row['culprit'] or ''}".lower()
            return text in hay
        if key in ("stack.filename", "stack.abs_path", "stack.module", "stack.function"):
            attrs = STACK_ATTRS[key]
            return match_any(term, [f.get(a) for f in stack_frames(self.payload) for a in attrs])
        if key in ("error.type", "error.value"):
            attr = key.split(".")[1]
            return match_any(term, [v.get(attr) for v in exception_values(self.payload)])
        if key in ("issue", "issue.id"):
            return match_any(term, [self.field("issue"), str(self.row["issue_id"])])
        if key in ("project", "project.id"):
            return match_any(term, [self.project["slug"], str(self.project["id"])])
        if key in ("event.type", "level", "release", "environment", "transaction", "title",
                   "message", "culprit", "user.email", "id", "trace", "platform"):
            if key in ("message", "title") and not any("*" in v for v in term.values):
                hit = any(v.lower() in str(self.field(key) or "").lower() for v in term.values)
                return hit != term.negate
            return match_any(term, [self.field(key)])
        if key == "timestamp":
            return match_date(term, self.row["timestamp"])
        if key in _NUMBER_KEYS:
            return match_number(term, self.field(key))
        if key == "is":  # the status of the event's issue; an event without one has none
            return issue_is(self.issue, term) if self.issue else term.negate
        if key == "has":
            return any(self.field(v) not in (None, "", []) for v in term.values) != term.negate
        return match_any(term, [self.field(key)])


def _user_display(r: _Row) -> str | None:
    return next((v for v in (r._user(k) for k in ("email", "username", "id", "ip_address")) if v), None)


#: How each built-in field reads an event row (a table built once: the field of every row goes through it).
_FIELDS: dict[str, Callable[[_Row], Any]] = {
    "id": lambda r: r.row["event_id"],
    "title": lambda r: r.row["title"],
    "timestamp": lambda r: iso(r.row["timestamp"]),
    "issue": lambda r: short_id(r.project["slug"], r.issue["short_seq"]) if r.issue else None,
    "issue.id": lambda r: r.row["issue_id"],
    "level": lambda r: r.row["level"],
    "culprit": lambda r: r.row["culprit"],
    "project": lambda r: r.project["slug"],
    "project.name": lambda r: r.project["slug"],
    "project.id": lambda r: int(r.project["id"]),
    "message": lambda r: r.row["message"] or r.row["title"],
    "release": lambda r: r.row["release"],
    "environment": lambda r: r.row["environment"],
    "transaction": lambda r: r.row["transaction_name"] or r.payload.get("transaction"),
    "event.type": lambda r: r.row["type"],
    "user.email": lambda r: r.row["user_email"],
    "user.id": lambda r: r._user("id"),
    "user.username": lambda r: r._user("username"),
    "user.display": _user_display,
    "error.type": lambda r: [v.get("type") for v in exception_values(r.payload) if v.get("type")],
    "error.value": lambda r: [v.get("value") for v in exception_values(r.payload) if v.get("value")],
    "trace": lambda r: r.row["trace_id"],
    "platform": lambda r: r.row["platform"],
    "transaction.duration": lambda r: r._duration(),
}


def _split_having(expr: Expr) -> tuple[Expr, list[Term]]:
    """Separate aggregate conditions (``count():>5``) from row conditions.

    Aggregate conditions filter groups after aggregation (SQL ``HAVING``), so
    like Discover they may only be ANDed at the top level of the query.

    Raises:
        QueryError: an aggregate condition inside an ``OR`` group.
    """
    parts = expr.parts if isinstance(expr, And) else (expr,)
    having = [p for p in parts if isinstance(p, Term) and p.key in AGGREGATES]
    rest = tuple(p for p in parts if p not in having)
    if any(t.key in AGGREGATES for p in rest for t in leaves(p)):
        raise QueryError("Having an OR between aggregate filters and normal filters is invalid; AND them instead.")
    return And(rest), having


def aggregate_rows(rows: list[_Row], fields: list[str]) -> list[dict[str, Any]]:
    """Group rows by the plain fields and compute the aggregate ones (one dict per group)."""
    plain = [f for f in fields if f not in AGGREGATES]
    groups: dict[tuple[Any, ...], list[_Row]] = {}
    for row in rows:
        # array fields (error.type) group by their whole list, as Discover does
        groups.setdefault(tuple(tuple(v) if isinstance(v := row.field(f), list) else v for f in plain), []).append(row)
    out = []
    for key, members in groups.items():
        item = {f: list(v) if isinstance(v, tuple) else v for f, v in zip(plain, key, strict=True)}
        for f in fields:
            if f == "count()":
                item[f] = len(members)
            elif f == "last_seen()":
                item[f] = iso(max(m.row["timestamp"] for m in members))
            elif f == "count_unique(user)":
                item[f] = len({m.row["user_key"] for m in members if m.row["user_key"]})
        out.append(item)
    return out


def _having_matches(term: Term, group: dict[str, Any]) -> bool:
    value = group.get(term.key or "")
    if term.key == "last_seen()":
        return match_date(term, parse_timestamp(value))
    return match_number(term, value)


def discover_rows(request: Request, org: dict[str, Any], dataset: str, where: Expr) -> list[_Row]:
    """The events of a Discover dataset in the request's projects, window and environments matching ``where``."""
    c = ctx(request)
    projects = {p["id"]: p for p in project_filter(request, org)}
    start, end = window(request, "14d")
    envs = [e for e in request.query_params.getlist("environment") if e]
    events = dataset_events(c.store, list(projects), DATASETS[dataset], start, end, envs)
    issues = short_seqs(c.store, sorted({int(r["issue_id"]) for r in events if r["issue_id"] is not None}))
    rows = [_Row(r, projects[r["project_id"]], issues.get(r["issue_id"])) for r in events]
    return [r for r in rows if evaluate(where, r.matches)]


def _parse(request: Request) -> Expr:
    """The request's ``query``, refused (400) where Sentry refuses it: bad values, unknown ``is:`` values.

    Raises:
        QueryError: with Sentry's reason.
    """
    expr = parse_search(request.query_params.get("query"))
    validate_values(expr, _NUMBER_KEYS, _DATE_KEYS)
    for term in leaves(expr):
        if term.key == "is":
            check_is_values(term)
    return expr


def discover_series_rows(request: Request, org: dict[str, Any], dataset: str) -> list[_Row]:
    """The rows a time series of the dataset counts (``query`` with no aggregate conditions)."""
    expr = _parse(request)
    where, having = _split_having(expr)
    if having:
        raise ApiError(400, "Aggregate conditions (count():>5) do not apply to a time series; remove them.")
    return discover_rows(request, org, dataset, where)


def discover(request: Request) -> JSONResponse:
    """Answer a Discover query on the errors or transactions dataset."""
    org = get_org(request)
    dataset = request.query_params.get("dataset") or "errors"
    if dataset in EXPLORE_DATASETS:
        return explore(request, dataset)
    if dataset not in DATASETS:
        raise ApiError(400, f"Unsupported dataset {dataset!r}: the local server supports errors, transactions,"
                            " spans and logs.")
    fields = request.query_params.getlist("field")
    if not fields:
        raise ApiError(400, "No columns selected: pass at least one field parameter.")
    if len(fields) > MAX_FIELDS:
        raise ApiError(400, f"You can view up to {MAX_FIELDS} fields at a time. Please delete some and try again.")
    unknown = [f for f in fields if f not in FIELD_TYPES and not f.startswith(("tags[", "tag["))]
    if unknown:
        raise ApiError(400, f"Unknown field(s): {', '.join(unknown)}.")
    expr = _parse(request)
    where, having = _split_having(expr)
    meta = {
        "fields": {f: FIELD_TYPES.get(f, "string") for f in fields},
        "units": {f: ("millisecond" if FIELD_TYPES.get(f) == "duration" else None) for f in fields},
        "dataset": dataset,
        "datasetReason": "unchanged",
        "isMetricsData": False,
        "isMetricsExtractedData": False,
        "tips": {},
        "dataScanned": "full",
    }
    sort = request.query_params.get("sort") or request.query_params.get("orderby")
    name = _sort_field(sort, fields)
    aggregate = bool(having) or any(f in AGGREGATES for f in fields)
    if not aggregate and name in (None, "timestamp"):
        return _event_page(request, org, dataset, fields, where, not (sort and not sort.startswith("-")), meta)
    rows = discover_rows(request, org, dataset, where)
    if aggregate:
        extra_aggs = [t.key for t in having if t.key not in fields]
        data = aggregate_rows(rows, [*fields, *(k for k in dict.fromkeys(extra_aggs) if k)])
        data = [d for d in data if all(_having_matches(t, d) for t in having)]
        data = [{f: d[f] for f in fields} for d in data]
    else:
        data = [{f: r.field(f) for f in fields} for r in sorted(rows, key=lambda r: r.row["timestamp"], reverse=True)]
    if sort and name:
        present = [d for d in data if d.get(name) is not None]
        missing = [d for d in data if d.get(name) is None]
        data = sorted(present, key=lambda d: d[name], reverse=sort.startswith("-")) + missing
    return paginate(request, data, wrap="data", extra={"meta": meta}, default_size=50, max_offset=MAX_OFFSET)


def _sort_field(sort: str | None, fields: list[str]) -> str | None:
    """The selected field ``sort`` names (``-count`` names ``count()``), None without a sort; 400 if not selected."""
    if not sort:
        return None
    name = sort.lstrip("-")
    if name not in fields and f"{name}()" in fields:
        name = f"{name}()"
    if name not in fields:
        raise ApiError(400, f"Cannot sort by a field that is not selected: {sort}.")
    return name


def _rows_of(store: Store, rows: list[dict[str, Any]], projects: dict[int, dict[str, Any]]) -> list[_Row]:
    """The :class:`_Row` of each event row, built once (one issue query for the rows that have none yet)."""
    fresh = [r for r in rows if "_row" not in r]
    issues = short_seqs(store, sorted({int(r["issue_id"]) for r in fresh if r["issue_id"] is not None}))
    for r in fresh:
        r["_row"] = _Row(r, projects[r["project_id"]], issues.get(r["issue_id"]))
    return [r["_row"] for r in rows]


def _event_page(request: Request, org: dict[str, Any], dataset: str, fields: list[str], where: Expr,
                descending: bool, meta: dict[str, Any]) -> JSONResponse:
    """One keyset page of events by ``timestamp`` (``descending``: newest first), only its rows shaped."""
    c = ctx(request)
    projects, start, end, envs, cursor, size = keyset_request(request, org)

    def keep(chunk: list[dict[str, Any]]) -> list[bool]:
        return [evaluate(where, r.matches) for r in _rows_of(c.store, chunk, projects)]

    everything = isinstance(where, And) and not where.parts
    with c.store.snapshot():
        rows = dataset_event_rows(c.store, list(projects), DATASETS[dataset], start, end, envs,
                                  None if everything else keep, descending)
        page = keyset_page(rows, cursor, size)
        data = [{f: r.field(f) for f in fields} for r in _rows_of(c.store, page.rows, projects)]
    return respond_page(request, replace(page, rows=data), data, wrap="data", extra={"meta": meta})


routes = [Route("/organizations/{org}/events/", discover, methods=["GET"])]
