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
from ..search._query import match_value

__all__ = ["register_functions"]


def _contains(needle: Any, *hay: Any) -> int:
    text = "\n".join(str(h) for h in hay if h is not None).lower()
    return int(str(needle).lower() in text)


def register_functions(conn: sqlite3.Connection) -> None:
    """Register ``sq_match(pattern, value)``, ``sq_contains(needle, ...)`` and ``sq_short_id(slug, seq)``."""
    conn.create_function("sq_match", 2, lambda p, v: int(match_value(p, v)), deterministic=True)
    conn.create_function("sq_contains", -1, _contains, deterministic=True)
    conn.create_function("sq_short_id", 2, lambda slug, seq: short_id(slug, int(seq)), deterministic=True)
