"""Organization stats through ``stats_v2``, answering the seed's v1-style question.

The seed asked the retired ``/stats/`` endpoint for ``received``, ``rejected``
or ``blacklisted`` counts. ``stats_v2`` counts *outcomes* instead, so each v1
stat is the sum of some outcomes (see :data:`STAT_OUTCOMES`); the 10-second
resolution no longer exists, and the result says so rather than failing.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import Field

from ..errors import ToolInputError
from ._context import ToolContext
from ._lookup import parse_time, project_info
from ._params import Params
from ._registry import tool
from ._result import ToolResult

__all__ = ["STAT_OUTCOMES", "StatsParams", "series_records"]

ALL_OUTCOMES = ("accepted", "filtered", "rate_limited", "invalid", "abuse", "client_discard",
                "cardinality_limited")

#: Which ``stats_v2`` outcomes make up each v1 stat.
STAT_OUTCOMES: dict[str, tuple[str, ...]] = {
    "received": ALL_OUTCOMES,
    "rejected": ("rate_limited", "invalid", "abuse"),
    "blacklisted": ("filtered",),
}
_FIELD = "sum(quantity)"
_DEFAULT_WINDOW = timedelta(hours=24)

Category = Literal["error", "transaction", "attachment", "replay", "profile", "profile_duration",
                   "profile_chunk", "span", "monitor"]


class StatsParams(Params):
    stat: Literal["received", "rejected", "blacklisted"] = Field(
        description="received = all; rejected = rate limited, invalid, abuse; "
                    "blacklisted = filtered")
    since: str | None = Field(None, description="ISO or Unix time; default 24h ago")
    until: str | None = Field(None, description="ISO or Unix time")
    resolution: Literal["10s", "1h", "1d"] | None = Field(
        None, description="10s means 1h")
    category: Category = "error"
    project: str | None = Field(None, description="Slug or ID")


@tool("sentry_get_organization_stats", params=StatsParams, title="Organization stats", family="api",
      read_only=True, idempotent=True, alias="stats")
def get_organization_stats(ctx: ToolContext, p: StatsParams) -> ToolResult:
    """Count the organization's events by outcome over time (stats_v2).

    E.g. {"stat":"received","since":"2025-01-01","resolution":"1d"}
    """
    client = ctx.api()
    end = parse_time(p.until, "until") if p.until else datetime.now(timezone.utc)
    start = parse_time(p.since, "since") if p.since else end - _DEFAULT_WINDOW
    if start >= end:
        raise ToolInputError(f"'since' ({start.isoformat()}) must be before 'until' ({end.isoformat()}).")
    notes = []
    interval = p.resolution
    if interval == "10s":
        interval = "1h"
        notes.append("Sentry no longer keeps 10-second stats (stats_v2's smallest interval is 1h), "
                     "so 1h buckets are shown.")
    if interval is None:
        interval = "1h" if end - start <= timedelta(days=14) else "1d"
    params: list[tuple[str, Any]] = [
        ("field", _FIELD), ("groupBy", "outcome"), ("category", p.category),
        ("interval", interval), ("start", _iso(start)), ("end", _iso(end))]
    where = f"organization {client.org!r}"
    if p.project:
        project = project_info(client, p.project)
        params.append(("project", project["id"]))
        where = f"project {project['slug']!r}"
    body = client.get("organizations", client.org, "stats_v2", params=params, scope="org:read")
    wanted = STAT_OUTCOMES[p.stat]
    records, totals = series_records(body or {}, wanted)
    total = sum(totals.values())
    by = ", ".join(f"{k} {v}" for k, v in totals.items() if v) or "none"
    summary = (f"{total} {p.category} {p.stat} in {where} from {_iso(start)} to {_iso(end)} "
               f"({interval} buckets; outcomes: {by}).")
    if notes:
        summary += " " + " ".join(notes)
    return ToolResult(
        summary=summary, records=records, frame="stats", columns=("time", "count", *wanted[:4]),
        links={"Stats": client.web_link("stats/")},
        hints=[f"{p.stat} = sum of outcomes {', '.join(wanted)} (stats_v2)."])


def series_records(body: dict[str, Any], outcomes: tuple[str, ...]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One row per interval: ``time``, ``count`` (the wanted outcomes summed) and each outcome.

    Returns the rows and the per-outcome totals.
    """
    intervals = body.get("intervals") or []
    per_outcome: dict[str, list[int]] = {o: [0] * len(intervals) for o in outcomes}
    totals = {o: 0 for o in outcomes}
    for group in body.get("groups") or []:
        outcome = (group.get("by") or {}).get("outcome")
        if outcome not in per_outcome:
            continue
        series = (group.get("series") or {}).get(_FIELD) or []
        for i, value in enumerate(series[: len(intervals)]):
            per_outcome[outcome][i] += int(value or 0)
        totals[outcome] += int((group.get("totals") or {}).get(_FIELD) or sum(series) or 0)
    rows = []
    for i, when in enumerate(intervals):
        row: dict[str, Any] = {"time": when, "count": sum(per_outcome[o][i] for o in outcomes)}
        row.update({o: per_outcome[o][i] for o in outcomes})
        rows.append(row)
    return rows, totals


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
