"""Who the local backend answers: a Host allow-list and browser security headers.

The web UI has no login (it is a loopback tool), so the one thing standing between
a page in the user's browser and their notebook telemetry is the ``Host`` header: a
site that rebinds its own name to 127.0.0.1 reaches this server with ``Host:
evil.example``. Answering only the names this server is known by (loopback names,
the bound address, and what the user adds) defeats DNS rebinding, as Jupyter's own
``allow_remote_access`` check does. The headers keep pages from being framed, sniffed
into scripts, or leaking URLs (which carry issue IDs) in ``Referer``.

Served beyond loopback (a non-loopback ``--host`` or ``--allow-host``), the pages
also need a token: ``sentry-ipy local`` prints ``http://HOST:PORT/?token=…``, and
visiting it once sets an HttpOnly, SameSite=Strict cookie and redirects to the same
URL without the token, so it never stays in the address bar or history. A request
from a loopback peer to a loopback name needs no token, as before; everyone else
gets 401 (no cookie) or 403 (a wrong token). ``/api/0/`` keeps its bearer token and
ingest its DSN key, so they are not affected.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlencode

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .._hosts import host_name, is_loopback

__all__ = ["SECURITY_HEADERS", "WEB_COOKIE", "HostGuard", "allowed_host_names", "host_name", "is_loopback"]

#: The cookie the token link sets; its value is the web token.
WEB_COOKIE = "sentry_ipy_web"

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


def allowed_host_names(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Loopback names, the bound address (unless it is a wildcard) and the user's own names."""
    names = {*_LOOPBACK_NAMES, *(host_name(h) for h in extra if h.strip())}
    if bound not in ("0.0.0.0", "::", ""):
        names.add(host_name(bound))
    return frozenset(names)


class HostGuard:
    """Refuse requests whose ``Host`` is not one of this server's names; add the security headers.

    With ``web_token``, pages (not ``/api/``, not ``/_health``) also need the token
    cookie unless both the peer and the ``Host`` are loopback (see the module docstring).
    """

    def __init__(self, app: ASGIApp, allowed: frozenset[str], web_token: str | None = None,
                 secure: bool = False) -> None:
        self.app = app
        self.allowed = allowed
        self.web_token = web_token
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")
        refusal = self._refuse_host(host) or self._check_token(scope, host)
        if refusal is not None:
            await refusal(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *(h for h in SECURITY_HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refuse_host(self, host: str) -> Response | None:
        if host_name(host) in self.allowed:
            return None
        names = ", ".join(sorted(self.allowed))
        return _sentence(400, f"This local Sentry server does not answer to the host {host[:100]!r}; it answers"
                              f" to {names}. Use one of those, or start it with --allow-host NAME.")

    def _check_token(self, scope: Scope, host: str) -> Response | None:
        """None when the page may be served; else the 401/403, or the redirect that sets the cookie."""
        path = scope.get("path", "")
        if self.web_token is None or path.startswith("/api/") or path == "/_health":
            return None
        peer = (scope.get("client") or ("", 0))[0]
        if is_loopback(peer) and is_loopback(host_name(host)):
            return None
        conn = HTTPConnection(scope)
        given = conn.query_params.get("token")
        if given is not None:
            if not secrets.compare_digest(given.encode(), self.web_token.encode()):
                return _sentence(403, "That link's token is not this server's; open the URL that `sentry-ipy"
                                      " local` printed when it started.")
            rest = [(k, v) for k, v in conn.query_params.multi_items() if k != "token"]
            response = RedirectResponse(path + ("?" + urlencode(rest) if rest else ""), status_code=302)
            response.set_cookie(WEB_COOKIE, self.web_token, httponly=True, samesite="strict", secure=self.secure,
                                path="/")
            return response
        cookie = conn.cookies.get(WEB_COOKIE, "")
        if cookie and secrets.compare_digest(cookie.encode(), self.web_token.encode()):
            return None
        return _sentence(401, "This page needs the link with ?token= that `sentry-ipy local` printed when it"
                              " started; open it once in this browser.")


def _sentence(status: int, text: str) -> Response:
    return PlainTextResponse(text + "\n", status_code=status,
                             headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
