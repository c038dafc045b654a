"""The HTTP transport: counts what it sends, and spools what it cannot send yet.

sentry-sdk sends from a background worker with a bounded queue; when the
queue is full, the server is unreachable, answers 5xx or 429, or a rate limit
is in force, it records a "lost event" and moves on. This subclass of the
SDK's own transport keeps its wire format, worker and client reports, and
changes what happens on failure:

* an envelope that could not be delivered (connection refused or reset, a
  timeout, 5xx, 429, a full queue, a category under a rate limit, the process
  exiting with it still queued) goes to the disk :class:`~._spool.Spool`
  instead of being dropped;
* the spool is replayed oldest-first before the next envelope is sent (so a
  new event never overtakes older ones), on every ``flush``, and when the
  transport starts (the next kernel or server process);
* ``X-Sentry-Rate-Limits`` and ``Retry-After`` are honoured per category
  (:class:`~._ratelimits.RateLimits`); after a network failure or a 5xx the
  transport backs off (1 s doubling to 60 s) and spools without trying, so an
  outage costs each capture one file write, not one connection timeout;
* 4xx answers other than 429 (an envelope the server will never accept) are
  counted as lost, as sentry-sdk does: replaying them would never end.

It also counts, per category and reason, what was queued, sent, spooled and
lost, so :meth:`Telemetry.flush` can answer "was everything delivered?".
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sentry_sdk.consts import EndpointType
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import HttpTransport
from sentry_sdk.utils import capture_internal_exceptions
from sentry_sdk.worker import BackgroundWorker

from ._ratelimits import RateLimits
from ._spool import Spool

if TYPE_CHECKING:  # pragma: no cover
    from sentry_sdk.envelope import Item
    from sentry_sdk.worker import Worker

__all__ = ["DEFAULT_TIMEOUT", "CountingTransport", "Delivery", "DeliveryStats", "transport_class"]

#: Seconds one ingest request may take in total (sentry-sdk's own default).
DEFAULT_TIMEOUT = 30.0

#: Backoff after a network failure or a 5xx: first and longest pause, in seconds.
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 60.0

_INTERNAL = "internal"  # client reports: statistics about loss, never worth spooling
_logger = logging.getLogger("sentry_ipy.telemetry")


@dataclass
class DeliveryStats:
    """Thread-safe counters shared by every transport a :class:`Telemetry` creates.

    Attributes:
        queued: tasks accepted by the worker queue (envelopes and client-report flushes).
        finished: tasks the worker has run, successfully or not.
        sent: envelopes the server answered with 2xx (replays included).
        spooled: envelopes written to the disk spool by this process.
        replayed: spooled envelopes delivered later.
        lost: items lost, keyed by ``(category, reason)`` as in Sentry client reports
            (``send_error`` for a 4xx, ``spool_overflow``, ``spool_error``...).
    """

    queued: int = 0
    sent: int = 0
    finished: int = 0
    spooled: int = 0
    replayed: int = 0
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
                    "spooled": self.spooled, "replayed": self.replayed,
                    "lost": {f"{cat}:{reason}": n for (cat, reason), n in sorted(self.lost.items())}}


@dataclass
class Delivery:
    """What every transport of one :class:`Telemetry` shares: counters, spool, limits, clock.

    sentry-sdk creates a new transport on each ``init``; rate limits and the
    backoff must survive that, and the spool belongs to the DSN, not the client.
    """

    stats: DeliveryStats = field(default_factory=DeliveryStats)
    spool: Spool | None = None
    limits: RateLimits = field(default_factory=RateLimits)
    timeout: float = DEFAULT_TIMEOUT
    backoff_until: float = 0.0
    backoff: float = 0.0
    last_failure: str | None = None

    @property
    def clock(self) -> Callable[[], float]:
        """The monotonic clock rate limits and backoff are measured on."""
        return self.limits.clock

    def backing_off(self) -> bool:
        """True while a recent failure says not to try the server yet."""
        return self.clock() < self.backoff_until

    def failed(self, reason: str) -> None:
        """A network failure or 5xx: wait 1 s, then 2, 4... up to 60 s before trying again."""
        self.backoff = min(BACKOFF_MAX, self.backoff * 2 if self.backoff else BACKOFF_FIRST)
        self.backoff_until = self.clock() + self.backoff
        self.last_failure = reason

    def succeeded(self) -> None:
        """The server answered: no more backoff."""
        self.backoff = self.backoff_until = 0.0
        self.last_failure = None


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


def _failure_reason(exc: BaseException) -> str:
    """A spool reason code for a failed request (urllib3 wraps the cause in MaxRetryError)."""
    names: list[str] = []
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        err = todo.pop()
        if not isinstance(err, BaseException) or id(err) in seen:
            continue
        seen.add(id(err))
        names.append(type(err).__name__)
        todo.extend([getattr(err, "reason", None), err.__cause__, err.__context__, *err.args])
    text = " ".join(names)
    if "Timeout" in text:
        return "timeout"
    if "ConnectionRefused" in text or "NewConnectionError" in text:
        return "refused"
    if "Reset" in text or "ProtocolError" in text or "RemoteDisconnected" in text or "Aborted" in text:
        return "reset"
    return "network"


def _categories(items: Iterable[Item]) -> list[str]:
    return [str(item.data_category) for item in items if item.data_category != _INTERNAL]


class CountingTransport(HttpTransport):
    """sentry-sdk's ``HttpTransport`` that spools what it cannot deliver and counts everything.

    Use :func:`transport_class` to get a subclass bound to one :class:`Delivery`:
    sentry-sdk instantiates the transport class itself from the client options.
    """

    delivery: Delivery = Delivery()

    def __init__(self, options: dict[str, Any]) -> None:
        self.TIMEOUT = self.delivery.timeout  # type: ignore[assignment]  # read by super().__init__
        super().__init__(options)
        self._pending: dict[int, Envelope] = {}
        self._pending_lock = threading.Lock()
        self._tokens = itertools.count()
        spool = self.delivery.spool
        if spool is not None and len(spool):  # left by an earlier process (or client): replay now
            self._worker.submit(lambda: self._replay(force=False))

    @property
    def stats(self) -> DeliveryStats:
        """The shared counters."""
        return self.delivery.stats

    def _create_worker(self, options: dict[str, Any]) -> Worker:
        return _CountingWorker(options["transport_queue_size"], self.delivery.stats)

    # -- rate limits: ours, per category, on the delivery's clock --------------------
    def _update_rate_limits(self, response: Any) -> None:
        self.delivery.limits.update(response.status, self._get_header_value(response, "x-sentry-rate-limits"),
                                    self._get_header_value(response, "retry-after"))

    def _check_disabled(self, category: str) -> bool:
        return self.delivery.limits.limited(category)

    def _is_rate_limited(self) -> bool:
        return bool(self.delivery.limits.active())

    # -- the send path -------------------------------------------------------------
    def capture_envelope(self, envelope: Envelope) -> None:
        """Queue ``envelope`` for the worker; if the queue is full, spool it instead of dropping it."""
        token = next(self._tokens)
        with self._pending_lock:
            self._pending[token] = envelope

        def send() -> None:
            with capture_internal_exceptions():
                with self._pending_lock:
                    if token not in self._pending:
                        return  # spooled at shutdown
                self._deliver(envelope)
                with self._pending_lock:
                    self._pending.pop(token, None)
                self._flush_client_reports()

        if not self._worker.submit(send):
            with self._pending_lock:
                self._pending.pop(token, None)
            self.on_dropped_event("full_queue")
            self._to_spool(envelope, "queue_full")

    def _deliver(self, envelope: Envelope) -> None:
        """Send one envelope on the worker thread, keeping it behind anything already spooled."""
        limits = self.delivery.limits
        held = [i for i in envelope.items if i.data_category != _INTERNAL and limits.limited(i.data_category)]
        items = [i for i in envelope.items if not any(i is h for h in held)]
        if held:
            self._to_spool(Envelope(headers=envelope.headers, items=held), "ratelimit")
        if not items:
            return
        envelope = Envelope(headers=envelope.headers, items=items)
        if not _categories(items):  # a client report alone: one try, never spooled
            if not self.delivery.backing_off():
                self._post_envelope(envelope)
            return
        spool = self.delivery.spool
        if spool is not None and len(spool) and not self._replay(force=False):
            self._to_spool(envelope, self.delivery.last_failure or "network")
            return
        if self.delivery.backing_off():
            self._to_spool(envelope, self.delivery.last_failure or "network")
            return
        retry = self._post_envelope(envelope)
        if retry is not None:
            self._to_spool(envelope, retry)

    def _post_envelope(self, envelope: Envelope) -> str | None:
        """Send a live envelope (compressed as sentry-sdk would); returns a spool reason on failure."""
        encoding, body = self._serialize_envelope(envelope)
        headers = {"Content-Type": "application/x-sentry-envelope"}
        if encoding:
            headers["Content-Encoding"] = encoding
        delivered, retry = self._post(body.getvalue(), headers)
        if not delivered and retry is None:
            self._handle_request_error(envelope=envelope, loss_reason="rejected", record_reason="send_error")
        return retry

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[bool, str | None]:
        """POST one envelope body: (delivered, reason to retry later or None if it never will be)."""
        self._update_headers(headers)
        try:
            response = self._request("POST", EndpointType.ENVELOPE, body, headers)
        except Exception as exc:
            reason = _failure_reason(exc)
            self.delivery.failed(reason)
            _logger.debug("sentry-ipy: ingest request failed (%s): %s", reason, exc)
            return False, reason
        try:
            self._update_rate_limits(response)
            status = int(response.status)
            if 200 <= status < 300:
                self.delivery.succeeded()
                self.stats.add("sent")
                return True, None
            if status == 429:
                self.delivery.succeeded()  # it answered; the limit, not a backoff, says when
                return False, "http_429"
            if status >= 500 or status == 408:
                self.delivery.failed(f"http_{status}")
                return False, f"http_{status}"
            _logger.error("sentry-ipy: the ingest server refused an envelope with HTTP %s (%s)",
                          status, getattr(response, "data", b"")[:200])
            return False, None
        finally:
            response.close()

    # -- the spool -------------------------------------------------------------------
    def _to_spool(self, envelope: Envelope, reason: str) -> None:
        """Write ``envelope`` (without client reports) to the spool, or count it lost if we cannot."""
        items = [i for i in envelope.items if i.data_category != _INTERNAL]
        if not items:
            return
        spool = self.delivery.spool
        if spool is None:
            for item in items:
                self.record_lost_event("network_error", item=item)
            return
        envelope = Envelope(headers=envelope.headers, items=items)
        try:
            dropped = spool.add(envelope.serialize(), _categories(items), reason)
        except OSError as exc:
            _logger.warning("sentry-ipy: cannot write the delivery spool in %s (%s); an envelope is lost",
                            spool.directory, exc)
            for item in items:
                self.record_lost_event("spool_error", item=item)
            return
        self.stats.add("spooled")
        if dropped:
            self.stats.add_lost("envelope", "spool_overflow", dropped)

    def _replay(self, *, force: bool) -> bool:
        """Send spooled envelopes oldest-first; False if the server is still failing.

        Envelopes of a category still under a rate limit keep waiting (and
        do not block others). ``force`` (a flush) tries even during the backoff.
        """
        spool = self.delivery.spool
        if spool is None:
            return True
        if not force and self.delivery.backing_off():
            return False
        if force:
            spool.refresh()  # files other processes left, claims of processes that died
        limits = self.delivery.limits
        for entry in spool.entries():
            if any(limits.limited(c) for c in entry.categories):
                continue
            data = spool.claim(entry)
            if data is None:
                continue
            delivered, retry = self._post(data, {"Content-Type": "application/x-sentry-envelope"})
            if delivered:
                spool.done(entry)
                self.stats.add("replayed")
            elif retry is None:  # refused for good (4xx): counted, not replayed forever
                spool.done(entry)
                for category in entry.categories:
                    self.stats.add_lost(category, "send_error", 1)
            else:
                spool.release(entry)
                if retry != "http_429":
                    return False
        return True

    def flush(self, timeout: float, callback: Callable[[int, float], None] | None = None) -> None:
        """Drain the queue, then replay the spool, within ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        super().flush(timeout, callback)
        spool = self.delivery.spool
        left = deadline - time.monotonic()
        if spool is not None and left > 0 and (len(spool) or spool.directory.exists()):
            self._worker.submit(lambda: self._replay(force=True))
            self._worker.flush(left, callback)

    def kill(self) -> None:
        """Spool what is still queued (the process may be exiting), then stop the worker."""
        with self._pending_lock:
            left = [self._pending[t] for t in sorted(self._pending)]
            self._pending.clear()
        for envelope in left:
            self._to_spool(envelope, "shutdown")
        super().kill()

    def record_lost_event(self, reason: str, data_category: Any = None, item: Item | None = None,
                          *, quantity: int = 1) -> None:
        """Count the loss, then let the SDK record it for its client report."""
        category = item.data_category if item is not None else (data_category or "default")
        self.stats.add_lost(str(category), reason, 1 if item is not None else quantity)
        super().record_lost_event(reason, data_category, item, quantity=quantity)


def transport_class(delivery: Delivery) -> type[CountingTransport]:
    """Return a :class:`CountingTransport` subclass that reports into ``delivery``."""
    return type("CountingTransport", (CountingTransport,), {"delivery": delivery})
