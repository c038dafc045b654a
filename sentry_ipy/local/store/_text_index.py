"""The free-text index of issue search: each issue's header and the distinct messages of its events.

Sentry's free text (a bare word or a quoted phrase) matches an issue when,
lower-cased, it is a substring of the issue's ``title\\nculprit\\nSHORT-ID``
or of one of its events' messages (:meth:`~..search._issue_search.IssueCandidate.match`).
Reading every event's message for every search cost what the data costs, so
those texts are kept here once per issue, written in the transaction that
stores the event:

* ``issue_texts``: one row per text, already lower-cased by Python's
  ``str.lower`` (the reference's case folding; SQLite folds ASCII only).
  ``kind`` 0 is the header (one per issue, rewritten when its project's slug
  changes); ``kind`` 1 a distinct message, with the arrival time of its newest
  event (``last_received``), so retention drops a message once its last
  event is gone (:func:`drop_stale_messages`).
* ``issue_text_index``: an FTS5 ``trigram`` index over those rows (triggers
  keep it in step with every insert, update and delete of ``issue_texts``).

How a needle is decided (``_text`` and ``_driver`` in :mod:`._issue_queries`):
``instr`` over the issue's lower-cased texts always has the last word
(:data:`CONTAINS`, through the covering index on ``(issue_id, kind, text)``),
so the answer is exactly the reference's. The trigram index only says where
to start reading: a needle of 3 or more characters is looked up as a trigram
phrase; a shorter one (the fallback for what a trigram cannot hold) through
the trigrams that begin with it (``issue_text_trigrams``, every text is
indexed with two end marks so each of its characters begins a trigram). When
that lookup finds few texts (``rare_limit`` in :mod:`._issue_queries`), the page
is read from those issues alone (cost follows the matches); when it finds
more, matches are common and the page is read in sort order, checking each
issue's texts, and stops once full (cost follows the page).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

__all__ = ["CONTAINS", "INDEX_SCHEMA", "MIN_PHRASE", "backfill_issue_texts", "candidates",
           "drop_stale_messages", "index_event_text", "indexed_text", "reindex_project_headers"]

#: Needles shorter than this (in characters) are found through the trigrams they begin.
MIN_PHRASE = 3

#: The trigram tokenizer stops at a NUL character, and U+FFFF marks a text's end (twice, so every
#: character of a text begins a trigram and a 1- or 2-character needle is a trigram prefix): the
#: index sees both as U+FFFD, on both sides (texts and needles). Only ever more candidates, never
#: fewer: ``instr`` over the true text decides. (SQL's ``replace`` cannot replace NUL, hence Python.)
_AS_INDEXED = str.maketrans({"\x00": "\ufffd", "\uffff": "\ufffd"})
_END = "\U0010ffff"


def indexed_text(text: str) -> str:
    """What the trigram index holds for a text (``sq_indexed`` in SQL, called by the triggers)."""
    return text.translate(_AS_INDEXED) + "\uffff\uffff"


INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS issue_texts (
    id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL, kind INTEGER NOT NULL, text TEXT NOT NULL,
    last_received REAL NOT NULL DEFAULT 0, UNIQUE (issue_id, kind, text));
CREATE VIRTUAL TABLE IF NOT EXISTS issue_text_index USING fts5(
    text, content='', tokenize='trigram case_sensitive 1');
CREATE VIRTUAL TABLE IF NOT EXISTS issue_text_trigrams USING fts5vocab(issue_text_index, 'instance');
CREATE TRIGGER IF NOT EXISTS issue_texts_insert AFTER INSERT ON issue_texts BEGIN
    INSERT INTO issue_text_index (rowid, text) VALUES (new.id, sq_indexed(new.text));
END;
CREATE TRIGGER IF NOT EXISTS issue_texts_delete AFTER DELETE ON issue_texts BEGIN
    INSERT INTO issue_text_index (issue_text_index, rowid, text) VALUES ('delete', old.id, sq_indexed(old.text));
END;
CREATE TRIGGER IF NOT EXISTS issue_texts_update AFTER UPDATE OF text ON issue_texts BEGIN
    INSERT INTO issue_text_index (issue_text_index, rowid, text) VALUES ('delete', old.id, sq_indexed(old.text));
    INSERT INTO issue_text_index (rowid, text) VALUES (new.id, sq_indexed(new.text));
END;
"""

