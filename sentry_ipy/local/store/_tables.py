"""SQLite schema and first-start seed data of the local backend.

Kept apart from the query code so the table layout can be read in one place.
Every timestamp column holds epoch seconds (REAL); JSON columns hold text.
Raw payloads are stored verbatim so tests can read back exactly what arrived.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable

from .._clock import now
from ._text_index import INDEX_SCHEMA, backfill_issue_texts

__all__ = ["SCHEMA", "SCHEMA_VERSION", "apply_schema", "seed"]

SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orgs (
    id INTEGER PRIMARY KEY, slug TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
    date_created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS teams (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, slug TEXT NOT NULL,
    name TEXT NOT NULL, date_created REAL NOT NULL, UNIQUE (org_id, slug));
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, team_id INTEGER,
    slug TEXT NOT NULL, name TEXT NOT NULL, platform TEXT,
    date_created REAL NOT NULL, next_short_id INTEGER NOT NULL DEFAULT 1,
    first_event REAL, first_transaction REAL, has_sessions INTEGER NOT NULL DEFAULT 0,
    has_replays INTEGER NOT NULL DEFAULT 0, UNIQUE (org_id, slug));
CREATE TABLE IF NOT EXISTS keys (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, label TEXT NOT NULL,
    public_key TEXT UNIQUE NOT NULL, secret_key TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1, date_created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS issues (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, short_seq INTEGER NOT NULL,
    hash TEXT NOT NULL, type TEXT NOT NULL, title TEXT NOT NULL, culprit TEXT,
    level TEXT NOT NULL, logger TEXT, platform TEXT, metadata TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'unresolved', substatus TEXT DEFAULT 'new',
    first_seen REAL NOT NULL, last_seen REAL NOT NULL,
    times_seen INTEGER NOT NULL DEFAULT 0, first_release TEXT, last_release TEXT,
    is_unhandled INTEGER NOT NULL DEFAULT 0, resolved_at REAL,
    UNIQUE (project_id, hash));
CREATE INDEX IF NOT EXISTS issues_last ON issues (last_seen, id);
CREATE INDEX IF NOT EXISTS issues_status_last ON issues (status, last_seen, id);
CREATE INDEX IF NOT EXISTS issues_first ON issues (first_seen, id);
CREATE INDEX IF NOT EXISTS issues_freq ON issues (times_seen, id);
CREATE INDEX IF NOT EXISTS issues_first_release ON issues (project_id, first_release);
CREATE TABLE IF NOT EXISTS issue_tags (
    issue_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (issue_id, key, value)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS issue_tags_value ON issue_tags (key, value, issue_id);
CREATE TABLE IF NOT EXISTS issue_users (
    issue_id INTEGER NOT NULL, user_key TEXT NOT NULL, PRIMARY KEY (issue_id, user_key));
CREATE TABLE IF NOT EXISTS issue_activity (
    id INTEGER PRIMARY KEY, issue_id INTEGER NOT NULL, type TEXT NOT NULL,
    data TEXT NOT NULL, date_created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS issue_triage (
    issue_id INTEGER PRIMARY KEY, assigned_to TEXT, priority TEXT,
    is_bookmarked INTEGER NOT NULL DEFAULT 0, has_seen INTEGER NOT NULL DEFAULT 0,
    status_details TEXT);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, event_id TEXT NOT NULL, project_id INTEGER NOT NULL,
    issue_id INTEGER, type TEXT NOT NULL, timestamp REAL NOT NULL,
    received REAL NOT NULL, level TEXT, title TEXT, message TEXT, culprit TEXT,
    transaction_name TEXT, release TEXT, environment TEXT, user_key TEXT,
    user_email TEXT, platform TEXT, trace_id TEXT, payload TEXT NOT NULL,
    UNIQUE (project_id, event_id));
CREATE INDEX IF NOT EXISTS events_issue ON events (issue_id, timestamp);
CREATE INDEX IF NOT EXISTS events_time ON events (project_id, type, timestamp);
CREATE INDEX IF NOT EXISTS events_project ON events (project_id, timestamp);
CREATE INDEX IF NOT EXISTS events_received ON events (received);
-- Environments seen, by a skip scan (one seek per environment, not a pass over every event).
CREATE INDEX IF NOT EXISTS events_env ON events (project_id, environment, received);
CREATE INDEX IF NOT EXISTS events_release ON events (project_id, release, timestamp);
DROP INDEX IF EXISTS events_timestamp;
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, kind TEXT NOT NULL,
    sid TEXT, did TEXT, status TEXT, release TEXT, environment TEXT,
    started REAL, received REAL NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS replays (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, replay_id TEXT NOT NULL,
    segment_id INTEGER, timestamp REAL NOT NULL, received REAL NOT NULL,
    payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS replays_id ON replays (replay_id);
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, project_id INTEGER,
    timestamp REAL NOT NULL, outcome TEXT NOT NULL, category TEXT NOT NULL,
    reason TEXT, quantity INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS releases (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, version TEXT NOT NULL,
    ref TEXT, url TEXT, date_created REAL NOT NULL, date_released REAL,
    status TEXT NOT NULL DEFAULT 'open', UNIQUE (org_id, version));
CREATE TABLE IF NOT EXISTS release_projects (
    release_id INTEGER NOT NULL, project_id INTEGER NOT NULL,
    has_health INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (release_id, project_id));
CREATE TABLE IF NOT EXISTS detectors (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, project_id INTEGER NOT NULL,
    type TEXT NOT NULL, name TEXT NOT NULL, date_created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS workflows (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL, body TEXT NOT NULL,
    date_created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS rules (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, body TEXT NOT NULL,
    date_created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS replays_received ON replays (received);
DROP INDEX IF EXISTS replays_time;
CREATE INDEX IF NOT EXISTS sessions_received ON sessions (received);
CREATE INDEX IF NOT EXISTS outcomes_time ON outcomes (org_id, timestamp);
CREATE TABLE IF NOT EXISTS deploys (
    id INTEGER PRIMARY KEY, release_id INTEGER NOT NULL, environment TEXT NOT NULL,
    name TEXT, url TEXT, date_started REAL, date_finished REAL NOT NULL);
CREATE INDEX IF NOT EXISTS deploys_release ON deploys (release_id, date_finished);
CREATE TABLE IF NOT EXISTS release_commits (
    id INTEGER PRIMARY KEY, release_id INTEGER NOT NULL, sha TEXT NOT NULL,
    repository TEXT, message TEXT, author_name TEXT, author_email TEXT,
    timestamp REAL, UNIQUE (release_id, sha));
CREATE TABLE IF NOT EXISTS spans (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, event_id TEXT NOT NULL,
    trace_id TEXT, span_id TEXT NOT NULL, parent_span_id TEXT, is_transaction INTEGER NOT NULL,
    op TEXT, description TEXT, transaction_name TEXT, status TEXT,
    start REAL NOT NULL, end REAL NOT NULL, release TEXT, environment TEXT, platform TEXT,
    sdk_name TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS spans_time ON spans (project_id, end);
CREATE INDEX IF NOT EXISTS spans_trace ON spans (trace_id);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, item_id TEXT NOT NULL,
    trace_id TEXT, span_id TEXT, timestamp REAL NOT NULL, severity TEXT NOT NULL,
    severity_number INTEGER, body TEXT NOT NULL, attributes TEXT NOT NULL,
    release TEXT, environment TEXT, received REAL NOT NULL);
CREATE INDEX IF NOT EXISTS logs_time ON logs (project_id, timestamp);
CREATE INDEX IF NOT EXISTS logs_trace ON logs (trace_id);
CREATE TABLE IF NOT EXISTS user_reports (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, event_id TEXT NOT NULL,
    name TEXT, email TEXT, comments TEXT NOT NULL, date_created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS user_reports_event ON user_reports (project_id, event_id);
CREATE INDEX IF NOT EXISTS user_reports_time ON user_reports (project_id, date_created);
CREATE INDEX IF NOT EXISTS issue_activity_issue ON issue_activity (issue_id, date_created);
CREATE TABLE IF NOT EXISTS attachments (
    id INTEGER PRIMARY KEY, project_id INTEGER NOT NULL, event_id TEXT NOT NULL,
    name TEXT NOT NULL, content_type TEXT, type TEXT NOT NULL, size INTEGER NOT NULL,
    sha1 TEXT NOT NULL, data BLOB NOT NULL, date_created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS attachments_event ON attachments (project_id, event_id);
""" + INDEX_SCHEMA


