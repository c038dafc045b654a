"""A counting HTTP transport, so lost telemetry is reported instead of silent.

sentry-sdk sends from a background worker with a bounded queue; when the
queue is full, the server is unreachable or a rate limit is in force it
records a "lost event" for its client reports and moves on. This subclass of
the SDK's own transport keeps the same behaviour and also counts, per
category and reason, what was queued, sent and lost, so
:meth:`Telemetry.flush` can answer "was everything delivered?".
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sentry_sdk.transport import HttpTransport
from sentry_sdk.worker import BackgroundWorker

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from sentry_sdk.envelope import Envelope, Item
    from sentry_sdk.worker import Worker

__all__ = ["CountingTransport", "DeliveryStats", "transport_class"]


@dataclass
class DeliveryStats:
    """Thread-safe counters shared by every transport a :class:`Telemetry` creates.

    Attributes:
        queued: tasks accepted by the worker queue (envelopes and client-report flushes).
        finished: tasks the worker has run, successfully or not.
        sent: envelopes the server answered with 2xx.
        lost: items lost, keyed by ``(category, reason)`` as in Sentry client reports
            (``queue_overflow``, ``network_error``, ``ratelimit_backoff``, ``send_error``...).
    """

    queued: int = 0
    sent: int = 0
    finished: int = 0
    lost: Counter[tuple[str, str]] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        """Increase one of the envelope counters."""
        with self._lock:
            setattr(self, name, getattr(self, name) + n)

    def add_lost(self, category: str, reason: str, quantity: int) -> None:
        """Record ``quantity`` lost items of ``category`` for ``reason``."""
        with self._lock:
            self.lost[(category, reason)] += quantity

    @property
    def pending(self) -> int:
        """Tasks queued but not yet run by the worker."""
        with self._lock:
            return max(0, self.queued - self.finished)

    def lost_total(self) -> int:
        """Items lost so far (spans counted with their transaction are not double counted)."""
        with self._lock:
            return sum(n for (cat, _), n in self.lost.items() if cat not in ("span", "log_byte"))

    def snapshot(self) -> dict[str, Any]:
        """Plain-data copy for tool results and ``doctor`` output."""
        with self._lock:
            return {"queued": self.queued, "sent": self.sent, "pending": max(0, self.queued - self.finished),
                    "lost": {f"{cat}:{reason}": n for (cat, reason), n in sorted(self.lost.items())}}


class _CountingWorker(BackgroundWorker):
    """The SDK's background worker, counting tasks in and out."""

    def __init__(self, queue_size: int, stats: DeliveryStats) -> None:
        super().__init__(queue_size=queue_size)
        self._stats = stats

    def submit(self, callback: Callable[[], Any]) -> bool:
        stats = self._stats

        def run() -> None:
            try:
                callback()
            finally:
                stats.add("finished")

        accepted = super().submit(run)
        if accepted:
            stats.add("queued")
        return accepted


class CountingTransport(HttpTransport):
    """sentry-sdk's ``HttpTransport`` that reports what it queued, sent and lost.

    Use :func:`transport_class` to get a subclass bound to one stats object:
    sentry-sdk instantiates the transport class itself from the client options.
    """

    stats: DeliveryStats = DeliveryStats()

    def _create_worker(self, options: dict[str, Any]) -> Worker:
        return _CountingWorker(options["transport_queue_size"], self.stats)

    def _handle_response(self, response: Any, envelope: Envelope | None) -> None:
        if 200 <= response.status < 300:
            self.stats.add("sent")
        super()._handle_response(response, envelope)

    def record_lost_event(self, reason: str, data_category: Any = None, item: Item | None = None,
                          *, quantity: int = 1) -> None:
        """Count the loss, then let the SDK record it for its client report."""
        category = item.data_category if item is not None else (data_category or "default")
        self.stats.add_lost(str(category), reason, 1 if item is not None else quantity)
        super().record_lost_event(reason, data_category, item, quantity=quantity)


def transport_class(stats: DeliveryStats) -> type[CountingTransport]:
    """Return a :class:`CountingTransport` subclass that reports into ``stats``."""
    return type("CountingTransport", (CountingTransport,), {"stats": stats})
