"""Streamable HTTP serving: bearer-token check, DNS-rebinding protection, uvicorn.

The SDK's own Host/Origin check stays on: we pass it the exact host names and
port we bound, so a page on another origin (a DNS-rebinding attack) gets 421/403.
An optional static bearer token guards the endpoint for shared machines; it is
compared in constant time and never logged.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..config import LOOPBACK_HOSTS

__all__ = ["BearerTokenMiddleware", "bind_socket", "serve_http", "transport_security"]

log = logging.getLogger("sentry_ipy.mcp")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]



class BearerTokenMiddleware:
    """Answer 401 JSON to HTTP requests without ``Authorization: Bearer <token>``.

    Lifespan and other non-HTTP scopes pass through, so the SDK's session
    manager still starts and stops.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("an empty bearer token would let everyone in")
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        given = b""
        for key, value in scope.get("headers", ()):
            if key.lower() == b"authorization":
                given = value
                break
        if hmac.compare_digest(given, self._expected):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "unauthorized",
                           "error_description": "Send the server's token as "
                                                "'Authorization: Bearer <token>'."}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b'Bearer realm="sentry-ipy-mcp"')]})
        await send({"type": "http.response.body", "body": body})


def transport_security(host: str, port: int, extra_hosts: list[str] | None = None) -> Any:
    """DNS-rebinding protection for the address we serve on.

    On a loopback bind the loopback names with our port are allowed; on another
    bind, the bind address with our port plus ``extra_hosts`` (``--allowed-host``).
    """
    from mcp.server.transport_security import TransportSecuritySettings

    names = list(LOOPBACK_HOSTS) if host in LOOPBACK_HOSTS else [host]
    names += list(extra_hosts or [])
    hosts: list[str] = []
    origins: list[str] = []
    for name in names:
        shown = f"[{name}]" if ":" in name and not name.startswith("[") else name
        hosts += [f"{shown}:{port}"] + ([shown] if port in (80, 443) else [])
        origins += [f"http://{shown}:{port}", f"https://{shown}:{port}"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True,
                                     allowed_hosts=hosts, allowed_origins=origins)


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before serving, so ``--port 0`` yields a real port we can allow and print."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve_http(server: Any, *, host: str, port: int, path: str = "/mcp",
               token: str | None = None, extra_hosts: list[str] | None = None,
               log_level: str = "warning", announce: Callable[[str], None] | None = None) -> None:
    """Serve ``server`` (an ``MCPServer``) over streamable HTTP until interrupted."""
    import anyio
    import uvicorn

    sock = bind_socket(host, port)
    bound_port = sock.getsockname()[1]
    app: ASGIApp = server.streamable_http_app(
        streamable_http_path=path, host=host,
        transport_security=transport_security(host, bound_port, extra_hosts))
    if token:
        app = BearerTokenMiddleware(app, token)
    shown = f"[{host}]" if ":" in host else host
    if announce is not None:
        announce(f"http://{shown}:{bound_port}{path}")
    config = uvicorn.Config(app, log_level=log_level.lower(), access_log=False, lifespan="on")
    userver = uvicorn.Server(config)
    try:
        anyio.run(lambda: userver.serve(sockets=[sock]))
    finally:
        sock.close()