def apply_schema(conn: sqlite3.Connection, backfill_tags: Callable[[sqlite3.Connection], None]) -> None:
    """Create missing tables and bring an older file up to date; idempotent so every start can call it.

    Version 2 added ``issues.user_count`` (so the ``user`` sort is an index
    scan) and the ``issue_tags`` search index; a version-1 file gets both
    filled from the rows it already has, once. Version 3 added the free-text
    index (:mod:`._text_index`), filled once from an older file's issues and events.
    """
    conn.executescript(SCHEMA)
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row else SCHEMA_VERSION
    columns = {r[1] for r in conn.execute("PRAGMA table_info(issues)")}
    conn.execute("BEGIN IMMEDIATE")
    try:
        if "user_count" not in columns:
            conn.execute("ALTER TABLE issues ADD COLUMN user_count INTEGER NOT NULL DEFAULT 0")
            conn.execute("UPDATE issues SET user_count = (SELECT COUNT(*) FROM issue_users u WHERE u.issue_id = issues.id)")
        conn.execute("CREATE INDEX IF NOT EXISTS issues_users ON issues (user_count, id)")
        if version < 2:
            backfill_tags(conn)
        if version < 3:
            backfill_issue_texts(conn)
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def new_key_pair() -> tuple[str, str]:
    """Return a fresh (public, secret) DSN key pair of Sentry's 32-hex form."""
    return secrets.token_hex(16), secrets.token_hex(16)


def seed(conn: sqlite3.Connection) -> None:
    """Create org ``local``, team ``local`` and project ``notebook`` once.

    Runs only when the org table is empty, so restarts keep every ID and key.
    """
    if conn.execute("SELECT 1 FROM orgs LIMIT 1").fetchone():
        return
    ts = now()
    conn.execute(
        "INSERT INTO orgs (id, slug, name, date_created) VALUES (1, 'local', 'Local', ?)", (ts,)
    )
    conn.execute(
        "INSERT INTO teams (id, org_id, slug, name, date_created) VALUES (1, 1, 'local', 'Local', ?)",
        (ts,),
    )
    conn.execute(
        "INSERT INTO projects (id, org_id, team_id, slug, name, platform, date_created)"
        " VALUES (1, 1, 1, 'notebook', 'notebook', 'python', ?)",
        (ts,),
    )
    public, secret = new_key_pair()
    conn.execute(
        "INSERT INTO keys (project_id, label, public_key, secret_key, is_active, date_created)"
        " VALUES (1, 'Default', ?, ?, 1, ?)",
        (public, secret, ts),
    )
    conn.execute(
        "INSERT INTO detectors (org_id, project_id, type, name, date_created)"
        " VALUES (1, 1, 'issue_stream', 'Issue Stream', ?)",
        (ts,),
    )
