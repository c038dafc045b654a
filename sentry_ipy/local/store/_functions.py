"""Python functions registered on every connection, for what SQL cannot say exactly.

Sentry's search compares case-insensitively with ``*`` wildcards and its own
idea of "none" (:func:`~..search._query.match_value`); issue short IDs are
base-32 counters. SQL conditions call these only where an indexed column
comparison could not give the same answer, so the common filters stay pure SQL.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..ingest._grouping import short_id
from ..search._issue_search import issue_header
from ..search._query import match_value
from ._text_index import indexed_text

__all__ = ["register_functions"]


def _contains(needle: Any, *hay: Any) -> int:
    text = "\n".join(str(h) for h in hay if h is not None).lower()
    return int(str(needle).lower() in text)


def _header(title: Any, culprit: Any, slug: Any, seq: Any) -> str:
    return issue_header(str(title), culprit, short_id(str(slug), int(seq)))


def register_functions(conn: sqlite3.Connection) -> None:
    """Register ``sq_match(pattern, value)``, ``sq_contains(needle, ...)``, ``sq_short_id(slug, seq)``,
    ``sq_lower(text)`` (Python's case folding), ``sq_issue_header(title, culprit, slug, seq)`` and
    ``sq_indexed(text)``.

    The text index's triggers call ``sq_indexed``, so the schema is trusted to
    call functions (some SQLite builds default ``trusted_schema`` to off).
    """
    conn.execute("PRAGMA trusted_schema=ON")
    conn.create_function("sq_match", 2, lambda p, v: int(match_value(p, v)), deterministic=True)
    conn.create_function("sq_contains", -1, _contains, deterministic=True)
    conn.create_function("sq_short_id", 2, lambda slug, seq: short_id(slug, int(seq)), deterministic=True)
    conn.create_function("sq_lower", 1, lambda text: None if text is None else str(text).lower(), deterministic=True)
    conn.create_function("sq_issue_header", 4, _header, deterministic=True)
    conn.create_function("sq_indexed", 1, indexed_text, deterministic=True)
