"""The issue list as SQL: search terms become WHERE conditions over indexed columns.

Every term of Sentry's issue search that SQL can decide is translated here
with :class:`~..search._issue_search.IssueCandidate`'s exact meaning: status,
dates and counts compare indexed columns, ``key:value`` tags look up the
``issue_tags`` index, and case-insensitive or wildcard comparisons call the
``sq_*`` functions (:mod:`._functions`) only where a plain comparison could
answer differently. What is left (stack-frame attributes, ``key:none``) is
returned as residual terms for Python to decide over the rows SQL kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..ingest._grouping import STACK_ATTRS
from ..search import _issue_search as search
from ..search._query import Term, date_comparisons, number_comparisons
from ._text_index import CONTAINS, rare_candidates

__all__ = ["IssueFilter", "SORT_COLUMNS", "issue_filter"]

#: Sort name → indexed column (``trends`` and friends sort by last seen, as before).
SORT_COLUMNS = {"date": "i.last_seen", "new": "i.first_seen", "freq": "i.times_seen", "user": "i.user_count",
                "trends": "i.last_seen", "inbox": "i.last_seen", "recommended": "i.last_seen",
                "priority": "i.last_seen"}
_SLUG = "(SELECT p.slug FROM projects p WHERE p.id = i.project_id)"
_SHORT_ID = f"sq_short_id({_SLUG}, i.short_seq)"
_NONE_WORDS = ("", "none", "null")


Query = Callable[[str, list[Any]], list[dict[str, Any]]]


@dataclass
class IssueFilter:
    """A WHERE clause over ``issues i``, where its rows are read from, and the terms only Python can decide.

    ``source`` is ``issues i`` unless a free-text needle is rare: then the
    issues holding its index candidates (a superset of its matches) come
    first and ``issues i`` is joined to them, so the page costs what the
    matches cost; the WHERE clause alone still decides every row.
    """

    where: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)
    residual: list[Term] = field(default_factory=list)
    source: str = "issues i"
    source_params: list[Any] = field(default_factory=list)

    @property
    def all_params(self) -> list[Any]:
        """The parameters of ``FROM {source} WHERE {sql}``, in that order."""
        return [*self.source_params, *self.params]

    def add(self, sql: str, params: Iterable[Any] = ()) -> None:
        self.where.append(sql)
        self.params.extend(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.where) or "1"


def _negated(sql: str, term: Term) -> str:
    return f"NOT ({sql})" if term.negate else f"({sql})"


def _plain(value: str) -> bool:
    """Whether SQL's ASCII case-folding equality decides ``match_value(value, ...)`` exactly."""
    return "*" not in value and value.isascii() and value.lower() not in _NONE_WORDS


def _any_value(columns: Iterable[str], term: Term) -> tuple[str, list[Any]]:
    """``match_any(term, [columns...])`` before negation."""
    parts, params = [], []
    for column in columns:
        for value in term.values:
            parts.append(f"IFNULL({column} = ? COLLATE NOCASE, 0)" if _plain(value) else f"sq_match(?, {column})")
            params.append(value)
    return " OR ".join(parts) or "0", params


def _comparisons(column: str, pairs: list[tuple[str, float]]) -> tuple[str, list[Any]]:
    return " AND ".join(f"{column} {op} ?" for op, _ in pairs), [v for _, v in pairs]


def _tag_key(key: str) -> str | None:
    """The ``issue_tags`` key a search key reads, or None for stack-frame attributes."""
    if key in STACK_ATTRS:
        return None
    return "release" if key == "release.version" else key


def _is(term: Term) -> tuple[str, list[Any]]:
    parts, params = [], []
    for value in (v.lower() for v in term.values):
        if value in search.STATUS:
            parts.append("i.status = ?")
            params.append(search.STATUS[value])
        elif value in search.SUBSTATUS:
            parts.append("(i.status = 'unresolved' AND i.substatus = ?)")
            params.append(value)
        elif value == "for_review":
            parts.append("(i.status = 'unresolved' AND i.substatus IN ('new', 'regressed', 'escalating'))")
        else:
            parts.append("1" if value in search.ALWAYS_MATCH else "0")
    return " OR ".join(parts) or "0", params


def _has(term: Term) -> tuple[str, list[Any]] | None:
    keys = [_tag_key(k.lower()) for k in term.values]
    if any(k is None for k in keys):
        return None
    parts = ["i.id IN (SELECT issue_id FROM issue_users)" if k == "user"  # any user field counts
             else "i.id IN (SELECT issue_id FROM issue_tags WHERE key = ? AND value != '')" for k in keys]
    return " AND ".join(parts) or "1", [k for k in keys if k != "user"]


def _tag(key: str, term: Term) -> tuple[str, list[Any]] | None:
    tag_key = _tag_key(key)
    if tag_key is None or any(v.lower() in _NONE_WORDS for v in term.values):
        return None  # None values are not indexed: Python decides
    cond = " OR ".join("value = ?" if _plain(v) else "sq_match(?, value)" for v in term.values)
    return f"i.id IN (SELECT issue_id FROM issue_tags WHERE key = ? AND ({cond}))", [tag_key, *term.values]


