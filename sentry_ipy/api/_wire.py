"""One HTTP exchange with Sentry: a wall-clock deadline, same-origin redirects, honest failures.

Why this is not just ``httpx.Client.request``:

* httpx's timeouts are per phase (connect, each read), so a server that drips one
  byte every half second never trips them. The body is streamed here and the
  whole exchange, redirects included, is held to one deadline.
* A redirect is followed by hand, only for GET/HEAD and only within the origin
  the client was configured for, so the token never leaves that origin and a
  redirect to a login page becomes a sentence instead of an empty "success".
* Failures say *when* they happened, because that decides whether a POST may be
  sent again: :attr:`ExchangeError.unsent` is True only when the request surely
  never reached the server.
"""

from __future__ import annotations

import email.utils
import math
import time
from datetime import timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import TransportError, UnexpectedResponseError

__all__ = ["MAX_BODY_BYTES", "MAX_REDIRECTS", "ExchangeError", "exchange", "origin", "retry_after"]

MAX_REDIRECTS = 5
#: A JSON answer larger than this is not something a tool can use; refuse it rather than swap.
MAX_BODY_BYTES = 64 * 1024 * 1024
#: A rate-limit wait longer than a day is a broken header, not advice.
_MAX_PLAUSIBLE_WAIT = 86_400.0
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class ExchangeError(TransportError):
    """No usable answer, with what the retry loop needs to know.

    Attributes:
        unsent: the request surely never reached the server (any method may be retried).
        retry: a retry can help (False when the answer was arriving, only too slowly).
    """

    def __init__(self, message: str, *, unsent: bool, retry: bool = True) -> None:
        super().__init__(message)
        self.unsent = unsent
        self.retry = retry


def origin(url: str | httpx.URL) -> str:
    """``scheme://host[:port]`` of a URL: what may be named in a message (no path, no query)."""
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def exchange(http: httpx.Client, method: str, url: str, params: Any, json: Any,
             timeout: float) -> httpx.Response:
    """Send one request and read its whole answer within ``timeout`` seconds of wall clock.

    Same-origin redirects of GET and HEAD are followed (up to :data:`MAX_REDIRECTS`).

    Raises:
        ExchangeError: no answer, a cut connection, or the deadline ran out.
        UnexpectedResponseError: a redirect that is not followed, or an undecodable body.
    """
    deadline = time.monotonic() + timeout
    request = http.build_request(method, url, params=params, json=json)
    for _ in range(MAX_REDIRECTS + 1):
        response = _fetch(http, request, deadline, timeout)
        if not 300 <= response.status_code < 400:
            return response
        request = _redirect(http, request, response)
    raise UnexpectedResponseError(
        f"Sentry redirected {method} {httpx.URL(url).path} more than {MAX_REDIRECTS} times; "
        "check SENTRY_URL.", status=response.status_code, url=str(request.url))


def _redirect(http: httpx.Client, request: httpx.Request, response: httpx.Response) -> httpx.Request:
    """The next request of a redirect we follow, or the sentence saying why we do not."""
    where = f"{request.method} {request.url.path}"
    location = response.headers.get("location", "").strip()
    if not location:
        raise UnexpectedResponseError(
            f"Sentry answered {where} with {response.status_code} and no redirect target; "
            "check SENTRY_URL.", status=response.status_code, url=str(request.url))
    try:
        target = request.url.join(location)
    except httpx.InvalidURL:
        target = None
    if target is None or origin(target) != origin(request.url) or request.method not in ("GET", "HEAD"):
        shown = f"{origin(target)}{target.path}" if target is not None else repr(location[:80])
        raise UnexpectedResponseError(
            f"Sentry redirected {where} to {shown}, which usually means the URL is a web page "
            "rather than the API or the token is missing; check SENTRY_URL (use the https:// "
            "address of your Sentry).", status=response.status_code, url=str(request.url))
    # The client's headers (Authorization included) go along: the origin is unchanged.
    return http.build_request(request.method, target)


