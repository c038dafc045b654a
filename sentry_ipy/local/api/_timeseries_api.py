"""Time series the clients draw: ``events-timeseries/`` and the older ``events-stats/``.

Both bucket the rows of a dataset (errors, transactions, spans, logs) by
``interval`` over the request's window and compute each ``yAxis`` aggregate
per bucket, with the same aggregates and query syntax as the events list.
With ``groupBy`` (``field`` for ``events-stats``) and ``topEvents``, one series
per top group, ordered by ``count()``, plus ``Other`` for the rest unless
``excludeOther=1``. ``events-timeseries`` writes timestamps in milliseconds,
``events-stats`` in seconds, as Sentry does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._clock import PeriodError, parse_period
from ..search._query import parse_search
from ._discover_api import AGGREGATES, DATASETS, FIELD_TYPES, aggregate_rows, discover_series_rows
from ._explore_api import EXPLORE_DATASETS, aggregate_items, check_fields, explore_items, field_type
from ._plumbing import ApiError, bool_param, get_org, int_param, respond, window

__all__ = ["routes"]

_MAX_BUCKETS = 10000
#: Bucket sizes chosen when no ``interval`` is given, smallest that keeps a series under 200 points.
_AUTO_INTERVALS = (60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400)


class _Source:
    """The rows of one dataset with how to time them and aggregate a group of them."""

    def __init__(self, request: Request, dataset: str) -> None:
        org = get_org(request)
        self.dataset = EXPLORE_DATASETS.get(dataset, dataset)
        self.rows: list[Any]
        self.time_of: Callable[[Any], float]
        self.compute: Callable[[list[Any], list[str]], list[dict[str, Any]]]
        self.field_of: Callable[[Any, str], Any] = lambda row, name: row.field(name)
        if self.dataset in ("spans", "logs"):
            self.rows = explore_items(request, self.dataset, parse_search(request.query_params.get("query")))
            self.time_of = lambda item: item.timestamp
            self.compute = aggregate_items
        elif dataset in DATASETS:
            self.rows = discover_series_rows(request, org, dataset)
            self.time_of = lambda row: float(row.row["timestamp"])
            self.compute = aggregate_rows
        else:
            raise ApiError(400, f"Unsupported dataset {dataset!r}: use errors, transactions, spans or logs.")

    def check(self, axes: list[str]) -> None:
        if self.dataset in ("spans", "logs"):
            check_fields(self.dataset, axes)
        else:
            unknown = [a for a in axes if a not in AGGREGATES]
            if unknown:
                raise ApiError(400, f"Unknown yAxis {unknown[0]!r} for {self.dataset}: use count(), "
                                    "count_unique(user) or last_seen().")

    def value_type(self, axis: str) -> str:
        if self.dataset in ("spans", "logs"):
            return field_type(self.dataset, axis)
        return FIELD_TYPES.get(axis, "integer")


def _interval(request: Request, start: float, end: float) -> int:
    raw = request.query_params.get("interval")
    if not raw:
        return next((s for s in _AUTO_INTERVALS if (end - start) / s <= 200), _AUTO_INTERVALS[-1])
    try:
        seconds = int(float(raw)) if raw.isdigit() else int(parse_period(raw))
    except (PeriodError, ValueError):
        raise ApiError(400, f"Invalid interval {raw!r}: give one such as 1m, 1h or 1d.") from None
    if seconds < 60:
        raise ApiError(400, "The interval has to be at least one minute (1m).")
    return seconds


def _series(request: Request, dataset: str, axes: list[str], group_by: list[str]) -> dict[str, Any]:
    """Compute the buckets and groups both endpoints render."""
    start, end = window(request, "14d")
    if start is None or end is None:
        raise ApiError(400, "Invalid statsPeriod: it is empty; give one such as 24h, or start and end.")
    source = _Source(request, dataset)
    source.check(axes)
    step = _interval(request, start, end)
    first = float(int(start // step) * step)
    count = int((end - first) // step) + 1
    if count > _MAX_BUCKETS:
        raise ApiError(400, "Your interval and date range would create too many results; use a larger interval.")
    groups: list[tuple[tuple[Any, ...], list[Any], bool]] = []
    if group_by:
        top = int_param(request, "topEvents", 5, 1, 10)
        by_key: dict[tuple[Any, ...], list[Any]] = {}
        for row in source.rows:
            by_key.setdefault(tuple(source.field_of(row, f) for f in group_by), []).append(row)
        ranked = sorted(by_key.items(), key=lambda kv: -len(kv[1]))
        groups = [(k, v, False) for k, v in ranked[:top]]
        rest = [r for _, v in ranked[top:] for r in v]
        if rest and not bool_param(request, "excludeOther"):
            groups.append(((), rest, True))
    else:
        groups = [((), source.rows, False)]
    out = []
    for key, rows, is_other in groups:
        buckets: list[list[Any]] = [[] for _ in range(count)]
        for row in rows:
            index = int((source.time_of(row) - first) // step)
            if 0 <= index < count:
                buckets[index].append(row)
        values: dict[str, list[Any]] = {axis: [] for axis in axes}
        for members in buckets:
            computed = source.compute(members, axes)
            for axis in axes:
                value = computed[0][axis] if computed else None
                values[axis].append(0 if value is None else value)  # Sentry zero-fills empty buckets
        out.append({"key": key, "is_other": is_other, "values": values})
    return {"start": first, "end": first + count * step, "step": step, "groups": out, "source": source}


async def events_timeseries(request: Request) -> JSONResponse:
    """``GET organizations/{o}/events-timeseries/``: ``{timeSeries: [...], meta: {dataset, start, end}}``."""
    dataset = request.query_params.get("dataset") or "errors"
    axes = request.query_params.getlist("yAxis") or ["count()"]
    group_by = [g for g in request.query_params.getlist("groupBy") if g]
    result = _series(request, dataset, axes, group_by)
    step, source = result["step"], result["source"]
    series = []
    for order, group in enumerate(result["groups"]):
        for axis in axes:
            kind = source.value_type(axis)
            entry: dict[str, Any] = {
                "yAxis": axis,
                "values": [{"timestamp": int((result["start"] + i * step) * 1000), "value": v, "incomplete": False}
                           for i, v in enumerate(group["values"][axis])],
                "meta": {"interval": step * 1000, "valueType": kind,
                         "valueUnit": "millisecond" if kind == "duration" else None, "order": order,
                         "isOther": group["is_other"]},
            }
            if group_by:
                entry["groupBy"] = [] if group["is_other"] else [
                    {"key": f, "value": v} for f, v in zip(group_by, group["key"], strict=True)]
            series.append(entry)
    return respond({"timeSeries": series, "meta": {"dataset": source.dataset, "start": result["start"] * 1000,
                                                   "end": result["end"] * 1000}})


def _stats_body(result: dict[str, Any], values: list[Any], axis: str, order: int | None) -> dict[str, Any]:
    step = result["step"]
    body: dict[str, Any] = {
        "data": [[int(result["start"] + i * step), [{"count": v}]] for i, v in enumerate(values)],
        "start": int(result["start"]), "end": int(result["end"]), "isMetricsData": False,
        "meta": {"fields": {axis: result["source"].value_type(axis)}, "isMetricsData": False, "tips": {}},
    }
    if order is not None:
        body["order"] = order
    return body


async def events_stats(request: Request) -> JSONResponse:
    """``GET organizations/{o}/events-stats/``: ``{data: [[ts, [{count}]], ...]}``, keyed by yAxis or group."""
    dataset = request.query_params.get("dataset") or "errors"
    axes = request.query_params.getlist("yAxis") or ["count()"]
    top = request.query_params.get("topEvents")
    group_by = [f for f in request.query_params.getlist("field") if f not in axes and "(" not in f] if top else []
    result = _series(request, dataset, axes, group_by)
    if group_by:
        body = {}
        for order, group in enumerate(result["groups"]):
            name = "Other" if group["is_other"] else ",".join(str(v) for v in group["key"])
            body[name] = _stats_body(result, group["values"][axes[0]], axes[0], order)
        return respond(body)
    (group,) = result["groups"]
    if len(axes) == 1:
        return respond(_stats_body(result, group["values"][axes[0]], axes[0], None))
    return respond({axis: _stats_body(result, group["values"][axis], axis, i) for i, axis in enumerate(axes)})


routes = [
    Route("/organizations/{org}/events-timeseries/", events_timeseries, methods=["GET"]),
    Route("/organizations/{org}/events-stats/", events_stats, methods=["GET"]),
]
