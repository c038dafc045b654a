"""Release-health sessions with the semantics Sentry documents.

A session is a run of the application for one user (``did``) in one release.
It is sent as a ``session`` envelope item when it starts (``init: true``,
status ``ok``) and again when it ends (status ``exited``, ``crashed``,
``abnormal`` or ``errored``, with its duration and error count). Sentry
ignores sessions without a release, so we refuse to start one without it.

sentry-sdk's ``Scope.start_session`` ignores a caller's session ID and sends
only through a 60-second batching thread; here the ``Session`` object is the
SDK's own (so errors captured while it is open increment its ``errors`` count
through the global scope), but we choose its ``sid`` and send each update
straight to the transport, so ``flush()`` delivers it.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.session import Session

from ..errors import ToolInputError

__all__ = ["END_STATUSES", "SESSION_STATUSES", "SessionTracker", "normalise_sid", "session_payload"]

EndStatus = Literal["exited", "crashed", "abnormal", "errored"]
SessionStatus = Literal["ok", "exited", "crashed", "abnormal", "errored"]
END_STATUSES: tuple[str, ...] = ("exited", "crashed", "abnormal", "errored")
SESSION_STATUSES: tuple[str, ...] = ("ok", *END_STATUSES)

#: Namespace for deriving a stable UUID from a session ID that is not one.
_SID_NAMESPACE = uuid.UUID("6f1f7c1e-3a52-4b8e-9a5e-5e6e7472792d")

NO_RELEASE = ("Sessions need a release (Sentry discards sessions without one); call "
              "sentry_set_release first or pass release.")


def normalise_sid(value: str | None) -> tuple[str, bool]:
    """Return a canonical session UUID for ``value`` and whether it was derived.

    Sentry requires ``sid`` to be a UUID. Any UUID spelling (with or without
    dashes, braces, ``urn:uuid:``) is normalised; any other non-empty string is
    mapped to a stable UUIDv5, so the same custom ID always names the same
    session. ``None`` gives a fresh random UUID.
    """
    if value is None or not value.strip():
        return str(uuid.uuid4()), False
    text = value.strip()
    try:
        return str(uuid.UUID(text)), False
    except ValueError:
        return str(uuid.uuid5(_SID_NAMESPACE, text)), True


def session_payload(session: Session, *, init: bool) -> dict[str, Any]:
    """The ``session`` item body, with ``init`` true only on the first update.

    ``Session.to_json`` always says ``init: true``; an end update that claims
    to be the first would make Sentry count the session twice.
    """
    pinned = getattr(session, "sentry_ipy_did", None)
    if pinned is not None:  # the SDK re-derives did from each event's user; the caller's wins
        session.did = pinned
    body: dict[str, Any] = session.to_json()
    body["init"] = init
    body["errors"] = int(session.errors or 0)
    return body


def send_session(body: dict[str, Any]) -> None:
    """Queue one ``session`` envelope item on the current client's transport (``body`` already scrubbed)."""
    transport = sentry_sdk.get_client().transport
    if transport is None:  # pragma: no cover - Telemetry always initialises a DSN
        raise ToolInputError("Telemetry is not initialised with a DSN; nothing can be sent.")
    envelope = Envelope(headers={"sent_at": _iso(datetime.now(timezone.utc))})
    envelope.add_session(body)
    transport.capture_envelope(envelope)


