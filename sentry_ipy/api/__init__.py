"""Sentry Web API client: auth, regions, pagination, retries, errors, URL parsing,
and the capabilities that differ between Sentry versions and compatible servers."""

from __future__ import annotations

from . import _capabilities as capabilities
from ._client import MAX_PAGE_SIZE, REGION_HOSTS, SentryClient
from ._features import ServerFeatures
from ._links import LinkEntry, next_cursor, parse_link_header
from ._paths import IssueRef, encode_segment, normalise_hex_id, parse_issue_ref

__all__ = [
    "MAX_PAGE_SIZE",
    "REGION_HOSTS",
    "IssueRef",
    "LinkEntry",
    "SentryClient",
    "ServerFeatures",
    "capabilities",
    "encode_segment",
    "next_cursor",
    "normalise_hex_id",
    "parse_issue_ref",
    "parse_link_header",
]
