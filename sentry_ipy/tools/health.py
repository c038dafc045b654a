"""Release health: crash-free rates of sessions and users from ``organizations/{o}/sessions/``.

One query groups ``sum(session)`` and ``count_unique(user)`` by the caller's
groups plus ``session.status``; a second counts distinct users per group
without the status (a user with a healthy and a crashed session is one user).
Crash-free sessions = 1 − crashed / all sessions; crash-free users = 1 −
users with a crashed session / all users, as Sentry defines them. Sentry caps a
query at 10,000 data points, so long ranges are asked in windows of at most
:data:`WINDOW_INTERVALS` intervals and joined; group pages are followed by cursor.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from pydantic import Field

from ..errors import ToolInputError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import parse_time, project_info
from ._params import Params, environment_field, period_field
from ._registry import tool
from ._result import ToolResult, plural
from ._window import When, absolute_window, describe, end_field, iso, start_field

__all__ = ["HealthParams", "WINDOW_INTERVALS", "health_rows", "release_health", "totals"]

#: Every tool here reads the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): explore.
PURPOSE = "explore"

#: Intervals per query: two fields of this many points stay under Sentry's 10,000.
WINDOW_INTERVALS = 4000
STATUSES = ("healthy", "errored", "crashed", "abnormal")
GroupKey = Literal["release", "environment", "project", "session.status"]
_INTERVALS = {"1h": 3600, "2h": 7200, "3h": 10800, "4h": 14400, "6h": 21600, "8h": 28800, "12h": 43200,
              "1d": 86400, "24h": 86400}


class HealthParams(Params):
    projectSlug: str | None = Field(None, description="Default: all projects")
    groupBy: list[GroupKey] = Field(["release"], max_length=4)
    interval: Literal["1h", "2h", "3h", "4h", "6h", "8h", "12h", "1d"] = "1d"
    release: str | None = None
    environment: str | None = environment_field()
    statsPeriod: str | None = period_field("14d")
    start: When = start_field()
    end: When = end_field()


def _windows(start: datetime, end: datetime, step: int) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut at interval boundaries into pieces of at most :data:`WINDOW_INTERVALS`."""
    span = timedelta(seconds=step * WINDOW_INTERVALS)
    out, at = [], start
    while at < end:
        nxt = min(end, datetime.fromtimestamp(math.floor((at + span).timestamp() / step) * step, timezone.utc))
        nxt = end if nxt <= at else nxt
        out.append((at, nxt))
        at = nxt
    return out


