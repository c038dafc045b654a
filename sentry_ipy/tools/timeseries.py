"""Time series tool: aggregates per interval, one series per yAxis or per top group.

Sentry's ``events-timeseries/`` answers ``timeSeries: [{yAxis, values, meta, groupBy}]``
with millisecond timestamps; servers without it (older self-hosted Sentry) have
``events-stats/``, keyed by yAxis or group name with ``[[seconds, [{count}]], …]``.
Both become one long-form frame, ``time, series, yAxis, value``, so
``frame.pivot(index="time", columns="series", values="value").plot()`` draws it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..errors import NotFoundError, ToolInputError, UnsupportedFeatureError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import dicts
from ._params import Number
from ._registry import tool
from ._result import ToolResult, plural
from ._window import describe, window_params
from .explore import DatasetScope, object_at, scope_params

__all__ = ["GetTimeseriesParams", "series_rows"]

#: Every tool here reads the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): explore.
PURPOSE = "explore"

_MAX_AXES = 10
_OTHER = "Other"


class GetTimeseriesParams(DatasetScope):
    yAxis: list[str] = Field(["count()"], min_length=1, max_length=_MAX_AXES,
                             description="Aggregates")
    interval: str | None = Field(None, pattern=r"^\d+[mhd]$", description="Default by period")
    groupBy: list[str] | None = Field(None, description="One series per top group")
    topEvents: Number = Field(5, ge=1, le=10, description="Groups kept (rest: Other)")


@tool("sentry_get_timeseries", title="Get time series", read_only=True, idempotent=True,
      alias="timeseries", frame=Frame.TIMESERIES)
def get_timeseries(ctx: ToolContext, p: GetTimeseriesParams) -> ToolResult:
    """Get aggregates over time (count(), p95(span.duration)…) for a dataset, optionally per top group.

    E.g. {"dataset":"spans","yAxis":["count()"],"groupBy":["span.op"],"interval":"1h"}
    """
    client = ctx.api()
    axes = list(dict.fromkeys(a.strip() for a in p.yAxis))
    if not all(axes):
        raise ToolInputError("yAxis holds an empty name; give aggregates such as count().")
    groups = [g.strip() for g in p.groupBy or () if g.strip()]
    base = [*scope_params(ctx, p), *window_params(p, "14d"), *[("yAxis", a) for a in axes]]
    if p.interval:
        base.append(("interval", p.interval))
    sort = [("sort", f"-{axes[0]}"), ("topEvents", p.topEvents)] if groups else []
    source = "events-timeseries"
    body: Any = None
    if not client.features.lacks(source):
        try:
            body = client.get_object("organizations", client.org, source, scope="org:read",
                                     params=[*base, *[("groupBy", g) for g in groups], *sort])
        except (UnsupportedFeatureError, NotFoundError):
            client.features.learn_missing(source)  # older Sentry: the route does not exist
    if body is None:
        source = "events-stats"
        fields = [("field", f) for f in [*groups, *axes]] if groups else []
        try:
            body = client.get_object("organizations", client.org, source, scope="org:read",
                                     params=[*base, *fields, *sort])
        except UnsupportedFeatureError as exc:
            raise client.features.missing("time series API (events-timeseries or events-stats)",
                                          exc) from None
        rows, units = stats_rows(body, axes, bool(groups))
    else:
        rows, units = series_rows(body, groups)
    names = list(dict.fromkeys(r["series"] for r in rows))
    step = f" per {p.interval}" if p.interval else ""
    return ToolResult(
        summary=f"{plural(len(names), 'series', 'series')} of {', '.join(axes)} in dataset "
                f"{p.dataset!r} {describe(p, '14d')}{step} (from {source}).",
        records=rows, columns=("time", "series", "value"), units=units,
        details={"Series": "\n".join(_digest(n, rows) for n in names)} if names else {},
        hints=["Plot: frame.pivot(index='time', columns='series', values='value').plot()."]
        if rows else [])


def series_rows(body: dict[str, Any], groups: list[str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``events-timeseries`` as long-form rows, and each yAxis' unit."""
    series = list(dicts(body.get("timeSeries")))
    axes = {s.get("yAxis") for s in series}
    rows: list[dict[str, Any]] = []
    units: dict[str, str] = {}
    for entry in series:
        axis = str(entry.get("yAxis") or "")
        meta = object_at(entry, "meta")
        if isinstance(meta.get("valueUnit"), str):
            units[axis] = meta["valueUnit"]
        label = axis
        if groups:
            pairs = list(dicts(entry.get("groupBy")))
            label = _OTHER if meta.get("isOther") or not pairs else ", ".join(
                str(g.get("value")) for g in pairs)
            label = f"{label} {axis}" if len(axes) > 1 else label
        rows += [{"time": _iso(v.get("timestamp"), 1000), "series": label, "yAxis": axis, "value": v.get("value")}
                 for v in dicts(entry.get("values"))]
    return rows, units


def stats_rows(body: dict[str, Any], axes: list[str], grouped: bool,
               ) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``events-stats`` as long-form rows: one body, keyed by yAxis, by group, or both."""
    def points(label: str, axis: str, part: Any) -> list[dict[str, Any]]:
        data = part.get("data") if isinstance(part, dict) else None
        return [{"time": _iso(point[0], 1), "series": label, "yAxis": axis,
                 "value": sum(c.get("count") or 0 for c in dicts(point[1]))}
                for point in data or () if isinstance(point, list) and len(point) == 2]

    if "data" in body:  # one yAxis, no groups
        return points(axes[0], axes[0], body), {}
    rows: list[dict[str, Any]] = []
    for key, part in sorted(((k, v) for k, v in body.items() if isinstance(v, dict)),
                            key=lambda kv: kv[1].get("order", 0)):
        if grouped and len(axes) > 1:  # {group: {axis: {data}}}
            rows += [r for axis in axes for r in points(f"{key} {axis}", axis, part.get(axis))]
        else:
            rows += points(key, axes[0] if grouped else key, part)
    return rows, {}


def _digest(name: str, rows: list[dict[str, Any]]) -> str:
    """``name: peak 12 at <time>, sum 40``; a sum only where adding buckets means something."""
    mine = [r for r in rows if r["series"] == name and isinstance(r["value"], (int, float))]
    if not mine:
        return f"{name}: no values"
    peak = max(mine, key=lambda r: r["value"])
    additive = str(mine[0]["yAxis"]).startswith(("count", "sum("))
    total = f", sum {_number(sum(r['value'] for r in mine))}" if additive else ""
    return f"{name}: peak {_number(peak['value'])} at {peak['time']}{total}"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3f}"


def _iso(value: Any, scale: float) -> Any:
    """An epoch timestamp (``scale`` units per second) as ISO text; anything else unchanged."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from datetime import datetime, timezone

        return datetime.fromtimestamp(value / scale, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value
