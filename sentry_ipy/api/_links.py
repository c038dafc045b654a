"""Parsing Sentry's ``Link`` pagination header and its identifiers.

Sentry sends two entries, ``rel="previous"`` and ``rel="next"``, each with
``results="true|false"`` and an opaque ``cursor``. Proxies and older servers
reorder attributes, drop quotes or add spaces, so the parser is lenient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["LinkEntry", "next_cursor", "parse_link_header"]

_ENTRY = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,<]+)*)")
_PARAM = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|([^;,\s]*))""")


@dataclass(frozen=True)
class LinkEntry:
    """One ``<url>; rel=...; results=...; cursor=...`` entry."""

    url: str
    rel: str | None
    results: bool | None
    cursor: str | None


def parse_link_header(value: str | None) -> list[LinkEntry]:
    """Return every entry of a ``Link`` header, in order; junk is skipped."""
    if not value:
        return []
    entries = []
    for match in _ENTRY.finditer(value):
        params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
                  for m in _PARAM.finditer(match.group(2) or "")}
        results = params.get("results")
        entries.append(LinkEntry(
            url=match.group(1).strip(),
            rel=(params.get("rel") or "").lower() or None,
            results=None if results is None else results.strip().lower() == "true",
            cursor=params.get("cursor") or None,
        ))
    return entries


def next_cursor(value: str | None) -> str | None:
    """The cursor of the ``next`` page, or ``None`` when there is no further page.

    A ``next`` entry without a ``results`` attribute counts as having results
    only when it carries a cursor (some Sentry-compatible servers omit it).
    """
    for entry in parse_link_header(value):
        if entry.rel == "next":
            if entry.results is False or not entry.cursor:
                return None
            return entry.cursor
    return None