def _text(needle: str) -> tuple[str, list[Any]]:
    """Sentry's free text: the title, culprit and short ID, and the messages of the issue's events.

    Decided over the issue's indexed texts (:mod:`._text_index`), lower-cased
    as the reference lower-cases them; an empty needle is in every text.
    """
    text = needle.lower()
    return (CONTAINS, [text]) if text else ("1", [])


def _title(term: Term) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for value in term.values:
        if "*" not in value and value.isascii():
            like = "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            parts.append("i.title LIKE ? ESCAPE '\\'")
            params.append(like)
        else:
            parts.append("(sq_match(?, i.title) OR sq_contains(?, i.title))")
            params += [value, value]
    return " OR ".join(parts) or "0", params


def _term(term: Term) -> tuple[str, list[Any]] | None:  # noqa: PLR0911 - one branch per search key
    """One term as SQL (negation included), or None when Python must decide it."""
    key = term.key
    if key is None:
        sql, params = _text(term.value)
        return _negated(sql, term), params
    if key == "is":
        sql, params = _is(term)
        return _negated(sql, term), params
    if key == "has":
        found = _has(term)
        return None if found is None else (_negated(found[0], term), found[1])
    if key in search.UNOWNED_KEYS:
        return ("1" if term.negate else "0"), []
    if key in ("firstseen", "age", "lastseen"):
        sql, params = _comparisons("i.last_seen" if key == "lastseen" else "i.first_seen", date_comparisons(term))
        return _negated(sql, term), params
    if key in ("event.timestamp", "timestamp"):
        sql, params = _comparisons("e.timestamp", date_comparisons(term))
        return _negated(f"EXISTS (SELECT 1 FROM events e WHERE e.issue_id = i.id AND {sql})", term), params
    if key in search.NUMBER_KEYS:
        sql, params = _comparisons("i.times_seen", number_comparisons(term))
        return _negated(sql, term), params
    columns = {"level": ["i.level"], "firstrelease": ["i.first_release"], "project": [_SLUG], "project.slug": [_SLUG],
               "issue": [_SHORT_ID, "CAST(i.id AS TEXT)"], "issue.id": [_SHORT_ID, "CAST(i.id AS TEXT)"],
               "id": [_SHORT_ID, "CAST(i.id AS TEXT)"], "error.type": ["json_extract(i.metadata, '$.type')", "i.type"],
               "type": ["json_extract(i.metadata, '$.type')", "i.type"]}
    if key in columns:
        sql, params = _any_value(columns[key], term)
        return _negated(sql, term), params
    if key in ("title", "message"):
        sql, params = _title(term)
        return _negated(sql, term), params
    if key in ("error.unhandled", "error.handled"):
        want = term.value.lower() in ("true", "1", "yes")
        column = "(i.is_unhandled != 0)" if key == "error.unhandled" else "(i.is_unhandled = 0)"
        return _negated(f"{column} = ?", term), [int(want)]
    if key in ("issue.category", "issue.type"):  # every local issue groups errors or messages
        sql, params = _any_value(["'error'"], term)
        return _negated(sql, term), params
    found = _tag(key, term)
    return None if found is None else (_negated(found[0], term), found[1])


def _driver(query: Query, terms: Iterable[Term]) -> tuple[str, list[Any]] | None:
    """The rarest positive free-text needle's candidate issues, when one is rare enough to read first."""
    best: tuple[int, str, list[Any]] | None = None
    for term in terms:
        if term.key is None and not term.negate and term.value:
            found = rare_candidates(query, term.value.lower())
            if found is not None and (best is None or found[0] < best[0]):
                best = found
    return None if best is None else (best[1], best[2])


def issue_filter(
    terms: Iterable[Term], project_ids: Iterable[int], start: float | None, end: float | None,
    query: Query | None = None,
) -> IssueFilter:
    """Translate an issue search (already validated) into SQL plus residual terms.

    With ``query`` (``Store.query``), a rare free-text needle is looked up in
    the text index first (:attr:`IssueFilter.source`); without, every row is
    read in sort order (same answer).
    """
    result = IssueFilter()
    terms = list(terms)
    ids = list(project_ids)
    # ``+`` keeps the planner off the (project, hash) index: a page walks a sort index from the
    # cursor and stops when full, instead of reading and sorting every issue of the project.
    result.add(f"+i.project_id IN ({','.join('?' * len(ids)) or 'NULL'})", ids)
    if start is not None:
        result.add("i.last_seen >= ?", [start])
    if end is not None:
        result.add("i.first_seen <= ?", [end])
    for term in terms:
        translated = _term(term)
        if translated is None:
            result.residual.append(term)
        else:
            result.add(*translated)
    driver = _driver(query, terms) if query is not None else None
    if driver is not None:
        result.source = f"(SELECT DISTINCT c.issue_id AS cid FROM ({driver[0]}) c) c CROSS JOIN issues i ON i.id = c.cid"
        result.source_params = driver[1]
    return result
