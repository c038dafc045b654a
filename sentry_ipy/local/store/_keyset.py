"""Keyset pages with Sentry's cursors, so page 100 costs what page 1 costs.

A cursor is Sentry's ``value:offset:is_prev``: ``value`` is the sort key of
the row the page starts after (``0`` = from the top), ``offset`` how many rows
sharing that key were already shown (ties are ordered by row ID), ``is_prev``
whether the page goes backwards. A next page is then ``key <= value ORDER BY
key DESC, id DESC OFFSET offset``: an index range scan from the cursor, not a
count from the start, and an old plain offset cursor (``0:200:0``) still means
"skip 200". The same rules run over SQL (:class:`SqlRows`) and, for searches
that need Python, over a bounded list already in memory (:class:`ListRows`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["FIRST", "Cursor", "CursorError", "ListRows", "Page", "SqlRows", "keyset_page"]

Row = dict[str, Any]


class CursorError(ValueError):
    """A cursor parameter that is not ``value:offset:is_prev``."""


@dataclass(frozen=True)
class Cursor:
    """A parsed Sentry cursor; ``value`` None means "from the top" (or bottom, going back)."""

    value: float | None = None
    offset: int = 0
    is_prev: bool = False

    @classmethod
    def parse(cls, raw: str | None) -> Cursor:
        """Read ``value:offset:is_prev`` (a bare number is an offset, as before).

        Raises:
            CursorError: when a part is not a number.
        """
        if not raw:
            return cls()
        parts = raw.split(":")
        try:
            if len(parts) == 1:
                return cls(None, max(int(parts[0]), 0))
            value = float(parts[0])
            offset = max(int(parts[1]), 0)
            is_prev = len(parts) > 2 and parts[2] not in ("", "0")
        except ValueError:
            raise CursorError(f"Invalid cursor parameter {raw!r}.") from None
        if not math.isfinite(value):
            raise CursorError(f"Invalid cursor parameter {raw!r}.")
        return cls(value or None, offset, is_prev)


#: The cursor of a list's first page.
FIRST = Cursor()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(int(value))


@dataclass(frozen=True)
class Page:
    """The rows of one page and the cursors of its neighbours."""

    rows: list[Row]
    next: str
    prev: str
    has_next: bool
    has_prev: bool


class Rows(Protocol):
    """Where a page reads from: SQL or a sorted list, with the same four questions."""

    def window(self, bound: float | None, offset: int, limit: int, backwards: bool) -> list[Row]:
        """Rows from the cursor on, in page order (descending) or reversed (ascending)."""

    def beyond(self, row: Row, backwards: bool) -> bool:
        """Whether any row comes after ``row`` (before it when ``backwards``)."""

    def ties(self, row: Row, backwards: bool) -> int:
        """How many rows share ``row``'s key and come at or before it (at or after, backwards)."""

    def position(self, row: Row) -> int:
        """How many rows come at or before ``row``."""


