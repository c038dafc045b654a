"""SentryClient: the one way this package talks to Sentry's Web API.

Layers, as in httpx: endpoint helpers call :meth:`SentryClient.request`, which
builds the URL (region, percent-encoded segments), then :meth:`_send` retries on
429, 5xx and connection errors, then :func:`._wire.exchange` does the I/O under
one deadline. Paging lives in :meth:`paginate` and nowhere else. The typed
accessors (:meth:`get_object`, :meth:`get_rows`, rows from :meth:`collect`)
check the answer's shape once here, so tools never meet ``null`` or a list of
numbers where they expect objects.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._gcpause import gc_paused
from .._types import Progress, QueryParams
from ..config import SENTRY_IO, Settings
from ..errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    SentryIpyError,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    UnsupportedFeatureError,
)
from ..scrub import redact_text
from ._features import ServerFeatures
from ._links import next_cursor
from ._paths import encode_segment
from ._wire import ExchangeError, exchange, origin, retry_after

__all__ = ["MAX_PAGE_SIZE", "SentryClient"]

log = logging.getLogger("sentry_ipy.api")

MAX_PAGE_SIZE = 100
#: Hosts a sentry.io organization may be routed to (an SSRF guard on ``regionUrl``).
REGION_HOSTS = frozenset({"sentry.io", "us.sentry.io", "de.sentry.io"})
_RETRY_STATUS = frozenset({500, 502, 503, 504})
#: Methods that may be sent twice: a retry after a cut connection cannot duplicate anything.
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
_MAX_BACKOFF = 8.0
_MAX_RATE_WAIT = 60.0
#: Pages fetched when no ``limit`` bounds them (a server whose cursor never ends).
_MAX_PAGES = 1000


class SentryClient:
    """A Web API client bound to one Sentry (and, on sentry.io, one region).

    Args:
        settings: URL, token, org, timeouts and retries.
        transport: an ``httpx`` transport, for tests.
        sleep: the wait between retries (injectable so tests need not wait).
    """

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.web_url = settings.url or SENTRY_IO
        self._region_url: str | None = None
        self._region_lock = threading.Lock()
        self._sleep = sleep
        #: True once this server answered JSON: a web page after that is a missing route.
        self._speaks_json = False
        self.features = ServerFeatures(origin(self.web_url))
        headers = {"User-Agent": "sentry-ipy/0.1", "Accept": "application/json"}
        if settings.auth_token:
            headers["Authorization"] = f"Bearer {settings.auth_token}"
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(settings.timeout),
                                  transport=transport, follow_redirects=False)

    def __repr__(self) -> str:
        return f"SentryClient(url={self.base_url!r}, org={self.settings.org!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> "SentryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ URLs
    @property
    def org(self) -> str:
        """The organization slug, or a clear error when none is configured."""
        if not self.settings.org:
            raise ConfigurationError("No Sentry organization is set; set SENTRY_ORG or pass the org "
                                     "(it is the slug in https://<org>.sentry.io).")
        return self.settings.org

    @property
    def base_url(self) -> str:
        """The API root in use, after region discovery."""
        return (self._region_url or self.web_url).rstrip("/") + "/api/0/"

    @property
    def is_saas(self) -> bool:
        """True for sentry.io (any region)."""
        return (urlsplit(self.web_url).hostname or "") in REGION_HOSTS

    def web_link(self, path: str) -> str | None:
        """A link into Sentry's web UI: ``https://{org}.sentry.io/{path}`` or the self-hosted form.

        None on a server an answer showed is not Sentry (``features.not_sentry()``): its
        web UI has pages of its own, and no link is better than a wrong one. Links the
        server gave (``permalink``) are used as given wherever a row carries one.
        """
        if not self.is_saas and self.features.not_sentry():
            return None
        path = path.lstrip("/")
        if self.is_saas and self.settings.org:
            return f"https://{self.settings.org}.sentry.io/{path}"
        org = self.settings.org or ""
        return f"{self.web_url.rstrip('/')}/organizations/{org}/{path}"

    def _ensure_region(self) -> None:
        """On sentry.io, route to the org's region (EU orgs live on de.sentry.io)."""
        if self._region_url is not None or not self.is_saas or not self.settings.org:
            return
        host = urlsplit(self.web_url).hostname
        if host != "sentry.io":
            self._region_url = self.web_url
            return
        with self._region_lock:
            if self._region_url is not None:
                return
            region = self.web_url
            try:
                url = f"{self.web_url.rstrip('/')}/api/0/organizations/{encode_segment(self.settings.org)}/"
                body = self._decode(self._send("GET", url, None, None))
                links = body.get("links") if isinstance(body, dict) else None
                candidate = links.get("regionUrl") if isinstance(links, dict) else None
                candidate = candidate if isinstance(candidate, str) else ""
                if (urlsplit(candidate).hostname or "") in REGION_HOSTS:
                    region = candidate.rstrip("/")
            except APIError as exc:
                log.debug("region discovery failed (%s); staying on %s", exc.status, self.web_url)
            self._region_url = region

    def url(self, *segments: object) -> str:
        """The absolute API URL for path segments (each percent-encoded)."""
        self._ensure_region()
        if not segments:  # the API root itself (``GET /api/0/``: who is calling)
            return self.base_url
        return self.base_url + "/".join(encode_segment(s) for s in segments) + "/"

    # ------------------------------------------------------------ requests
    def request(self, method: str, *segments: object, params: QueryParams = None,
                json: Any = None, scope: str | None = None) -> httpx.Response:
        """Send one request and return the successful response.

        Args:
            scope: the weakest token scope that works, named in a 403 message.

        Raises:
            APIError: a subclass per status, with one clear sentence.
            UnsupportedFeatureError: the server lacks the route (405, or a web page
                where JSON was due on a server that otherwise answers JSON).
            TransportError: no answer after the retries.
        """
        response = self._send(method, self.url(*segments), params, json)
        if _is_html(response):
            raise self._web_page(response)
        if "json" in response.headers.get("content-type", ""):
            self._speaks_json = True
        if response.status_code == 405:
            raise self._missing_route(response, "405, method not allowed")
        if response.status_code >= 400:
            raise self._error(response, scope)
        return response

    def _web_page(self, response: httpx.Response) -> APIError:
        """A web page where JSON was due: a missing route on an API server, else not an API at all.

        A Sentry-compatible server answers routes it lacks with its web app's
        catch-all (200, 403 or 404 ``text/html``), so on a server that has answered
        JSON before (or answers it at ``organizations/`` now) the page means "no
        such feature here", never a scope, org or ID problem.
        """
        if self._answers_json():
            self.features.learn_not_sentry("a web page on an API route")  # Sentry answers JSON there
            return self._missing_route(response, f"{response.status_code} with a web page")
        return UnexpectedResponseError(
            f"{origin(response.request.url)} answered with an HTML page instead of JSON; "
            "the URL is probably not a Sentry server (check SENTRY_URL).",
            status=response.status_code, url=str(response.request.url))

    def _answers_json(self) -> bool:
        """True when this server speaks the API: seen before, or one probe of ``organizations/``."""
        if not self._speaks_json:
            try:
                probe = self._send("GET", self.base_url + "organizations/", None, None)
                self._speaks_json = (probe.status_code == 200 and not _is_html(probe)
                                     and isinstance(probe.json(), list))
            except (SentryIpyError, ValueError):
                return False
        return self._speaks_json

    def _missing_route(self, response: httpx.Response, how: str) -> UnsupportedFeatureError:
        path = f"{response.request.method} {response.request.url.path}"
        return UnsupportedFeatureError(
            f"This server ({origin(response.request.url)}) has no API route {path} (it answered "
            f"{how}), so it does not offer that feature.",
            status=response.status_code, url=str(response.request.url))

    def get(self, *segments: object, params: QueryParams = None, scope: str | None = None) -> Any:
        """GET and decode JSON, whatever its shape (prefer :meth:`get_object`)."""
        return self._decode(self.request("GET", *segments, params=params, scope=scope))

    def get_object(self, *segments: object, params: QueryParams = None, scope: str | None = None,
                   require: Mapping[str, type | tuple[type, ...]] | None = None) -> dict[str, Any]:
        """GET a JSON object; ``null``, a list or a string is an :class:`UnexpectedResponseError`.

        Args:
            require: keys the object must have, with their types, so a tool never
                reads ``None`` where an ID belongs and reports it as success.
        """
        response = self.request("GET", *segments, params=params, scope=scope)
        return _object(response, self._decode(response), require)

    def get_rows(self, *segments: object, params: QueryParams = None,
                 scope: str | None = None) -> list[dict[str, Any]]:
        """GET one unpaginated list of objects (client keys, detectors)."""
        response = self.request("GET", *segments, params=params, scope=scope)
        return _rows(response, self._decode(response))

    def post(self, *segments: object, json: Any, scope: str | None = None) -> tuple[int, Any]:
        """POST JSON; return ``(status, body)`` (callers care about 201 vs 208)."""
        response = self.request("POST", *segments, json=json, scope=scope)
        return response.status_code, self._decode(response)

    def post_object(self, *segments: object, json: Any, scope: str | None = None,
                    ) -> tuple[int, dict[str, Any]]:
        """POST JSON; return ``(status, object)``, the created thing as Sentry describes it."""
        response = self.request("POST", *segments, json=json, scope=scope)
        return response.status_code, _object(response, self._decode(response), None)

    def put(self, *segments: object, json: Any, scope: str | None = None) -> Any:
        """PUT JSON; return the decoded body."""
        return self._decode(self.request("PUT", *segments, json=json, scope=scope))

    def put_object(self, *segments: object, json: Any, scope: str | None = None) -> dict[str, Any]:
        """PUT JSON; return the updated object."""
        response = self.request("PUT", *segments, json=json, scope=scope)
        return _object(response, self._decode(response), None)

    def paginate(self, *segments: object, params: QueryParams = None, limit: int | None = None,
                 page_size_param: str = "per_page", unwrap: str | None = None,
                 scope: str | None = None,
                 progress: Progress | None = None) -> Iterator[dict[str, Any]]:
        """Yield rows (objects) across every page, lazily, stopping at ``limit`` rows.

        Follows the ``rel="next"`` cursor while ``results="true"``. ``unwrap``
        names the key holding the rows when a page is an object
        (``{"data": [...]}`` for Discover and replays).
        """
        for rows, _more in self._pages(segments, params, limit, page_size_param, unwrap, scope, progress):
            yield from rows

    def decode_rows(self, response: httpx.Response, unwrap: str | None = None,
                    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One page's rows and, when the page is an object, its other keys (``meta``).

        ``unwrap`` names the key holding the rows (``data``); without it the page
        is the list itself. The shape is checked as for every other list.
        """
        body = self._decode(response)
        if unwrap and isinstance(body, dict):
            return _rows(response, body.get(unwrap)), {k: v for k, v in body.items() if k != unwrap}
        return _rows(response, body), {}

    def collect(self, *segments: object, params: QueryParams = None, limit: int | None = None,
                page_size_param: str = "per_page", unwrap: str | None = None,
                scope: str | None = None,
                progress: Progress | None = None,
                ) -> tuple[list[dict[str, Any]], bool]:
        """Fetch every row up to ``limit``; return ``(rows, truncated)``.

        ``truncated`` is True when the server had more rows than ``limit``
        allowed (rows left on the last page, or a further page announced), or
        when paging stopped early because the server's cursor went round in a
        circle: the rows are then incomplete, and saying otherwise would lie.
        """
        out: list[dict[str, Any]] = []
        more = False
        # Every page is wanted, so the next one is asked for while this one is decoded; and the rows
        # pile up into one large tree of plain data, which the cycle collector need not walk meanwhile.
        with gc_paused():
            for rows, page_more in self._pages(segments, params, limit, page_size_param, unwrap, scope,
                                               progress, prefetch=True):
                out.extend(rows)
                more = page_more  # the last page says whether the server had more
        return out, more

    def _pages(self, segments: tuple[object, ...], params: QueryParams, limit: int | None,
               page_size_param: str, unwrap: str | None, scope: str | None,
               progress: Progress | None, prefetch: bool = False,
               ) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """Yield ``(rows, more_exist)`` per page, trimmed so the total stays within ``limit``.

        Guards against servers that never stop: a cursor seen before, a page
        identical to the previous one, or more pages than ``limit`` can need
        (``ceil(limit / page_size) + 1``) ends the loop with a logged warning.

        With ``prefetch`` (for a caller that wants every page), the next page is
        requested, in a worker thread, as soon as this page's answer has arrived
        and its ``Link`` header names a next cursor, while this page is decoded
        and used here. It is asked for only when this page cannot be the last one
        wanted: a new cursor, fewer pages than the guard allows, and ``limit``
        not reachable by this page at the page size the server has honoured so far
        (every earlier page held at most ``page_size`` rows, none was empty or a
        repeat). Otherwise the next request waits for this page's rows, as without
        ``prefetch``. Rows, errors and progress come in page order on this thread.
        """
        base = list(params.items()) if isinstance(params, Mapping) else list(params or [])
        base = [(k, v) for k, v in base if k not in (page_size_param, "cursor")]
        page_size = MAX_PAGE_SIZE if limit is None else max(1, min(MAX_PAGE_SIZE, limit))
        max_pages = _MAX_PAGES if limit is None else math.ceil(limit / page_size) + 1

        def ask(cursor: str | None) -> httpx.Response:
            query = [*base, (page_size_param, page_size)] + ([("cursor", cursor)] if cursor else [])
            return self.request("GET", *segments, params=query, scope=scope)

        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentry-ipy-page") if prefetch else None
        cursors: set[str | None] = {None}
        previous: list[dict[str, Any]] | None = None
        seen = pages = 0
        regular = False  # every page so far was a full-size-or-less, non-empty, new page
        answer: Future[httpx.Response] | None = None
        try:
            response = ask(None)
            while True:
                pages += 1
                link_next = next_cursor(response.headers.get("link"))
                if (worker is not None and regular and link_next is not None and link_next not in cursors
                        and pages < max_pages and (limit is None or seen + page_size < limit)):
                    answer = worker.submit(ask, link_next)  # this page cannot end the walk: ask ahead
                body = self._decode(response)
                rows = _rows(response, body.get(unwrap) if unwrap and isinstance(body, dict) else body)
                path = response.request.url.path
                if rows and rows == previous:
                    log.warning("%s sent the same %d rows again; stopping after %d rows",
                                path, len(rows), seen)
                    yield [], True
                    return
                regular = bool(rows) and len(rows) <= page_size
                previous = rows
                nxt = link_next if rows else None
                if limit is not None and seen + len(rows) >= limit:
                    keep = limit - seen
                    yield rows[:keep], len(rows) > keep or nxt is not None
                    return
                seen += len(rows)
                stop = nxt in cursors or pages >= max_pages
                if nxt is not None and stop:
                    why = "repeated a cursor" if nxt in cursors else f"still had more after {pages} pages"
                    log.warning("%s %s; stopping after %d rows", path, why, seen)
                    yield rows, True
                    return
                yield rows, nxt is not None
                if progress is not None:
                    progress(seen, limit, f"page {pages}")
                if nxt is None:
                    return
                cursors.add(nxt)
                response = answer.result() if answer is not None else ask(nxt)
                answer = None
        finally:
            if worker is not None:
                worker.shutdown(wait=False, cancel_futures=True)

    # -------------------------------------------------------------- sending
    def _send(self, method: str, url: str, params: QueryParams, json: Any) -> httpx.Response:
        """One request with retries: 429 (after the advised wait), 5xx and lost connections.

        A POST is sent again only when the failure proves it never left
        (connection refused, pool timeout): a cut *after* sending could
        otherwise create a project or release twice.
        """
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = exchange(self._http, method, url, params, json, self.settings.timeout)
            except ExchangeError as exc:
                if last or not exc.retry or not (exc.unsent or method in _IDEMPOTENT):
                    raise TransportError(str(exc)) from None
                self._sleep(self._backoff(attempt))
                continue
            if response.status_code == 429 and not last:
                wait = retry_after(response)
                if wait is not None and wait <= _MAX_RATE_WAIT:
                    log.info("rate limited on %s; waiting %.1f s", origin(url), wait)
                    self._sleep(wait + random.uniform(0, 0.25))
                    continue
                if wait is None:
                    self._sleep(self._backoff(attempt))
                    continue
            if response.status_code in _RETRY_STATUS and method in _IDEMPOTENT and not last:
                self._sleep(self._backoff(attempt))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _backoff(attempt: int) -> float:
        return min(_MAX_BACKOFF, 0.25 * 2.0 ** attempt) * random.uniform(0.75, 1.0)

    def _decode(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        if _is_html(response):
            raise self._web_page(response)
        try:
            with gc_paused():  # a page of rows is plain data: no cycles to look for while it is made
                return response.json()
        except ValueError:
            raise UnexpectedResponseError(
                f"{origin(response.request.url)} sent malformed JSON for "
                f"{response.request.url.path}; the server or a proxy cut the answer, try again.",
                status=response.status_code, url=str(response.request.url)) from None

    def _error(self, response: httpx.Response, scope: str | None) -> APIError:
        url = str(response.request.url)
        path = f"{response.request.method} {response.request.url.path}"
        detail = _detail(response)
        said = f": {detail}" if detail else ""
        status = response.status_code
        secrets = self.settings.secrets
        if status == 401:
            source = self.settings.auth_token_source or ""
            if not self.settings.auth_token:
                msg = (f"Sentry needs an auth token (401{said}); none is configured: create one under "
                       "Settings > Auth Tokens and set SENTRY_AUTH_TOKEN.")
            elif source.endswith(".sentryclirc"):
                msg = (f"Sentry rejected the auth token from {source} (401{said}); create a token under "
                       "Settings > Auth Tokens and put it in that file's [auth] token, or set "
                       "SENTRY_AUTH_TOKEN.")
            else:
                msg = (f"Sentry rejected the auth token (401{said}); create a token under "
                       "Settings > Auth Tokens and set SENTRY_AUTH_TOKEN.")
            return AuthenticationError(redact_text(msg, secrets), status=status, url=url, detail=detail)
        if status == 403:
            need = f"it needs the {scope} scope" if scope else "check the token's scopes"
            msg = f"The auth token may not do {path} (403{said}); {need}."
            return PermissionDeniedError(redact_text(msg, secrets), status=status, url=url, detail=detail)
        if status == 404:
            region = " or the organization's region (EU orgs use https://de.sentry.io)" if self.is_saas else ""
            msg = (f"Sentry found nothing at {path} (404{said}); check the organization "
                   f"{self.settings.org!r}, the project and the ID{region}.")
            return NotFoundError(redact_text(msg, secrets), status=status, url=url, detail=detail)
        if status == 409:
            msg = f"That already exists (409{said}); pick another name or slug."
            return ConflictError(redact_text(msg, secrets), status=status, url=url, detail=detail)
        if status == 429:
            wait = retry_after(response)
            when = f"in {max(1, math.ceil(wait))} s" if wait is not None else "later"
            msg = f"Sentry is rate limiting {path} (429{said}); try again {when}."
            return RateLimitError(redact_text(msg, secrets), status=status, url=url, detail=detail,
                                  retry_after=wait)
        if status >= 500:
            msg = f"Sentry had an internal error on {path} ({status}{said}); try again shortly."
            return ServerError(redact_text(msg, secrets), status=status, url=url, detail=detail)
        msg = f"Sentry refused {path} ({status}{said}); check the arguments."
        return APIError(redact_text(msg, secrets), status=status, url=url, detail=detail)


def _is_html(response: httpx.Response) -> bool:
    """True when the body is a web page (by content type or by its first bytes)."""
    if "html" in response.headers.get("content-type", ""):
        return True
    return response.content[:200].lstrip().lower().startswith((b"<!doctype", b"<html"))


_DETAIL_CHARS = 300
#: Location parts that say where a field came from, not which field it is (pydantic/FastAPI).
_LOCATIONS = frozenset({"query", "body", "path", "header", "cookie"})


def _detail(response: httpx.Response) -> str | None:
    """The server's error text as one line.

    Sentry sends ``{"detail": "..."}`` or a serializer's ``{field: [msgs]}``;
    pydantic-based servers send ``{"detail": [{"loc": [...], "msg": ...}]}``,
    read here as ``sort: Input should be 'a' or 'b'``.
    """
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    if isinstance(detail, str):
        return _clip(detail)
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        return _clip(detail["message"])
    if isinstance(detail, list):
        return _clip("; ".join(_validation_item(item) for item in detail)) or None
    parts = []
    for key, value in body.items():
        msgs = value if isinstance(value, list) else [value]
        parts.append(f"{key}: {' '.join(str(m) for m in msgs)}")
    return _clip("; ".join(parts)) or None


def _validation_item(item: Any) -> str:
    """One pydantic error entry as ``field: message``."""
    if not isinstance(item, dict):
        return str(item)
    loc = raw if isinstance(raw := item.get("loc"), list) else []
    field = ".".join(str(p) for p in loc if str(p) not in _LOCATIONS)
    msg = str(item.get("msg") or item.get("type") or "is invalid").rstrip(".")
    return f"{field}: {msg}" if field else msg


def _clip(text: str) -> str:
    """At most :data:`_DETAIL_CHARS` characters, cut between words, never mid-word."""
    text = " ".join(text.split())
    if len(text) <= _DETAIL_CHARS:
        return text
    return text[:_DETAIL_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _shape(value: Any) -> str:
    """How a JSON value reads in a sentence: ``null``, ``a list``, ``a string``..."""
    if value is None:
        return "an empty answer (null)"
    names = {bool: "true/false", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object"}
    return names.get(type(value), f"a {type(value).__name__}")


def _unexpected(response: httpx.Response, body: Any, wanted: str) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"Sentry answered {response.request.method} {response.request.url.path} with "
        f"{_shape(body)} where {wanted} was expected; check that SENTRY_URL is a Sentry server.",
        status=response.status_code, url=str(response.request.url))


def _object(response: httpx.Response, body: Any,
            require: Mapping[str, type | tuple[type, ...]] | None) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _unexpected(response, body, "an object")
    for key, kind in (require or {}).items():
        value = body.get(key)
        if not isinstance(value, kind) or isinstance(value, bool) or value in ("", None):
            raise UnexpectedResponseError(
                f"Sentry's answer to {response.request.method} {response.request.url.path} has "
                f"{_shape(value) if key in body else 'no'} {key!r}; check that SENTRY_URL is a "
                "Sentry server.", status=response.status_code, url=str(response.request.url))
    return body


def _rows(response: httpx.Response, body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list):
        raise _unexpected(response, body, "a list")
    odd = next((row for row in body if not isinstance(row, dict)), ...)
    if odd is not ...:
        raise UnexpectedResponseError(
            f"Sentry answered {response.request.method} {response.request.url.path} with a list "
            f"holding {_shape(odd)} where objects were expected; check that SENTRY_URL is a "
            "Sentry server.", status=response.status_code, url=str(response.request.url))
    return body
