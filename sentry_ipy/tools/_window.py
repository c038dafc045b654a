"""Absolute time windows for list tools, and exports longer than one Discover query allows.

Sentry takes either ``statsPeriod`` (``14d``, relative to now) or ``start`` and
``end`` (ISO-8601), never both. The list tools take both forms: ``start``/``end``
as ISO text or, from Python, ``datetime`` objects (naive ones are UTC).

Discover pages by offset and stops at an offset of 10,000 rows per query
(:data:`DISCOVER_CEILING`), so :func:`collect_newest_first` walks back in time
instead: it fetches up to the ceiling, then asks again with ``end`` moved to the
oldest row it got (plus a millisecond, so that rows sharing that timestamp are
not lost whether the server treats ``end`` as inclusive or not), and drops the
rows it has already seen by ID. No gaps, no duplicates, any length of history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import Field

from ..errors import ToolInputError

__all__ = ["DISCOVER_CEILING", "When", "absolute_window", "collect_newest_first", "describe", "end_field", "iso",
           "start_field", "window", "window_bounds", "window_params"]

#: Rows one Discover query can page through (Sentry's offset limit).
DISCOVER_CEILING = 10_000

#: A point in time: ISO-8601 text (``2025-01-31T12:00:00Z``) or a ``datetime``.
When = datetime | None


def start_field() -> Any:
    """The optional ``start`` argument (with ``end``, instead of ``statsPeriod``)."""
    return Field(None, description="ISO 8601; with end, instead of statsPeriod")


def end_field() -> Any:
    """The optional ``end`` argument (default now when ``start`` is given)."""
    return Field(None, description="ISO 8601; default now")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def iso(value: datetime) -> str:
    """``2025-01-31T12:00:00.000000Z``: what Sentry's ``start``/``end`` parse."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def window(params: Any, default_period: str | None, now: datetime | None = None
           ) -> tuple[datetime, datetime] | str | None:
    """The call's window: ``(start, end)``, a ``statsPeriod`` string, or ``None`` (the server's default).

    Raises:
        ToolInputError: both forms given, ``end`` without ``start``, or ``end`` not after ``start``.
    """
    start, end = getattr(params, "start", None), getattr(params, "end", None)
    period = getattr(params, "statsPeriod", None)
    if start is None and end is None:
        return period or default_period
    if "statsPeriod" in params.model_fields_set and period:
        raise ToolInputError("Give either statsPeriod or start/end, not both.")
    if start is None:
        raise ToolInputError("end needs a start; give start too (ISO 8601, e.g. 2025-01-01T00:00:00Z).")
    start = _utc(start)
    end = _utc(end) if end is not None else (now or datetime.now(timezone.utc))
    if end <= start:
        raise ToolInputError(f"end ({iso(end)}) must be after start ({iso(start)}).")
    return start, end


def window_bounds(params: Any) -> tuple[datetime, datetime] | None:
    """``(start, end)`` when the call gave an absolute window, else ``None`` (a period)."""
    found = window(params, None)
    return found if isinstance(found, tuple) else None


def window_params(params: Any, default_period: str | None = None) -> list[tuple[str, str]]:
    """The query parameters for the call's window (``statsPeriod``, or ``start`` and ``end``)."""
    found = window(params, default_period)
    if found is None:
        return []
    if isinstance(found, str):
        return [("statsPeriod", found)]
    return [("start", iso(found[0])), ("end", iso(found[1]))]


def describe(params: Any, default_period: str | None = None) -> str:
    """``over 14d`` or ``from 2025-01-01T00:00:00Z to ...`` for a summary."""
    found = window(params, default_period)
    if found is None:
        return ""
    if isinstance(found, str):
        return f"over {found}"
    return f"from {iso(found[0])[:19]}Z to {iso(found[1])[:19]}Z"


def absolute_window(params: Any, default_period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The call's window as ``(start, end)``: a ``statsPeriod`` counts back from ``now``."""
    found = window(params, default_period, now)
    if isinstance(found, tuple):
        return found
    current = now or datetime.now(timezone.utc)
    return current - _period(found or default_period), current


def collect_newest_first(fetch: Callable[[list[tuple[str, str]], int], tuple[list[dict[str, Any]], bool]],
                         params: Any, default_period: str, limit: int | None, *,
                         time_key: str = "timestamp", id_key: str = "id",
                         now: datetime | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Every row of the window, newest first, in queries of at most :data:`DISCOVER_CEILING` rows.

    Args:
        fetch: ``fetch(window_params, limit) -> (rows, more_exist)``, one paged query
            sorted newest first.
        params: the tool's parameters (``statsPeriod``/``start``/``end``).
        limit: most rows in all (``None``: all of them).

    Returns ``(rows, truncated)``; truncated when ``limit`` stopped it, or when more
    than a whole query's worth of rows share one timestamp (no window can split them).
    """
    start, end = absolute_window(params, default_period, now)
    query = window_params(params, default_period)  # the first query as the caller gave it
    rows: list[dict[str, Any]] = []
    seen: set[Any] = set()
    overlap = 0  # rows of the last query that the next one returns again
    while True:
        want = DISCOVER_CEILING if limit is None else min(DISCOVER_CEILING, limit - len(rows) + overlap)
        batch, more = fetch(query, want)
        fresh = [r for r in batch if r.get(id_key) not in seen]
        seen.update(r.get(id_key) for r in fresh)
        rows.extend(fresh)
        if limit is not None and len(rows) >= limit:
            return rows[:limit], len(rows) > limit or more
        if not more:
            return rows, False
        oldest = _parse(batch[-1].get(time_key)) if batch else None
        if oldest is None:
            return rows, True
        end = oldest + timedelta(milliseconds=1)
        overlap = sum(1 for r in batch if (t := _parse(r.get(time_key))) is not None and t < end)
        if overlap >= DISCOVER_CEILING or not fresh:
            return rows, True  # a whole query of rows at one instant: say so, do not loop
        query = [("start", iso(start)), ("end", iso(end))]


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _period(text: str) -> timedelta:
    """``14d`` as a timedelta (the pattern on ``statsPeriod`` guarantees the form)."""
    return timedelta(**{_UNITS[text[-1]]: int(text[:-1])})
