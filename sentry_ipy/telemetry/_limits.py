"""Size and shape limits applied before anything reaches sentry-sdk.

Sentry's ingest truncates a message to 8,192 characters and rejects
envelopes over 200 MB; an event over 1 MB is dropped. We cut text to the
same limits on our side, so a 10 MB string becomes a bounded event that is
stored (and the tool result says it was cut) instead of one the server drops
silently. sentry-sdk trims only "databags" (``extra``, breadcrumb ``data``,
frame variables: 5 levels deep, 10 keys wide); contexts and tags pass
untrimmed, so we bound those here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_CONTEXT_DEPTH",
    "MAX_MESSAGE_CHARS",
    "MAX_RELEASE_CHARS",
    "MAX_TAG_KEY_CHARS",
    "MAX_TAG_VALUE_CHARS",
    "TRUNCATED",
    "clamp_depth",
    "clean_text",
    "truncate",
]

#: Sentry keeps the first 8,192 characters of ``message`` / ``logentry``.
MAX_MESSAGE_CHARS = 8192
#: Sentry's tag limits: keys up to 32 characters, values up to 200.
MAX_TAG_KEY_CHARS = 32
MAX_TAG_VALUE_CHARS = 200
#: Sentry's limit for a release name.
MAX_RELEASE_CHARS = 200
#: Deeper levels of a context object are replaced by :data:`TRUNCATED`.
MAX_CONTEXT_DEPTH = 8

TRUNCATED = "[Truncated]"
_ELLIPSIS = "..."


def clean_text(value: Any) -> str:
    """Return ``value`` as valid UTF-8 text.

    Bytes are decoded with replacement characters and lone surrogates (which
    JSON allows but UTF-8 forbids) are replaced, so a malformed argument still
    produces an event rather than a transport error deep in a worker thread.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", errors="replace").decode("utf-8")
    return text


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut ``text`` to at most ``limit`` characters; return it and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[: max(0, limit - len(_ELLIPSIS))] + _ELLIPSIS, True


def clamp_depth(value: Any, max_depth: int = MAX_CONTEXT_DEPTH, _depth: int = 0) -> Any:
    """Copy ``value`` with mappings and lists nested deeper than ``max_depth`` replaced.

    Also turns bytes into text and tuples into lists so the result is JSON-safe.
    """
    if isinstance(value, Mapping):
        if _depth >= max_depth:
            return TRUNCATED
        return {clean_text(k): clamp_depth(v, max_depth, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if _depth >= max_depth:
            return TRUNCATED
        return [clamp_depth(v, max_depth, _depth + 1) for v in value]
    if isinstance(value, (str, bytes, bytearray)):
        return clean_text(value)
    return value
