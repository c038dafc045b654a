"""Repair an event payload before it is stored, the way Relay normalises it.

Relay rarely rejects an event for one bad field: it removes or repairs the
value and notes what it did in the event's ``errors`` list (shown in Sentry's
UI as "There were problems processing this event"). Doing the same here means
a client bug (a timestamp in milliseconds, ``release`` sent as an object, a
cut emoji) never loses the event and never stores a row that later breaks a
read: every value a read path formats or binds to SQLite has a known type.

Timestamps follow Relay's ``normalize_timestamps``: more than 30 days in the
past or more than a minute in the future is replaced by the received time
(``past_timestamp`` / ``future_timestamp``); a client clock that is off by
55 minutes or more (judged from the envelope's ``sent_at``) is corrected by
shifting the event's times (``clock_drift``); an unreadable value becomes the
received time (``invalid_data``).
"""

from __future__ import annotations

import math
import re
from typing import Any

from .._clock import parse_timestamp

__all__ = [
    "MAX_SECS_IN_FUTURE",
    "MAX_SECS_IN_PAST",
    "has_control_characters",
    "has_lone_surrogates",
    "is_web_url",
    "normalize_event",
    "release_error",
    "replace_surrogates",
]

#: Relay's defaults (``max_secs_in_past`` / ``max_secs_in_future``).
MAX_SECS_IN_PAST = 30 * 86400
MAX_SECS_IN_FUTURE = 60
#: Relay's ``MINIMUM_CLOCK_DRIFT_SECS``: smaller drifts are left alone.
MIN_CLOCK_DRIFT_SECS = 55 * 60

_SURROGATE_RE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE_RE = re.compile(rb"\\u[dD][89a-fA-F]")

#: String fields and Relay's length limits; numbers are accepted and turned
#: into strings (Relay's ``LenientString``), anything else is dropped.
_STRING_FIELDS = {
    "release": 200, "dist": 64, "environment": 64, "server_name": 1024, "transaction": 200,
    "culprit": 200, "logger": 64, "platform": 64, "level": 16,
}
#: Container fields that read paths iterate: a wrong JSON type is dropped.
_CONTAINER_FIELDS: dict[str, tuple[type, ...]] = {
    "user": (dict,), "contexts": (dict,), "tags": (dict, list), "extra": (dict,), "sdk": (dict,),
    "request": (dict,), "fingerprint": (list,), "modules": (dict,), "breadcrumbs": (dict, list),
    "exception": (dict, list), "logentry": (dict,), "threads": (dict, list), "spans": (list,),
    "measurements": (dict,), "errors": (list,),
}
_LEVELS = {"fatal", "error", "warning", "info", "debug"}
_LEVEL_ALIASES = {"critical": "fatal", "warn": "warning", "log": "info", "err": "error"}


def has_lone_surrogates(raw: bytes) -> bool:
    """Cheaply tell whether a JSON text may hold ``\\udXXX`` escapes at all."""
    return _SURROGATE_ESCAPE_RE.search(raw) is not None


