"""Sentry's ingest rate limits, per data category, on a clock tests can move.

Relay answers with ``X-Sentry-Rate-Limits: <seconds>:<categories>:<scope>...``
(several limits comma-separated, categories ``;``-separated, none meaning
"every category"), on any status; older servers and proxies send only
``429`` with ``Retry-After`` (seconds or an HTTP date), and a ``429`` without
either means 60 seconds. While a category is limited its envelopes wait in
the spool instead of being sent (and instead of being dropped, which is what
sentry-sdk does on its own).

The clock is :func:`time.monotonic` unless one is passed in, so a test can
run out a 60-second window without waiting for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from email.utils import parsedate_to_datetime

__all__ = ["DEFAULT_RETRY_AFTER", "RateLimits", "parse_retry_after"]

#: What Sentry's SDKs assume when a 429 carries no Retry-After header.
DEFAULT_RETRY_AFTER = 60.0

#: The key that stands for "all categories" (a limit with an empty category list).
ALL = "*"


def parse_retry_after(value: str | None, *, wall: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date), else None."""
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - wall())


class RateLimits:
    """The categories the server asked us to hold back, and until when.

    Args:
        clock: monotonic seconds; tests pass one they can advance.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def update(self, status: int, rate_limits: str | None, retry_after: str | None) -> None:
        """Record the limits one ingest response announced."""
        now = self.clock()
        with self._lock:
            if rate_limits:
                for limit in rate_limits.split(","):
                    fields = limit.strip().split(":")
                    try:
                        window = float(fields[0])
                    except ValueError:
                        continue
                    categories = fields[1].split(";") if len(fields) > 1 and fields[1] else [ALL]
                    for category in categories:
                        self._extend(category.strip() or ALL, now + window)
            elif status == 429:
                asked = parse_retry_after(retry_after)
                self._extend(ALL, now + (DEFAULT_RETRY_AFTER if asked is None else asked))

    def _extend(self, category: str, until: float) -> None:
        if until > self._until.get(category, 0.0):
            self._until[category] = until

    def remaining(self, category: str) -> float:
        """Seconds until ``category`` may be sent again (0 when it may be sent now)."""
        now = self.clock()
        with self._lock:
            until = max(self._until.get(category, 0.0), self._until.get(ALL, 0.0))
        return max(0.0, until - now)

    def limited(self, category: str) -> bool:
        """True while ``category`` (or every category) is held back."""
        return self.remaining(category) > 0

    def any_limited(self, categories: Iterable[str]) -> bool:
        """True if one of ``categories`` is held back."""
        return any(self.limited(c) for c in categories)

    def active(self) -> dict[str, float]:
        """Categories held back now, with the seconds left (``"*"`` means all of them)."""
        now = self.clock()
        with self._lock:
            return {cat: round(until - now, 1) for cat, until in sorted(self._until.items()) if until > now}
