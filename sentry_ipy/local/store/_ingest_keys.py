"""The projects and DSN keys ingest authenticates against, held in memory.

Every envelope names its project and key; reading both from SQLite on the
event loop cost two statements per request and stalled every other request
behind each (a SQLite call gives up the GIL, and getting it back behind busy
reader threads took milliseconds). Here a request is checked against a dict;
only a miss (a key or project this process has not seen yet) reads SQLite, and
the endpoint runs that read off the event loop.

Stale entries cannot answer: temporary triggers on the store's write
connection (every write of this process goes through it) call back here
whenever a project's ``id``/``org_id`` or any key row changes or is deleted,
and the cache is emptied again once that transaction ends, so a miss read
meanwhile from the old snapshot is dropped (its generation has passed). Another
process writing the same file is covered by :data:`TTL`: an entry older than
that is read again.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["TTL", "IngestKeys"]

#: Seconds an entry is trusted without reading it again (for writers in other processes).
TTL = 10.0

_TRIGGERS = (
    "AFTER UPDATE OF id, org_id ON main.projects",
    "AFTER DELETE ON main.projects",
    "AFTER UPDATE ON main.keys",
    "AFTER DELETE ON main.keys",
)


class IngestKeys:
    """Project rows by ID and key rows by public key, for the ingest endpoints.

    Args:
        read_project: reads one project row by ID (None if absent).
        read_key: reads one key row by public key (None if absent).
    """

    def __init__(self, read_project: Callable[[int | str], dict[str, Any] | None],
                 read_key: Callable[[str], dict[str, Any] | None]) -> None:
        self._read_project = read_project
        self._read_key = read_key
        self._lock = threading.Lock()
        self._generation = 0
        self._dirty = False
        self._projects: dict[str, tuple[float, dict[str, Any]]] = {}
        self._keys: dict[str, tuple[float, dict[str, Any]]] = {}

    def watch(self, conn: sqlite3.Connection) -> None:
        """Install the triggers that empty the cache on ``conn`` (the store's write connection)."""
        conn.create_function("sq_ingest_keys_changed", 0, self._changed)
        for n, event in enumerate(_TRIGGERS):
            conn.execute(f"CREATE TEMP TRIGGER IF NOT EXISTS sq_ingest_keys_{n} {event}"
                         " BEGIN SELECT sq_ingest_keys_changed(); END")

    def _changed(self) -> None:
        with self._lock:
            self._dirty = True
            self._clear()

    def _clear(self) -> None:
        self._generation += 1
        self._projects.clear()
        self._keys.clear()

    def transaction_ended(self) -> None:
        """Called by the store after each commit or rollback: forget what a changed transaction may have left."""
        if self._dirty:
            with self._lock:
                self._dirty = False
                self._clear()

    def cached_project(self, project_id: str) -> dict[str, Any] | None:
        """The project of an ingest URL's ID if it is cached and fresh, else None (then :meth:`load_project`)."""
        return self._fresh(self._projects, project_id)

    def cached_key(self, public_key: str) -> dict[str, Any] | None:
        """The key row of a DSN public key if it is cached and fresh, else None (then :meth:`load_key`)."""
        return self._fresh(self._keys, public_key)

    def load_project(self, project_id: str) -> dict[str, Any] | None:
        """Read a project row (SQLite: call it off the event loop) and cache it."""
        return self._load(self._projects, project_id, self._read_project)

    def load_key(self, public_key: str) -> dict[str, Any] | None:
        """Read a key row (SQLite: call it off the event loop) and cache it."""
        return self._load(self._keys, public_key, self._read_key)

    @staticmethod
    def _fresh(table: dict[str, tuple[float, dict[str, Any]]], ident: str) -> dict[str, Any] | None:
        entry = table.get(ident)
        if entry is None or time.monotonic() - entry[0] > TTL:
            return None
        return entry[1]

    def _load(self, table: dict[str, tuple[float, dict[str, Any]]], ident: str,
              read: Callable[[str], dict[str, Any] | None]) -> dict[str, Any] | None:
        with self._lock:
            generation = self._generation
        read_at = time.monotonic()
        row = read(ident)
        if row is not None:
            with self._lock:
                if generation == self._generation and not self._dirty:
                    table[ident] = (read_at, row)
        return row