def replace_surrogates(value: Any) -> Any:
    """Return ``value`` with every lone surrogate replaced by U+FFFD.

    Browsers' ``JSON.stringify`` emits ``"\\ud83d"`` for an emoji cut in half;
    Python decodes it to a string that UTF-8 (and so SQLite) cannot encode.
    Relay replaces such code points the same way.
    """
    if isinstance(value, str):
        return _SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {replace_surrogates(k): replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [replace_surrogates(v) for v in value]
    return value


def release_error(version: str) -> str | None:
    """Explain why a release version cannot be stored (Sentry's and sentry-cli's rules), or None.

    The same rules guard ``POST .../releases/`` and ingest: an event or
    session naming such a release would otherwise create a release that the
    API refuses and whose web page cannot be addressed (``..``, ``a/b``).
    """
    if version == "":
        return "This field is required."
    if version in (".", ".."):
        return "Release version cannot be '.' or '..'."
    if version.lower() == "latest":
        return "Release version cannot be 'latest'; Sentry reserves it for the newest release."
    if version != version.strip():
        return "Release version cannot have leading or trailing whitespace."
    if any(ch in version for ch in "/\n\t\v\f\r"):
        return "Release version cannot contain '/', newlines or tabs."
    if len(version) > _STRING_FIELDS["release"]:
        return f"Ensure this field has no more than {_STRING_FIELDS['release']} characters."
    return None


def _error(kind: str, name: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "name": name, "value": value}


def _string_field(payload: dict[str, Any], name: str, limit: int, errors: list[dict[str, Any]]) -> None:
    value = payload.get(name)
    if value is None:
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > limit or (name == "release" and release_error(value)):
        errors.append(_error("invalid_data", name, value))
        payload.pop(name)
        return
    if name == "level":
        value = _LEVEL_ALIASES.get(value.lower(), value.lower())
        if value not in _LEVELS:
            errors.append(_error("invalid_data", name, payload[name]))
            payload.pop(name)
            return
    payload[name] = value


def _container_fields(payload: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    for name, types in _CONTAINER_FIELDS.items():
        value = payload.get(name)
        if value is not None and not isinstance(value, types):
            errors.append(_error("invalid_data", name, value))
            payload.pop(name)


def _when(raw: Any) -> float | None:
    """Read a timestamp for comparison; any finite number counts, even year 50000.

    A timestamp in milliseconds is a real (if absurd) future time, so like
    Relay it is a ``future_timestamp``, not ``invalid_data``.
    """
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:
            value = float(raw)
        except OverflowError:
            return None
        return value if math.isfinite(value) else None
    return parse_timestamp(raw)


def _drift(ts: float | None, sent_at: Any, received: float) -> tuple[float, str, Any]:
    """Return ``(correction_seconds, error_kind, sent_value)``; 0 when none applies."""
    if ts is not None:
        if ts > received + MAX_SECS_IN_FUTURE:
            return received - ts, "future_timestamp", ts
        if ts < received - MAX_SECS_IN_PAST:
            return received - ts, "past_timestamp", ts
    sent = parse_timestamp(sent_at)
    if sent is not None and abs(received - sent) >= MIN_CLOCK_DRIFT_SECS:
        return received - sent, "clock_drift", sent_at
    return 0.0, "", None


def _timestamps(payload: dict[str, Any], sent_at: Any, received: float, errors: list[dict[str, Any]]) -> float:
    raw = payload.get("timestamp")
    ts = _when(raw)
    if raw is not None and ts is None:
        errors.append(_error("invalid_data", "timestamp", raw))
    start_raw = payload.get("start_timestamp")
    start = parse_timestamp(start_raw)
    if start_raw is not None and start is None:
        errors.append(_error("invalid_data", "start_timestamp", start_raw))
        payload.pop("start_timestamp")
    correction, kind, sent = _drift(ts, sent_at, received)
    if correction:
        errors.append(_error(kind, "timestamp", raw if kind != "clock_drift" else sent))
        if start is not None:
            payload["start_timestamp"] = min(max(start + correction, 0.0), received)
    if ts is None or kind in ("future_timestamp", "past_timestamp"):
        final = received
    else:
        final = min(max(ts + correction, 0.0), received + MAX_SECS_IN_FUTURE)
    payload["timestamp"] = final
    return final


def normalize_event(payload: dict[str, Any], received: float, sent_at: Any = None) -> float:
    """Repair ``payload`` in place and return its event time in epoch seconds.

    Args:
        payload: a decoded event or transaction (a dict).
        received: when the server got it (epoch seconds).
        sent_at: the envelope header's ``sent_at``, used for clock drift.
    """
    errors: list[dict[str, Any]] = []
    _container_fields(payload, errors)
    for name, limit in _STRING_FIELDS.items():
        _string_field(payload, name, limit, errors)
    ts = _timestamps(payload, sent_at, received, errors)
    payload["received"] = received
    if errors:
        payload["errors"] = [*(payload.get("errors") or []), *errors]
    return ts


#: An absolute web address: ``http(s)://`` and a host, nothing a browser would strip or reinterpret.
_WEB_URL_RE = re.compile(r"https?://[^\s/?#\\]+(?:[/?#][^\s]*)?", re.IGNORECASE)
_CONTROL_RE = re.compile(r"[\x00-\x20\x7f]")


def has_control_characters(value: str) -> bool:
    """Whether ``value`` holds a space or control character (which browsers strip or misread in URLs)."""
    return _CONTROL_RE.search(value) is not None


def is_web_url(value: Any) -> bool:
    """Whether ``value`` is an ``http(s)://host...`` address without spaces or control characters."""
    return isinstance(value, str) and not _CONTROL_RE.search(value) and _WEB_URL_RE.fullmatch(value) is not None
