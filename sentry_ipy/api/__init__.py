"""Sentry Web API client: auth, regions, pagination, retries, errors, URL parsing,
and the capabilities that differ between Sentry versions and compatible servers."""

from __future__ import annotations

from . import _capabilities as capabilities
from ._client import MAX_PAGE_SIZE, REGION_HOSTS, SentryClient
from ._features import ServerFeatures
from ._offsets import MAX_CONCURRENT, OFFSET_CEILING, OffsetPages, collect_offset_pages
from ._links import LinkEntry, next_cursor, parse_link_header
from ._regions import organizations_everywhere
from ._paths import IssueRef, encode_segment, normalise_hex_id, parse_issue_ref

__all__ = [
    "MAX_CONCURRENT",
    "MAX_PAGE_SIZE",
    "OFFSET_CEILING",
    "OffsetPages",
    "REGION_HOSTS",
    "IssueRef",
    "LinkEntry",
    "SentryClient",
    "ServerFeatures",
    "capabilities",
    "collect_offset_pages",
    "encode_segment",
    "next_cursor",
    "normalise_hex_id",
    "organizations_everywhere",
    "parse_issue_ref",
    "parse_link_header",
]
