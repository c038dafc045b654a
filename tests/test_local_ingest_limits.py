"""Ingest refuses what it must before reading the body, over real HTTP on loopback.

Each refusal is sent the way a hostile page or client would: request headers
that declare a 99 MB body, then only the first bytes of it. The server must
answer from what it has (status, one sentence, ``Connection: close``); if it
waited for the rest, the read below would time out and the test fail. After
each refusal a real sentry-sdk event is still ingested.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import sentry_sdk

from sentry_ipy.local import LocalServer
from sentry_ipy.local.ingest import _ingest_endpoints
from tests._sdk import reset_sentry_sdk, sending_to

__all__ = ["reset_sentry_sdk"]

BIG = 99 * 1024 * 1024


def _key(srv: LocalServer) -> str:
    return str(srv.store.keys(1)[0]["public_key"])


def _start(srv: LocalServer, declared: int, first: bytes, headers: dict[str, str] | None = None,
           path: str = "/api/1/envelope/") -> socket.socket:
    """Open a connection, send request headers declaring ``declared`` bytes and only ``first`` of them."""
    sock = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{srv.port}", f"Content-Length: {declared}",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + first)
    return sock


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], dict[str, str]]:
    """Read one response (status, lower-cased headers, JSON body) without sending anything more."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection without answering"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return int(status_line.split()[1]), headers, json.loads(body)


def _refused(srv: LocalServer, declared: int, first: bytes, headers: dict[str, str] | None = None,
             path: str = "/api/1/envelope/") -> tuple[int, str]:
    sock = _start(srv, declared, first, headers, path)
    try:
        status, answer_headers, body = _answer(sock)
    finally:
        sock.close()
    assert answer_headers.get("connection") == "close"
    return status, body["detail"]


def _still_ingests(srv: LocalServer, message: str) -> None:
    with sending_to(srv.dsn()):
        sentry_sdk.capture_message(message)
    assert srv.store.events()[-1]["message"] == message


def test_unauthenticated_envelope_is_refused_after_its_header_line(srv: LocalServer) -> None:
    status, detail = _refused(srv, BIG, b'{"event_id":"' + b"a" * 32 + b'"}\n' + b"\0" * 100_000)
    assert status == 401
    assert detail == ("Missing authentication: send X-Sentry-Auth with sentry_key, the sentry_key query parameter,"
                      " or the DSN in the envelope's first line.")
    # a header line that never ends within 64 KiB is no header to authenticate with
    assert _refused(srv, BIG, b'{"dsn":"' + b"x" * 200_000)[0] == 401
    # a gzip body is inflated only as far as its first line
    bomb_head = gzip.compress(b"{}\n" + b"\0" * 50_000_000, 1)[:200_000]
    assert _refused(srv, BIG, bomb_head, {"Content-Encoding": "gzip"})[0] == 401
    status, detail = _refused(srv, BIG, b"{}\n", {"X-Sentry-Auth": "Sentry sentry_key=" + "0" * 32})
    assert (status, detail) == (401, "Invalid api key: the DSN public key is unknown for this project.")
    dsn = srv.dsn().replace(_key(srv), "f" * 32)
    assert _refused(srv, BIG, json.dumps({"dsn": dsn}).encode() + b"\n")[0] == 401
    assert _refused(srv, BIG, b"{}\n", path="/api/1/store/")[0] == 401
    assert srv.store.outcomes() == []  # nobody authenticated, nothing recorded
    _still_ingests(srv, "after the unauthenticated uploads")


def test_declared_oversize_is_refused_before_reading(srv: LocalServer) -> None:
    too_big = 101 * 1024 * 1024
    status, detail = _refused(srv, too_big, b"{}\n", {"X-Sentry-Auth": f"Sentry sentry_key={_key(srv)}"})
    assert (status, detail) == (413, "The request body is larger than 100 MiB, the limit Relay also applies;"
                                     " send smaller payloads.")
    # authenticated by the DSN in the envelope header: that line is read, the rest is not
    line = json.dumps({"dsn": srv.dsn()}).encode() + b"\n"
    assert _refused(srv, too_big, line)[0] == 413
    assert _refused(srv, too_big, b"{}", {"X-Sentry-Auth": f"Sentry sentry_key={_key(srv)}"},
                    path="/api/1/store/")[0] == 413
    assert [(o["outcome"], o["reason"]) for o in srv.store.outcomes()] == [("invalid", "too_large")] * 3
    _still_ingests(srv, "after the oversized uploads")


def test_envelope_authenticated_by_its_header_line_is_stored(srv: LocalServer) -> None:
    event = {"event_id": "b" * 32, "message": "dsn in the header"}
    body = json.dumps({"dsn": srv.dsn()}).encode() + b"\n" + b'{"type":"event"}\n' + json.dumps(event).encode()
    r = httpx.post(f"{srv.url}/api/1/envelope/", content=gzip.compress(body), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200 and r.json() == {"id": "b" * 32}
    assert srv.store.events()[-1]["message"] == "dsn in the header"


@contextmanager
def _stalled_uploads(srv: LocalServer, count: int) -> Iterator[None]:
    """``count`` authenticated large uploads that send their header line and then stall."""
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={_key(srv)}"}
    socks = [_start(srv, BIG, b"{}\n" + b"\0" * 70_000, auth) for _ in range(count)]
    try:
        yield
    finally:
        for sock in socks:
            sock.close()


def test_concurrent_large_bodies_are_limited_with_429(srv: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_ingest_endpoints, "SLOT_WAIT", 0.2)
    auth = {"X-Sentry-Auth": f"Sentry sentry_key={_key(srv)}"}
    big_event = json.dumps({"message": "large", "extra": {"blob": "y" * 900_000}}).encode()
    attachment = b"z" * (3 * 1024 * 1024)
    large = (b"{}\n" + b'{"type":"event"}\n' + big_event + b"\n"
             + json.dumps({"type": "attachment", "length": len(attachment), "filename": "a.bin"}).encode() + b"\n"
             + attachment + b"\n")
    with _stalled_uploads(srv, 2):
        # slots are taken: another large body waits, then gets 429 with Retry-After (SDKs back off on it)
        r = httpx.post(f"{srv.url}/api/1/envelope/", content=large, headers=auth, timeout=30)
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert r.json()["detail"] == ("This server is already reading its limit of large request bodies;"
                                      " retry in a few seconds (Retry-After: 1).")
        # small events need no slot: a notebook's errors keep arriving meanwhile
        _still_ingests(srv, "while two uploads stall")
    # once the stalled clients are gone their slots are free again
    for _ in range(3):
        r = httpx.post(f"{srv.url}/api/1/envelope/", content=large, headers=auth, timeout=30)
        assert r.status_code == 200, r.text
    assert srv.store.events()[-1]["message"] == "large"
    # the attachment was written in place (not bound to the INSERT) and reads back byte for byte
    base = f"{srv.url}/api/0/projects/local/notebook/events/{r.json()['id']}/attachments/"
    with httpx.Client(headers={"Authorization": f"Bearer {srv.token}"}, timeout=30) as api:
        (listed,) = api.get(base).json()
        assert (listed["name"], listed["size"]) == ("a.bin", len(attachment))
        assert api.get(f"{base}{listed['id']}/", params={"download": 1}).content == attachment