@dataclass
class SqlRows:
    """A filtered SELECT, ordered by ``key DESC, id DESC``.

    Args:
        query: runs SQL with parameters and returns dicts (``Store.query``).
        columns / source: what to select, and the ``FROM`` part.
        where: the filter (``1`` for none); ``params`` its parameters.
        key / ident: the sort column and the tie-breaking row ID column;
            each row also carries them as ``_key`` and ``_id``.
    """

    query: Callable[[str, list[Any]], list[Row]]
    columns: str
    source: str
    where: str
    params: list[Any]
    key: str
    ident: str

    def window(self, bound: float | None, offset: int, limit: int, backwards: bool) -> list[Row]:
        cond, params = self.where, list(self.params)
        if bound is not None:
            cond += f" AND {self.key} {'>=' if backwards else '<='} ?"
            params.append(bound)
        order = "ASC" if backwards else "DESC"
        sql = (f"SELECT {self.columns}, {self.key} AS _key, {self.ident} AS _id FROM {self.source}"
               f" WHERE {cond} ORDER BY {self.key} {order}, {self.ident} {order} LIMIT ? OFFSET ?")
        return self.query(sql, [*params, limit, offset])

    def _count(self, extra: str, params: list[Any], limit: int | None = None) -> int:
        inner = f"(SELECT 1 FROM {self.source} WHERE {self.where} AND {extra}"
        inner += f" LIMIT {int(limit)})" if limit else ")"
        return int(self.query(f"SELECT COUNT(*) AS n FROM {inner}", [*self.params, *params])[0]["n"])

    def beyond(self, row: Row, backwards: bool) -> bool:
        cmp = ">" if backwards else "<"
        k, i = row["_key"], row["_id"]
        return self._count(f"({self.key} {cmp} ? OR ({self.key} = ? AND {self.ident} {cmp} ?))", [k, k, i], 1) > 0

    def ties(self, row: Row, backwards: bool) -> int:
        return self._count(f"{self.key} = ? AND {self.ident} {'<=' if backwards else '>='} ?", [row["_key"], row["_id"]])

    def position(self, row: Row) -> int:
        k, i = row["_key"], row["_id"]
        return self._count(f"({self.key} > ? OR ({self.key} = ? AND {self.ident} >= ?))", [k, k, i])


@dataclass
class ListRows:
    """Rows already filtered in Python, each with ``_key`` and ``_id``; sorted here."""

    rows: Sequence[Row]

    def __post_init__(self) -> None:
        self.rows = sorted(self.rows, key=lambda r: (r["_key"], r["_id"]), reverse=True)

    def window(self, bound: float | None, offset: int, limit: int, backwards: bool) -> list[Row]:
        rows = list(reversed(self.rows)) if backwards else list(self.rows)
        if bound is not None:
            rows = [r for r in rows if (r["_key"] >= bound if backwards else r["_key"] <= bound)]
        return rows[offset : offset + limit]

    def _before(self, a: Row, b: Row) -> bool:
        return (a["_key"], a["_id"]) > (b["_key"], b["_id"])

    def beyond(self, row: Row, backwards: bool) -> bool:
        return any(self._before(r, row) if backwards else self._before(row, r) for r in self.rows)

    def ties(self, row: Row, backwards: bool) -> int:
        same = [r for r in self.rows if r["_key"] == row["_key"]]
        return sum(1 for r in same if (r["_id"] <= row["_id"] if backwards else r["_id"] >= row["_id"]))

    def position(self, row: Row) -> int:
        return sum(1 for r in self.rows if not self._before(row, r))


def keyset_page(rows: Rows, cursor: Cursor, size: int) -> Page:
    """Cut one page of ``size`` rows at ``cursor`` and work out both neighbours' cursors."""
    got = rows.window(cursor.value, cursor.offset, size + 1, cursor.is_prev)
    more = len(got) > size
    got = got[:size]
    if cursor.is_prev:
        got.reverse()
        has_prev, has_next = more, bool(got) and rows.beyond(got[-1], backwards=False)
    else:
        has_next = more
        has_prev = bool(got) and (cursor.value is not None or cursor.offset > 0) and rows.beyond(got[0], backwards=True)
    if not got:
        here = f"{_text(cursor.value or 0)}:{cursor.offset}"
        return Page([], f"{here}:0", f"{here}:1" if cursor.value or cursor.offset else "0:0:1", False,
                    bool(cursor.value or cursor.offset))
    first, last = got[0], got[-1]
    # A key of 0 cannot bound a next page ("0" means from the top), so count from the top there.
    next_offset = rows.ties(last, False) if last["_key"] else rows.position(last)
    nxt = f"{_text(last['_key'])}:{next_offset}:0"
    prev = f"{_text(first['_key'])}:{rows.ties(first, True)}:1" if has_prev else "0:0:1"
    return Page(got, nxt, prev, has_next, has_prev)