def _groups(client: Any, params: list[tuple[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Every group of one sessions query (following the group cursor) and its intervals."""
    from ..api import next_cursor

    groups: list[dict[str, Any]] = []
    intervals: list[str] = []
    cursor: str | None = None
    while True:
        response = client.request("GET", "organizations", client.org, "sessions", scope="org:read",
                                  params=params + ([("cursor", cursor)] if cursor else []))
        body = response.json()
        if not isinstance(body, dict) or not isinstance(body.get("groups"), list):
            raise ToolInputError("The sessions endpoint answered without groups; this server has no release health.")
        intervals = intervals or list(body.get("intervals") or [])
        groups += [g for g in body["groups"] if isinstance(g, dict)]
        cursor = next_cursor(response.headers.get("Link"))
        if not cursor:
            return intervals, groups


def _before(end: datetime, got: tuple[list[str], list[dict[str, Any]]]) -> tuple[list[str], list[dict[str, Any]]]:
    """One window's answer without the buckets that start at or after its ``end``.

    A server may answer ``[start, end)`` with the bucket that starts at ``end``
    as well (the local backend counts whole buckets); that bucket is the next
    window's first, and kept twice it would count its sessions twice.
    """
    intervals, groups = got
    keep = len(intervals)
    while keep and parse_time(intervals[keep - 1], "intervals") >= end:
        keep -= 1
    if keep == len(intervals):
        return got
    cut = [{**g, "series": {f: list(v or [])[:keep] for f, v in (g.get("series") or {}).items()}} for g in groups]
    return intervals[:keep], cut


def _key(group: dict[str, Any], keys: list[str]) -> tuple[Any, ...]:
    by = group.get("by") or {}
    return tuple(str(by.get(k)) if by.get(k) is not None else None for k in keys)


def health_rows(by_status: tuple[list[str], list[dict[str, Any]]], users: tuple[list[str], list[dict[str, Any]]],
                keys: list[str]) -> list[dict[str, Any]]:
    """Long-form rows (time, groups, sessions, users, per-status counts, crash-free rates).

    Intervals in which a group had no session are left out (a rate of nothing is not 100 %).
    """
    intervals, groups = by_status
    table: dict[tuple[Any, ...], dict[str, Any]] = {}
    for group in groups:
        key = _key(group, keys)
        status = (group.get("by") or {}).get("session.status")
        series = group.get("series") or {}
        for at, sessions, crashed_users in zip(intervals, series.get("sum(session)") or [],
                                               series.get("count_unique(user)") or [0] * len(intervals),
                                               strict=False):
            if not sessions:
                continue
            row = table.setdefault((at, *key), {"time": at, **dict(zip(keys, key, strict=True)), "sessions": 0,
                                                "users": 0, **{s: 0 for s in STATUSES}, "crashed_users": 0})
            row["sessions"] += sessions
            if status in STATUSES:
                row[status] += sessions
            if status == "crashed":
                row["crashed_users"] += crashed_users or 0
    user_intervals, user_groups = users
    for group in user_groups:
        key = _key(group, keys)
        for at, n in zip(user_intervals, (group.get("series") or {}).get("count_unique(user)") or [], strict=False):
            if n and (at, *key) in table:
                table[(at, *key)]["users"] += n
    for row in table.values():
        row["crash_free_sessions"] = _rate(row["sessions"], row["crashed"])
        row["crash_free_users"] = _rate(row["users"], row["crashed_users"])
    return sorted(table.values(), key=lambda r: tuple(str(v) for v in r.values()))


def _rate(total: int, crashed: int) -> float | None:
    return round(100.0 * (total - crashed) / total, 4) if total else None


def release_health(client: Any, *, project_id: str | None, keys: list[str], interval: str,
                   start: datetime, end: datetime, environment: str | None = None,
                   release: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """The :func:`health_rows` of ``[start, end)`` by ``keys``, and how many windows were asked.

    The one release-health query: ``sentry_get_release_health`` and
    ``sentry_get_notebook_health`` both read sessions through here.
    """
    base: list[tuple[str, Any]] = [("interval", interval), ("project", project_id or "-1")]
    base += [("environment", environment)] if environment else []
    if release:
        base.append(("query", f'release:"{release}"'))
    by_status: tuple[list[str], list[dict[str, Any]]] = ([], [])
    users: tuple[list[str], list[dict[str, Any]]] = ([], [])
    windows = _windows(start, end, _INTERVALS[interval])
    for lo, hi in windows:
        span = [("start", iso(lo)), ("end", iso(hi))]
        got = _before(hi, _groups(client, base + span + [("field", "sum(session)"), ("field", "count_unique(user)")]
                                  + [("groupBy", k) for k in [*keys, "session.status"]]))
        by_status = (by_status[0] + got[0], by_status[1] + [_shifted(g, len(by_status[0])) for g in got[1]])
        got = _before(hi, _groups(client, base + span + [("field", "count_unique(user)")]
                                  + [("groupBy", k) for k in keys]))
        users = (users[0] + got[0], users[1] + [_shifted(g, len(users[0])) for g in got[1]])
    return health_rows(_merged(by_status), _merged(users), keys), len(windows)


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Sessions per status over ``rows``, and their crash-free rate (None without sessions)."""
    total: dict[str, Any] = {k: sum(r[k] for r in rows) for k in ("sessions", *STATUSES)}
    total["rate"] = _rate(total["sessions"], total["crashed"])
    return total


@tool("sentry_get_release_health", title="Get release health", read_only=True, idempotent=True,
      alias="health", frame=Frame.RELEASE_HEALTH)
def get_release_health(ctx: ToolContext, p: HealthParams) -> ToolResult:
    """Crash-free rates of sessions and users, session and user counts per interval, by release (or environment, project).

    From release-health sessions. E.g. {"projectSlug":"backend","groupBy":["release"],"statsPeriod":"7d"}
    """
    client = ctx.api()
    keys: list[str] = [str(k) for k in dict.fromkeys(p.groupBy) if k != "session.status"]
    project = project_info(client, p.projectSlug) if p.projectSlug else None
    start, end = absolute_window(p, "14d")
    rows, windows = release_health(client, project_id=project["id"] if project else None, keys=keys,
                                   interval=p.interval, start=start, end=end, environment=p.environment,
                                   release=p.release)
    total = totals(rows)
    where = f"project {project['slug']!r}" if project else "all projects"
    overall = f"{total['rate']}% crash-free sessions" if total["rate"] is not None else "no sessions"
    split = f" in {windows} windows (10,000-point cap)" if windows > 1 else ""
    return ToolResult(
        summary=f"{plural(total['sessions'], 'session')} in {where} {describe(p, '14d')}{split}: {overall} "
                f"({total['crashed']} crashed, {total['errored']} errored, {total['abnormal']} abnormal), "
                f"{plural(len(rows), 'row')} by {', '.join(['time', *keys])} at {p.interval}.",
        records=rows, columns=("time", *keys, "sessions", "users", "crash_free_sessions", "crash_free_users"),
        hints=[f"Plot: df.pivot(index='time', columns='{keys[0]}', values='crash_free_sessions').plot()"]
        if keys else [])


def _shifted(group: dict[str, Any], offset: int) -> dict[str, Any]:
    """A group whose series starts ``offset`` intervals into the joined windows (zeros before)."""
    series = {f: [0] * offset + list(v or []) for f, v in (group.get("series") or {}).items()}
    return {**group, "series": series}


def _merged(parts: tuple[list[str], list[dict[str, Any]]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Groups of several windows as one: same ``by`` joined, series added position by position."""
    intervals, groups = parts
    joined: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for group in groups:
        key = tuple(sorted((k, str(v)) for k, v in (group.get("by") or {}).items()))
        seen = joined.setdefault(key, {"by": group.get("by") or {}, "series": {}})
        for field, values in (group.get("series") or {}).items():
            have = seen["series"].setdefault(field, [])
            have.extend([0] * (len(values) - len(have)))
            for i, v in enumerate(values):
                have[i] += v or 0
    return intervals, list(joined.values())