class SessionTracker:
    """The one open application session of this process (MCP and notebooks are one-user processes).

    Args:
        scrub: applied to each session body before it is sent (a ``did`` can be an
            email or, by mistake, a token); ``before_send`` does not see sessions.
    """

    def __init__(self, scrub: Callable[[dict[str, Any]], dict[str, Any]] = dict) -> None:
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._finished: set[str] = set()  # sids whose session ended (or was captured whole)
        self._scrub = scrub

    def _send(self, session: Session, *, init: bool) -> dict[str, Any]:
        body = self._scrub(session_payload(session, init=init))
        send_session(body)
        return body

    @property
    def current(self) -> Session | None:
        """The open session, if any."""
        return self._session

    def start(self, *, sid: str | None, did: str | None, release: str | None,
              environment: str | None, owner: object = None
              ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Open a session, ending any open one as ``exited``; return (start body, previous end body).

        Starting the session that is already open (same ``sid``) sends nothing
        and returns its body with ``already_open: True``. ``owner`` marks who
        opened it (the notebook's kernel session), see :meth:`owned_by`.

        Raises:
            ToolInputError: no release, or ``sid`` names a session that already
                ended here (Sentry would count a second ``init`` twice).
        """
        if not release:
            raise ToolInputError(NO_RELEASE)
        sid_text, derived = normalise_sid(sid)
        with self._lock:
            current = self._session
            if sid is not None and current is not None and str(current.sid) == sid_text:
                body = self._scrub(session_payload(current, init=False))
                return {**body, "already_open": True}, None
            if sid_text in self._finished:
                raise ToolInputError(
                    f"Session {sid_text} already ended; Sentry would count a session that starts again "
                    "twice, so start a new one without sessionId (or with a new one).")
            session = Session(sid=sid_text, did=did, release=release, environment=environment)
            session.sentry_ipy_did = did  # type: ignore[attr-defined]
            session.sentry_ipy_owner = owner  # type: ignore[attr-defined]
            previous = self._close_locked("exited")
            self._session = session
            sentry_sdk.get_global_scope()._session = session  # errors now count against it
        body = self._send(session, init=True)
        if derived:
            body = {**body, "sid_derived_from": sid}
        return body, previous

    def owned_by(self, owner: object) -> bool:
        """True when the open session was started with this ``owner``."""
        session = self._session
        return session is not None and getattr(session, "sentry_ipy_owner", None) is owner

    def end(self, status: EndStatus, *, owner: object = None) -> dict[str, Any]:
        """Close the open session with ``status`` and send the final update.

        With ``owner``, only a session that owner started is closed.

        Raises:
            ToolInputError: no session is open (or none of ``owner``'s).
        """
        with self._lock:
            if owner is not None and not self.owned_by(owner):
                body = None
            else:
                body = self._close_locked(status)
        if body is None:
            raise ToolInputError("No session is open; start one with sentry_start_session.")
        return body

    def switch_release(self, release: str, environment: str | None
                       ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """End the open session as ``exited`` and start its successor under ``release``.

        Sessions belong to one release, so a release change mid-session closes
        it; the successor keeps the user (``did``) and owner with a new ``sid``.
        Returns (end body, start body), or ``None`` when no session is open or
        it already has this release.
        """
        with self._lock:
            session = self._session
            if session is None or session.release == release:
                return None
            did = getattr(session, "sentry_ipy_did", None)
            owner = getattr(session, "sentry_ipy_owner", None)
            env = session.environment or environment
        ended = self.end("exited")
        started, _ = self.start(sid=None, did=did, release=release, environment=env, owner=owner)
        return ended, started

    def _close_locked(self, status: str) -> dict[str, Any] | None:
        session = self._session
        if session is None:
            return None
        self._session = None
        self._finished.add(str(session.sid))
        scope = sentry_sdk.get_global_scope()
        if scope._session is session:
            scope._session = None
        now = datetime.now(timezone.utc)
        session.update(status=status, timestamp=now,  # type: ignore[arg-type]
                       duration=round((now - session.started).total_seconds(), 3))
        return self._send(session, init=False)

    def capture(self, *, sid: str, did: str | None, status: SessionStatus, duration: float | None,
                errors: int, release: str | None, environment: str | None) -> dict[str, Any]:
        """Send one standalone session (``init: true``) describing a whole session at once.

        For server or request mode, where the caller tracked the session itself:
        ``started`` is ``now - duration`` so the reported interval is consistent.
        """
        if not release:
            raise ToolInputError(NO_RELEASE)
        if duration is not None and duration < 0:
            raise ToolInputError("duration must be zero or more seconds.")
        if errors < 0:
            raise ToolInputError("errors must be zero or more.")
        sid_text, derived = normalise_sid(sid)
        now = datetime.now(timezone.utc)
        started = now - timedelta(seconds=duration or 0)
        session = Session(sid=sid_text, did=did, release=release, environment=environment,
                          started=started, timestamp=now, duration=duration, errors=errors,
                          status=status)  # type: ignore[arg-type]
        body = self._send(session, init=True)
        with self._lock:
            self._finished.add(sid_text)
        if derived:
            body = {**body, "sid_derived_from": sid}
        return body


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
