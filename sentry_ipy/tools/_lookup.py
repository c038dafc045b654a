"""Lookups the API tools share: projects, issues, times, error context.

Sentry's org-level endpoints want numeric project IDs while people type
slugs, so :func:`project_info` resolves a slug once per client and caches it.
Errors from the client are re-worded here with the names the user gave
("project 'x' not found in org 'y'"), because a bare 404 says nothing useful.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._hosts import is_loopback
from ..api import IssueRef, capabilities, parse_issue_ref
from ..errors import NotFoundError, ToolInputError, UnexpectedResponseError

if TYPE_CHECKING:  # pragma: no cover
    from ..api import SentryClient

__all__ = [
    "count_of",
    "dicts",
    "issue_ref",
    "issue_target",
    "not_found_as",
    "parse_time",
    "project_info",
    "resolve_issue",
    "say",
    "stack_summary",
]

_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, str], dict[str, Any]]] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


@contextmanager
def not_found_as(message: str) -> Iterator[None]:
    """Re-raise a 404 from the block as ``NotFoundError(message)``, keeping status and URL."""
    try:
        yield
    except NotFoundError as exc:
        raise NotFoundError(message, status=exc.status, url=exc.url, detail=exc.detail) from None


def project_info(client: SentryClient, project: str, org: str | None = None) -> dict[str, Any]:
    """Return ``{id, slug, name, platform}`` for a slug or numeric ID, cached per client.

    Raises:
        NotFoundError: the project does not exist in the organization.
    """
    org = org or client.org
    key = (org, project.strip())
    if not key[1]:
        raise ToolInputError("The project slug is empty; call sentry_list_projects to see the slugs.")
    with _CACHE_LOCK:
        cached = _CACHE.setdefault(client, {}).get(key)
    if cached is not None:
        return cached
    with not_found_as(f"Project {project!r} was not found in organization {org!r}; "
                      "call sentry_list_projects to see the slugs."):
        body = client.get_object("projects", org, key[1], scope="project:read",
                                 require={"id": (str, int)})
    info: dict[str, Any] = {"id": str(body.get("id")), "slug": body.get("slug") or key[1],
            "name": body.get("name"), "platform": body.get("platform")}
    with _CACHE_LOCK:
        entries = _CACHE.setdefault(client, {})
        entries[key] = info
        entries[(org, info["slug"])] = info
        entries[(org, info["id"])] = info
    return info


def issue_ref(text: str, client: SentryClient) -> tuple[IssueRef, str]:
    """Parse an issue ID, short ID or URL; return it with the org to ask (the URL's wins)."""
    ref = parse_issue_ref(text)
    return ref, ref.org or client.org


def resolve_issue(client: SentryClient, text: str) -> tuple[str, str, IssueRef, dict[str, Any] | None]:
    """Turn any issue reference into ``(numeric id, org, ref, issue or None)``.

    Short IDs go through the server's short-ID capability, which also returns
    the issue, so the caller need not fetch it again.
    """
    ref, org = issue_ref(text, client)
    host = _url_host(text)
    if ref.issue_id.isdigit():
        issue_id, group = ref.issue_id, None
    else:
        issue_id, group = capabilities.short_id_issue(client, org, ref.issue_id)
    if host and not _names_configured_server(host, client):
        group = _same_issue_elsewhere(client, org, issue_id, group, host)
    return issue_id, org, ref, group


def _url_host(text: str) -> str:
    """The host of ``text`` when it is a URL (``https://host/...``), else ``""``."""
    raw = text.strip()
    return (urlsplit(raw).hostname or "").lower() if "://" in raw else ""


def _names_configured_server(host: str, client: SentryClient) -> bool:
    """Whether a URL's host is the configured server's (any sentry.io host on SaaS; loopback alike)."""
    ours = (urlsplit(client.web_url).hostname or "").lower()
    if host == ours or (is_loopback(host) and is_loopback(ours)):
        return True
    return client.is_saas and (host == "sentry.io" or host.endswith(".sentry.io"))


def _same_issue_elsewhere(client: SentryClient, org: str, issue_id: str,
                          group: dict[str, Any] | None, host: str) -> dict[str, Any]:
    """The issue, when the configured server says its permalink is on ``host``.

    A server behind a proxy or with another public name links its issues under
    that name, so a URL on another host is accepted exactly when the issue the
    configured server holds under that ID carries a permalink on that host;
    otherwise the same org and ID there may be another issue, and we refuse.

    Raises:
        ToolInputError: the URL's host is not where the configured server's issue lives.
    """
    ours = urlsplit(client.web_url).hostname or client.web_url
    refusal = ToolInputError(
        f"That issue URL is on {host}, but the tools are configured for {ours}, whose issue {issue_id}"
        f" is not linked there; set SENTRY_URL (and SENTRY_AUTH_TOKEN) for {host}, or give an issue of {ours}.")
    if group is None:
        try:
            group = capabilities.get_issue(client, org, issue_id)
        except NotFoundError:
            raise refusal from None
    if _url_host(str(group.get("permalink") or "")) != host:
        raise refusal
    return group


def issue_target(client: SentryClient, text: str) -> tuple[str, str, str]:
    """``(numeric id, org, name as given)`` of an issue for its sub-resources (notes, tags...)."""
    issue_id, org, ref, _ = resolve_issue(client, text)
    return issue_id, org, ref.issue_id


def say(notes: list[str]) -> str:
    """Notes on what the server did not apply (or we applied for it), as sentences after a summary."""
    return "".join(f" {n}" for n in notes)


def parse_time(value: str, name: str) -> datetime:
    """Read ``value`` as ISO-8601 or Unix epoch seconds; naive times are UTC.

    Epoch *milliseconds* (13 digits, as JavaScript's ``Date.now()`` gives) are
    recognised and converted. Anything that is not a real moment between the
    years 1 and 9999 (``nan``, ``inf``, ``1e20``) is one sentence, not a traceback.
    """
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ToolInputError(f"{name} {value!r} is neither an ISO date like 2025-01-31T12:00:00Z "
                                 "nor a Unix timestamp.") from None
        try:
            return (parsed.astimezone(timezone.utc) if parsed.tzinfo
                    else parsed.replace(tzinfo=timezone.utc))
        except OverflowError:
            raise ToolInputError(f"{name} {value!r} is out of range; give a date between the "
                                 "years 1 and 9999.") from None
    if not math.isfinite(number):
        raise ToolInputError(f"{name} {value!r} is not a time; give an ISO date like "
                             "2025-01-31T12:00:00Z or Unix seconds.")
    if abs(number) > 1e11 and abs(number) < 1e14:  # milliseconds
        number /= 1000.0
    try:
        return datetime.fromtimestamp(number, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ToolInputError(f"{name} {value!r} is out of range; give Unix seconds (e.g. "
                             "1735689600) or an ISO date like 2025-01-31T12:00:00Z.") from None


def dicts(value: Any) -> Iterator[dict[str, Any]]:
    """The objects in a JSON list, skipping anything else (events nest lists of mixed junk)."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def count_of(value: Any, what: str, url: str = "") -> int:
    """A count from the server as ``int``: numbers and numeric strings; ``None`` is 0.

    Raises:
        UnexpectedResponseError: anything else, so a wrong total is never reported.
    """
    if value is None:
        return 0
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and number >= 0:
            return int(number)
    raise UnexpectedResponseError(f"Sentry sent {str(value)[:40]!r} as {what}, which is not a "
                                  "count; check that SENTRY_URL is a Sentry server.",
                                  status=200, url=url)


def stack_summary(event: dict[str, Any], max_frames: int = 8) -> str | None:
    """The last exception of an event as ``Type: value`` plus its newest in-app frames."""
    for entry in dicts(event.get("entries")):
        if entry.get("type") != "exception":
            continue
        values = list(dicts(_obj(entry.get("data")).get("values")))
        if not values:
            continue
        exc = values[-1]
        lines = [f"{exc.get('type') or 'Error'}: {exc.get('value') or ''}".rstrip(": ")]
        frames = list(dicts(_obj(exc.get("stacktrace")).get("frames")))
        chosen = [f for f in frames if f.get("inApp")] or frames
        for frame in reversed(chosen[-max_frames:]):
            where = frame.get("filename") or frame.get("absPath") or frame.get("module") or "?"
            lines.append(f"  at {frame.get('function') or '?'} ({where}:{frame.get('lineNo') or '?'})")
        return "\n".join(lines)
    return None



def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
