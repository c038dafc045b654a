"""A loopback stand-in for sentry.io's ``organizations/{o}/events/`` at scale.

The embedded backend cannot hold 25,000 spans cheaply, nor play a strict
concurrency limit, so this server does, behaving as Sentry's endpoint does:
rows newest first (or by ``sort``), ``per_page`` at most 100, offset cursors
``0:<offset>:0`` with the two-entry Link header, a 400 past the 10,000-row
offset ceiling, ``start``/``end`` windows, and ``meta.fields``/``meta.units``.
Every response reports ``X-Sentry-Rate-Limit-ConcurrentRemaining`` as the
concurrency limit minus the requests it is serving (itself included), and the
server records the most it ever served at once (``peak``) and every request.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests._scripted import QuietHandler, loopback

__all__ = ["EventsServer", "span_rows"]

CEILING = 10_000
T0 = datetime(2026, 6, 1, tzinfo=timezone.utc)


def span_rows(n: int, step_ms: int = 1000) -> list[dict[str, Any]]:
    """``n`` span rows, newest first, ``step_ms`` apart, ending at :data:`T0`."""
    return [{"id": f"{i:016x}", "span.op": "db" if i % 3 else "http", "span.duration": float(i % 97),
             "timestamp": (T0 - timedelta(milliseconds=i * step_ms)).isoformat().replace("+00:00", "Z")}
            for i in range(n)]


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class EventsServer:
    """Serves ``rows`` at ``/api/0/organizations/acme/events/`` with a concurrency limit of ``limit``."""

    def __init__(self, rows: list[dict[str, Any]], *, limit: int = 3, hold: float = 0.01,
                 meta: dict[str, Any] | None = None) -> None:
        self.rows = rows
        self.limit = limit
        self.hold = hold
        self.meta = meta or {}
        self.serving = 0
        self.peak = 0
        self.seen: list[dict[str, list[str]]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with outer._lock:
                    outer.serving += 1
                    outer.peak = max(outer.peak, outer.serving)
                    remaining = outer.limit - outer.serving
                try:
                    status, body, link = outer._answer(self.path)
                    time.sleep(outer.hold)  # a real query takes a while: requests overlap
                finally:
                    with outer._lock:  # done before answering, so the next request finds the slot free
                        outer.serving -= 1
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-Sentry-Rate-Limit-ConcurrentLimit", str(outer.limit))
                self.send_header("X-Sentry-Rate-Limit-ConcurrentRemaining", str(max(remaining, 0)))
                if link:
                    self.send_header("Link", link)
                self.end_headers()
                self.wfile.write(payload)

        self.httpd, self.url, self.thread = loopback(Handler)

    def _answer(self, path: str) -> tuple[int, Any, str | None]:
        parts = urlsplit(path)
        query = parse_qs(parts.query, keep_blank_values=True)
        with self._lock:
            self.seen.append(query)
        if parts.path != "/api/0/organizations/acme/events/":
            return 404, {"detail": "The requested resource does not exist"}, None
        fields = query.get("field", [])
        if not fields or len(fields) > 20:
            return 400, {"detail": "You can view up to 20 fields at a time."}, None
        size = min(int((query.get("per_page") or ["50"])[0]), 100)
        offset = int((query.get("cursor") or ["0:0:0"])[0].split(":")[1])
        if offset >= CEILING:
            return 400, {"detail": "Pagination offset too large"}, None
        rows = self.rows
        if "start" in query:
            start, end = _moment(query["start"][0]), _moment(query["end"][0])
            rows = [r for r in rows if start <= _moment(r["timestamp"]) <= end]
        sort = (query.get("sort") or [""])[0]
        if sort and sort != "-timestamp":
            key = sort.lstrip("-")
            rows = sorted(rows, key=lambda r: r[key], reverse=sort.startswith("-"))
        page = [{f: r.get(f) for f in fields} for r in rows[offset:offset + size]]
        more = offset + size < len(rows)
        base = f"{self.url}{parts.path}?" + urlencode([(k, v) for k, vs in query.items() for v in vs
                                                       if k != "cursor"])
        link = (f'<{base}&cursor=0:{max(offset - size, 0)}:1>; rel="previous"; '
                f'results="{str(offset > 0).lower()}"; cursor="0:{max(offset - size, 0)}:1", '
                f'<{base}&cursor=0:{offset + size}:0>; rel="next"; results="{str(more).lower()}"; '
                f'cursor="0:{offset + size}:0"')
        types = {"id": "string", "span.op": "string", "span.duration": "duration", "timestamp": "date"}
        meta = {"fields": {f: types.get(f, "string") for f in fields},
                "units": {f: "millisecond" if types.get(f) == "duration" else None for f in fields},
                "dataset": (query.get("dataset") or ["spans"])[0], **self.meta}
        return 200, {"data": page, "meta": meta}, link

    def offsets(self) -> list[int]:
        """The offset of every request, in arrival order."""
        return [int((q.get("cursor") or ["0:0:0"])[0].split(":")[1]) for q in self.seen]

    def __enter__(self) -> "EventsServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
