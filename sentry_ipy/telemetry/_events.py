"""Building event parts from tool arguments: exception text, tags, users, contexts.

The tool layer takes loosely typed input (free text, JSON objects from a
model); this module turns it into what Sentry's protocol accepts, applying
the limits in :mod:`._limits` and saying what it changed, so a result can
report "message cut to 8,192 characters" rather than hide it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import ToolInputError
from ._limits import (
    MAX_CONTEXT_DEPTH,
    MAX_MESSAGE_CHARS,
    MAX_RELEASE_CHARS,
    MAX_TAG_KEY_CHARS,
    MAX_TAG_VALUE_CHARS,
    TRUNCATED,
    clamp_depth,
    clean_text,
    truncate,
)

__all__ = ["Notes", "USER_FIELDS", "exception_event", "prepare_contexts", "prepare_tags",
           "prepare_text", "prepare_user", "validate_release"]

USER_FIELDS = ("id", "email", "username", "ip_address", "segment")

# "ValueError: bad input" or "mod.sub.KeyError: x" -> a typed exception; anything else is "Error".
_TYPED = re.compile(r"^\s*([A-Za-z_][\w.]*?(?:Error|Exception|Warning|Exit|Interrupt|Fault))\s*:\s*(.*)\Z",
                    re.DOTALL)
_TAG_KEY = re.compile(r"^[A-Za-z0-9_.:-]+\Z")
_RESERVED_CONTEXTS = frozenset({"trace"})
_BAD_RELEASES = frozenset({"", ".", "..", "latest"})


@dataclass
class Notes:
    """What was changed on the way in, for the tool result."""

    changes: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        """Record one change, as a short clause."""
        self.changes.append(text)

    def sentence(self) -> str:
        """The changes as one trailing sentence, or an empty string."""
        return (" Note: " + "; ".join(self.changes) + ".") if self.changes else ""


def prepare_text(value: Any, what: str, notes: Notes, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Decode and cut one free-text argument to ``limit`` characters."""
    text = clean_text(value)
    cut, was_cut = truncate(text, limit)
    if was_cut:
        notes.add(f"{what} cut from {len(text):,} to {limit:,} characters (Sentry's limit)")
    return cut


def exception_event(error: str, notes: Notes) -> dict[str, Any]:
    """An exception event from error text, as if the named exception had been raised and handled.

    ``"KeyError: 'price'"`` becomes type ``KeyError`` and value ``'price'``; text
    without a type prefix becomes type ``Error``. There is no stack trace,
    because no Python frame raised it; the mechanism says where it came from.
    """
    text = prepare_text(error, "error text", notes)
    match = _TYPED.match(text)
    etype, value = (match.group(1), match.group(2).strip()) if match else ("Error", text.strip())
    return {"exception": {"values": [{
        "type": etype,
        "value": value or etype,
        "mechanism": {"type": "sentry_ipy.tool", "handled": True,
                      "description": "reported with sentry_capture_exception"},
    }]}}


def prepare_tags(tags: Mapping[str, Any] | None, notes: Notes) -> dict[str, str]:
    """Validate tag keys and bound tag values as Sentry does (keys ≤32, values ≤200, one line).

    Raises:
        ToolInputError: a key Sentry would drop (too long or with other characters).
    """
    out: dict[str, str] = {}
    for key, raw in (tags or {}).items():
        key = clean_text(key)
        if not _TAG_KEY.match(key) or len(key) > MAX_TAG_KEY_CHARS:
            raise ToolInputError(
                f"Tag key {key[:40]!r} is not valid; Sentry accepts up to {MAX_TAG_KEY_CHARS} letters, "
                "digits, '_', '.', ':' or '-'.")
        value = clean_text(raw).replace("\r", " ").replace("\n", " ")
        value, cut = truncate(value, MAX_TAG_VALUE_CHARS)
        if cut:
            notes.add(f"tag {key!r} value cut to {MAX_TAG_VALUE_CHARS} characters")
        out[key] = value
    return out


def prepare_contexts(contexts: Mapping[str, Any] | None, notes: Notes | None = None) -> dict[str, dict[str, Any]]:
    """Bound each context's depth and refuse names Sentry reserves or non-object values.

    A context cut at the depth limit is said in ``notes``, so the result tells the user.

    Raises:
        ToolInputError: a context that is not an object, or one named ``trace``.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, value in (contexts or {}).items():
        name = clean_text(name)
        if name in _RESERVED_CONTEXTS:
            raise ToolInputError(f"The context name {name!r} is reserved by Sentry; choose another name.")
        if not isinstance(value, Mapping):
            raise ToolInputError(f"Context {name!r} must be a JSON object (got {type(value).__name__}).")
        out[name] = clamp_depth(value)
        if notes is not None and _has_truncated(out[name]):
            notes.add(f"context {name!r} cut below {MAX_CONTEXT_DEPTH} levels of nesting")
    return out


def _has_truncated(value: Any) -> bool:
    """Whether :func:`clamp_depth` replaced something in ``value`` (it leaves ``[Truncated]``)."""
    if isinstance(value, dict):
        return any(_has_truncated(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_truncated(v) for v in value)
    return value is TRUNCATED


def prepare_user(fields: Mapping[str, Any]) -> dict[str, str] | None:
    """A Sentry user from the given fields, or ``None`` when none is set (clears the user).

    ``segment`` goes to ``user.segment``, the protocol field Relay keeps.

    Raises:
        ToolInputError: an IP address that is neither an address nor ``{{auto}}``.
    """
    user = {k: clean_text(v) for k, v in fields.items() if k in USER_FIELDS and v not in (None, "")}
    ip = user.get("ip_address")
    if ip and ip != "{{auto}}":
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ToolInputError(f"ip_address {ip[:60]!r} is not an IPv4 or IPv6 address.") from None
    return user or None


def validate_release(release: str) -> str:
    """Return the release name stripped, or say why Sentry would reject it.

    Raises:
        ToolInputError: empty, ``.``/``..``/``latest``, longer than 200 characters, or
            containing a slash, backslash, tab or newline.
    """
    text = clean_text(release).strip()
    if text in _BAD_RELEASES or len(text) > MAX_RELEASE_CHARS or any(c in text for c in "/\\\t\r\n"):
        raise ToolInputError(
            f"Release {text[:60]!r} is not valid; use up to {MAX_RELEASE_CHARS} characters without slashes or line "
            "breaks, e.g. 'myapp@1.2.3'.")
    return text
