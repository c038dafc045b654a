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
from ..frames import Frame
from ._context import ToolContext
from ._lookup import count_of, dicts, parse_time, project_info
from ._params import Params
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["RETENTION", "STAT_OUTCOMES", "StatsParams", "series_records", "stats_window", "ungrouped"]

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): explore.
PURPOSE = "explore"

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
#: stats_v2 keeps 90 days; older windows come back empty, which would read as "0 events".
RETENTION = timedelta(days=90)
#: Clock skew allowed for an ``until`` slightly in the future.
_SKEW = timedelta(minutes=5)

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


@tool("sentry_get_organization_stats", title="Organization stats", read_only=True, idempotent=True,
      alias="stats", frame=Frame.STATS)
def get_organization_stats(ctx: ToolContext, p: StatsParams) -> ToolResult:
    """Count the organization's events by outcome over time (stats_v2).

    E.g. {"stat":"received","since":"2025-01-01","resolution":"1d"}
    """
    client = ctx.api()
    start, end = stats_window(p.since, p.until, datetime.now(timezone.utc))
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
    body = client.get_object("organizations", client.org, "stats_v2", params=params,
                             scope="org:read")
    wanted = STAT_OUTCOMES[p.stat]
    url = client.url("organizations", client.org, "stats_v2")
    if ungrouped(body):
        wanted = ("total",)
        records, totals = series_records(body, wanted, url=url)
        summary = (f"{plural(totals['total'], p.category)} in {where} from {_iso(start)} to "
                   f"{_iso(end)} ({interval} buckets) in total: this server ignored "
                   f"groupBy=outcome, so its count is not split by outcome and is not a "
                   f"{p.stat} count.")
    else:
        records, totals = series_records(body, wanted, url=url)
        total = sum(totals.values())
        by = ", ".join(f"{k} {v}" for k, v in totals.items() if v) or "none"
        summary = (f"{plural(total, p.category)} {p.stat} in {where} from {_iso(start)} to "
                   f"{_iso(end)} ({interval} buckets; outcomes: {by}).")
    if notes:
        summary += " " + " ".join(notes)
    return ToolResult(
        summary=summary, records=records, columns=("time", "count", *wanted[:4]),
        links={"Stats": client.web_link("stats/")},
        hints=[] if wanted == ("total",) else
        [f"{p.stat} = sum of outcomes {', '.join(wanted)} (stats_v2)."])


def stats_window(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """``(start, end)`` from the arguments, or one sentence on what is wrong with them.

    The window must be ordered, start no later than now and lie within the 90
    days stats_v2 keeps: an older window would come back as zeros, a wrong
    number reported as success, and a longer one as thousands of buckets.
    """
    end = parse_time(until, "until") if until else now
    start = parse_time(since, "since") if since else max(end - _DEFAULT_WINDOW, now - RETENTION)
    oldest = now - RETENTION - _SKEW
    if end <= oldest + _SKEW:
        raise ToolInputError(f"'until' ({_iso(end)}) is more than 90 days ago, and Sentry keeps "
                             f"stats for 90 days; give a time after {_iso(oldest + _SKEW)}.")
    if start >= end:
        upto = f"'until' ({_iso(end)})" if until else f"now ({_iso(end)})"
        raise ToolInputError(f"'since' ({_iso(start)}) must be before {upto}.")
    if start > now + _SKEW:
        raise ToolInputError(f"'since' ({_iso(start)}) is in the future; give a time within the "
                             "last 90 days.")
    if start < oldest:
        raise ToolInputError(f"'since' ({_iso(start)}) is more than 90 days ago, and Sentry keeps "
                             f"stats for 90 days; give a time after {_iso(oldest + _SKEW)}.")
    if end - start > RETENTION + timedelta(days=1):
        raise ToolInputError(f"The window {_iso(start)} to {_iso(end)} is longer than the 90 days "
                             "Sentry keeps stats for; bring 'until' closer to 'since'.")
    return start, end


def series_records(body: dict[str, Any], outcomes: tuple[str, ...], *,
                   url: str = "") -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One row per interval: ``time``, ``count`` (the wanted outcomes summed) and each outcome.

    ``outcomes == ("total",)`` reads every group as one total (see :func:`ungrouped`).

    Returns the rows and the per-outcome totals. A count that is not a number
    is an ``UnexpectedResponseError`` (naming ``url``), never a silent zero.
    """
    intervals = raw_intervals if isinstance(raw_intervals := body.get("intervals"), list) else []
    per_outcome: dict[str, list[int]] = {o: [0] * len(intervals) for o in outcomes}
    totals = {o: 0 for o in outcomes}
    for group in dicts(body.get("groups")):
        by = raw_by if isinstance(raw_by := group.get("by"), dict) else {}
        outcome = "total" if outcomes == ("total",) else by.get("outcome")
        if not isinstance(outcome, str) or outcome not in per_outcome:
            continue
        series_map = raw_series if isinstance(raw_series := group.get("series"), dict) else {}
        raw = series_map.get(_FIELD)
        series = [count_of(v, "a stats count", url) for v in (raw if isinstance(raw, list) else [])]
        for i, value in enumerate(series[: len(intervals)]):
            per_outcome[outcome][i] += value
        total_map = raw_totals if isinstance(raw_totals := group.get("totals"), dict) else {}
        given = total_map.get(_FIELD)
        totals[outcome] += sum(series) if given is None else count_of(given, "a stats total", url)
    rows = []
    for i, when in enumerate(intervals):
        row: dict[str, Any] = {"time": when, "count": sum(per_outcome[o][i] for o in outcomes)}
        row.update({o: per_outcome[o][i] for o in outcomes})
        rows.append(row)
    return rows, totals


def ungrouped(body: dict[str, Any]) -> bool:
    """True when the server sent groups but split none by outcome (it ignored ``groupBy``).

    Such groups are the total; dropping them would report 0 where the server counted events.
    """
    groups = list(dicts(body.get("groups")))
    return bool(groups) and not any(isinstance(g.get("by"), dict) and g["by"].get("outcome")
                                    for g in groups)


def _iso(moment: datetime) -> str:
    utc = moment.astimezone(timezone.utc)
    return f"{utc.year:04d}-{utc:%m-%dT%H:%M:%S}Z"
