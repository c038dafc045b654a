"""Who the local backend answers: a Host allow-list and browser security headers.

The web UI has no login (it is a loopback tool), so the one thing standing between
a page in the user's browser and their notebook telemetry is the ``Host`` header: a
site that rebinds its own name to 127.0.0.1 reaches this server with ``Host:
evil.example``. Answering only the names this server is known by (loopback names,
the bound address, and what the user adds) defeats DNS rebinding, as Jupyter's own
``allow_remote_access`` check does. The headers keep pages from being framed, sniffed
into scripts, or leaking URLs (which carry issue IDs) in ``Referer``.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SECURITY_HEADERS", "HostGuard", "allowed_host_names", "host_name"]

#: Loopback names every local server answers to, whatever address it is bound to.
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")

#: Sent with every response. The pages use one inline ``<style>`` and no script at all.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy",
     b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
     b"form-action 'self'; frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


def host_name(header: str) -> str:
    """The name part of a ``Host`` header, lower-cased: ``[::1]:9000`` → ``::1``, ``a.b:80`` → ``a.b``."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def allowed_host_names(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the bound address (unless it is a wildcard) and the user's own names."""
    names = {*_LOOPBACK_NAMES, *(host_name(h) for h in extra if h.strip())}
    if bound not in ("0.0.0.0", "::", ""):
        names.add(host_name(bound))
    return frozenset(names)


class HostGuard:
    """Refuse requests whose ``Host`` is not one of this server's names; add the security headers."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        if host_name(host) not in self.allowed:
            names = ", ".join(sorted(self.allowed))
            text = (f"This local Sentry server does not answer to the host {host[:100]!r}; it answers to "
                    f"{names}. Use one of those, or start it with --allow-host NAME.\n")
            response = PlainTextResponse(text, status_code=400, headers={"X-Content-Type-Options": "nosniff"})
            await response(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in SECURITY_HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
