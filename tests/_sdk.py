"""Helpers for tests that send through sentry-sdk: reset its global state, find what arrived.

Import the fixture into a test module (``from tests._sdk import reset_sentry_sdk``)
to make it autouse there; every test then starts and ends with no client and
empty scopes, so sentry-sdk state never leaks into other modules' tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.scope import Scope

__all__ = ["event_by_id", "reset_sdk", "reset_sentry_sdk", "sessions_by_sid", "transaction_by_id"]


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


def sessions_by_sid(srv: Any, sid: str) -> list[dict[str, Any]]:
    """Every stored update of one session, in arrival order."""
    return [s for s in srv.store.sessions() if s.get("sid") == sid]
