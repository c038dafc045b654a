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
from dataclasses import dataclass
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
        parts: the filter of each partition; their union is the list.
        key / ident: the sort column and the tie-breaking row ID column.
        keep: the Python test, or None when SQL decides everything.
        descending: the list's direction (newest first by default).
        chunk: rows read per statement while a Python test rejects rows.
    """

    query: Callable[[str, list[Any]], list[Row]]
    columns: str
    source: str
    parts: list[tuple[str, list[Any]]]
    key: str
    ident: str
    keep: Keep | None = None
    descending: bool = True
    chunk: int = 200

    # -- SQL ------------------------------------------------------------------
    def _select(self, cond: str, params: list[Any], sql_desc: bool, limit: int, offset: int = 0) -> list[Row]:
        """The rows of every part meeting ``cond``, in SQL order, ``limit`` from ``offset``; each with its page key."""
        if not self.parts:
            return []
        order = "DESC" if sql_desc else "ASC"
        inner = limit + offset if limit >= 0 else -1
        pieces, values = [], []
        for where, part_params in self.parts:
            pieces.append(f"SELECT * FROM (SELECT {self.columns}, {self.key} AS _sk, {self.ident} AS _si"
                          f" FROM {self.source} WHERE {where}{cond} ORDER BY {self.key} {order}, {self.ident} {order}"
                          f" LIMIT {int(inner)})")
            values += [*part_params, *params]
        sql = " UNION ALL ".join(pieces) + f" ORDER BY _sk {order}, _si {order} LIMIT {int(limit)} OFFSET {int(offset)}"
        rows = self.query(sql, values)
        sign = 1 if self.descending else -1
        for row in rows:
            row["_key"], row["_id"] = sign * row["_sk"], sign * row["_si"]
        return rows

    def _sql(self, page_value: float) -> float:
        return page_value if self.descending else -page_value

    def _scan(self, cond: str, params: list[Any], sql_desc: bool, first: int) -> Iterator[Row]:
        """Kept rows meeting ``cond`` in SQL order, read ``first`` rows at a time and then :attr:`chunk`."""
        size = max(first, 1)
        while True:
            got = self._select(cond, params, sql_desc, size)
            marks = [True] * len(got) if self.keep is None else self.keep(got)
            yield from (row for row, kept in zip(got, marks, strict=True) if kept)
            if len(got) < size:
                return
            last = got[-1]
            cond += f" AND ({self.key}, {self.ident}) {'<' if sql_desc else '>'} (?, ?)"
            params = [*params, last["_sk"], last["_si"]]
            size = max(self.chunk, size)

    # -- the four questions of a keyset page ----------------------------------
    def window(self, bound: float | None, offset: int, limit: int, backwards: bool) -> list[Row]:
        sql_desc = self.descending != backwards
        cond, params = "", []
        if bound is not None:
            cond, params = f" AND {self.key} {'<=' if sql_desc else '>='} ?", [self._sql(bound)]
        if self.keep is None:
            return self._select(cond, params, sql_desc, limit, offset)
        rows: list[Row] = []
        for row in self._scan(cond, params, sql_desc, offset + limit):
            if offset:
                offset -= 1
                continue
            rows.append(row)
            if len(rows) == limit:
                break
        return rows

    def _after(self, row: Row, backwards: bool, inclusive: bool = False) -> tuple[str, list[Any], bool]:
        """The condition for rows after ``row`` in page order (before it when ``backwards``), and the SQL order."""
        sql_desc = self.descending != backwards
        op = ("<" if sql_desc else ">") + ("=" if inclusive else "")
        return f" AND ({self.key}, {self.ident}) {op} (?, ?)", [row["_sk"], row["_si"]], sql_desc

    def beyond(self, row: Row, backwards: bool) -> bool:
        cond, params, sql_desc = self._after(row, backwards)
        return next(self._scan(cond, params, sql_desc, 1 if self.keep is None else self.chunk), None) is not None

    def ties(self, row: Row, backwards: bool) -> int:
        # rows with the row's key at or after it in page order (at or before it, backwards)
        cond, params, sql_desc = self._after(row, not backwards, inclusive=True)
        cond, params = f" AND {self.key} = ?{cond}", [row["_sk"], *params]
        return sum(1 for _ in self._scan(cond, params, sql_desc, self.chunk))

    def position(self, row: Row) -> int:
        cond, params, sql_desc = self._after(row, True, inclusive=True)
        return sum(1 for _ in self._scan(cond, params, sql_desc, self.chunk))
