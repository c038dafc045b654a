"""Issue search: decide whether an issue matches a parsed query, as Sentry does.

Sentry's issue search knows a set of keys (``is:``, ``level:``, ``firstSeen:``,
``times_seen:``...) and treats every other ``key:value`` as a tag filter over
the issue's events. Doing the same here matters: silently ignoring an unknown
key returned every issue, so ``bogus:thing`` looked like a match-all filter.
Nothing is ever assigned, bookmarked or linked on the local backend, so those
filters honestly match no issue. ``OR``/``AND`` are rejected as on sentry.io.
"""

from __future__ import annotations

import json
from functools import cached_property
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..ingest._grouping import STACK_ATTRS, short_id, stack_frames

if TYPE_CHECKING:
    from ..store._store import Store
from ._query import (
    And,
    QueryError,
    Term,
    match_any,
    match_date,
    match_number,
    match_value,
    validate_values,
)

__all__ = ["IS_VALUES", "IssueCandidate", "check_is_values", "issue_header", "issue_is", "search_tags",
           "validate_issue_query"]

STATUS = {"resolved": "resolved", "unresolved": "unresolved", "ignored": "ignored",
           "archived": "ignored", "muted": "ignored"}
SUBSTATUS = {"new", "ongoing", "regressed", "escalating"}
NEVER_MATCH = {"assigned", "linked", "bookmarked", "reprocessing"}
ALWAYS_MATCH = {"unassigned", "unlinked"}
#: Every ``is:`` value Sentry's issue search accepts.
IS_VALUES = (*STATUS, *SUBSTATUS, "for_review", *NEVER_MATCH, *ALWAYS_MATCH)
_IS_HINT = ("use unresolved, resolved, ignored (archived), assigned, unassigned, for_review,"
            " linked, unlinked, new, ongoing, regressed or escalating")
DATE_KEYS = frozenset({"firstseen", "lastseen", "age", "event.timestamp", "timestamp"})
NUMBER_KEYS = frozenset({"timesseen", "times_seen"})
#: Ownership and personal lists do not exist locally: these match no issue.
UNOWNED_KEYS = {"assigned", "assigned_or_suggested", "bookmarks", "subscribed", "owner"}
#: Event fields Sentry also indexes as tags.
_FIELD_TAGS = ("transaction", "server_name", "dist", "logger", "platform")


def check_is_values(term: Term) -> None:
    """Refuse an ``is:`` value Sentry does not know, as Sentry's search does.

    Raises:
        QueryError: naming the value and the ones that exist.
    """
    bad = [v for v in term.values if v.lower() not in IS_VALUES]
    if bad:
        raise QueryError(f"Invalid is: value {bad[0]!r}; {_IS_HINT}.")


def issue_is(issue: Mapping[str, Any], term: Term) -> bool:
    """Whether an issue (a row with ``status`` and ``substatus``) matches an ``is:`` term."""
    hits = []
    for value in (v.lower() for v in term.values):
        if value in STATUS:
            hits.append(issue["status"] == STATUS[value])
        elif value in SUBSTATUS:
            hits.append(issue["status"] == "unresolved" and issue["substatus"] == value)
        elif value == "for_review":
            hits.append(issue["status"] == "unresolved" and issue["substatus"] in ("new", "regressed", "escalating"))
        else:
            hits.append(value in ALWAYS_MATCH)
    return any(hits) != term.negate


def validate_issue_query(terms: list[Term]) -> None:
    """Reject what Sentry rejects before any row is read.

    Raises:
        QueryError: an ``is:`` value Sentry does not know, or a bad number/date.
    """
    for term in terms:
        if term.key == "is":
            check_is_values(term)
    validate_values(And(tuple(terms)), NUMBER_KEYS, DATE_KEYS)


def _tags(payload: dict[str, Any]) -> list[tuple[str, Any]]:
    tags = payload.get("tags")
    pairs: list[tuple[str, Any]] = []
    if isinstance(tags, dict):
        pairs = list(tags.items())
    elif isinstance(tags, list):
        pairs = [(p[0], p[1]) for p in tags if isinstance(p, list) and len(p) == 2]
    pairs += [(f, payload[f]) for f in _FIELD_TAGS if isinstance(payload.get(f), str)]
    user = payload.get("user")
    if isinstance(user, dict):
        pairs += [(f"user.{k}", v) for k, v in user.items() if isinstance(v, (str, int))]
    return [(str(k).lower(), v) for k, v in pairs]


#: Keys whose values come from event columns or frames, never from the payload's tags.
COLUMN_KEYS = frozenset({"release", "release.version", "environment", *STACK_ATTRS})


