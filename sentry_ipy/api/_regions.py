"""Organizations in every region the token can reach.

sentry.io keeps organizations in regions (``us.sentry.io``, ``de.sentry.io``): the
control host (``sentry.io``) answers ``users/me/regions/`` with ``{regions: [{name,
url}]}``, and each region's ``organizations/`` lists only its own organizations.
Self-hosted Sentry has one region, or no ``users/me/regions/`` at all (a 404 or a
missing route): then the server's own ``organizations/`` is the whole answer.

A region URL is followed only to a host this package trusts: a sentry.io region host
(:data:`~._client.REGION_HOSTS`) for sentry.io, else the configured server's own host,
so an answer can never send the token elsewhere.
"""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from .._types import Progress
from ..errors import NotFoundError, UnsupportedFeatureError
from ._client import REGION_HOSTS, SentryClient

__all__ = ["Region", "organizations_everywhere", "regions"]

#: ``(name, API origin)`` of one region.
Region = tuple[str, str]


def _at(client: SentryClient, url: str) -> SentryClient:
    """A client for ``url`` with the same token and limits, bound to no organization."""
    return SentryClient(dataclasses.replace(client.settings, url=url.rstrip("/"), org=None))


def _trusted(client: SentryClient, url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if client.is_saas:
        return host in REGION_HOSTS
    return host == (urlsplit(client.web_url).hostname or "") and urlsplit(url).scheme in ("http", "https")


def regions(client: SentryClient) -> tuple[list[Region], list[str]]:
    """The regions the control host names (trusted ones), and notes on any left out.

    A server without ``users/me/regions/`` (self-hosted) is one region: itself.
    """
    control = _at(client, client.web_url)
    try:
        body = control.get_object("users", "me", "regions", scope="org:read")
    except (NotFoundError, UnsupportedFeatureError):
        return [("default", client.web_url.rstrip("/"))], []
    finally:
        control.close()
    found: list[Region] = []
    notes: list[str] = []
    for entry in body.get("regions") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
            continue
        name, url = str(entry.get("name") or entry["url"]), entry["url"].rstrip("/")
        if _trusted(client, url):
            found.append((name, url))
        else:
            notes.append(f"Region {name!r} at {url} was skipped: it is not a host of this server.")
    return found or [("default", client.web_url.rstrip("/"))], notes


def organizations_everywhere(client: SentryClient, *, query: str | None, limit: int | None,
                             progress: Progress | None = None,
                             ) -> tuple[list[dict[str, Any]], bool, list[str]]:
    """Every organization in every region, each row with its ``region``; ``(rows, truncated, notes)``."""
    found, notes = regions(client)
    rows: list[dict[str, Any]] = []
    truncated = False
    seen: set[str] = set()
    for name, url in found:
        regional = _at(client, url)
        try:
            batch, more = regional.collect("organizations", params=[("query", query)] if query else None,
                                           limit=None if limit is None else limit - len(rows),
                                           scope="org:read", progress=progress)
        finally:
            regional.close()
        for org in batch:
            key = str(org.get("id") or org.get("slug"))
            if key not in seen:  # a single-region server may answer the same list twice
                seen.add(key)
                rows.append({**org, "region": name})
        truncated = truncated or more
        if limit is not None and len(rows) >= limit:
            truncated = truncated or (name, url) != found[-1]
            break
    return rows, truncated, notes
