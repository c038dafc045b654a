"""A controllable ingest on loopback: a proxy in front of a real backend that fails on command.

``FaultyIngest(upstream)`` listens on 127.0.0.1 and, in its normal mode,
forwards every request to ``upstream`` (the embedded local backend) and
returns its answer, so what is "delivered" is stored by a real server that
de-duplicates by event ID. Test code switches it, with no sleeps:

* ``down()`` / ``up()``: close the listening socket (and every open
  connection), so clients get *connection refused*; reopen the same port;
* ``answer(status, headers)``: answer every request itself (429, 503...);
* ``reset_mid_body()``: read half of the request body, then reset the connection;
* ``hold()``: forward (the backend stores the envelope), then keep the answer
  back until ``release()``: a server slower than the client's timeout, after
  a partial delivery.

It records, per event ID, how many times the upstream accepted an envelope
carrying it (``accepted``), and every request it saw (``seen``).
"""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import struct
import threading
from collections import Counter
from urllib.parse import urlsplit

__all__ = ["FaultyIngest", "envelope_event_id"]


def envelope_event_id(body: bytes, encoding: str | None) -> str | None:
    """The ``event_id`` from an envelope's header line (gzip or plain)."""
    if encoding == "gzip":
        body = gzip.decompress(body)
    head = body.split(b"\n", 1)[0]
    try:
        value = json.loads(head).get("event_id")
    except (ValueError, AttributeError):
        return None
    return str(value).replace("-", "") if value else None


class FaultyIngest:
    """A loopback proxy to ``upstream`` (``http://127.0.0.1:PORT``) that fails on command."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.mode = "forward"
        self.status = 200
        self.headers: dict[str, str] = {}
        self.accepted: Counter[str] = Counter()
        self.seen: list[tuple[str, str | None]] = []  # (mode, event_id)
        self.requests = threading.Semaphore(0)  # released once per request seen
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self.port = 0
        self.up()

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, for a DSN."""
        return f"127.0.0.1:{self.port}"

    # -- control ----------------------------------------------------------------
    def up(self) -> None:
        """Listen (again, on the same port) and forward to the upstream."""
        self.mode = "forward"
        if self._listener is not None:
            return
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self.port = sock.getsockname()[1]
        self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def down(self) -> None:
        """Stop listening and drop every connection: clients now get *connection refused*."""
        sock, self._listener = self._listener, None
        if sock is not None:
            try:  # wakes the thread blocked in accept(); close() alone leaves it listening
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        with self._lock:
            conns, self._conns = set(self._conns), set()
        for conn in conns:
            _close(conn, reset=True)

    def answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        """Answer every request with ``status`` (and ``headers``) instead of forwarding it."""
        self.status, self.headers, self.mode = status, dict(headers or {}), "answer"

    def reset_mid_body(self) -> None:
        """Read half of each request body, then reset the connection."""
        self.mode = "reset"

    def hold(self) -> None:
        """Forward each request, then hold its answer back until :meth:`release`."""
        self._release.clear()
        self.mode = "hold"

    def release(self) -> None:
        """Let held answers go (the client has long given up on them)."""
        self._release.set()

    def close(self) -> None:
        """Stop for good."""
        self.release()
        self.down()

    # -- serving ----------------------------------------------------------------
    def _accept(self, sock: socket.socket) -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                method, path, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (raw := reader.readline()) not in (b"\r\n", b"\n", b""):
                    key, _, value = raw.decode("latin-1").partition(":")
                    headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                mode = self.mode
                if mode == "reset":
                    reader.read(length // 2)
                    self._note(mode, None)
                    _close(conn, reset=True)
                    return
                body = reader.read(length)
                event_id = envelope_event_id(body, headers.get("content-encoding"))
                if mode == "answer":
                    status, out_headers, payload = self.status, dict(self.headers), b"{}"
                else:
                    status, out_headers, payload = self._forward(method, path, headers, body)
                    if 200 <= status < 300 and event_id:
                        with self._lock:
                            self.accepted[event_id] += 1
                self._note(mode, event_id)
                if mode == "hold":
                    self._release.wait(30)
                    _close(conn, reset=True)
                    return
                head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}",
                        "Content-Type: application/json",
                        *(f"{k}: {v}" for k, v in out_headers.items())]
                conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._conns.discard(conn)
            _close(conn, reset=False)

    def _note(self, mode: str, event_id: str | None) -> None:
        with self._lock:
            self.seen.append((mode, event_id))
        self.requests.release()

    def _forward(self, method: str, path: str, headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, str], bytes]:
        upstream = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            keep = {k: v for k, v in headers.items() if k not in ("host", "connection", "content-length")}
            upstream.request(method, path, body=body, headers=keep)
            response = upstream.getresponse()
            payload = response.read()
            passed = {k: v for k, v in response.getheaders()
                      if k.lower() in ("x-sentry-rate-limits", "retry-after")}
            return response.status, passed, payload
        finally:
            upstream.close()


def _close(conn: socket.socket, *, reset: bool) -> None:
    try:
        if reset:  # SO_LINGER 0: the peer sees a reset, not a clean end
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass
