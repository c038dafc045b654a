"""``GET organizations/{o}/sessions/``: release health from the stored session updates.

A ``session`` item is an update of one session (``sid``): its first update
has ``init: true``, later ones carry the running error count and finally an
end status. Like Sentry, each session counts once, with the status of its
final update (the last one received): ``crashed``, ``abnormal``, ``errored``
(``errored``/``unhandled``, or an ``ok``/``exited`` session with errors) or
``healthy``. Pre-aggregated ``sessions`` items (server-mode SDKs) add their
``exited``/``errored``/``abnormal``/``crashed`` counts. A session is placed
in the bucket of its ``started`` time.

Supported: ``field`` ``sum(session)`` and ``count_unique(user)`` (distinct
``did``), ``groupBy`` ``session.status``, ``release``, ``environment`` and
``project``, ``project``/``environment`` filters, ``query`` on ``release:``
and ``environment:``, and the ``interval``/``statsPeriod`` rules of
``stats_v2`` (1h to 1d buckets).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._clock import parse_timestamp
from ..search._query import QueryError, Term, evaluate, match_value, parse_search
from ..store._health_queries import session_updates
from ..store._store import Store
from ._plumbing import (
    ApiError,
    buckets,
    ctx,
    get_org,
    interval_seconds,
    project_filter,
    respond,
    stamp,
)

__all__ = ["STATUSES", "SessionCount", "SessionQuery", "health_summary", "routes", "session_counts", "session_report"]

#: The ``session.status`` values Sentry reports, every one present in a grouped answer.
STATUSES = ("abnormal", "crashed", "errored", "healthy")
_FIELDS = ("sum(session)", "count_unique(user)")
_GROUP_BY = ("project", "release", "environment", "session.status")
_QUERY_KEYS = ("release", "environment")


@dataclass(frozen=True)
class SessionCount:
    """``quantity`` sessions of one project, release, environment and final status."""

    project_id: int
    release: str
    environment: str | None
    status: str
    started: float
    quantity: int
    user: str | None


def _final_status(payload: dict[str, Any]) -> str:
    status = str(payload.get("status") or "ok").lower()
    if status in ("crashed", "abnormal"):
        return status
    if status in ("errored", "unhandled"):
        return "errored"
    errors = payload.get("errors")
    has_errors = isinstance(errors, (int, float)) and not isinstance(errors, bool) and errors > 0
    return "errored" if has_errors else "healthy"


def _aggregates(row: dict[str, Any], payload: dict[str, Any]) -> Iterator[SessionCount]:
    items = payload.get("aggregates")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        started = parse_timestamp(item.get("started")) or row["received"]
        did = item.get("did")
        for status, keys in (("healthy", ("exited",)), ("errored", ("errored", "unhandled")),
                             ("abnormal", ("abnormal",)), ("crashed", ("crashed",))):
            n = sum(v for k in keys if isinstance(v := item.get(k), int) and not isinstance(v, bool) and v > 0)
            if n:
                yield SessionCount(int(row["project_id"]), row["release"], row["environment"], status,
                                   float(started), n, str(did) if did else None)


def session_counts(store: Store, project_ids: Iterable[int]) -> list[SessionCount]:
    """Every session of the projects once, with its final status (see the module docstring)."""
    rows = session_updates(store, project_ids)
    final: dict[tuple[int, str], dict[str, Any]] = {}
    first_start: dict[tuple[int, str], float] = {}
    out: list[SessionCount] = []
    for row in rows:
        payload = json.loads(row["payload"])
        if row["kind"] == "aggregates":
            out.extend(_aggregates(row, payload))
            continue
        key = (int(row["project_id"]), str(row["sid"]))
        if row["started"] is not None:
            first_start.setdefault(key, float(row["started"]))
        final[key] = {**row, "payload": payload}
    for key, row in final.items():
        started = first_start.get(key, float(row["received"]))
        out.append(SessionCount(key[0], row["release"], row["environment"], _final_status(row["payload"]),
                                started, 1, str(row["did"]) if row["did"] else None))
    return out


def health_summary(counts: dict[str, int]) -> dict[str, Any]:
    """Totals per status plus ``crashFreeSessions`` (a percentage, None without sessions)."""
    total = sum(counts.get(s, 0) for s in STATUSES)
    crashed = counts.get("crashed", 0)
    return {"sessions": total, **{s: counts.get(s, 0) for s in STATUSES},
            "crashFreeSessions": round(100.0 * (total - crashed) / total, 4) if total else None}


def _matches(query: str, item: SessionCount) -> bool:
    def predicate(term: Term) -> bool:
        if term.key not in _QUERY_KEYS:
            raise QueryError(f"Invalid query field {term.key or term.value!r}: use release: or environment:.")
        value = item.release if term.key == "release" else item.environment
        hit = any(match_value(v, value) for v in term.values)
        return hit != term.negate

    return evaluate(parse_search(query), predicate)


@dataclass(frozen=True)
class SessionQuery:
    """What a release-health request asks: fields, grouping, aligned buckets and filters."""

    fields: list[str]
    group_by: list[str]
    step: int
    start: float
    end: float
    n: int
    project_ids: list[int]
    environments: frozenset[str] = frozenset()
    query: str = ""
    include_totals: bool = True
    include_series: bool = True


def session_report(store: Store, q: SessionQuery) -> dict[str, Any]:
    """Sessions grouped as ``q`` asks, in the shape of Sentry's release-health endpoint.

    Raises:
        ApiError: 400 when the query uses a field other than ``release:`` or ``environment:``.
    """
    fields, group_by, step, start, n = q.fields, q.group_by, q.step, q.start, q.n
    items = [
        s for s in session_counts(store, q.project_ids)
        if start <= s.started < q.end and (not q.environments or s.environment in q.environments)
    ]
    try:
        items = [s for s in items if not q.query or _matches(q.query, s)]
    except QueryError as exc:
        raise ApiError(400, str(exc)) from None

    def key_of(s: SessionCount) -> tuple[Any, ...]:
        values = {"project": s.project_id, "release": s.release, "environment": s.environment,
                  "session.status": s.status}
        return tuple(values[g] for g in group_by)

    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    if not group_by:
        groups[()] = _group(group_by, (), fields, n)
    elif "session.status" in group_by:  # Sentry lists every status, zeros included
        at = group_by.index("session.status")
        others = {k[:at] + k[at + 1:] for k in map(key_of, items)}
        for rest in others or ({()} if group_by == ["session.status"] else set()):
            for status in STATUSES:
                key = (*rest[:at], status, *rest[at:])
                groups[key] = _group(group_by, key, fields, n)
    users: dict[tuple[Any, ...], list[set[str]]] = {}
    for s in items:
        key = key_of(s)
        group = groups.setdefault(key, _group(group_by, key, fields, n))
        slot = int((s.started - start) // step)
        if "sum(session)" in fields:
            group["totals"]["sum(session)"] += s.quantity
            group["series"]["sum(session)"][slot] += s.quantity
        if "count_unique(user)" in fields and s.user:
            seen = users.setdefault(key, [set() for _ in range(n + 1)])
            seen[n].add(s.user)
            seen[slot].add(s.user)
    for key, seen in users.items():
        groups[key]["totals"]["count_unique(user)"] = len(seen[n])
        groups[key]["series"]["count_unique(user)"] = [len(x) for x in seen[:n]]
    out = sorted(groups.values(), key=lambda g: tuple(str(v) for v in g["by"].values()))
    if not q.include_totals:
        for g in out:
            g["totals"] = {}
    if not q.include_series:
        for g in out:
            g["series"] = {}
    return {
        "start": stamp(start),
        "end": stamp(q.end),
        "intervals": [stamp(start + i * step) for i in range(n)] if q.include_series else [],
        "groups": out,
        "query": q.query,
    }


def org_sessions(request: Request) -> JSONResponse:
    """Sessions grouped by status, release, environment or project, as Sentry's release-health endpoint."""
    org = get_org(request)
    params = request.query_params
    fields = params.getlist("field")
    if not fields or any(f not in _FIELDS for f in fields):
        raise ApiError(400, f"field is required: one of {', '.join(_FIELDS)}.")
    group_by = params.getlist("groupBy")
    if any(g not in _GROUP_BY for g in group_by):
        raise ApiError(400, f"Invalid groupBy: use {', '.join(_GROUP_BY)}.")
    step = interval_seconds(request)
    start, end, n = buckets(request, step, "24h")
    query = params.get("query") or ""
    try:
        parse_search(query)
    except QueryError as exc:
        raise ApiError(400, str(exc)) from None
    q = SessionQuery(fields, group_by, step, start, end, n, [int(p["id"]) for p in project_filter(request, org)],
                     frozenset(e for e in params.getlist("environment") if e), query,
                     include_totals=params.get("includeTotals") != "0", include_series=params.get("includeSeries") != "0")
    return respond(session_report(ctx(request).store, q))


def _group(group_by: list[str], key: tuple[Any, ...], fields: list[str], n: int) -> dict[str, Any]:
    return {"by": dict(zip(group_by, key, strict=True)), "totals": {f: 0 for f in fields},
            "series": {f: [0] * n for f in fields}}


routes = [Route("/organizations/{org}/sessions/", org_sessions, methods=["GET"])]
