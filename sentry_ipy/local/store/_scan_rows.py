"""Keyset rows that SQL orders and Python may still filter: the source of Discover's event pages.

:class:`~._keyset.SqlRows` needs the whole filter in SQL. A Discover query can
hold terms only Python decides (a stack frame, an ``error.type``, a tag of the
payload), so :class:`ScanRows` reads rows in key order from the cursor on, a
chunk at a time, and keeps those the Python test accepts until the page is full:
the cost follows the rows scanned to fill the page (the page itself when most
rows match), not the table. Without a Python test it is plain SQL with
``LIMIT``/``OFFSET`` from the cursor, as :class:`SqlRows`.

The key may be read either way: ``descending=False`` gives an ascending list
under the same descending cursor rules by presenting ``-key`` and ``-id`` to
:func:`~._keyset.keyset_page` (so an ascending cursor's value is negative).

Several partitions (one per project) are each read in index order with their own
``LIMIT`` and merged by SQLite (``UNION ALL … ORDER BY``), since one ordered index
range cannot cover ``project_id IN (…)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["Keep", "ScanRows"]

Row = dict[str, Any]
#: The Python test of a chunk of rows: which of them the list keeps (it may annotate the rows).
Keep = Callable[[list[Row]], list[bool]]


@dataclass
class ScanRows:
    """Rows of ``source`` in ``parts`` (``(where, params)`` each, merged), ordered by ``(key, ident)``.

    Args:
        query: runs SQL with parameters and returns dicts (``Store.query``).
        columns / source: what to select, and the ``FROM`` part.
        parts: the filter of each partition, without conditions on ``key``; their union is the list.
        key / ident: the sort column and the tie-breaking row ID column.
        keep: the Python test, or None when SQL decides everything.
        descending: the list's direction (newest first by default).
        low / high: the key's range (a time window), both ends included.
        chunk: rows read per statement while a Python test rejects rows.

    Every statement puts one lower and one upper bound on ``key``, the window
    and the cursor merged here: given ``key >= a AND key <= b AND key = c``,
    SQLite 3.40 seeks the index by the range and scans the whole window.
    """

    query: Callable[[str, list[Any]], list[Row]]
    columns: str
    source: str
    parts: list[tuple[str, list[Any]]]
    key: str
    ident: str
    keep: Keep | None = None
    descending: bool = True
    low: float | None = None
    high: float | None = None
    chunk: int = 200

    # -- SQL ------------------------------------------------------------------
    def _select(self, at: _Bounds, sql_desc: bool, limit: int, offset: int = 0) -> list[Row]:
        """The rows of every part within ``at``, in SQL order, ``limit`` from ``offset``; each with its page key."""
        lo, hi = _tighter(self.low, at.low, max), _tighter(self.high, at.high, min)
        if not self.parts or (lo is not None and hi is not None and lo > hi):
            return []
        cond, params = at.cond, list(at.params)
        if lo is not None:
            cond, params = f" AND {self.key} >= ?{cond}", [lo, *params]
        if hi is not None:
            cond, params = f" AND {self.key} <= ?{cond}", [hi, *params]
        order = "DESC" if sql_desc else "ASC"
        pieces, values = [], []
        for where, part_params in self.parts:
            pieces.append(f"SELECT * FROM (SELECT {self.columns}, {self.key} AS _sk, {self.ident} AS _si"
                          f" FROM {self.source} WHERE {where}{cond} ORDER BY {self.key} {order}, {self.ident} {order}"
                          f" LIMIT {int(limit + offset)})")
            values += [*part_params, *params]
        sql = " UNION ALL ".join(pieces) + f" ORDER BY _sk {order}, _si {order} LIMIT {int(limit)} OFFSET {int(offset)}"
        rows = self.query(sql, values)
        sign = 1 if self.descending else -1
        for row in rows:
            row["_key"], row["_id"] = sign * row["_sk"], sign * row["_si"]
        return rows

    def _past(self, row: Row, sql_desc: bool, inclusive: bool = False) -> _Bounds:
        """The rows after ``row`` in SQL order (``inclusive``: and ``row``)."""
        key, ident = row["_sk"], row["_si"]
        op = ("<" if sql_desc else ">") + ("=" if inclusive else "")
        cond = f" AND ({self.key} {op[0]} ? OR {self.ident} {op} ?)"
        return _Bounds(None, key, cond, [key, ident]) if sql_desc else _Bounds(key, None, cond, [key, ident])

    def _scan(self, at: _Bounds, sql_desc: bool, first: int) -> Iterator[Row]:
        """Kept rows within ``at`` in SQL order, read ``first`` rows at a time and then :attr:`chunk`."""
        size = max(first, 1)
        while True:
            got = self._select(at, sql_desc, size)
            marks = [True] * len(got) if self.keep is None else self.keep(got)
            yield from (row for row, kept in zip(got, marks, strict=True) if kept)
            if len(got) < size:
                return
            # "after the last row read" implies whatever ``at`` asked beyond its bounds: the scan only moves on
            past = self._past(got[-1], sql_desc)
            at = replace(past, low=_tighter(at.low, past.low, max), high=_tighter(at.high, past.high, min))
            size = max(self.chunk, size)

    # -- the four questions of a keyset page ----------------------------------
    def window(self, bound: float | None, offset: int, limit: int, backwards: bool) -> list[Row]:
        sql_desc = self.descending != backwards
        value = None if bound is None else (bound if self.descending else -bound)
        at = _Bounds(None, value) if sql_desc else _Bounds(value, None)
        if self.keep is None:
            return self._select(at, sql_desc, limit, offset)
        rows: list[Row] = []
        for row in self._scan(at, sql_desc, offset + limit):
            if offset:
                offset -= 1
                continue
            rows.append(row)
            if len(rows) == limit:
                break
        return rows

    def beyond(self, row: Row, backwards: bool) -> bool:
        sql_desc = self.descending != backwards
        first = 1 if self.keep is None else self.chunk
        return next(self._scan(self._past(row, sql_desc), sql_desc, first), None) is not None

    def ties(self, row: Row, backwards: bool) -> int:
        # rows with the row's key at or before it in page order (at or after it, backwards)
        sql_desc = self.descending == backwards
        op = "<=" if sql_desc else ">="
        at = _Bounds(row["_sk"], row["_sk"], f" AND {self.ident} {op} ?", [row["_si"]])
        return sum(1 for _ in self._scan(at, sql_desc, self.chunk))

    def position(self, row: Row) -> int:
        sql_desc = not self.descending
        return sum(1 for _ in self._scan(self._past(row, sql_desc, inclusive=True), sql_desc, self.chunk))


@dataclass(frozen=True)
class _Bounds:
    """Where a statement reads: the key between ``low`` and ``high`` (None: open) and a condition on the rest."""

    low: float | None = None
    high: float | None = None
    cond: str = ""
    params: list[Any] = field(default_factory=list)


def _tighter(a: float | None, b: float | None, pick: Callable[[float, float], float]) -> float | None:
    return b if a is None else a if b is None else pick(a, b)
