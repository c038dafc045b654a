"""Lookups the API tools share: projects, issues, times, error context.

Sentry's org-level endpoints want numeric project IDs while people type
slugs, so :func:`project_info` resolves a slug once per client and caches it.
Errors from the client are re-worded here with the names the user gave
("project 'x' not found in org 'y'"), because a bare 404 says nothing useful.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..api import IssueRef, parse_issue_ref
from ..errors import NotFoundError, ToolInputError

if TYPE_CHECKING:  # pragma: no cover
    from ..api import SentryClient

__all__ = [
    "issue_ref",
    "not_found_as",
    "parse_time",
    "project_info",
    "resolve_issue",
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
        body = client.get("projects", org, key[1], scope="project:read")
    info = {"id": str(body.get("id")), "slug": body.get("slug") or key[1],
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

    Short IDs go through ``/shortids/``, which also returns the issue, so the
    caller need not fetch it again.
    """
    ref, org = issue_ref(text, client)
    if ref.issue_id.isdigit():
        return ref.issue_id, org, ref, None
    with not_found_as(f"Short ID {ref.issue_id!r} was not found in organization {org!r}; "
                      "check the org and the ID (case does not matter)."):
        body = client.get("organizations", org, "shortids", ref.issue_id.upper(), scope="event:read")
    group = body.get("group") if isinstance(body, dict) else None
    return str(body.get("groupId")), org, ref, group if isinstance(group, dict) else None


def parse_time(value: str, name: str) -> datetime:
    """Read ``value`` as epoch seconds (or milliseconds) or ISO-8601; naive times are UTC."""
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ToolInputError(f"{name} {value!r} is neither an ISO date like 2025-01-31T12:00:00Z "
                                 "nor a Unix timestamp.") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    if number > 1e11:  # milliseconds
        number /= 1000.0
    return datetime.fromtimestamp(number, tz=timezone.utc)


def stack_summary(event: dict[str, Any], max_frames: int = 8) -> str | None:
    """The last exception of an event as ``Type: value`` plus its newest in-app frames."""
    for entry in event.get("entries") or []:
        if entry.get("type") != "exception":
            continue
        values = (entry.get("data") or {}).get("values") or []
        if not values:
            continue
        exc = values[-1]
        lines = [f"{exc.get('type') or 'Error'}: {exc.get('value') or ''}".rstrip(": ")]
        frames = ((exc.get("stacktrace") or {}).get("frames") or [])
        chosen = [f for f in frames if f.get("inApp")] or frames
        for frame in reversed(chosen[-max_frames:]):
            where = frame.get("filename") or frame.get("absPath") or frame.get("module") or "?"
            lines.append(f"  at {frame.get('function') or '?'} ({where}:{frame.get('lineNo') or '?'})")
        return "\n".join(lines)
    return None

