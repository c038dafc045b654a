"""Offset-paged lists fetched concurrently: Explore's ``organizations/{o}/events/``.

Most Sentry lists page by an opaque cursor that must be followed in order
(:meth:`SentryClient.collect`). The events endpoint pages by *offset*
(``cursor=0:<offset>:0``, Sentry's ``GenericOffsetPaginator``), so page *k* can be
asked for before page *k-1* has arrived. :func:`collect_offset_pages` does that
with a small thread pool and gives the rows back in page order.

How many requests are in flight is bounded twice: never more than
:data:`MAX_CONCURRENT` (what ETL peers found best against sentry.io), and never
more than the server's last ``X-Sentry-Rate-Limit-ConcurrentRemaining`` allows.
A response reporting ``r`` remaining was counted by the server itself, so ``r + 1``
requests of ours can run at once without passing the limit even if every other
slot in use is ours; a server that reports nothing gets :data:`UNREPORTED_CONCURRENCY`.

Sentry stops at an offset of :data:`OFFSET_CEILING` rows per query; a list that
reaches it comes back ``capped`` and the caller splits its time range
(``tools/_window.py``) to read further.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._types import Progress, QueryParams
from ._links import next_cursor

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from ._client import SentryClient

__all__ = ["MAX_CONCURRENT", "OFFSET_CEILING", "UNREPORTED_CONCURRENCY", "OffsetPages",
           "collect_offset_pages", "concurrency_bound"]

log = logging.getLogger("sentry_ipy.api")

#: Most requests of one list in flight at once, whatever the server allows.
MAX_CONCURRENT = 7
#: In flight at once when the server sends no ``X-Sentry-Rate-Limit-ConcurrentRemaining``.
UNREPORTED_CONCURRENCY = 4
#: Rows one offset-paged query can reach (Sentry refuses larger offsets).
OFFSET_CEILING = 10_000
_PAGE_SIZE = 100


@dataclass
class OffsetPages:
    """What :func:`collect_offset_pages` read.

    Attributes:
        rows: every row, in the server's order, at most ``limit``.
        more: the server has rows past these (a limit or the ceiling stopped us).
        capped: paging stopped at :data:`OFFSET_CEILING` with more rows behind it.
        meta: the first page's ``meta`` object (column types, units, sampling).
        partial: some page's ``meta.dataScanned`` was ``"partial"`` (sampled data).
        peak: most requests that were in flight at once.
    """

    rows: list[dict[str, Any]]
    more: bool
    capped: bool
    meta: dict[str, Any] = field(default_factory=dict)
    partial: bool = False
    peak: int = 1


def concurrency_bound(response: httpx.Response) -> int:
    """How many requests may run at once after ``response``, from its rate-limit header."""
    raw = response.headers.get("x-sentry-rate-limit-concurrentremaining")
    try:
        remaining = int(str(raw).strip())
    except ValueError:
        return UNREPORTED_CONCURRENCY
    return max(1, min(MAX_CONCURRENT, remaining + 1))


class _Page:
    """One fetched page: its rows, whether the server linked a next page, its meta."""

    def __init__(self, rows: list[dict[str, Any]], has_next: bool, meta: dict[str, Any],
                 bound: int) -> None:
        self.rows, self.has_next, self.meta, self.bound = rows, has_next, meta, bound


def collect_offset_pages(client: SentryClient, *segments: object, params: QueryParams,
                         limit: int | None, scope: str | None = None, unwrap: str = "data",
                         progress: Progress | None = None,
                         ceiling: int = OFFSET_CEILING) -> OffsetPages:
    """Every row of an offset-paged list up to ``limit`` (and ``ceiling``), pages fetched concurrently.

    The first page is fetched alone (it says how many requests the server allows
    and whether there is a second page); then pages ``1, 2, …`` are requested
    concurrently within the bound, and the first short or unlinked page ends the
    list. Pages requested past that end are discarded, so the rows are exactly
    the ones a sequential walk would give.

    Raises:
        APIError: any page's error (the other requests are awaited first).
    """
    base = list(params.items()) if isinstance(params, Mapping) else list(params or [])
    base = [(k, v) for k, v in base if k not in ("per_page", "cursor")]
    wanted = ceiling if limit is None else min(limit, ceiling)
    size = max(1, min(_PAGE_SIZE, wanted))
    last_page = max(1, math.ceil(wanted / size))  # pages 0 .. last_page-1 can be needed
    lock = threading.Lock()
    in_flight = [0, 1]  # now, peak

    def fetch(index: int) -> _Page:
        with lock:
            in_flight[0] += 1
            in_flight[1] = max(in_flight[1], in_flight[0])
        try:
            query = [*base, ("per_page", size)] + ([("cursor", f"0:{index * size}:0")] if index else [])
            response = client.request("GET", *segments, params=query, scope=scope)
        finally:
            with lock:
                in_flight[0] -= 1
        rows, rest = client.decode_rows(response, unwrap)
        meta = rest.get("meta")
        return _Page(rows, next_cursor(response.headers.get("link")) is not None,
                     meta if isinstance(meta, dict) else {}, concurrency_bound(response))

    first = fetch(0)
    pages: dict[int, _Page] = {0: first}
    end = _end_after(0, first, size)
    bound = first.bound
    if end is None and last_page > 1:
        end = _fetch_rest(fetch, pages, bound, last_page, size, progress)
    ordered = [pages[i] for i in range(end if end is not None else last_page)]
    rows: list[dict[str, Any]] = []
    repeated = False
    for i, page in enumerate(ordered):
        if i and page.rows and page.rows == ordered[i - 1].rows:
            log.warning("%s sent the same %d rows for two offsets; stopping after %d rows",
                        "/".join(str(s) for s in segments), len(page.rows), len(rows))
            repeated = True
            break
        rows.extend(page.rows)
    # a short or unlinked page ended the list; else every page we could need was full
    server_more = repeated or (end is None and ordered[-1].has_next)
    kept = rows[:wanted]
    more = server_more or len(rows) > len(kept)
    capped = more and len(kept) >= ceiling and (limit is None or limit > ceiling)
    return OffsetPages(rows=kept, more=more, capped=capped, meta=first.meta,
                       partial=any(p.meta.get("dataScanned") == "partial" for p in ordered),
                       peak=in_flight[1])


def _end_after(index: int, page: _Page, size: int) -> int | None:
    """``index + 1`` when ``page`` is the list's last (short, empty or unlinked), else ``None``."""
    return index + 1 if (len(page.rows) < size or not page.has_next) else None


def _fetch_rest(fetch: Any, pages: dict[int, _Page], bound: int, last_page: int, size: int,
                progress: Progress | None) -> int | None:
    """Fetch pages ``1 .. last_page-1`` with at most ``bound`` in flight; the end page index, if met.

    ``bound`` follows each response's ``ConcurrentRemaining``; a page shorter than
    ``size`` (or without a next link) sets the end, and no page at or past it is requested.
    """
    end: int | None = None
    following = 1
    running: dict[Future[_Page], int] = {}
    pool = ThreadPoolExecutor(max_workers=MAX_CONCURRENT, thread_name_prefix="sentry-ipy-pages")
    try:
        while True:
            while (len(running) < bound and following < last_page
                   and (end is None or following < end)):
                running[pool.submit(fetch, following)] = following
                following += 1
            if not running:
                return end
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                page = future.result()  # an error: the finally below awaits the rest
                pages[index] = page
                bound = page.bound
                stop = _end_after(index, page, size)
                if stop is not None and (end is None or stop < end):
                    end = stop
            if progress is not None:
                got = sum(len(p.rows) for p in pages.values())
                progress(got, None, f"{len(pages)} pages")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
