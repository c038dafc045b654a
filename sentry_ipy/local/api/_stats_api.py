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

from ..store._store import as_db_id
from ._plumbing import ApiError, buckets, ctx, get_org, interval_seconds, respond, stamp

__all__ = ["routes"]

_FIELDS = {"sum(quantity)", "sum(times_seen)"}
_GROUP_BY = {"outcome", "category", "project", "reason"}
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
    start, end_aligned, n = buckets(request, step)
    sql = "SELECT * FROM outcomes WHERE org_id = ? AND timestamp >= ? AND timestamp < ?"
    args: list[Any] = [org["id"], start, end_aligned]
    for name in ("category", "outcome", "reason"):
        values = [v for v in params.getlist(name) if v]
        if values:
            sql += f" AND {name} IN ({','.join('?' * len(values))})"
            args += values
    projects = [p for p in params.getlist("project") if p not in ("", "-1")]
    if projects:
        ids = [as_db_id(p) for p in projects]
        if None in ids:
            raise ApiError(400, "project must be numeric project IDs on stats_v2; pass e.g. project=1.")
        sql += f" AND project_id IN ({','.join('?' * len(ids))})"
        args += ids
    rows = c.store.query(sql, args)
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
    return respond({
        "start": stamp(start),
        "end": stamp(end_aligned),
        "intervals": [stamp(start + i * step) for i in range(n)],
        "groups": out,
    })


routes = [Route("/organizations/{org}/stats_v2/", stats_v2, methods=["GET"])]
