"""Free-text issue search over the text index answers exactly as the Python reference does.

The reference is :meth:`IssueCandidate.match` (the title, culprit and short
ID joined by newlines, and each event's message, lower-cased by Python);
the SQL side reads ``issue_texts`` and its trigram index. Random texts and
needles mix cases, characters whose lower case differs in length or is not
ASCII (``İ``, the Kelvin sign, ``ẞ``, final sigma), NUL, U+FFFF, quotes,
LIKE/GLOB wildcards, newlines and multi-word phrases, so a needle may span
title and culprit as the reference allows; each query is run with the index
lookup forced on and off. The index must stay right after a slug rename,
retention and an issue deletion, and a file of the previous schema gains it.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from sentry_ipy.local.ingest._pipeline import save_events
from sentry_ipy.local.search._issue_search import IssueCandidate
from sentry_ipy.local.search._query import Term, parse_query
from sentry_ipy.local.store import _issue_queries
from sentry_ipy.local.store._issue_queries import issue_filter
from sentry_ipy.local.store._issue_records import delete_issues
from sentry_ipy.local.store._keyset import SqlRows
from sentry_ipy.local.store._retention import purge_before
from sentry_ipy.local.store._store import Store
from sentry_ipy.local.store._tables import SCHEMA_VERSION

ALPHABET = list("abcxyzABCXYZ  -.") + ["\n", "İ", "\u212a", "k", "Σ", "σ", "ς", "ß", "ẞ", '"', "%", "_", "\\",
                                        "*", "[", "\x00", "\uffff", "\ufffd", "中", "🙂", "ǅ"]


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(lo, hi)))


def _payloads(rng: random.Random, issues: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(issues):
        for _ in range(rng.randint(1, 3)):
            payload: dict[str, Any] = {"fingerprint": [f"group-{i}"], "level": rng.choice(["error", "warning"])}
            if rng.random() < 0.85:
                payload["message"] = _text(rng, 1, 14)
            if rng.random() < 0.6:
                payload["culprit"] = _text(rng, 1, 8)
            out.append(payload)
    return out


def _seed(store: Store, rng: random.Random, issues: int) -> None:
    second = store.project(1, "second") or store.create_project(1, 1, "second", "second", "python")
    payloads = [(project, p) for project in (store.project_by_id(1), second) for p in _payloads(rng, issues)]
    rng.shuffle(payloads)  # each issue's events spread over the whole time, so retention leaves some of them
    for project, payload in payloads:
        assert project is not None
        save_events(store, project, [payload])


def _reference(store: Store, terms: list[Term]) -> set[int]:
    projects = {p["id"]: p for p in store.projects(1)}
    return {int(r["id"]) for r in store.query("SELECT * FROM issues")
            if IssueCandidate(store, r, projects[r["project_id"]]).matches(terms)}


def _sql(store: Store, terms: list[Term]) -> set[int]:
    """What an issue page keeps: SQL's rows, then the terms SQL left to Python."""
    projects = {p["id"]: p for p in store.projects(1)}
    found = issue_filter(terms, projects, None, None, store.query)
    rows = SqlRows(store.query, "i.*", found.source, found.sql, found.all_params, "i.last_seen", "i.id")
    got = [int(r["id"]) for r in rows.window(None, 0, -1, False)
           if not found.residual or IssueCandidate(store, r, projects[r["project_id"]]).matches(found.residual)]
    assert len(got) == len(set(got)), "an issue was listed twice"
    return set(got)


def _hay(store: Store) -> list[str]:
    """Texts a needle may be cut from: titles, culprits, messages, short IDs, and title+culprit joins."""
    rows = store.query("SELECT i.title, i.culprit, p.slug, i.short_seq FROM issues i JOIN projects p"
                       " ON p.id = i.project_id")
    texts = [f"{r['title']}\n{r['culprit'] or ''}\n{r['slug'].upper()}-{r['short_seq']}" for r in rows]
    return texts + [r["message"] for r in store.query("SELECT message FROM events WHERE message != ''")]


def _needle(rng: random.Random, hay: list[str]) -> str:
    if rng.random() < 0.7:
        text = rng.choice(hay)
        start = rng.randrange(len(text))
        piece = text[start : start + rng.randint(1, 7)]
        return "".join(c.upper() if rng.random() < 0.3 else c for c in piece) or "a"
    return _text(rng, 1, 5) or "b"


