"""SQLite-backed store of the local backend: connections, lookups, test helpers.

Writes go through one connection guarded by a re-entrant lock (SQLite
serialises writers anyway, and one writer keeps ``BEGIN IMMEDIATE``
transactions simple). Reads use one connection per thread, so in WAL mode a
page is read while ingest writes, and readers never wait for the writer's
lock; a thread inside a write transaction reads through the writer and so
sees its own uncommitted rows. Rows come back as plain dicts.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .._clock import now
from ..search._issue_search import search_tags
from ._functions import register_functions
from ._ingest_keys import IngestKeys
from ._tables import apply_schema, new_key_pair, seed
from ._text_index import reindex_project_headers
from ._write_queue import WriteQueue

__all__ = ["MAX_DB_ID", "SLUG_RE", "Store", "as_db_id"]

SLUG_RE = re.compile(r"^(?![0-9]+$)[a-z0-9_\-]{1,50}$")
#: SQLite's INTEGER range ends here; a larger ID cannot exist, so it is a 404.
MAX_DB_ID = 2**63 - 1


def as_db_id(ident: str | int) -> int | None:
    """Read a path or query value as a row ID, or None if it cannot be one.

    Every numeric lookup goes through here: ``"99999999999999999999999"``
    would otherwise reach SQLite and raise ``OverflowError`` (a 500), and
    ``str.isdigit`` alone also accepts digits like ``"²"`` that ``int`` rejects.
    """
    text = str(ident).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_DB_ID else None


_as_int = as_db_id


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("PRAGMA cache_size=-16000")  # 16 MiB per connection
    register_functions(conn)
    return conn


def _backfill_issue_tags(conn: sqlite3.Connection) -> None:
    """Fill ``issue_tags`` from the events of a file written before it existed."""
    rows = conn.execute("SELECT issue_id, release, environment, payload FROM events WHERE issue_id IS NOT NULL")
    for row in rows.fetchall():
        pairs = search_tags(json.loads(row["payload"]), row["release"], row["environment"])
        conn.executemany(
            "INSERT OR IGNORE INTO issue_tags (issue_id, key, value) VALUES (?, ?, ?)",
            [(row["issue_id"], key, value) for key, value in pairs],
        )


class Store:
    """Own the SQLite file and answer every query of the local backend.

    Args:
        path: the database file (created with its directory on first use).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._writer_thread: int | None = None
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        #: What :meth:`note_first` and :meth:`link_release` already wrote and
        #: committed (``_pending`` holds this transaction's, kept only on commit).
        self._written: set[tuple[Any, ...]] = set()
        self._pending: set[tuple[Any, ...]] = set()
        self._conn = _connect(self.path)
        self._conn.execute("PRAGMA journal_mode=WAL")
        #: Ingest's writes, grouped many to a commit (see :mod:`._write_queue`).
        self.writes = WriteQueue(self.tx)
        with self._lock:
            apply_schema(self._conn, _backfill_issue_tags)
        #: Projects and keys for ingest's authentication, read without SQLite (see :mod:`._ingest_keys`).
        self.ingest_keys = IngestKeys(self.project_by_id, self.key_by_public)
        self.ingest_keys.watch(self._conn)
        with self.tx():
            seed(self._conn)

    # -- plumbing -----------------------------------------------------------
    def close(self) -> None:
        """Finish queued writes and close every connection; the store is unusable afterwards."""
        self.writes.close()
        with self._lock:
            self._closed = True
            with self._readers_lock:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
            self._conn.close()

    def _reader(self) -> sqlite3.Connection:
        """This thread's read connection (the writer while this thread holds a transaction)."""
        if self._writer_thread == threading.get_ident():
            return self._conn
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only=1")
            with self._readers_lock:
                self._readers.append(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def tx(self, savepoint: bool = False) -> Iterator[sqlite3.Connection]:
        """Run a block as one write transaction.

        Re-entrant: a nested block joins the open transaction, or with
        ``savepoint=True`` is a savepoint, so an error inside it undoes that
        block alone (one bad envelope item) while the outer transaction goes on.
        """
        with self._lock:
            if self._conn.in_transaction and not savepoint:
                yield self._conn
                return
            if self._conn.in_transaction:
                self._conn.execute("SAVEPOINT nested")
                try:
                    yield self._conn
                except BaseException:
                    self._pending.clear()
                    self._conn.execute("ROLLBACK TO nested")
                    self._conn.execute("RELEASE nested")
                    raise
                self._conn.execute("RELEASE nested")
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._writer_thread = threading.get_ident()
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._pending.clear()
                self.ingest_keys.transaction_ended()
                raise
            finally:
                self._writer_thread = None
            self._conn.execute("COMMIT")
            self.ingest_keys.transaction_ended()
            self._written |= self._pending
            self._pending.clear()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read a block from one consistent snapshot (a page and the rows its shapes need)."""
        conn = self._reader()
        if conn is self._conn or conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[dict[str, Any]]:
        """Run a SELECT and return every row as a dict."""
        conn = self._reader()
        return [dict(r) for r in conn.execute(sql, tuple(params)).fetchall()]

    def one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> dict[str, Any] | None:
        """Run a SELECT and return the first row, or None."""
        row = self._reader().execute(sql, tuple(params)).fetchone()
        return dict(row) if row is not None else None

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> int:
        """Run one write statement and return ``lastrowid``."""
        with self._lock:
            cur = self._conn.execute(sql, tuple(params))
            if not self._conn.in_transaction:  # committed on its own
                self.ingest_keys.transaction_ended()
            return int(cur.lastrowid or 0)

    def write_blob(self, table: str, column: str, rowid: int, data: bytes) -> None:
        """Write ``data`` over the ``zeroblob`` of that size in one row, without binding it to a statement."""
        with self._lock, self._conn.blobopen(table, column, rowid) as blob:
            blob.write(data)

    def meta(self, key: str) -> str | None:
        """Read a value of the ``meta`` table (e.g. the API token)."""
        row = self.one("SELECT value FROM meta WHERE key = ?", (key,))
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Write a value of the ``meta`` table."""
        self.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- organisations, teams, projects -----------------------------------------
    def orgs(self) -> list[dict[str, Any]]:
        """List every organisation."""
        return self.query("SELECT * FROM orgs ORDER BY id")

    def org(self, ident: str | int) -> dict[str, Any] | None:
        """Find an organisation by slug or numeric ID."""
        oid = _as_int(ident)
        if oid is not None:
            row = self.one("SELECT * FROM orgs WHERE id = ?", (oid,))
            if row:
                return row
        return self.one("SELECT * FROM orgs WHERE slug = ?", (str(ident),))

    def teams(self, org_id: int) -> list[dict[str, Any]]:
        """List the teams of an organisation."""
        return self.query("SELECT * FROM teams WHERE org_id = ? ORDER BY slug", (org_id,))

    def team(self, org_id: int, ident: str | int) -> dict[str, Any] | None:
        """Find a team of an organisation by slug or ID."""
        tid = _as_int(ident)
        if tid is not None:
            row = self.one("SELECT * FROM teams WHERE org_id = ? AND id = ?", (org_id, tid))
            if row:
                return row
        return self.one("SELECT * FROM teams WHERE org_id = ? AND slug = ?", (org_id, str(ident)))

    def create_team(self, org_id: int, slug: str, name: str) -> dict[str, Any]:
        """Create a team.

        Raises:
            ValueError: if the slug is taken in this organisation.
        """
        with self.tx() as conn:
            if conn.execute("SELECT 1 FROM teams WHERE org_id = ? AND slug = ?", (org_id, slug)).fetchone():
                raise ValueError("A team with this slug already exists.")
            tid = conn.execute(
                "INSERT INTO teams (org_id, slug, name, date_created) VALUES (?, ?, ?, ?)", (org_id, slug, name, now())
            ).lastrowid
        team = self.team(org_id, int(tid or 0))
        assert team is not None
        return team

    def issue_org(self, issue_id: str | int) -> dict[str, Any] | None:
        """The organisation of an issue given by numeric ID, or None."""
        iid = _as_int(issue_id)
        if iid is None:
            return None
        return self.one("SELECT o.* FROM orgs o JOIN projects p ON p.org_id = o.id JOIN issues i ON i.project_id = p.id"
                        " WHERE i.id = ?", (iid,))

    def projects(self, org_id: int) -> list[dict[str, Any]]:
        """List the projects of an organisation, by slug."""
        return self.query("SELECT * FROM projects WHERE org_id = ? ORDER BY slug", (org_id,))

    def project(self, org_id: int, ident: str | int) -> dict[str, Any] | None:
        """Find a project of an organisation by slug or numeric ID."""
        pid = _as_int(ident)
        if pid is not None:
            row = self.one("SELECT * FROM projects WHERE org_id = ? AND id = ?", (org_id, pid))
            if row:
                return row
        return self.one(
            "SELECT * FROM projects WHERE org_id = ? AND slug = ?", (org_id, str(ident))
        )

    def project_by_id(self, project_id: int | str) -> dict[str, Any] | None:
        """Find a project by numeric ID alone (ingest URLs carry only the ID)."""
        pid = _as_int(project_id)
        if pid is None:
            return None
        return self.one("SELECT * FROM projects WHERE id = ?", (pid,))

    def create_project(
        self, org_id: int, team_id: int | None, name: str, slug: str, platform: str | None
    ) -> dict[str, Any]:
        """Create a project with a Default key and an issue-stream detector.

        Raises:
            ValueError: if the slug is taken in this organisation.
        """
        ts = now()
        with self.tx() as conn:
            if conn.execute(
                "SELECT 1 FROM projects WHERE org_id = ? AND slug = ?", (org_id, slug)
            ).fetchone():
                raise ValueError("A project with this slug already exists.")
            pid = conn.execute(
                "INSERT INTO projects (org_id, team_id, slug, name, platform, date_created)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (org_id, team_id, slug, name, platform, ts),
            ).lastrowid
            self.create_key(int(pid or 0), "Default")
            conn.execute(
                "INSERT INTO detectors (org_id, project_id, type, name, date_created)"
                " VALUES (?, ?, 'issue_stream', 'Issue Stream', ?)",
                (org_id, pid, ts),
            )
        project = self.project_by_id(int(pid or 0))
        assert project is not None
        return project

    def update_project(self, project_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Set ``name``, ``slug`` and/or ``platform`` of a project and return it.

        Raises:
            ValueError: if the new slug is taken in the organisation.
        """
        allowed = {k: v for k, v in changes.items() if k in ("name", "slug", "platform")}
        with self.tx() as conn:
            if "slug" in allowed and conn.execute(
                "SELECT 1 FROM projects WHERE org_id = (SELECT org_id FROM projects WHERE id = ?) AND slug = ?"
                " AND id != ?", (project_id, allowed["slug"], project_id)
            ).fetchone():
                raise ValueError("A project with this slug already exists.")
            if allowed:
                assignments = ", ".join(f"{k} = ?" for k in allowed)
                conn.execute(f"UPDATE projects SET {assignments} WHERE id = ?", (*allowed.values(), project_id))
                if "slug" in allowed:  # every short ID of the project changed: free text matches the new ones
                    reindex_project_headers(conn, project_id, str(allowed["slug"]))
        project = self.project_by_id(project_id)
        assert project is not None
        return project

    # -- issue indexes ------------------------------------------------------------
    def add_issue_user(self, issue_id: int, user_key: str) -> None:
        """Count a user on an issue once (``issues.user_count`` backs the ``user`` sort)."""
        with self.tx() as conn:
            added = conn.execute(
                "INSERT OR IGNORE INTO issue_users (issue_id, user_key) VALUES (?, ?)", (issue_id, user_key)
            ).rowcount
            if added:
                conn.execute("UPDATE issues SET user_count = user_count + 1 WHERE id = ?", (issue_id,))

    def add_issue_tags(self, issue_id: int, pairs: Iterable[tuple[str, str]]) -> None:
        """Index an event's search tags under its issue (see :func:`search_tags`)."""
        with self.tx() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO issue_tags (issue_id, key, value) VALUES (?, ?, ?)",
                [(issue_id, key, value) for key, value in pairs],
            )

    def issue_event_buckets(self, issue_ids: list[int], start: float, end: float, step: int) -> dict[tuple[int, int], int]:
        """Events per ``(issue, bucket)`` in ``[start, end)``, buckets ``step`` seconds wide, in one query."""
        if not issue_ids:
            return {}
        marks = ",".join("?" * len(issue_ids))
        rows = self.query(
            f"SELECT issue_id, CAST((timestamp - ?) / ? AS INTEGER) AS b, COUNT(*) AS n FROM events"
            f" WHERE issue_id IN ({marks}) AND timestamp >= ? AND timestamp < ? GROUP BY issue_id, b",
            [start, step, *issue_ids, start, end],
        )
        return {(int(r["issue_id"]), int(r["b"])): int(r["n"]) for r in rows}

    def _once(self, key: tuple[Any, ...]) -> bool:
        """True the first time ``key`` is written since the store opened (until a rollback forgets it)."""
        if key in self._written or key in self._pending:
            return False
        self._pending.add(key)
        return True

    def note_first(self, project_id: int, column: str, received: float) -> None:
        """Set ``projects.first_event`` / ``first_transaction`` if unset, once per store."""
        assert column in ("first_event", "first_transaction")
        if self._once(("first", project_id, column)):
            self.execute(f"UPDATE projects SET {column} = COALESCE({column}, ?) WHERE id = ?", (received, project_id))

    def forget_release(self, org_id: int, version: str) -> None:
        """Drop what :meth:`link_release` remembers of a deleted release, so its next event creates it again."""
        with self._lock:
            self._written = {k for k in self._written if k[:3] != ("release", org_id, version)}

    def link_release(self, org_id: int, version: str, project_id: int, health: bool = False) -> None:
        """:meth:`ensure_release` for ingest: each release and project linked once per store."""
        if self._once(("release", org_id, version, project_id, health)):
            self.ensure_release(org_id, version, [project_id], health=health)

    # -- keys -------------------------------------------------------------------
    def keys(self, project_id: int, active_only: bool = False) -> list[dict[str, Any]]:
        """List a project's DSN keys, oldest first."""
        sql = "SELECT * FROM keys WHERE project_id = ?"
        if active_only:
            sql += " AND is_active = 1"
        return self.query(sql + " ORDER BY id", (project_id,))

    def key_by_public(self, public_key: str) -> dict[str, Any] | None:
        """Find a key by its public part (the DSN user name)."""
        return self.one("SELECT * FROM keys WHERE public_key = ?", (public_key,))

    def create_key(self, project_id: int, label: str) -> dict[str, Any]:
        """Create an active key for a project."""
        public, secret = new_key_pair()
        kid = self.execute(
            "INSERT INTO keys (project_id, label, public_key, secret_key, is_active, date_created)"
            " VALUES (?, ?, ?, ?, 1, ?)",
            (project_id, label, public, secret, now()),
        )
        row = self.one("SELECT * FROM keys WHERE id = ?", (kid,))
        assert row is not None
        return row

    # -- releases ---------------------------------------------------------------
    def release(self, org_id: int, version: str) -> dict[str, Any] | None:
        """Find a release by exact version."""
        return self.one("SELECT * FROM releases WHERE org_id = ? AND version = ?", (org_id, version))

    def ensure_release(
        self,
        org_id: int,
        version: str,
        project_ids: list[int],
        *,
        health: bool = False,
        ref: str | None = None,
        url: str | None = None,
        date_released: float | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Create a release or attach projects to the existing one.

        Returns:
            ``(release_row, created)``.
        """
        with self.tx() as conn:
            existing = self.release(org_id, version)
            created = existing is None
            if created:
                rid = conn.execute(
                    "INSERT INTO releases (org_id, version, ref, url, date_created, date_released)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (org_id, version, ref, url, now(), date_released),
                ).lastrowid
            else:
                assert existing is not None
                rid = existing["id"]
            for pid in project_ids:
                conn.execute(
                    "INSERT OR IGNORE INTO release_projects (release_id, project_id) VALUES (?, ?)",
                    (rid, pid),
                )
                if health:
                    conn.execute(
                        "UPDATE release_projects SET has_health = 1"
                        " WHERE release_id = ? AND project_id = ?",
                        (rid, pid),
                    )
        row = self.one("SELECT * FROM releases WHERE id = ?", (rid,))
        assert row is not None
        return row, created

    # -- read helpers for tests of other parts --------------------------------------
    def events(self, project_id: int | None = None, type: str | None = None) -> list[dict[str, Any]]:
        """Return raw payloads of stored events, oldest first.

        Args:
            project_id: restrict to one project.
            type: ``error``, ``default`` (messages) or ``transaction``.
        """
        sql = "SELECT payload FROM events WHERE 1=1"
        params: list[int | str] = []  # a project ID and a type
        if project_id is not None:
            sql += " AND project_id = ?"
            params.append(project_id)
        if type is not None:
            sql += " AND type = ?"
            params.append(type)
        return [json.loads(r["payload"]) for r in self.query(sql + " ORDER BY id", params)]

    def transactions(self, project_id: int | None = None) -> list[dict[str, Any]]:
        """Return raw payloads of stored transactions (with their spans)."""
        return self.events(project_id, "transaction")

    def sessions(self, project_id: int | None = None) -> list[dict[str, Any]]:
        """Return raw session updates and aggregates in arrival order."""
        sql, params = "SELECT payload FROM sessions", []
        if project_id is not None:
            sql += " WHERE project_id = ?"
            params.append(project_id)
        return [json.loads(r["payload"]) for r in self.query(sql + " ORDER BY id", params)]

    def replays(self, project_id: int | None = None) -> list[dict[str, Any]]:
        """Return raw ``replay_event`` payloads in arrival order."""
        sql, params = "SELECT payload FROM replays", []
        if project_id is not None:
            sql += " WHERE project_id = ?"
            params.append(project_id)
        return [json.loads(r["payload"]) for r in self.query(sql + " ORDER BY id", params)]

    def outcomes(self) -> list[dict[str, Any]]:
        """Return outcome rows (accepted, invalid, client_discard...)."""
        return self.query("SELECT * FROM outcomes ORDER BY id")

    def issues(self, project_id: int | None = None) -> list[dict[str, Any]]:
        """Return issue rows (with decoded metadata), oldest first."""
        sql, params = "SELECT * FROM issues", []
        if project_id is not None:
            sql += " WHERE project_id = ?"
            params.append(project_id)
        rows = self.query(sql + " ORDER BY id", params)
        for row in rows:
            row["metadata"] = json.loads(row["metadata"])
        return rows