def search_tags(payload: dict[str, Any], release: Any, environment: Any) -> set[tuple[str, str]]:
    """The ``(key, value)`` pairs one event adds to its issue's search index (``issue_tags``).

    Exactly what :meth:`IssueCandidate.match` would compare for a
    ``key:value`` term on this event, so the index answers those terms in
    SQL: the payload's tags, the event fields Sentry indexes as tags, the
    user's fields, and the ``release`` and ``environment`` columns. A None
    value is left out (``key:none`` is decided by :class:`IssueCandidate`).
    """
    pairs = {(key, str(value)) for key, value in _tags(payload) if value is not None and key not in COLUMN_KEYS}
    pairs.update((key, str(value)) for key, value in (("release", release), ("environment", environment)) if value is not None)
    return pairs


def issue_header(title: str, culprit: str | None, short: str) -> str:
    """What free text is matched against besides the messages: title, culprit and short ID, lower-cased."""
    return f"{title}\n{culprit or ''}\n{short}".lower()


class IssueCandidate:
    """One issue row being tested; its events are read once, on first need."""

    def __init__(self, store: Store, issue: dict[str, Any], project: dict[str, Any]) -> None:
        self.store, self.issue, self.project = store, issue, project

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        from ..store._event_queries import events_of_issue  # the store imports this module's search rules

        rows = events_of_issue(self.store, int(self.issue["id"]))
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows

    def matches(self, terms: list[Term]) -> bool:
        """True when every term matches (issue search has no ``OR``)."""
        return all(self.match(t) for t in terms)

    def _is(self, term: Term) -> bool:
        return issue_is(self.issue, term)

    def _event_values(self, key: str) -> list[Any]:
        if key == "user":
            return [e["user_key"] for e in self.events]
        if key in ("release", "release.version"):
            return [e["release"] for e in self.events]
        if key == "environment":
            return [e["environment"] for e in self.events]
        if key in STACK_ATTRS:
            return [f.get(a) for e in self.events for f in stack_frames(e["payload"]) for a in STACK_ATTRS[key]]
        return [v for e in self.events for k, v in _tags(e["payload"]) if k == key]

    def _has(self, term: Term) -> bool:
        hit = all(any(v not in (None, "") for v in self._event_values(key.lower())) for key in term.values)
        return hit != term.negate

    def match(self, term: Term) -> bool:  # noqa: PLR0911 - one branch per search key
        """Decide one term."""
        issue, project, key = self.issue, self.project, term.key
        if key is None:  # Sentry's free text: title, culprit and the events' messages
            hay = issue_header(issue["title"], issue["culprit"], short_id(project["slug"], issue["short_seq"]))
            text = term.value.lower()
            hit = text in hay or any(text in (e["message"] or "").lower() for e in self.events)
            return hit != term.negate
        if key == "is":
            return self._is(term)
        if key == "has":
            return self._has(term)
        if key in UNOWNED_KEYS:
            return term.negate
        if key in ("firstseen", "age"):
            return match_date(term, issue["first_seen"])
        if key == "lastseen":
            return match_date(term, issue["last_seen"])
        if key in ("event.timestamp", "timestamp"):
            positive = Term(key, term.values, False, term.op)
            return any(match_date(positive, e["timestamp"]) for e in self.events) != term.negate
        if key in NUMBER_KEYS:
            return match_number(term, issue["times_seen"])
        if key == "level":
            return match_any(term, [issue["level"]])
        if key == "firstrelease":
            return match_any(term, [issue["first_release"]])
        if key in ("project", "project.slug"):
            return match_any(term, [project["slug"]])
        if key in ("issue", "issue.id", "id"):
            return match_any(term, [short_id(project["slug"], issue["short_seq"]), str(issue["id"])])
        if key in ("title", "message"):
            title = issue["title"]
            hit = any(match_value(v, title) or v.lower() in title.lower() for v in term.values)
            return hit != term.negate
        if key in ("error.type", "type"):
            meta = issue["metadata"] if isinstance(issue["metadata"], dict) else json.loads(issue["metadata"])
            return match_any(term, [meta.get("type"), issue["type"]])
        if key in ("error.unhandled", "error.handled"):
            want = term.value.lower() in ("true", "1", "yes")
            unhandled = bool(issue["is_unhandled"])
            return ((unhandled if key == "error.unhandled" else not unhandled) == want) != term.negate
        if key in ("issue.category", "issue.type"):  # every local issue groups errors or messages
            return match_any(term, ["error"])
        if key == "user.email":
            return match_any(term, [e["user_email"] for e in self.events])
        return match_any(term, self._event_values(key))
