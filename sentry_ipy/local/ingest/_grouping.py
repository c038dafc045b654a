"""Group error events into issues, the way Sentry's default config roughly does.

Order of precedence:

1. an explicit ``fingerprint`` (``{{ default }}`` parts expand to the default hash);
2. the type of the last exception value plus its top in-app frame
   (function and module, else filename), so the same crash site groups even
   when the message text differs;
3. the message with numbers, hex and UUIDs normalised, so
   ``"user 42 failed"`` and ``"user 43 failed"`` share an issue.

The same module derives an issue's title, culprit and metadata from the
event that created it, and formats short IDs (``NOTEBOOK-1Z``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

__all__ = [
    "STACK_ATTRS",
    "stack_frames",
    "GroupInfo",
    "event_message",
    "event_type",
    "exception_values",
    "group_info",
    "short_id",
    "short_id_seq",
    "top_frame",
]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32, as Sentry uses
_UUID_RE = re.compile(r"\b[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\b")
_HEX_RE = re.compile(r"\b(?:0x[0-9a-fA-F]+|[0-9a-fA-F]{8,})\b")
_NUM_RE = re.compile(r"\d+(?:\.\d+)?")
_DEFAULT_PARTS = {"{{ default }}", "{{default}}"}

GroupInfo = dict[str, Any]


def short_id(project_slug: str, seq: int) -> str:
    """Format a per-project counter as a Sentry short ID (``NOTEBOOK-1A``)."""
    digits = ""
    n = max(int(seq), 0)
    while True:
        n, rem = divmod(n, 32)
        digits = _ALPHABET[rem] + digits
        if n == 0:
            break
    return f"{project_slug.upper()}-{digits}"


def short_id_seq(text: str) -> tuple[str, int] | None:
    """Split a short ID into ``(project_slug_upper, counter)``; None if malformed."""
    match = re.match(r"^(.*?)[\s_-]([A-Za-z0-9]+)$", text.strip())
    if not match:
        return None
    n = 0
    for ch in match.group(2).upper():
        ch = {"O": "0", "I": "1", "L": "1"}.get(ch, ch)
        if ch not in _ALPHABET:
            return None
        n = n * 32 + _ALPHABET.index(ch)
    return match.group(1).upper(), n


def exception_values(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the exception values whichever protocol spelling was used."""
    exc = payload.get("exception")
    if isinstance(exc, dict):
        values = exc.get("values")
    elif isinstance(exc, list):
        values = exc
    else:
        values = None
    return [v for v in (values or []) if isinstance(v, dict)]



#: Frame attributes each ``stack.*`` search key looks at.
STACK_ATTRS: dict[str, tuple[str, ...]] = {
    "stack.filename": ("filename", "abs_path"), "stack.abs_path": ("abs_path",),
    "stack.module": ("module",), "stack.function": ("function",)}