def _quoted(needle: str) -> str:
    return '"' + needle.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _query(rng: random.Random, hay: list[str]) -> tuple[str, list[str]]:
    needles = [_needle(rng, hay) for _ in range(rng.choice([1, 1, 2, 3]))]
    parts = [_quoted(n) for n in needles]
    if rng.random() < 0.2:
        parts.append(rng.choice(["is:unresolved", "level:error", "!level:warning"]))
    return " ".join(parts), needles


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    s = Store(tmp_path_factory.mktemp("text") / "local.sqlite3")
    _seed(s, random.Random(9), 40)
    yield s
    s.close()


@pytest.mark.parametrize("rare", [0, 4, 10**6], ids=["rows", "small-lookup", "lookup"])
def test_free_text_matches_the_reference(store: Store, rare: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_issue_queries, "rare_limit", lambda issues, page: rare)
    rng = random.Random(rare)
    hay = _hay(store)
    matched = 0
    for _ in range(250):
        query, needles = _query(rng, hay)
        terms = parse_query(query)
        assert [t.value for t in terms if t.key is None] == needles, query
        want = _reference(store, terms)
        assert _sql(store, terms) == want, query
        matched += bool(want)
    assert matched > 100  # most needles are cut from stored texts, so most queries find something


def test_negated_and_empty_free_text(store: Store) -> None:
    for needle in ("a", "ab", "İ", "abc", "\x00", "zzzzzz", ""):
        for negate in (False, True):
            terms = [Term(None, (needle,), negate)]
            assert _sql(store, terms) == _reference(store, terms), (needle, negate)


def _index_is_exact(store: Store) -> None:
    """Each issue's indexed messages are the distinct lower-cased messages of the events it still has."""
    texts: dict[int, set[str]] = {}
    for row in store.query("SELECT issue_id, text FROM issue_texts WHERE kind = 1"):
        texts.setdefault(int(row["issue_id"]), set()).add(row["text"])
    messages: dict[int, set[str]] = {}
    for row in store.query("SELECT issue_id, message FROM events WHERE message != ''"):
        messages.setdefault(int(row["issue_id"]), set()).add(row["message"].lower())
    assert texts == messages
    headers = store.one("SELECT COUNT(*) AS n FROM issue_texts WHERE kind = 0")
    assert headers == {"n": len(store.query("SELECT id FROM issues"))}
    store.execute("INSERT INTO issue_text_index (issue_text_index) VALUES ('integrity-check')")


def _check(store: Store, rng: random.Random, rounds: int = 60) -> None:
    _index_is_exact(store)
    hay = _hay(store)
    for _ in range(rounds):
        terms = parse_query(_query(rng, hay)[0])
        assert _sql(store, terms) == _reference(store, terms)


