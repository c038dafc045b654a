"""``GET organizations/{o}/stats_v2/``: outcome totals and time series.

Reads the outcomes table (accepted, invalid, client_discard...). Intervals
must be at least one hour, at most one day, and divide a day evenly, as on
sentry.io; the old ``10s`` resolution of ``/stats/`` is rejected with a 400.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ..store._health_queries import outcome_rows
from ..store._store import Store, as_db_id
from ._plumbing import ApiError, buckets, ctx, get_org, interval_seconds, respond, stamp

__all__ = ["outcome_report", "routes", "stats_project_ids"]

_FIELDS = {"sum(quantity)", "sum(times_seen)"}
_GROUP_BY = {"outcome", "category", "project", "reason"}


def stats_project_ids(values: list[str]) -> list[int]:
    """Read repeatable ``project=`` of ``stats_v2`` (numeric IDs only; ``-1`` or none: all), or a 400."""
    ids = [as_db_id(p) for p in values if p not in ("", "-1")]
    if None in ids:
        raise ApiError(400, "project must be numeric project IDs on stats_v2; pass e.g. project=1.")
    return [i for i in ids if i is not None]


def outcome_report(store: Store, org: dict[str, Any], fields: list[str], group_by: list[str], *, step: int,
                   start: float, end: float, n: int, filters: dict[str, list[str]] | None = None,
                   project_ids: list[int] | None = None) -> dict[str, Any]:
    """Outcome totals and series in ``n`` buckets of ``step`` seconds, grouped by ``group_by``."""
    rows = outcome_rows(store, org["id"], start, end, filters or {}, project_ids or [])
    by_project = "project" in group_by
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row["project_id"] if g == "project" else row[g] for g in group_by)
        group = groups.setdefault(
            key,
            {"by": dict(zip(group_by, key, strict=True)), "totals": {f: 0 for f in fields},
             "series": {f: [0] * n for f in fields}},
        )
        slot = int((row["timestamp"] - start) // step)
        for f in fields:
            amount = int(row["quantity"]) if f == "sum(quantity)" else 1
            group["totals"][f] += amount
            if 0 <= slot < n:
                group["series"][f][slot] += amount
    out = []
    for group in groups.values():
        if by_project:
            group.pop("series")
        out.append(group)
    out.sort(key=lambda g: tuple(str(v) for v in g["by"].values()))
    return {
        "start": stamp(start),
        "end": stamp(end),
        "intervals": [stamp(start + i * step) for i in range(n)],
        "groups": out,
    }


def stats_v2(request: Request) -> JSONResponse:
    """Aggregate outcomes by the requested ``groupBy`` keys."""
    c, org = ctx(request), get_org(request)
    params = request.query_params
    fields = params.getlist("field")
    if not fields or any(f not in _FIELDS for f in fields):
        raise ApiError(400, "field is required: sum(quantity) or sum(times_seen).")
    group_by = params.getlist("groupBy")
    if not group_by or any(g not in _GROUP_BY for g in group_by):
        raise ApiError(400, "groupBy is required: outcome, category, project or reason.")
    step = interval_seconds(request)
    start, end, n = buckets(request, step)
    filters = {name: [v for v in params.getlist(name) if v] for name in ("category", "outcome", "reason")}
    return respond(outcome_report(c.store, org, fields, group_by, step=step, start=start, end=end, n=n,
                                  filters=filters, project_ids=stats_project_ids(params.getlist("project"))))


routes = [Route("/organizations/{org}/stats_v2/", stats_v2, methods=["GET"])]