def stack_frames(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stack frame of every exception in an event payload."""
    return [f for value in exception_values(payload) for f in _frames(value)]


def _frames(value: dict[str, Any]) -> list[dict[str, Any]]:
    stack = value.get("stacktrace") or {}
    frames = stack.get("frames") if isinstance(stack, dict) else None
    return [f for f in (frames or []) if isinstance(f, dict)]


def top_frame(value: dict[str, Any]) -> dict[str, Any] | None:
    """Pick the innermost in-app frame (frames run oldest to newest)."""
    frames = _frames(value)
    in_app = [f for f in frames if f.get("in_app")]
    pool = in_app or frames
    return pool[-1] if pool else None


def event_message(payload: dict[str, Any]) -> str:
    """Return the human message of an event (logentry first, then message)."""
    logentry = payload.get("logentry")
    if isinstance(logentry, dict):
        text = logentry.get("formatted") or logentry.get("message")
        if text:
            return str(text)
    message = payload.get("message")
    if isinstance(message, dict):
        return str(message.get("formatted") or message.get("message") or "")
    if message:
        return str(message)
    return ""


def event_type(payload: dict[str, Any]) -> str:
    """Classify a payload as ``error``, ``default`` (message) or ``transaction``."""
    if payload.get("type") == "transaction":
        return "transaction"
    return "error" if exception_values(payload) else "default"


def _normalise(text: str) -> str:
    text = _UUID_RE.sub("<uuid>", text)
    text = _HEX_RE.sub("<hex>", text)
    return _NUM_RE.sub("<int>", text)


def _default_components(payload: dict[str, Any]) -> list[str]:
    values = exception_values(payload)
    if values:
        last = values[-1]
        parts = ["exception", str(last.get("type") or "Error")]
        frame = top_frame(last)
        if frame is not None:
            parts.append(str(frame.get("function") or ""))
            parts.append(str(frame.get("module") or frame.get("filename") or frame.get("abs_path") or ""))
        else:
            parts.append(_normalise(str(last.get("value") or "")))
        return parts
    return ["message", _normalise(event_message(payload))]


def _hash(parts: list[str]) -> str:
    return hashlib.md5("\x00".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def _culprit(payload: dict[str, Any], frame: dict[str, Any] | None) -> str:
    if payload.get("culprit"):
        return str(payload["culprit"])
    if payload.get("transaction"):
        return str(payload["transaction"])
    if frame is not None:
        return _frame_culprit(frame, str(frame.get("platform") or payload.get("platform") or ""))
    return ""


def _frame_culprit(frame: dict[str, Any], platform: str) -> str:
    """Sentry's culprit of a frame: ``?(index)`` for JavaScript and Node, the function for native code."""
    function = frame.get("function") or "?"
    if platform in ("objc", "cocoa", "native"):
        return str(function)
    where = frame.get("module") or frame.get("filename") or frame.get("abs_path")
    if not where:
        return ""
    if platform in ("javascript", "node"):
        return f"{function}({where})"
    return f"{where} in {function}"


def group_info(payload: dict[str, Any]) -> GroupInfo:
    """Compute the grouping hash and the issue fields an event implies.

    Returns:
        dict with ``hash``, ``type`` (error/default), ``title``, ``culprit``,
        ``metadata``, ``fingerprint`` (the parts actually used), ``unhandled``.
    """
    default_parts = _default_components(payload)
    fingerprint = payload.get("fingerprint")
    if isinstance(fingerprint, list) and fingerprint and not all(
        str(p) in _DEFAULT_PARTS for p in fingerprint
    ):
        parts: list[str] = []
        for part in fingerprint:
            parts.extend(default_parts if str(part) in _DEFAULT_PARTS else [str(part)])
        used = [str(p) for p in fingerprint]
        group_hash = _hash(["fingerprint", *parts])
    else:
        used = ["{{ default }}"]
        group_hash = _hash(default_parts)

    values = exception_values(payload)
    if values:
        last = values[-1]
        etype = str(last.get("type") or "Error")
        evalue = str(last.get("value") or "")
        frame = top_frame(last)
        title = f"{etype}: {evalue}" if evalue else etype
        first_line = title.splitlines()[0] if title else etype
        metadata: dict[str, Any] = {"type": etype, "value": evalue}
        if frame is not None:
            metadata["filename"] = frame.get("filename") or frame.get("abs_path")
            metadata["function"] = frame.get("function")
        metadata["in_app_frame_mix"] = "in-app-only" if frame and frame.get("in_app") else "system-only"
        mechanism = last.get("mechanism") or {}
        unhandled = isinstance(mechanism, dict) and mechanism.get("handled") is False
        return {
            "hash": group_hash,
            "type": "error",
            "title": first_line[:200],
            "culprit": _culprit(payload, frame),
            "metadata": metadata,
            "fingerprint": used,
            "unhandled": unhandled,
        }
    message = event_message(payload) or "<unlabeled event>"
    title = message.splitlines()[0][:200] if message.strip() else "<unlabeled event>"
    return {
        "hash": group_hash,
        "type": "default",
        "title": title,
        "culprit": _culprit(payload, None),
        "metadata": {"title": title},
        "fingerprint": used,
        "unhandled": False,
    }
