"""Ingest authenticates from memory (``store/_ingest_keys``): every change of a key or project is still seen.

Each test first sends with a key so it is cached, then changes the row the way
the backend or a user's own SQL would, and checks the very next request.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from sentry_ipy.local import LocalServer
from sentry_ipy.local.store import _ingest_keys
from sentry_ipy.local.store._ingest_keys import IngestKeys


def _send(srv: LocalServer, public_key: str, project_id: int = 1) -> int:
    r = httpx.post(f"{srv.url}/api/{project_id}/store/", json={"message": "keyed"},
                   headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={public_key}"})
    return r.status_code


def _default_key(srv: LocalServer) -> str:
    key: str = srv.store.keys(1)[0]["public_key"]
    return key


def test_disabled_then_enabled_key_is_seen_on_the_next_request(srv: LocalServer) -> None:
    key = _default_key(srv)
    assert _send(srv, key) == 200
    srv.store.execute("UPDATE keys SET is_active = 0 WHERE public_key = ?", (key,))
    assert _send(srv, key) == 403
    with srv.store.tx() as conn:  # inside a transaction, too
        conn.execute("UPDATE keys SET is_active = 1 WHERE public_key = ?", (key,))
    assert _send(srv, key) == 200


def test_deleted_key_and_moved_or_deleted_project(srv: LocalServer) -> None:
    key = _default_key(srv)
    assert _send(srv, key) == 200
    srv.store.execute("DELETE FROM keys WHERE public_key = ?", (key,))
    assert _send(srv, key) == 401
    fresh = srv.store.create_key(1, "Second")["public_key"]
    assert _send(srv, fresh) == 200  # a key this process has not seen yet
    srv.store.execute("UPDATE keys SET project_id = 2 WHERE public_key = ?", (fresh,))
    assert _send(srv, fresh) == 401  # now the key of another project
    srv.store.execute("DELETE FROM projects WHERE id = 1")
    assert _send(srv, fresh) == 404


def test_new_project_and_its_key_are_accepted(srv: LocalServer) -> None:
    project = srv.store.create_project(1, None, "Later", "later", "python")
    key = srv.store.keys(int(project["id"]))[0]["public_key"]
    assert _send(srv, key, int(project["id"])) == 200
    assert _send(srv, _default_key(srv), int(project["id"])) == 401  # project 1's key is not this project's


def test_a_rolled_back_change_keeps_answers_right(srv: LocalServer) -> None:
    key = _default_key(srv)
    assert _send(srv, key) == 200
    with pytest.raises(RuntimeError), srv.store.tx() as conn:
        conn.execute("UPDATE keys SET is_active = 0 WHERE public_key = ?", (key,))
        raise RuntimeError("undo")
    assert _send(srv, key) == 200


def test_another_process_changing_the_file_is_seen_after_the_ttl(srv: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    key = _default_key(srv)
    assert _send(srv, key) == 200
    other = sqlite3.connect(str(srv.store.path))  # not the store's connection: no trigger fires
    with other:
        other.execute("UPDATE keys SET is_active = 0 WHERE public_key = ?", (key,))
    other.close()
    assert _send(srv, key) == 200  # still trusted from memory within the TTL
    monkeypatch.setattr(_ingest_keys, "TTL", 0.0)
    assert _send(srv, key) == 403


def test_a_read_overtaken_by_a_change_is_not_cached(tmp_path: Path) -> None:
    """A miss read from the snapshot before a change must not be kept after the change's transaction ends."""
    rows = {"k": {"public_key": "k", "is_active": 1}}
    gate = threading.Event()
    keys: IngestKeys

    def read_key(public: str) -> dict[str, Any] | None:
        row = dict(rows[public])  # read the old row, then the change commits before the caller caches it
        keys._changed()
        rows[public]["is_active"] = 0
        keys.transaction_ended()
        gate.set()
        return row

    keys = IngestKeys(lambda ident: None, read_key)
    assert keys.load_key("k") == {"public_key": "k", "is_active": 1}  # the racing caller gets what it read
    assert gate.is_set() and keys.cached_key("k") is None  # but it is not kept
    keys = IngestKeys(lambda ident: None, lambda public: dict(rows[public]))
    assert keys.load_key("k") == {"public_key": "k", "is_active": 0}
    assert keys.cached_key("k") == {"public_key": "k", "is_active": 0}