def test_index_follows_slug_rename_retention_and_deletion(tmp_path: Path) -> None:
    rng = random.Random(3)
    store = Store(tmp_path / "local.sqlite3")
    try:
        _seed(store, rng, 15)
        store.update_project(1, {"slug": "renamed"})
        for needle in ("renamed-", "notebook-", "ed-1\n"):
            terms = [Term(None, (needle,))]
            assert _sql(store, terms) == _reference(store, terms), needle
        assert _sql(store, [Term(None, ("renamed-1",))])
        received = sorted(r["received"] for r in store.query("SELECT received FROM events"))
        purge_before(store, received[len(received) // 3])  # a third of the events, some issues, some messages
        _check(store, rng)
        ids = [int(r["id"]) for r in store.query("SELECT id FROM issues")]
        assert len(ids) > 6
        delete_issues(store, ids[:3])
        _check(store, rng)
        left = store.one("SELECT COUNT(*) AS n FROM issue_texts t WHERE NOT EXISTS"
                         " (SELECT 1 FROM issues i WHERE i.id = t.issue_id)")
        assert left == {"n": 0}
    finally:
        store.close()


def test_previous_schema_file_gains_the_text_index(tmp_path: Path) -> None:
    path = tmp_path / "local.sqlite3"
    rng = random.Random(5)
    store = Store(path)
    _seed(store, rng, 10)
    store.close()
    conn = sqlite3.connect(str(path))
    conn.executescript("DROP TABLE issue_text_trigrams; DROP TABLE issue_text_index; DROP TABLE issue_texts;"
                       " UPDATE meta SET value = '2' WHERE key = 'schema_version';")
    conn.close()
    store = Store(path)
    try:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        assert store.one("SELECT COUNT(*) AS n FROM issue_texts WHERE kind = 0") == {"n": 20}
        _check(store, rng)
    finally:
        store.close()


#: Not the Kelvin sign: a tag value with it is known to differ (SQLite's NOCASE folds ASCII only, while
#: Python lower-cases U+212A to ASCII ``k``, so ``key:k`` misses it); free text has no such gap.
TAG_VALUES = ["s1", "S1", "s2", "ab", "AB", "a-b", "İx", "ǅ", "k", "x*y"]


def _tagged(rng: random.Random, issues: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(issues):
        for _ in range(rng.randint(1, 3)):
            tags = {key: rng.choice(TAG_VALUES) for key in ("shard", "Cell", "mode") if rng.random() < 0.5}
            payload: dict[str, Any] = {"fingerprint": [f"tagged-{i}"], "message": _text(rng, 1, 6), "tags": tags}
            if rng.random() < 0.5:
                payload["release"] = rng.choice(["1.0", "2.0"])
            if rng.random() < 0.3:
                payload["user"] = {"id": str(rng.randint(1, 4))}
            out.append(payload)
    return out


def _tag_query(rng: random.Random, hay: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(["shard", "cell", "mode", "release"])
        value = rng.choice(TAG_VALUES + ["1.0", "2.0"])
        value = value.upper() if rng.random() < 0.3 else value
        parts.append(rng.choice([
            f"{key}:{_quoted(value)}", f"!{key}:{_quoted(value)}", f"{key}:[{value}, s2]", f"{key}:*b*",
            f"has:{key}", f"!has:{key}", "has:user", "!has:user", f"{key}:none", _quoted(_needle(rng, hay)),
            "is:unresolved"]))
    return " ".join(parts)


@pytest.mark.parametrize("rare", [0, 3, 10**6], ids=["rows", "small-sets", "sets"])
def test_tag_and_has_terms_match_the_reference(tmp_path: Path, rare: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_issue_queries, "rare_limit", lambda issues, page: rare)
    rng = random.Random(11)
    store = Store(tmp_path / "local.sqlite3")
    try:
        project = store.project_by_id(1)
        assert project is not None
        save_events(store, project, _tagged(rng, 60), batch=17)
        hay = _hay(store)
        for _ in range(200):
            query = _tag_query(rng, hay)
            terms = parse_query(query)
            assert _sql(store, terms) == _reference(store, terms), query
    finally:
        store.close()


def _dense_store(path: Path, issues: int) -> Store:
    """``issues`` issues, one event each, sharing the words and tags a dense search matches."""
    store = Store(path)
    project = store.project_by_id(1)
    assert project is not None
    save_events(store, project, [{"fingerprint": [f"dense-{i}"], "message": f"common problem {i}",
                                  "tags": {"shard": f"s{i % 4}"}} for i in range(issues)])
    return store


def _steps(store: Store, query: str, last: bool) -> int:
    """SQLite VM instructions one issue page costs (page 1, or the last page reached by its cursors)."""
    from sentry_ipy.local.api._issues_api import issue_page, issue_terms
    from sentry_ipy.local.api._plumbing import Context
    from sentry_ipy.local.store._keyset import Cursor

    c, org = Context(store, "token", "http://127.0.0.1"), store.org("local")
    assert org is not None
    terms, projects = issue_terms(query, []), store.projects(1)
    store_start = time.time() - 14 * 86400  # the default window: a range on the sort key of the date sort

    def page(cursor: Cursor) -> Any:
        return issue_page(c, org, projects, terms, start=store_start, end=None, size=20, cursor=cursor)

    cursor = Cursor()
    while last and (found := page(cursor)).has_next:
        cursor = Cursor.parse(found.next)
    counted = [0]

    def tick() -> int:
        counted[0] += 1
        return 0

    conn = store._reader()
    conn.set_progress_handler(tick, 10)
    try:
        page(cursor)
    finally:
        conn.set_progress_handler(None, 10)
    return counted[0]


@pytest.mark.parametrize("query", ["is:unresolved", "problem", "problem 1", "shard:s1", "has:shard"])
def test_a_page_costs_the_same_whatever_the_number_of_issues(tmp_path: Path, query: str) -> None:
    """Counted in SQLite instructions, not time: 4x the issues must not make page 1 or the last page dearer."""
    small, large = _dense_store(tmp_path / "small.sqlite3", 400), _dense_store(tmp_path / "large.sqlite3", 1600)
    try:
        for last in (False, True):
            few, many = _steps(small, query, last), _steps(large, query, last)
            assert many < 1.5 * few, (query, last, few, many)
        assert _steps(large, query, True) < 1.5 * _steps(large, query, False)
    finally:
        small.close()
        large.close()
