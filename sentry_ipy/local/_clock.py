"""Time helpers shared by the store, the ingest path and the API handlers.

Sentry speaks ISO-8601 UTC strings in responses and accepts either a relative
``statsPeriod`` (``24h``, ``14d``) or an absolute ``start``/``end`` pair in
queries. The store keeps epoch seconds (floats) so range filters are cheap;
these helpers convert at the edges in one place.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "MAX_TIMESTAMP",
    "PeriodError",
    "iso",
    "now",
    "parse_period",
    "parse_timestamp",
    "time_window",
]

_PERIOD_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

#: The last second ``datetime`` can format (9999-12-31T23:59:59Z); anything
#: outside ``[0, MAX_TIMESTAMP]`` is not a usable event time.
MAX_TIMESTAMP = 253402300799.0
#: The longest ``statsPeriod`` accepted (ten years): longer ones would reach
#: before 1970 and cannot be formatted, so they are a 400, not a 500.
MAX_PERIOD_SECONDS = 3650 * 86400


class PeriodError(ValueError):
    """A time parameter could not be understood; the message is user-facing."""


def now() -> float:
    """Return the current time as epoch seconds (one seam for the clock)."""
    return time.time()


def iso(ts: float | None) -> str | None:
    """Format epoch seconds like Sentry does (``2024-05-01T12:00:00.123456Z``).

    Never raises for a stored value: ingest normalises timestamps, but a
    database written by an older version may hold milliseconds or ``1e300``,
    and one such row must not make every list answer 500. Values outside the
    formattable range are clamped to it and NaN or junk becomes ``None``.
    """
    if ts is None:
        return None
    try:
        value = float(ts)
    except (TypeError, ValueError, OverflowError):
        return None
    if math.isnan(value):
        return None
    value = min(max(value, 0.0), MAX_TIMESTAMP)
    # What ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` writes, in half its time (two per issue of a list page).
    return datetime.fromtimestamp(value, tz=timezone.utc).isoformat(timespec="microseconds")[:-6] + "Z"


def parse_timestamp(value: Any, default: float | None = None) -> float | None:
    """Read a protocol timestamp: epoch number or RFC 3339 string.

    The SDK sends floats for events but strings for sessions and client
    reports, so both are accepted. Anything unreadable, NaN, infinite or
    outside 1970..9999 yields ``default``, so no caller can store a time
    that later fails to format.
    """
    result = _read_timestamp(value)
    return default if result is None else result


def _read_timestamp(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            result = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        result_or_none = _read_text_timestamp(value.strip())
        if result_or_none is None:
            return None
        result = result_or_none
    else:
        return None
    if not math.isfinite(result) or not 0.0 <= result <= MAX_TIMESTAMP:
        return None
    return result


def _read_text_timestamp(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        pass
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.timestamp()
    except (OverflowError, ValueError):
        return None


def parse_period(value: str) -> float:
    """Turn ``14d``/``24h``/``30m``/``2w``/``10s`` into seconds.

    Raises:
        PeriodError: when the text is not a number followed by s/m/h/d/w.
    """
    match = _PERIOD_RE.match(value or "")
    if not match:
        raise PeriodError(f"Invalid stats_period {value!r}: use a number followed by s, m, h, d or w.")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_PERIOD_SECONDS:
        raise PeriodError(f"Invalid stats_period {value!r}: the longest supported period is 3650d.")
    return seconds


def time_window(
    params: Any, default_period: str | None = "14d"
) -> tuple[float | None, float | None]:
    """Resolve ``statsPeriod`` or ``start``/``end`` query params into a range.

    Args:
        params: a mapping with ``get`` (Starlette ``QueryParams`` works).
        default_period: used when neither form is given; ``None`` = unbounded.

    Returns:
        ``(start, end)`` epoch seconds; either may be ``None`` (open end).

    Raises:
        PeriodError: for unreadable values or a half-given start/end pair.
    """
    period = params.get("statsPeriod")
    if period is None:
        period = params.get("period")
    start_raw, end_raw = params.get("start"), params.get("end")
    if start_raw or end_raw:
        if not (start_raw and end_raw):
            raise PeriodError("start and end must be given together.")
        start = parse_timestamp(start_raw)
        end = parse_timestamp(end_raw)
        if start is None or end is None:
            raise PeriodError("start and end must be ISO-8601 timestamps.")
        if start > end:
            raise PeriodError("start must be before end.")
        return start, end
    if period is None:
        period = default_period
    if not period:
        return None, None
    current = now()
    return current - parse_period(period), current
