"""The issue list as SQL: search terms become WHERE conditions over indexed columns.

Every term of Sentry's issue search that SQL can decide is translated here
with :class:`~..search._issue_search.IssueCandidate`'s exact meaning: status,
dates and counts compare indexed columns, ``key:value`` tags look up the
``issue_tags`` index, and case-insensitive or wildcard comparisons call the
``sq_*`` functions (:mod:`._functions`) only where a plain comparison could
answer differently, and free text reads the text index (:mod:`._text_index`).
What is left (stack-frame attributes, ``key:none``) is returned as residual
terms for Python to decide over the rows SQL kept.

How a page is read depends on its terms, never what it answers: every term
is a condition on one issue (``EXISTS`` over its own tags or texts), so a
page walks a sort index from the cursor and stops when full. When a term's
issues are few (counted up to :func:`rare_limit`), those issues are read
first instead and sorted (:attr:`IssueFilter.source`), so a rare tag or
needle costs what its matches cost and a common one what the page costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..ingest._grouping import STACK_ATTRS
from ..search import _issue_search as search
from ..search._query import Term, date_comparisons, number_comparisons
from ._text_index import CONTAINS, MIN_PHRASE, candidates

__all__ = ["IssueFilter", "SORT_COLUMNS", "issue_filter"]

#: Sort name → indexed column (``trends`` and friends sort by last seen, as before).
SORT_COLUMNS = {"date": "i.last_seen", "new": "i.first_seen", "freq": "i.times_seen", "user": "i.user_count",
                "trends": "i.last_seen", "inbox": "i.last_seen", "recommended": "i.last_seen",
                "priority": "i.last_seen"}
_SLUG = "(SELECT p.slug FROM projects p WHERE p.id = i.project_id)"
_SHORT_ID = f"sq_short_id({_SLUG}, i.short_seq)"
_NONE_WORDS = ("", "none", "null")


Query = Callable[[str, list[Any]], list[dict[str, Any]]]


def rare_limit(issues: int, page: int) -> int:
    """How many rows make a term's set small enough to read its issues first.

    Reading a set's issues costs about what checking one issue of the sort
    index does (measured at 100,000 issues: each is a row read from a page
    of its own), and walking that index finds a page after ``page * issues / M``
    issues when ``M`` of them match: the two meet near ``sqrt(page * issues)``.
    Below it the page costs what the matches cost; above it matches are
    common and the walk fills the page soon.
    """
    return max(100, int(math.sqrt(max(page, 1) * max(issues, 1))))


@dataclass
class IssueFilter:
    """A WHERE clause over ``issues i``, where its rows are read from, and the terms only Python can decide.

    ``source`` is ``issues i`` unless one term's set of issues is small (a
    tag, a ``has:``, a needle's index candidates: a superset of its matches):
    then those issues come first and ``issues i`` is joined to them, so the
    page costs what the matches cost; the WHERE clause alone still decides
    every row.
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


@dataclass(frozen=True)
class Within:
    """The issues a positive term can only match among: a query of their IDs (a superset is fine).

    ``probe`` is a query whose rows are counted, at most :func:`rare_limit` + 1 of
    them, to tell whether that set is small enough to read first; ``cheap``
    probes (an index range) are asked before dear ones (a trigram phrase).
    """

    ids: str
    params: list[Any]
    probe: str
    probe_params: list[Any]
    cheap: bool = True
    #: Whether ``ids`` may name an issue twice.
    repeats: bool = True


#: An SQL condition over ``issues i``, its parameters, and the set the term keeps its matches in.
Translated = tuple[str, list[Any], Within | None]


def _within(ids: str, params: list[Any], repeats: bool = True) -> Within:
    return Within(ids, params, ids, params, repeats=repeats)


def _has(term: Term) -> Translated | None:
    keys = [_tag_key(k.lower()) for k in term.values]
    if any(k is None for k in keys):
        return None
    parts, params, sets = [], [], []
    for key in keys:
        if key == "user":  # any user field counts
            parts.append("EXISTS (SELECT 1 FROM issue_users u WHERE u.issue_id = i.id)")
            sets.append(_within("SELECT issue_id FROM issue_users", []))
        else:
            parts.append("EXISTS (SELECT 1 FROM issue_tags g WHERE g.issue_id = i.id AND g.key = ? AND g.value != '')")
            params.append(key)
            sets.append(_within("SELECT issue_id FROM issue_tags WHERE key = ? AND value != ''", [key]))
    return " AND ".join(parts) or "1", params, sets[0] if sets and not term.negate else None


def _tag(key: str, term: Term) -> Translated | None:
    tag_key = _tag_key(key)
    if tag_key is None or any(v.lower() in _NONE_WORDS for v in term.values):
        return None  # None values are not indexed: Python decides
    def cond(column: str) -> str:
        return " OR ".join(f"{column} = ?" if _plain(v) else f"sq_match(?, {column})" for v in term.values)

    params = [tag_key, *term.values]
    plain = all(_plain(v) for v in term.values)  # a wildcard's count would call Python on every value of the key
    within = _within(f"SELECT issue_id FROM issue_tags WHERE key = ? AND ({cond('value')})", params,
                     repeats=len(term.values) > 1)
    return (f"EXISTS (SELECT 1 FROM issue_tags g WHERE g.issue_id = i.id AND g.key = ? AND ({cond('g.value')}))",
            params, within if plain and not term.negate else None)


