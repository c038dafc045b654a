"""A scripted loopback HTTP server: queued or routed replies, recorded raw requests.

Used where the embedded backend cannot play a case (rate limits, timeouts,
a server without Discover, a Sentry-compatible server's own behaviour): real
HTTP on 127.0.0.1, nothing of ours mocked. Replies come from the first matching
:meth:`ScriptedServer.route`, else from the queue, else from ``catch_all`` (a web
app's page, say), else 599. Import the ``server`` fixture into a test module to
get one started per test; ``scripted_settings`` and ``scripted_client`` talk to it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sentry_ipy.api import SentryClient
from sentry_ipy.config import Settings

__all__ = ["TOKEN", "QuietHandler", "Reply", "Responder", "ScriptedServer", "Seen", "html_page", "loopback", "scripted_client",
           "scripted_settings", "server"]

#: The auth token the scripted clients send (an org token's shape, so scrubbing applies).
TOKEN = "sntryu_0123456789abcdef0123456789abcdef0123456789abcdef"


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    delay: float = 0.0
    #: Seconds between body bytes (a server that dribbles its answer).
    drip: float = 0.0
    #: Promise more body than is sent, then close (a connection cut mid-answer).
    cut: bool = False
    #: Close the connection without answering at all.
    hangup: bool = False


@dataclass
class Seen:
    """One recorded request."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        """The path without its query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query string's parameters (each a list, as repeated keys allow)."""
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        return (self.query.get(name) or [default])[0]

    def json(self) -> Any:
        """The request body as JSON (``None`` when empty)."""
        return json.loads(self.body) if self.body else None


#: Answers one routed request: ``(request, match of the route's pattern) -> Reply``.
Responder = Callable[[Seen, "re.Match[str]"], Reply]


def html_page(status: int = 200, text: str = "Sign in") -> Reply:
    """A web app's page (its catch-all answer for paths it does not route)."""
    return Reply(status, raw=f"<!DOCTYPE html><html><body>{text}</body></html>".encode(),
                 headers={"Content-Type": "text/html; charset=utf-8"})


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing (stderr belongs to the test run)."""

    def log_message(self, *args: Any) -> None:
        return None


def loopback(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str, threading.Thread]:
    """A threading HTTP server for ``handler`` on 127.0.0.1, an ephemeral port; its URL and
    the (not yet started) thread that serves it."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    return httpd, url, threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)


class ScriptedServer:
    """A loopback HTTP server answering from a queue; an empty queue answers 599."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Seen] = []
        self.routes: list[tuple[str, re.Pattern[str], Reply | Responder]] = []
        #: The answer when no route matches and the queue is empty (else 599).
        self.catch_all: Reply | None = None
        self._lock = threading.Lock()
        outer = self

        class Handler(QuietHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(self.command, self.path, dict(self.headers), body)
                with outer._lock:
                    outer.requests.append(seen)
                    reply = outer._answer(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.hangup:
                    self.close_connection = True
                    return
                payload = reply.raw if reply.raw is not None else (
                    b"" if reply.body is None else json.dumps(reply.body).encode())
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload) + 50 * reply.cut))
                    self.end_headers()
                    if reply.drip:
                        for byte in payload:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(payload)
                    self.close_connection = self.close_connection or reply.cut
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.httpd, self.url, self.thread = loopback(Handler)

    def _answer(self, seen: Seen) -> Reply:
        """The routed reply, else the next queued one, else the catch-all, else 599 (under the lock)."""
        for method, pattern, reply in self.routes:
            match = pattern.fullmatch(seen.route)
            if match and method in (seen.method, "*"):
                return reply(seen, match) if callable(reply) else reply
        if self.replies:
            return self.replies.pop(0)
        return self.catch_all or Reply(599, {"detail": "no reply queued"})

    def route(self, method: str, pattern: str, reply: Reply | Responder) -> None:
        """Answer ``method`` (``*`` for any) on paths fully matching ``pattern`` with ``reply``."""
        self.routes.append((method, re.compile(pattern), reply))

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def link(self, cursor: str | None, style: str = "standard") -> str:
        """A Link header in one of the spellings servers and proxies produce."""
        nxt = cursor or "0:0:0"
        results = "true" if cursor else "false"
        url = f"{self.url}/api/0/x/?cursor="
        if style == "unquoted":
            return (f"<{url}0:0:1>; rel=previous; results=false; cursor=0:0:1, "
                    f"<{url}{nxt}>; rel=next; results={results}; cursor={nxt}")
        if style == "reordered":
            return (f'<{url}{nxt}>;cursor="{nxt}";results="{results}";rel="next", '
                    f'<{url}0:0:1>;cursor="0:0:1";results="false";rel="previous"')
        if style == "spaced":
            return (f'<{url}0:0:1> ;  rel = "previous" ; results = "false" ; cursor = "0:0:1" ,  '
                    f'<{url}{nxt}> ; rel = "next" ; results = "{results}" ; cursor = "{nxt}"')
        if style == "no-results":
            return f'<{url}{nxt}>; rel="next"; cursor="{nxt}"' if cursor else ""
        return (f'<{url}0:0:1>; rel="previous"; results="false"; cursor="0:0:1", '
                f'<{url}{nxt}>; rel="next"; results="{results}"; cursor="{nxt}"')

    def start(self) -> "ScriptedServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "ScriptedServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture()
def server() -> Iterator[ScriptedServer]:
    """A scripted server started for this test, stopped after it."""
    with ScriptedServer() as srv:
        yield srv


def scripted_settings(url: str, **settings: Any) -> Settings:
    """Settings for a scripted server: ``TOKEN``, org ``acme``, a 5 s timeout, 3 retries; ``settings`` override."""
    values: dict[str, Any] = {"url": url, "auth_token": TOKEN, "org": "acme", "timeout": 5.0,
                              "max_retries": 3, **settings}
    return Settings(**values)


def scripted_client(url: str, waits: list[float], **settings: Any) -> SentryClient:
    """A SentryClient on ``scripted_settings``; the waits it asks for are recorded in ``waits``, not slept."""
    return SentryClient(scripted_settings(url, **settings), sleep=waits.append)
