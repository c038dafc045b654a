"""Helpers for tests that send through sentry-sdk: reset its global state, send, find what arrived.

Import the fixture into a test module (``from tests._sdk import reset_sentry_sdk``)
to make it autouse there; every test then starts and ends with no client and
empty scopes, so sentry-sdk state never leaks into other modules' tests.

``sending_to(dsn)`` is the one way tests send with a client of their own (seeding
a backend) without touching the global SDK state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope, Item, PayloadRef
from sentry_sdk.scope import Scope

__all__ = ["capture_replay", "event_by_id", "reset_sdk", "reset_sentry_sdk", "sending_to",
           "sessions_by_sid", "stored_events", "transaction_by_id"]


def reset_sdk() -> None:
    """Close the global client and clear the global, isolation and current scopes."""
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=2.0)
    for scope in (Scope.get_global_scope(), Scope.get_isolation_scope(), Scope.get_current_scope()):
        scope.clear()
    Scope.get_global_scope().set_client(None)


@pytest.fixture(autouse=True)
def reset_sentry_sdk() -> Iterator[None]:
    """Start and end each test with sentry-sdk uninitialised."""
    reset_sdk()
    yield
    reset_sdk()


@contextmanager
def sending_to(dsn: str, **options: Any) -> Iterator[Scope]:
    """A sentry-sdk client of its own, bound to a new scope for this block only.

    No default or auto-enabled integrations, and the global SDK state is untouched.
    Leaving the block flushes and closes the client, so what was captured inside
    has been sent. ``options`` go to ``sentry_sdk.Client`` (release, environment...).
    """
    client = sentry_sdk.Client(dsn=dsn, default_integrations=False, auto_enabling_integrations=False,
                               **options)
    try:
        with sentry_sdk.new_scope() as scope:
            scope.set_client(client)
            yield scope
        client.flush(10)
    finally:
        client.close()


def capture_replay(scope: Scope, replay_id: str, *, environment: str, urls: list[str],
                   duration: float) -> None:
    """Send one ``replay_event`` through ``scope``'s client, as a browser SDK would.

    sentry-sdk for Python records no replays, so the envelope is built by hand;
    the replay started ``duration`` seconds ago and ends now.
    """
    now = time.time()
    replay = {"type": "replay_event", "replay_id": replay_id, "segment_id": 0, "timestamp": now,
              "replay_start_timestamp": now - duration, "urls": urls, "error_ids": [],
              "trace_ids": [], "replay_type": "session", "environment": environment}
    envelope = Envelope(headers={"event_id": replay_id})
    envelope.add_item(Item(payload=PayloadRef(json=replay), type="replay_event"))
    assert scope.client.transport is not None
    scope.client.transport.capture_envelope(envelope)


def _find(rows: list[dict[str, Any]], event_id: str | None) -> dict[str, Any]:
    assert event_id, "the tool returned no event ID"
    found = [r for r in rows if r.get("event_id") == event_id.replace("-", "")]
    assert found, f"event {event_id} not stored; stored: {[r.get('event_id') for r in rows][-5:]}"
    return found[-1]


def event_by_id(srv: Any, event_id: str | None) -> dict[str, Any]:
    """The raw payload of a stored error or message event."""
    return _find(srv.store.events(), event_id)


def transaction_by_id(srv: Any, event_id: str | None) -> dict[str, Any]:
    """The raw payload of a stored transaction."""
    return _find(srv.store.transactions(), event_id)


def stored_events(srv: Any, predicate: Callable[[dict[str, Any]], bool],
                  timeout: float = 5.0) -> list[dict[str, Any]]:
    """Raw payloads stored by the backend that match ``predicate`` (polls briefly: delivery is async)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in srv.store.events() if predicate(e)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def sessions_by_sid(srv: Any, sid: str) -> list[dict[str, Any]]:
    """Every stored update of one session, in arrival order."""
    return [s for s in srv.store.sessions() if s.get("sid") == sid]