#: The condition that decides a (lower-cased) needle over ``issues i``, exactly.
CONTAINS = "EXISTS (SELECT 1 FROM issue_texts t WHERE t.issue_id = i.id AND instr(t.text, ?) > 0)"


def candidates(needle: str) -> tuple[str, list[Any]]:
    """A query of ``issue_texts`` row IDs that holds every text containing ``needle`` (lower-cased), and more.

    3 or more characters: the texts holding its trigram phrase; fewer: the
    texts holding a trigram that begins with it.
    """
    mapped = needle.translate(_AS_INDEXED)
    if len(mapped) >= MIN_PHRASE:
        return ("SELECT rowid FROM issue_text_index WHERE issue_text_index MATCH ?",
                ['"' + mapped.replace('"', '""') + '"'])
    return ("SELECT doc FROM issue_text_trigrams WHERE term >= ? AND term <= ?",
            [mapped, mapped + _END * (MIN_PHRASE - len(mapped))])


_HEADER = ("INSERT INTO issue_texts (issue_id, kind, text) SELECT i.id, 0, sq_issue_header(i.title, i.culprit, ?,"
           " i.short_seq) FROM issues i WHERE i.id = ?"
           " AND NOT EXISTS (SELECT 1 FROM issue_texts t WHERE t.issue_id = i.id AND t.kind = 0)")
_MESSAGE = ("INSERT INTO issue_texts (issue_id, kind, text, last_received) VALUES (?, 1, ?, ?)"
            " ON CONFLICT (issue_id, kind, text) DO UPDATE SET last_received = MAX(last_received, excluded.last_received)")


def index_event_text(conn: sqlite3.Connection, issue_id: int, slug: str, message: str | None,
                     received: float) -> None:
    """Index what one stored event adds to its issue's text: the header (once) and its message."""
    conn.execute(_HEADER, (slug, issue_id))
    if message:
        conn.execute(_MESSAGE, (issue_id, message.lower(), received))


def reindex_project_headers(conn: sqlite3.Connection, project_id: int, slug: str) -> None:
    """Rewrite the headers of a project's issues after its slug (and so every short ID) changed."""
    conn.execute("UPDATE issue_texts SET text = (SELECT sq_issue_header(i.title, i.culprit, ?, i.short_seq)"
                 " FROM issues i WHERE i.id = issue_texts.issue_id)"
                 " WHERE kind = 0 AND issue_id IN (SELECT id FROM issues WHERE project_id = ?)", (slug, project_id))


def drop_stale_messages(conn: sqlite3.Connection, issue_ids: Iterable[int], cutoff: float) -> None:
    """Forget the messages of ``issue_ids`` whose newest event arrived before ``cutoff`` (retention deleted it)."""
    ids = list(issue_ids)
    if ids:
        conn.execute(f"DELETE FROM issue_texts WHERE issue_id IN ({','.join('?' * len(ids))}) AND kind = 1"
                     " AND last_received < ?", [*ids, cutoff])


def backfill_issue_texts(conn: sqlite3.Connection) -> None:
    """Fill the index from the issues and events of a file written before it existed (once)."""
    conn.execute("DELETE FROM issue_texts")  # rows an older version may have left behind
    conn.execute("INSERT INTO issue_texts (issue_id, kind, text) SELECT i.id, 0,"
                 " sq_issue_header(i.title, i.culprit, p.slug, i.short_seq) FROM issues i"
                 " JOIN projects p ON p.id = i.project_id")
    conn.execute("INSERT INTO issue_texts (issue_id, kind, text, last_received)"
                 " SELECT issue_id, 1, sq_lower(message) AS low, MAX(received) FROM events"
                 " WHERE issue_id IS NOT NULL AND message IS NOT NULL AND message != '' GROUP BY issue_id, low")
