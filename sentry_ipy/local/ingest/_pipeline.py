"""Turn accepted envelope items into rows: events, issues, sessions, outcomes.

Each function takes the store, the target project row and one decoded item
payload. Writes of one item happen in one transaction so an issue counter and
the event that bumped it can never disagree.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from .._clock import now, parse_timestamp
from ..search._issue_search import search_tags
from ..store._event_writes import event_exists, insert_event, upsert_issue
from ..store._store import Store
from ..store._text_index import index_event_text
from ._envelope import Envelope, EnvelopeError, Item
from ._grouping import event_message, event_type, group_info
from ._normalize import normalize_event, release_error
from ._trace_items import save_logs, save_spans
from ._user_items import save_attachment, save_user_report

logger = logging.getLogger("sentry_ipy.local")

__all__ = [
    "ITEM_CATEGORIES",
    "guarded",
    "normalise_event_id",
    "process_envelope",
    "record_outcome",
    "save_event",
    "save_events",
    "user_key",
]

ITEM_CATEGORIES = {
    "event": "error",
    "transaction": "transaction",
    "replay_event": "replay",
    "replay_recording": "replay",
    "attachment": "attachment",
    "session": "session",
    "sessions": "session",
    "profile": "profile",
    "check_in": "monitor",
    "log": "log_item",
}


def normalise_event_id(value: Any) -> str:
    """Return a 32-hex event ID; invent one when the SDK sent none."""
    text = str(value or "").replace("-", "").strip().lower()
    if len(text) == 32 and all(c in "0123456789abcdef" for c in text):
        return text
    return uuid.uuid4().hex


def user_key(user: Any) -> str | None:
    """Identify a user the way Sentry counts them (id, email, username, ip)."""
    if not isinstance(user, dict):
        return None
    for field in ("id", "email", "username", "ip_address"):
        if user.get(field):
            return f"{field}:{user[field]}"
    return None


def record_outcome(
    store: Store,
    org_id: int,
    project_id: int | None,
    outcome: str,
    category: str,
    reason: str | None = None,
    quantity: int = 1,
    timestamp: float | None = None,
) -> None:
    """Append one row to the outcomes table that ``stats_v2`` reads."""
    store.execute(
        "INSERT INTO outcomes (org_id, project_id, timestamp, outcome, category, reason, quantity)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (org_id, project_id, timestamp or now(), outcome, category, reason, int(quantity)),
    )


def guarded(kind: str, action: Callable[[], Any]) -> Any:
    """Run one item's processing; turn any unexpected failure into an EnvelopeError.

    Specific problems are handled where they arise (normalisation repairs
    fields, size limits answer 413); this is the net under them, so an
    unforeseen payload shape is a 400 naming the item type and an
    ``invalid`` outcome, never a 500. The bug is logged once, with its
    traceback, on the ``sentry_ipy.local`` logger.
    """
    try:
        return action()
    except EnvelopeError:
        raise
    except Exception as exc:  # noqa: BLE001 - see docstring
        logger.error("Could not process a %s item", kind or "untyped", exc_info=True)
        raise EnvelopeError(
            f"The {kind or 'untyped'} item could not be processed ({type(exc).__name__});"
            " check that its fields have the types the Sentry protocol documents."
        ) from None


def save_event(store: Store, project: dict[str, Any], payload: dict[str, Any], sent_at: Any = None) -> str:
    """Store an error, message or transaction event and group errors into issues.

    Duplicates (same event ID in the same project) are accepted but not
    counted again, as Sentry does. The payload is first repaired by
    :func:`normalize_event` (timestamps, field types), so what is stored
    always reads back.

    Args:
        sent_at: the envelope header's ``sent_at`` (for clock-drift correction).

    Returns:
        the event ID.

    Raises:
        EnvelopeError: if the payload is not a JSON object.
    """
    if not isinstance(payload, dict):
        raise EnvelopeError("Event payload must be a JSON object.")
    event_id = normalise_event_id(payload.get("event_id"))
    payload["event_id"] = event_id
    received = now()
    ts = normalize_event(payload, received, sent_at)
    etype = event_type(payload)
    user = raw_user if isinstance(raw_user := payload.get("user"), dict) else {}
    ukey = user_key(user)
    release = payload.get("release") or None
    contexts = raw_contexts if isinstance(raw_contexts := payload.get("contexts"), dict) else {}
    trace = raw_trace if isinstance(raw_trace := contexts.get("trace"), dict) else {}
    org_id, project_id = int(project["org_id"]), int(project["id"])
    with store.tx() as conn:
        if event_exists(conn, project_id, event_id):
            return event_id
        issue_id: int | None = None
        title = str(payload.get("transaction") or "<unlabeled transaction>")
        culprit: str | None = None
        message = event_message(payload)
        if etype != "transaction":
            info = group_info(payload)
            issue_id = upsert_issue(conn, project_id, info, payload, ts)
            title, culprit = info["title"], info["culprit"]
            if ukey:
                store.add_issue_user(issue_id, ukey)
            store.add_issue_tags(issue_id, search_tags(payload, release, payload.get("environment")))
            index_event_text(conn, issue_id, str(project["slug"]), message, received)
        insert_event(conn, (
            event_id, project_id, issue_id, etype, ts, received,
            None if etype == "transaction" else str(payload.get("level") or "error"),
            title, message, culprit, payload.get("transaction"), release,
            payload.get("environment"), ukey, user.get("email"),
            payload.get("platform") or "python", trace.get("trace_id"), json.dumps(payload),
        ))
        if etype == "transaction":
            save_spans(store, project, event_id, payload, ts)
        store.note_first(project_id, "first_transaction" if etype == "transaction" else "first_event", received)
        record_outcome(
            store, org_id, project_id, "accepted",
            "transaction" if etype == "transaction" else "error", timestamp=received,
        )
        if release:
            store.link_release(org_id, str(release), project_id)
    return event_id


def save_events(store: Store, project: dict[str, Any], payloads: Iterable[dict[str, Any]], batch: int = 2000) -> int:
    """Store many events through :func:`save_event`, ``batch`` to a transaction (seeding, benchmarks, imports).

    Returns:
        how many payloads were processed (duplicates included).
    """
    count = 0
    it = iter(payloads)
    while True:
        with store.tx():
            done = 0
            for payload in it:
                save_event(store, project, payload)
                done += 1
                if done == batch:
                    break
        count += done
        if done < batch:
            return count


def _save_session(store: Store, project: dict[str, Any], payload: Any, kind: str) -> None:
    if not isinstance(payload, dict):
        raise EnvelopeError(f"{kind} payload must be a JSON object.")
    attrs = raw_attrs if isinstance(raw_attrs := payload.get("attrs"), dict) else {}
    release = attrs.get("release")
    if kind == "session" and not payload.get("sid"):
        raise EnvelopeError("Session payload needs a sid.")
    if not release:
        raise EnvelopeError(f"{kind} payload needs attrs.release.")
    if not isinstance(release, str) or release_error(release):
        # Relay drops a session whose release Sentry could not store ('..', 'a/b', ' 1.0');
        # the rest of the envelope (often the event that updated the session) still counts.
        record_outcome(store, int(project["org_id"]), project["id"], "invalid", "session", "invalid_release")
        return
    with store.tx():
        store.execute(
            "INSERT INTO sessions (project_id, kind, sid, did, status, release, environment,"
            " started, received, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                project["id"], kind, payload.get("sid"), payload.get("did"),
                payload.get("status"), release, attrs.get("environment"),
                parse_timestamp(payload.get("started")), now(), json.dumps(payload),
            ),
        )
        store.execute("UPDATE projects SET has_sessions = 1 WHERE id = ?", (project["id"],))
        store.link_release(int(project["org_id"]), release, int(project["id"]), health=True)


def _save_replay(store: Store, project: dict[str, Any], payload: Any) -> None:
    if not isinstance(payload, dict) or not payload.get("replay_id"):
        raise EnvelopeError("replay_event payload needs a replay_id.")
    ts = parse_timestamp(payload.get("timestamp"), now()) or now()
    replay_id = str(payload["replay_id"]).replace("-", "").lower()[:64]
    with store.tx():
        store.execute(
            "INSERT INTO replays (project_id, replay_id, segment_id, timestamp, received, payload)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (project["id"], replay_id, payload.get("segment_id"), ts, now(), json.dumps(payload)),
        )
        store.execute("UPDATE projects SET has_replays = 1 WHERE id = ?", (project["id"],))
        record_outcome(store, int(project["org_id"]), project["id"], "accepted", "replay")
        release = payload.get("release")
        if isinstance(release, str) and release and not release_error(release):
            store.link_release(int(project["org_id"]), release, int(project["id"]))


def _save_client_report(store: Store, project: dict[str, Any], payload: Any) -> None:
    if not isinstance(payload, dict):
        raise EnvelopeError("client_report payload must be a JSON object.")
    ts = parse_timestamp(payload.get("timestamp"), now())
    entries = payload.get("discarded_events")
    for entry in entries if isinstance(entries, list) else []:
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        # Relay reads quantity as a u32; entries it could not read are skipped.
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 0 < quantity < 2**32:
            continue
        record_outcome(
            store, int(project["org_id"]), project["id"], "client_discard",
            str(entry.get("category") or "error"), str(entry.get("reason") or "unknown"), quantity, ts,
        )


def process_envelope(store: Store, project: dict[str, Any], envelope: Envelope) -> tuple[str | None, list[str]]:
    """Store every supported item of an envelope.

    Returns:
        ``(event_id, errors)``: the ID of the event or transaction (or the
        envelope header's), and one message per malformed item (each also
        recorded as an ``invalid`` outcome).
    """
    header_id = envelope.headers.get("event_id")
    event_id: Any = header_id if isinstance(header_id, str) else None
    sent_at = envelope.headers.get("sent_at")
    errors: list[str] = []
    with store.tx():  # one transaction per envelope; a bad item rolls back to its savepoint alone
        for item in envelope.items:
            kind = item.type
            try:
                with store.tx(savepoint=True):
                    stored = _process_item(store, project, item, sent_at, event_id)
                event_id = stored or event_id
            except EnvelopeError as exc:
                errors.append(str(exc))
                record_outcome(
                    store, int(project["org_id"]), project["id"], "invalid",
                    ITEM_CATEGORIES.get(kind, "default"), "invalid_" + (kind or "item"),
                )
    return (str(event_id) if event_id else None), errors


def _process_item(store: Store, project: dict[str, Any], item: Item, sent_at: Any,
                  event_id: str | None = None) -> str | None:
    """Store one envelope item; returns the event ID of an event or transaction item.

    ``event_id`` is the envelope's event so far, which an ``attachment`` belongs to.
    """
    kind = item.type
    if kind in ("event", "transaction"):
        payload = item.json()
        if isinstance(payload, dict) and kind == "transaction":
            payload.setdefault("type", "transaction")
        return str(guarded(kind, partial(save_event, store, project, payload, sent_at)))
    if kind in ("session", "sessions"):
        mode = "session" if kind == "session" else "aggregates"
        guarded(kind, partial(_save_session, store, project, item.json(), mode))
    elif kind == "user_report":
        guarded(kind, partial(save_user_report, store, project, item.json(), normalise_event_id))
    elif kind == "attachment":
        target = normalise_event_id(event_id) if event_id else None
        guarded(kind, partial(save_attachment, store, project, target, item))
    elif kind == "log":
        guarded(kind, partial(save_logs, store, project, item.json()))
    elif kind == "replay_event":
        guarded(kind, partial(_save_replay, store, project, item.json()))
    elif kind == "client_report":
        guarded(kind, partial(_save_client_report, store, project, item.json()))
    return None
