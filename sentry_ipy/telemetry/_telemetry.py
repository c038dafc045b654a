"""Telemetry: the one place that initialises sentry-sdk and sends through it.

Notebook kernels and MCP servers are one-client processes, so this wraps the
*global* sentry-sdk client. Scope data set through it (user, tags, contexts,
breadcrumbs) goes on the global scope, which every thread sees: MCP 2.x runs
each synchronous tool call on a worker thread, and a tag set by one call must
reach an event captured by the next. Per-event data (a capture's own tags,
level, user) goes on a forked scope that ends with the capture.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import sentry_sdk
from sentry_sdk.scope import Scope
from sentry_sdk.tracing import Span

from ..config import LOCAL_TOKEN_PREFIX, LOOPBACK_HOSTS, Settings, parse_dsn
from ..errors import ConfigurationError
from ..scrub import scrub
from ._events import (
    Notes,
    exception_event,
    prepare_contexts,
    prepare_tags,
    prepare_text,
    prepare_user,
    validate_release,
)
from ._limits import clamp_depth
from ._options import DEFAULT_QUEUE_SIZE, build_options
from ._ratelimits import RateLimits
from ._session_tracker import EndStatus, SessionStatus, SessionTracker
from ._spool import DEFAULT_MAX_BYTES, DEFAULT_MAX_COUNT, Spool, reason_text, spool_dir_for
from ._tracing import OpenSpan, SpanStack
from ._transport import DEFAULT_TIMEOUT, Delivery

if TYPE_CHECKING:
    from sentry_sdk._types import Event

__all__ = ["ReleaseChange", "Telemetry", "describe_delivery"]

_NO_DSN = ("No DSN is configured, so nothing can be sent; set SENTRY_DSN (Project Settings > "
           "Client Keys) or leave URL and token unset to use the embedded local backend.")


@dataclass(frozen=True)
class ReleaseChange:
    """What :meth:`Telemetry.change_release` did.

    Attributes:
        reinitialised: sentry-sdk was re-initialised (the release or dist changed).
        ended_session: the end update of the session that was open under the old release.
        started_session: the start update of its successor under the new release.
    """

    reinitialised: bool
    ended_session: dict[str, Any] | None = None
    started_session: dict[str, Any] | None = None


class Telemetry:
    """A handle on the process-wide sentry-sdk client, configured from :class:`Settings`.

    Args:
        settings: where and how to send (``dsn``, ``release``, ``dist``,
            ``environment``, ``traces_sample_rate``, ``debug``).
        extra_scrub_keys: key names to filter in addition to the project denylist.
        transport_queue_size: envelopes the background sender may hold; the SDK's
            default of 100 drops events in loops (an overflow goes to the spool).
        data_dir: where the delivery spool lives (``<data_dir>/spool/<dsn hash>``);
            default ``$SENTRY_IPY_DATA_DIR`` or the user data dir.
        spool_max_bytes, spool_max_count: the spool's bounds (the oldest go first, reported).
        timeout: seconds one ingest request may take.
        clock: monotonic seconds for rate-limit windows and backoff (tests move it).

    Raises:
        ConfigurationError: the DSN is malformed.
    """

    def __init__(self, settings: Settings, *, extra_scrub_keys: Iterable[str] = (),
                 transport_queue_size: int = DEFAULT_QUEUE_SIZE, data_dir: Path | None = None,
                 spool_max_bytes: int = DEFAULT_MAX_BYTES, spool_max_count: int = DEFAULT_MAX_COUNT,
                 timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.RLock()
        self._settings = settings
        self._extra_keys = tuple(extra_scrub_keys)
        self._queue_size = int(transport_queue_size)
        self._data_dir = data_dir
        self._spool_bounds = (int(spool_max_bytes), int(spool_max_count))
        self._spool_dsn: str | None = None
        self._delivery = Delivery(limits=RateLimits(clock), timeout=float(timeout))
        self.stats = self._delivery.stats
        self.spans = SpanStack()
        self.sessions = SessionTracker(self._scrub_payload)
        self._client: sentry_sdk.Client | None = None
        self._key: tuple[Any, ...] | None = None
        self._lost_at_flush = 0
        self._user: dict[str, str] | None = None
        self._init()

    # -- configuration ----------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The settings in force (updated by :meth:`configure` and :meth:`set_release`)."""
        return self._settings

    @property
    def enabled(self) -> bool:
        """True when a DSN is configured, so events are sent somewhere."""
        return bool(self._settings.dsn)

    @property
    def extra_scrub_keys(self) -> tuple[str, ...]:
        """User-added secret key names, filtered like the default denylist."""
        return self._extra_keys

    def configure(self, *, extra_scrub_keys: Iterable[str] | None = None, **changes: Any) -> bool:
        """Change settings (``release="app@2"``...) and re-initialise only if an option changed.

        ``None`` values are ignored, as in :meth:`Settings.replace`.

        Returns:
            True if sentry-sdk was re-initialised.

        Raises:
            ConfigurationError: a malformed DSN or an unknown setting.
        """
        with self._lock:
            try:
                self._settings = self._settings.replace(**changes)
            except TypeError:
                raise ConfigurationError(f"Unknown setting in {sorted(changes)}.") from None
            if extra_scrub_keys is not None:
                self._extra_keys = tuple(extra_scrub_keys)
            return self._init()

    def _scrub_payload(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Scrub a payload ``before_send`` never sees (session updates)."""
        return dict(scrub(payload, self._extra_keys, self._settings.secrets))

    def _option_key(self) -> tuple[Any, ...]:
        s = self._settings
        return (s.dsn, s.release, s.dist, s.environment, s.traces_sample_rate, s.debug,
                self._extra_keys, self._queue_size)

    def _init(self) -> bool:
        """Initialise sentry-sdk when the options differ from the last init (idempotent)."""
        with self._lock:
            if self._settings.dsn:
                parse_dsn(self._settings.dsn)  # one clear sentence instead of the SDK's BadDsn
            key = self._option_key()
            if key == self._key and self._alive():
                self._bind()
                return False
            old = self._client
            self._open_spool()
            sentry_sdk.init(**build_options(self._settings, extra_scrub_keys=self._extra_keys,
                                            queue_size=self._queue_size, delivery=self._delivery))
            client = sentry_sdk.get_client()
            self._client = client if isinstance(client, sentry_sdk.Client) else None
            self._key = key
            if old is not None and old is not self._client:
                old.close(timeout=2.0)  # deliver what the previous client still holds
            return True

    def _open_spool(self) -> None:
        """Point the delivery at the spool folder of the current DSN (one folder per DSN)."""
        dsn = self._settings.dsn
        if dsn == self._spool_dsn:
            return
        self._spool_dsn = dsn
        if not dsn:
            self._delivery.spool = None
            return
        if self._data_dir is not None:
            root = Path(self._data_dir)
        else:
            from ..local import default_data_dir

            root = default_data_dir()
        max_bytes, max_count = self._spool_bounds
        self._delivery.spool = Spool(spool_dir_for(root, dsn), max_bytes=max_bytes, max_count=max_count)

    def _alive(self) -> bool:
        return self._client is not None and (self._client.transport is not None or not self.enabled)

    def _bind(self) -> None:
        """Make our client the global one again if other code replaced it."""
        if self._client is not None and sentry_sdk.get_client() is not self._client:
            Scope.get_global_scope().set_client(self._client)

    def _ready(self) -> None:
        """Ensure our client is live and global; refuse to pretend-send without a DSN."""
        if not self.enabled:
            raise ConfigurationError(_NO_DSN)
        with self._lock:
            if not self._alive():
                self._key = None
            self._init()

    def describe(self) -> str:
        """One line saying where events go, for the faces to print."""
        s = self._settings
        if not s.dsn:
            return "Telemetry is off: no DSN is configured (set SENTRY_DSN)."
        _, base, project_id = parse_dsn(s.dsn)
        host = urlsplit(base).hostname or ""
        release = f", release {s.release}" if s.release else ""
        local = (host in LOOPBACK_HOSTS and (s.url or "").rstrip("/") == base
                 and (s.auth_token or "").startswith(LOCAL_TOKEN_PREFIX))
        if local:
            return (f"Sending to the embedded local backend at {base} "
                    f"(project {s.project or project_id}{release}).")
        return f"Sending to {base} (project ID {project_id}{release})."

    def __repr__(self) -> str:
        return f"<Telemetry {self.describe()}>"

    # -- delivery ---------------------------------------------------------------
    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` seconds for queued and spooled envelopes; True if all were delivered.

        The queue is drained first, then the spool is replayed (even during a
        backoff; rate limits still hold). "Delivered" means nothing is left in
        the queue or the spool and nothing was lost since the previous flush.
        """
        if self._client is None or not self.enabled:
            return True
        self._client.flush(timeout=timeout)
        lost = self.stats.lost_total()
        spool = self._delivery.spool
        ok = self.stats.pending == 0 and lost == self._lost_at_flush and not (spool is not None and len(spool))
        self._lost_at_flush = lost
        return ok

    def delivery(self) -> dict[str, Any]:
        """Counters (queued, sent, pending, spooled, replayed, lost), the spool, rate limits in force."""
        info = self.stats.snapshot()
        spool = self._delivery.spool
        if spool is not None:
            spool.refresh()
            info["spool"] = spool.summary()
        info["rate_limits"] = self._delivery.limits.active()
        if self._delivery.backing_off():
            info["backoff"] = {"seconds": round(self._delivery.backoff_until - self._delivery.clock(), 1),
                               "reason": self._delivery.last_failure}
        return info

    def undelivered(self) -> str:
        """A phrase for what has not reached the server yet ("3 waiting in the disk spool (...)"), or ""."""
        info = self.delivery()
        parts = [f"{n} lost ({what})" for what, n in info["lost"].items()]
        spool = info.get("spool") or {}
        if spool.get("count"):
            why = "; ".join(reason_text(code) for code in spool["reasons"])
            parts.append(f"{spool['count']} waiting in the disk spool because {why}; they are sent "
                         "automatically once the server takes them")
        return "; ".join(parts)

    def delivery_lines(self) -> list[str]:
        """The delivery state in sentences, for ``doctor`` and ``%sentry_status``."""
        info = self.delivery()
        return describe_delivery(info)

    def close(self, timeout: float = 2.0) -> None:
        """Flush and shut the client down; open spans and sessions are dropped unsent."""
        with self._lock:
            self.spans.clear()
            if self._client is not None:
                self._client.close(timeout=timeout)
            self._key = None

    # -- scope (global: visible from every thread) ---------------------------------
    def set_user(self, **fields: Any) -> dict[str, str] | None:
        """Set (or with no fields, clear) the user for later events and sessions."""
        self._ready()
        user = prepare_user(fields)
        self._user = user
        Scope.get_global_scope().set_user(user)
        return user

    def set_tag(self, key: str, value: Any) -> tuple[str, str, Notes]:
        """Set a tag on every later event; returns the stored key, value and notes."""
        self._ready()
        notes = Notes()
        ((key, text),) = prepare_tags({key: value}, notes).items()
        Scope.get_global_scope().set_tag(key, text)
        return key, text, notes

    def set_context(self, name: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """Attach a named context object to every later event."""
        self._ready()
        ((name, value),) = prepare_contexts({name: context}).items()
        Scope.get_global_scope().set_context(name, value)
        return value

    def add_breadcrumb(self, message: str, *, category: str | None = None, level: str = "info",
                       data: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Record a breadcrumb that later events carry (the newest 100 are kept)."""
        self._ready()
        notes = Notes()
        crumb: dict[str, Any] = {"type": "default", "message": prepare_text(message, "message", notes),
                                 "level": level}
        if category:
            crumb["category"] = category
        if data:
            crumb["data"] = clamp_depth(dict(data))
        Scope.get_global_scope().add_breadcrumb(crumb)
        return crumb

    def set_release(self, release: str, dist: str | None = None) -> bool:
        """Set the client's release and dist, so later events and sessions carry them.

        An open session under another release ends and a successor starts (see
        :meth:`change_release`).

        Returns:
            True if sentry-sdk was re-initialised (the release or dist changed).
        """
        return self.change_release(release, dist).reinitialised

    def change_release(self, release: str, dist: str | None = None) -> ReleaseChange:
        """Set the release and dist; an open session of another release is ended and restarted.

        Sentry counts a session in one release only, so the open session ends
        as ``exited`` and a new one (same user, new ``sid``) starts under
        ``release``; errors from now on count against the new one.
        """
        release = validate_release(release)
        with self._lock:
            switched = None
            if self.sessions.current is not None and self.sessions.current.release != release:
                self._ready()
                switched = self.sessions.switch_release(release, self._client_environment())
            changed = self.configure(release=release, dist=dist)
        ended, started = switched if switched is not None else (None, None)
        return ReleaseChange(reinitialised=changed, ended_session=ended, started_session=started)

    # -- captures ---------------------------------------------------------------
    @contextmanager
    def _event_scope(self, level: str | None, tags: Mapping[str, Any] | None,
                     contexts: Mapping[str, Any] | None, user: Mapping[str, Any] | None,
                     notes: Notes, fingerprint: Sequence[str] | None = None) -> Iterator[Scope]:
        """A forked scope for one capture: per-call data never leaks into later events."""
        self._ready()
        prepared_tags = prepare_tags(tags, notes)
        prepared_contexts = prepare_contexts(contexts, notes)
        prepared_user = prepare_user(user) if user else None
        with sentry_sdk.new_scope() as scope:
            top = self.spans.top()
            if top is not None:
                scope.span = top.span  # link the event to the open transaction's trace
            if level:
                scope.set_level(level)  # type: ignore[arg-type]
            for key, value in prepared_tags.items():
                scope.set_tag(key, value)
            for name, context in prepared_contexts.items():
                scope.set_context(name, context)
            if prepared_user:
                scope.set_user(prepared_user)
            if fingerprint:
                scope.fingerprint = [str(part) for part in fingerprint]
            yield scope

    def capture_exception(self, exc: BaseException | None = None, *, level: str | None = None,
                          tags: Mapping[str, Any] | None = None, contexts: Mapping[str, Any] | None = None,
                          user: Mapping[str, Any] | None = None,
                          fingerprint: Sequence[str] | None = None) -> str | None:
        """Send a Python exception (default: the one being handled) with its traceback.

        ``fingerprint`` replaces Sentry's default grouping for this event.

        Returns:
            the event ID, or ``None`` if sentry-sdk discarded it (sampling, dedupe).
        """
        exc = exc if exc is not None else sys.exc_info()[1]
        with self._event_scope(level, tags, contexts, user, Notes(), fingerprint) as scope:
            return scope.capture_exception(exc)

    def capture_error_text(self, error: str, *, level: str = "error", tags: Mapping[str, Any] | None = None,
                           contexts: Mapping[str, Any] | None = None,
                           user: Mapping[str, Any] | None = None) -> tuple[str | None, dict[str, Any], Notes]:
        """Send an exception event described by text (``"KeyError: 'price'"``).

        Returns:
            (event ID, the exception entry sent, notes on what was cut).
        """
        notes = Notes()
        event = exception_event(error, notes)
        with self._event_scope(level, tags, contexts, user, notes) as scope:
            # a plain dict in the protocol's shape; sentry-sdk types it as its Event TypedDict
            event_id = scope.capture_event(cast("Event", event))
        return event_id, event["exception"]["values"][0], notes

    def capture_message(self, message: str, *, level: str = "info", tags: Mapping[str, Any] | None = None,
                        contexts: Mapping[str, Any] | None = None,
                        user: Mapping[str, Any] | None = None,
                        fingerprint: Sequence[str] | None = None) -> tuple[str | None, Notes]:
        """Send a message event; returns (event ID, notes on what was cut)."""
        notes = Notes()
        text = prepare_text(message, "message", notes)
        with self._event_scope(level, tags, contexts, user, notes, fingerprint) as scope:
            return scope.capture_message(text), notes

    # -- tracing ------------------------------------------------------------------
    def start_transaction(self, name: str, op: str, description: str | None = None) -> OpenSpan:
        """Open a transaction (or, when one is open, a child span of it)."""
        self._ready()
        return self.spans.start(name, op, description)

    def finish_transaction(self, status: str = "ok") -> dict[str, Any]:
        """Finish the innermost open transaction or span with ``status``.

        Raises:
            ToolInputError: nothing is open.
        """
        self._ready()
        return self.spans.finish(status)

    @contextmanager
    def span(self, op: str, description: str | None = None) -> Iterator[Span]:
        """Time a block as a span of the open transaction, or as its own transaction if none is open."""
        self._ready()
        with self.spans.span(op, description) as span:
            yield span

    # -- sessions -----------------------------------------------------------------
    def start_session(self, *, session_id: str | None = None, distinct_id: str | None = None,
                      release: str | None = None, environment: str | None = None, owner: object = None
                      ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Open a release-health session (ending an open one as ``exited``).

        The release defaults to the client's; without one this raises
        :class:`~sentry_ipy.errors.ToolInputError`, because Sentry drops
        sessions that have no release. ``distinct_id`` defaults to the user's
        id, email or username. ``session_id`` of the open session sends
        nothing (the body says ``already_open``); that of an ended session
        raises ``ToolInputError``. ``owner`` tags the session for
        :meth:`end_session` (the notebook's kernel session).
        """
        self._ready()
        user = self._user or {}
        did = distinct_id or user.get("id") or user.get("email") or user.get("username")
        return self.sessions.start(
            sid=session_id, did=did,
            release=validate_release(release) if release else self._settings.release,
            environment=environment or self._client_environment(), owner=owner)

    def end_session(self, status: EndStatus = "exited", *, owner: object = None) -> dict[str, Any]:
        """Close the open session with ``status`` and send the final update.

        With ``owner``, only a session started with that owner is closed
        (else :class:`~sentry_ipy.errors.ToolInputError`, as with none open).
        """
        self._ready()
        return self.sessions.end(status, owner=owner)

    def capture_session(self, *, session_id: str, distinct_id: str | None = None,
                        status: SessionStatus = "ok", duration: float | None = None, errors: int = 0,
                        release: str | None = None, environment: str | None = None) -> dict[str, Any]:
        """Send one complete session as a standalone ``session`` item (server/request mode)."""
        self._ready()
        return self.sessions.capture(
            sid=session_id, did=distinct_id, status=status, duration=duration, errors=errors,
            release=validate_release(release) if release else self._settings.release,
            environment=environment or self._client_environment())

    def _client_environment(self) -> str | None:
        if self._client is not None:
            return self._client.options.get("environment")
        return self._settings.environment


def describe_delivery(info: Mapping[str, Any]) -> list[str]:
    """Sentences for a :meth:`Telemetry.delivery` snapshot: what was sent, what waits and why, what was lost."""
    lines = [f"Sent {info['sent']} envelope(s) this session ({info.get('replayed', 0)} from the spool); "
             f"{info.get('pending', 0)} queued in memory."] if "sent" in info else []
    spool = info.get("spool") or {}
    if spool.get("count"):
        why = "; ".join(f"{n} because {reason_text(code)}" for code, n in spool["reasons"].items())
        cats = ", ".join(f"{n} {cat}" for cat, n in spool["categories"].items())
        lines.append(f"Spooled on disk: {spool['count']} envelope(s), {spool['bytes']} bytes ({cats}), oldest "
                     f"from {spool['oldest']}, in {spool['directory']}: {why}. They are sent oldest-first on "
                     "the next successful send, on flush, and when the next process starts.")
    elif spool and "sent" in info:
        lines.append(f"Nothing is waiting in the spool ({spool['directory']}).")
    if spool.get("dropped"):
        lines.append(f"The spool was full: the {spool['dropped']} oldest envelope(s) were dropped to make room "
                     f"(limits {spool['max_count']} files, {spool['max_bytes']} bytes; see dropped.log there).")
    limits = info.get("rate_limits") or {}
    if limits:
        lines.append("Rate limited by the server: " + ", ".join(
            f"{'all categories' if cat == '*' else cat} for {secs:g} s more" for cat, secs in limits.items()) + ".")
    backoff = info.get("backoff")
    if backoff:
        lines.append(f"Backing off for {backoff['seconds']:g} s because {reason_text(backoff['reason'] or 'network')}.")
    lost = info.get("lost") or {}
    if lost:
        lines.append("Lost: " + ", ".join(f"{n} {key.replace(':', ' (')})" for key, n in lost.items()) + ".")
    return lines