def _text(term: Term) -> Translated:
    """Sentry's free text: the title, culprit and short ID, and the messages of the issue's events.

    Decided over the issue's indexed texts (:mod:`._text_index`), lower-cased
    as the reference lower-cases them; an empty needle is in every text.
    """
    text = term.value.lower()
    if not text:
        return "1", [], None
    probe, probe_params = candidates(text)
    within = Within(f"SELECT t.issue_id FROM issue_texts t WHERE t.id IN ({probe})", probe_params, probe, probe_params,
                    cheap=len(text) < MIN_PHRASE)
    return CONTAINS, [text], None if term.negate else within


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


def _term(term: Term) -> Translated | None:
    """One term as SQL (negation included) with the set its matches lie in, or None when Python must decide it."""
    if term.key is None:
        found: Translated | None = _text(term)
    elif term.key == "has":
        found = _has(term)
    else:
        column = _column_term(term)
        found = _tag(term.key, term) if column is None else (*column, None)
    return None if found is None else (_negated(found[0], term), found[1], found[2])


def _column_term(term: Term) -> tuple[str, list[Any]] | None:  # noqa: PLR0911 - one branch per search key
    """A term on the issue's own columns (negation not applied), or None for a tag."""
    key = term.key
    if key == "is":
        return _is(term)
    if key in search.UNOWNED_KEYS:
        return "0", []
    if key in ("firstseen", "age", "lastseen"):
        return _comparisons("i.last_seen" if key == "lastseen" else "i.first_seen", date_comparisons(term))
    if key in ("event.timestamp", "timestamp"):
        sql, params = _comparisons("e.timestamp", date_comparisons(term))
        return f"EXISTS (SELECT 1 FROM events e WHERE e.issue_id = i.id AND {sql})", params
    if key in search.NUMBER_KEYS:
        return _comparisons("i.times_seen", number_comparisons(term))
    columns = {"level": ["i.level"], "firstrelease": ["i.first_release"], "project": [_SLUG], "project.slug": [_SLUG],
               "issue": [_SHORT_ID, "CAST(i.id AS TEXT)"], "issue.id": [_SHORT_ID, "CAST(i.id AS TEXT)"],
               "id": [_SHORT_ID, "CAST(i.id AS TEXT)"], "error.type": ["json_extract(i.metadata, '$.type')", "i.type"],
               "type": ["json_extract(i.metadata, '$.type')", "i.type"]}
    if key in columns:
        return _any_value(columns[key], term)
    if key in ("title", "message"):
        return _title(term)
    if key in ("error.unhandled", "error.handled"):
        want = term.value.lower() in ("true", "1", "yes")
        column = "(i.is_unhandled != 0)" if key == "error.unhandled" else "(i.is_unhandled = 0)"
        return f"{column} = ?", [int(want)]
    if key in ("issue.category", "issue.type"):  # every local issue groups errors or messages
        return _any_value(["'error'"], term)
    return None


def _small(query: Query, sets: list[Within], page: int) -> Within | None:
    """The first set (cheap probes first) no larger than :func:`rare_limit`, if any; counting stops there."""
    if not sets:
        return None
    limit = rare_limit(int(query("SELECT IFNULL(MAX(id), 0) AS n FROM issues", [])[0]["n"]), page)
    for within in sorted(sets, key=lambda w: not w.cheap):
        found = query(f"SELECT COUNT(*) AS n FROM ({within.probe} LIMIT {limit + 1})", within.probe_params)
        if int(found[0]["n"]) <= limit:
            return within
    return None


def issue_filter(
    terms: Iterable[Term], project_ids: Iterable[int], start: float | None, end: float | None,
    query: Query | None = None, page: int = 100,
) -> IssueFilter:
    """Translate an issue search (already validated) into SQL plus residual terms.

    With ``query`` (``Store.query``), a term whose matches are few (a tag, a
    ``has:``, a free-text needle's index candidates: :func:`rare_limit`) is
    read first (:attr:`IssueFilter.source`); otherwise, or without ``query``,
    the page walks the sort index and checks each issue (same answer).
    """
    result = IssueFilter()
    ids = list(project_ids)
    # ``+`` keeps the planner off the (project, hash) index: a page walks a sort index from the
    # cursor and stops when full, instead of reading and sorting every issue of the project.
    result.add(f"+i.project_id IN ({','.join('?' * len(ids)) or 'NULL'})", ids)
    # ``likely``: the window still bounds the scan, but a tie count's ``key = ?`` wins the index over it.
    if start is not None:
        result.add("likely(i.last_seen >= ?)", [start])
    if end is not None:
        result.add("likely(i.first_seen <= ?)", [end])
    sets: list[Within] = []
    for term in terms:
        translated = _term(term)
        if translated is None:
            result.residual.append(term)
        else:
            result.add(translated[0], translated[1])
            if translated[2] is not None:
                sets.append(translated[2])
    small = _small(query, sets, page) if query is not None else None
    if small is not None:
        first = f"SELECT DISTINCT c.issue_id FROM ({small.ids}) c" if small.repeats else small.ids
        result.source = f"(SELECT c.issue_id AS cid FROM ({first}) c) c CROSS JOIN issues i ON i.id = c.cid"
        result.source_params = small.params
    return result
