"""``collect`` asks for the next page while it decodes this one; it must ask for nothing more.

A scripted loopback server pages through numbered rows and records every
request. Each case runs twice on fresh servers, once through ``paginate`` (one
page after another, the reference) and once through ``collect`` (which
prefetches): both must send the same requests in the same order, deliver the
same rows in order and end the same way, whether the walk ends at the last
page, at ``limit``, at a repeated cursor, at the page guard, or at an error.
Each page is answered slowly enough that a prefetched request would be seen.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from sentry_ipy.errors import SentryIpyError, ServerError
from tests._scripted import Reply, ScriptedServer, Seen, scripted_client

#: A page server: ``(page number from 0, page size asked) -> (rows, next cursor or None, status)``.
Script = Callable[[int, int], tuple[list[dict[str, Any]], str | None, int]]


def _pages_of(total: int) -> Script:
    """``total`` rows, as many per page as asked, then no next cursor."""
    def script(n: int, size: int) -> tuple[list[dict[str, Any]], str | None, int]:
        rows = [{"id": str(i)} for i in range(n * size, min(total, (n + 1) * size))]
        return rows, (f"0:{n + 1}:0" if (n + 1) * size < total else None), 200
    return script


def _failing_at(page: int, total: int) -> Script:
    """Like :func:`_pages_of`, but page ``page`` answers 500 every time."""
    good = _pages_of(total)

    def script(n: int, size: int) -> tuple[list[dict[str, Any]], str | None, int]:
        return ([], None, 500) if n == page else good(n, size)
    return script


def _cursor_repeated_after(pages: int) -> Script:
    """Full pages whose next cursor goes back to page 1's after ``pages`` pages (a server going in circles)."""
    def script(n: int, size: int) -> tuple[list[dict[str, Any]], str | None, int]:
        return [{"id": f"{n}-{i}"} for i in range(size)], f"0:{n + 1 if n + 1 < pages else 1}:0", 200
    return script


def _endless() -> Script:
    """Full pages of new rows and always a next cursor (a server that never says it is done)."""
    def script(n: int, size: int) -> tuple[list[dict[str, Any]], str | None, int]:
        return [{"id": f"{n}-{i}"} for i in range(size)], f"0:{n + 1}:0", 200
    return script


def _settle() -> None:
    """Wait for every page worker to end, so a request one sent ahead has reached the server's record."""
    for thread in threading.enumerate():
        if thread.name.startswith("sentry-ipy-page"):
            thread.join()


def _serve(server: ScriptedServer, script: Script) -> None:
    def answer(seen: Seen, _: re.Match[str]) -> Reply:
        cursor = seen.arg("cursor") or "0:0:0"
        rows, nxt, status = script(int(cursor.split(":")[1]), int(seen.arg("per_page") or 100))
        if status != 200:
            return Reply(status, {"detail": "broken page"}, delay=0.02)
        return Reply(body=rows, headers={"Link": server.link(nxt)}, delay=0.02)
    server.route("GET", "/api/0/organizations/acme/projects/", answer)


def _walk(script: Script, limit: int | None, prefetch: bool) -> tuple[list[str], list[str], Any]:
    """(row IDs, the cursors asked for in order, the outcome: ``truncated`` or the error's type)."""
    with ScriptedServer() as server:
        _serve(server, script)
        with scripted_client(server.url, []) as client:
            rows: list[dict[str, Any]] = []
            outcome: Any = False
            try:  # the pages as collect (prefetch) and paginate (not) get them, so rows before an error count
                for got, more in client._pages(("organizations", "acme", "projects"), None, limit, "per_page",
                                               None, None, None, prefetch=prefetch):
                    rows.extend(got)
                    outcome = more
                    time.sleep(0.03)  # work on the page, meanwhile a request sent ahead reaches the server
            except SentryIpyError as exc:
                outcome = type(exc)
            _settle()
        asked = [seen.arg("cursor") or "first" for seen in server.requests]
    return [r["id"] for r in rows], asked, outcome


@pytest.mark.parametrize(("case", "script", "limit"), [
    ("all pages, no limit", _pages_of(730), None),
    ("limit inside a page", _pages_of(730), 250),
    ("limit at a page's end", _pages_of(730), 300),
    ("limit at the last row", _pages_of(730), 730),
    ("limit beyond the rows", _pages_of(730), 5000),
    ("limit under a page", _pages_of(730), 7),
    ("one short page", _pages_of(42), None),
    ("a page answers 500", _failing_at(3, 730), None),
    ("the first page answers 500", _failing_at(0, 730), 500),
    ("a cursor comes round again", _cursor_repeated_after(4), None),
    ("a server that never stops", _endless(), 420),
], ids=lambda v: v if isinstance(v, str) else "")
def test_prefetching_asks_for_exactly_the_pages_one_at_a_time_asks_for(case: str, script: Script,
                                                                         limit: int | None) -> None:
    ids, asked, outcome = _walk(script, limit, prefetch=True)
    assert (ids, asked, outcome) == _walk(script, limit, prefetch=False), case
    assert len(asked) == len(set(asked)) or outcome is ServerError  # retries repeat only the failing page


@pytest.mark.parametrize(("limit", "pages"), [(300, 3), (None, 8), (731, 8)])
def test_collect_keeps_the_rows_in_order_and_asks_for_no_page_past_the_limit_or_the_last(
        limit: int | None, pages: int) -> None:
    with ScriptedServer() as server:
        _serve(server, _pages_of(730))
        with scripted_client(server.url, []) as client:
            rows, truncated = client.collect("organizations", "acme", "projects", limit=limit)
            _settle()
        asked = [seen.arg("cursor") or "first" for seen in server.requests]
    wanted = 730 if limit is None else min(limit, 730)
    assert [r["id"] for r in rows] == [str(i) for i in range(wanted)] and truncated is (wanted < 730)
    assert asked == ["first", *(f"0:{n}:0" for n in range(1, pages))]


def test_a_failing_page_is_raised_after_the_pages_before_it_and_nothing_after_it_is_asked_for() -> None:
    _, asked, outcome = _walk(_failing_at(3, 730), None, prefetch=True)
    assert outcome is ServerError
    assert asked[:3] == ["first", "0:1:0", "0:2:0"] and set(asked[3:]) == {"0:3:0"}  # retried, then raised
