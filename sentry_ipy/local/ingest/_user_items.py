"""Envelope items that accompany events: ``user_report`` (feedback) and ``attachment`` (files).

Both are kept as sent, keyed by the event they belong to, so the API can list
them before or after that event itself arrives.
"""

from __future__ import annotations

from typing import Any

from ..store import _issue_records as records
from ..store._store import Store
from ._envelope import EnvelopeError, Item

__all__ = ["save_attachment", "save_user_report"]


def save_user_report(store: Store, project: dict[str, Any], payload: Any, normalise_id: Any) -> None:
    """Store a ``user_report`` item (``{event_id, name, email, comments}``).

    Raises:
        EnvelopeError: no event ID or no comments.
    """
    if not isinstance(payload, dict) or not payload.get("event_id") or not isinstance(payload.get("comments"), str):
        raise EnvelopeError("user_report payload needs an event_id and comments.")
    name, email = payload.get("name"), payload.get("email")
    records.add_user_report(store, int(project["id"]), normalise_id(payload["event_id"]),
                            name if isinstance(name, str) else None, email if isinstance(email, str) else None,
                            payload["comments"])


def save_attachment(store: Store, project: dict[str, Any], event_id: str | None, item: Item) -> None:
    """Store an ``attachment`` item of the envelope's event, bytes verbatim.

    Raises:
        EnvelopeError: the envelope names no event to attach it to.
    """
    if not event_id:
        raise EnvelopeError("attachment needs an event_id in the envelope header.")
    filename = item.headers.get("filename")
    content_type = item.headers.get("content_type")
    kind = item.headers.get("attachment_type")
    records.add_attachment(store, int(project["id"]), event_id,
                           filename if isinstance(filename, str) and filename else "attachment",
                           content_type if isinstance(content_type, str) else None,
                           kind if isinstance(kind, str) and kind else "event.attachment", item.payload)