def _fetch(http: httpx.Client, request: httpx.Request, deadline: float,
           timeout: float) -> httpx.Response:
    """One hop: send, then stream the body while the deadline holds."""
    where = origin(request.url)
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _too_slow(where, timeout)
    request.extensions["timeout"] = httpx.Timeout(min(timeout, remaining)).as_dict()
    try:
        response = http.send(request, stream=True)
    except httpx.UnsupportedProtocol:
        raise ExchangeError(f"SENTRY_URL {where!r} is not an http(s) address; set it to the "
                            "https:// address of your Sentry.", unsent=True, retry=False) from None
    except _NOT_SENT as exc:
        raise ExchangeError(f"Could not connect to Sentry at {where} ({type(exc).__name__}); check "
                            "the URL (SENTRY_URL) and your network.", unsent=True) from None
    except httpx.TimeoutException:
        raise ExchangeError(f"Sentry at {where} did not answer within {timeout:g} s; try again, "
                            "or raise the timeout.", unsent=False) from None
    except httpx.TransportError as exc:
        raise ExchangeError(f"The connection to Sentry at {where} was cut before it answered "
                            f"({type(exc).__name__}); try again.", unsent=False) from None
    if response.is_stream_consumed:  # an in-memory transport (tests) answered in full already
        response.close()
        return response
    try:
        raw = _read(response, deadline, where, timeout)
    finally:
        response.close()
    try:
        # Built from the raw bytes so httpx applies Content-Encoding exactly once.
        return httpx.Response(response.status_code, headers=response.headers, content=raw,
                              request=request, extensions=response.extensions)
    except httpx.DecodingError:
        raise ExchangeError(f"Sentry at {where} sent a compressed answer that does not decompress; "
                            "the connection or a proxy cut it, try again.", unsent=False) from None


def _read(response: httpx.Response, deadline: float, where: str, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_raw():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise UnexpectedResponseError(
                    f"Sentry at {where} sent more than {MAX_BODY_BYTES // 2**20} MiB for "
                    f"{response.request.url.path}; ask for fewer rows (a smaller limit).",
                    status=response.status_code, url=str(response.request.url))
            if time.monotonic() > deadline:
                raise _too_slow(where, timeout)
    except httpx.TimeoutException:
        raise _too_slow(where, timeout) from None
    except httpx.TransportError as exc:
        raise ExchangeError(f"The connection to Sentry at {where} was cut while reading the answer "
                            f"({type(exc).__name__}); try again.", unsent=False) from None
    return b"".join(chunks)


def _too_slow(where: str, timeout: float) -> ExchangeError:
    # Not retried: the server is alive and sending, so another try would take as long.
    return ExchangeError(f"Sentry at {where} did not finish answering within {timeout:g} s (the "
                         "answer arrived too slowly); try again later, or raise the timeout.",
                         unsent=False, retry=False)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before retrying a 429, or ``None`` when the server gave no usable hint.

    ``Retry-After`` (seconds or an HTTP date) wins; then Sentry's
    ``X-Sentry-Rate-Limit-Reset`` epoch. Unparseable, infinite, NaN or absurd
    (over a day) values count as no hint, so the caller backs off instead.
    """
    value = (response.headers.get("retry-after") or "").strip()
    if value:
        wait = _number(value)
        if wait is None:
            try:
                moment = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError, OverflowError):
                moment = None
            if moment is not None:
                moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
                wait = moment.timestamp() - time.time()
        wait = _plausible(wait)
        if wait is not None:
            return wait
    reset = _number(response.headers.get("x-sentry-rate-limit-reset"))
    return None if reset is None else _plausible(reset - time.time())


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _plausible(wait: float | None) -> float | None:
    if wait is None or not math.isfinite(wait) or wait > _MAX_PLAUSIBLE_WAIT:
        return None
    return max(0.0, wait)
