"""One denylist and one scrubber for every place a secret could leak.

Used for reprs, log lines, error messages, MCP output and, through the
telemetry ``before_send`` hook, for events before they leave the process.
Keeping a single list means a name added by the user (``extra_keys``) is
honoured everywhere at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "DEFAULT_DENYLIST",
    "FILTERED",
    "is_secret_key",
    "redact_assignments",
    "redact_text",
    "scrub",
]

FILTERED = "[Filtered]"

#: Substrings that mark a key as secret (compared case-insensitively, ignoring
#: ``-`` and ``_``), in the spirit of sentry-python's ``DEFAULT_DENYLIST``.
DEFAULT_DENYLIST: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "authorization",
    "auth",
    "cookie",
    "session",
    "csrf",
    "xsrf",
    "credentials",
    "dsn",
    "bearer",
    "signature",
)

# Keys that contain a denylisted word but are not secrets.
_ALLOWED = frozenset({"sessionid", "author", "authors", "authorname", "sessions", "tokens_used"})

_TOKEN_PATTERNS = (
    re.compile(r"sntr[ysu]_[A-Za-z0-9_=+/.-]{10,}"),  # Sentry user / org tokens
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_=+/.-]{8,}"),
    re.compile(r"(?i)(https?://)[0-9a-f]{16,}(:[0-9a-f]{16,})?@"),  # DSN keys
)


def _norm(key: str) -> str:
    return key.lower().replace("-", "").replace("_", "")


def is_secret_key(key: object, extra_keys: Iterable[str] = ()) -> bool:
    """Tell whether a mapping key names something secret."""
    if not isinstance(key, str):
        return False
    norm = _norm(key)
    if norm in _ALLOWED:
        return False
    words = (*DEFAULT_DENYLIST, *(_norm(k) for k in extra_keys))
    return any(word and word in norm for word in words)


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Replace known secret values and token-shaped strings in free text."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, FILTERED)
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() and m.group(1) else "") + FILTERED
                           + ("@" if m.group(0).endswith("@") else ""), text)
    return text


# ``token = "abc"``, ``"password": 'x'``, ``api_key=abc123``: a secret-named key and its literal value.
_ASSIGNMENT = re.compile(
    r"""(?P<key>[A-Za-z_][\w.-]*)(?P<q0>["']?)(?P<sep>\s*[:=]\s*)(?P<q>["'])(?P<val>[^"'\n]{1,500})(?P=q)"""
    r"""|(?P<ukey>[A-Za-z_][\w.-]*)=(?P<uval>[^\s&;,"'()]{1,500})""")


def redact_assignments(text: str, extra_keys: Iterable[str] = ()) -> str:
    """Blank the values assigned to secret-named keys in free text.

    Covers source lines and reprs (``token = "abc"``, ``{"password": "x"}``)
    and query or log style pairs (``api_key=abc123``). Used for event text,
    where sentry-sdk sends the source lines around each frame: a secret typed
    as a literal in a notebook cell would otherwise travel with the traceback.
    """
    extra = tuple(extra_keys)

    def repl(m: re.Match[str]) -> str:
        if m.group("key") is not None:
            if not is_secret_key(m.group("key"), extra):
                return m.group(0)
            return f"{m.group('key')}{m.group('q0')}{m.group('sep')}{m.group('q')}{FILTERED}{m.group('q')}"
        if not is_secret_key(m.group("ukey"), extra):
            return m.group(0)
        return f"{m.group('ukey')}={FILTERED}"

    return _ASSIGNMENT.sub(repl, text)


def scrub(value: Any, extra_keys: Iterable[str] = (), secrets: Iterable[str | None] = (),
          _depth: int = 0) -> Any:
    """Return a copy of ``value`` with secret-named keys and secret values replaced.

    Walks dicts, lists and tuples (to a bounded depth, so a cyclic or very deep
    structure cannot hang the caller); strings are passed through
    :func:`redact_assignments` and :func:`redact_text`.
    """
    extra = tuple(extra_keys)
    known = tuple(s for s in secrets if s)
    if _depth > 50:
        return "[Truncated]"
    if isinstance(value, Mapping):
        return {
            k: (FILTERED if is_secret_key(k, extra) and v not in (None, "", {}, [])
                else scrub(v, extra, known, _depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(v, extra, known, _depth + 1) for v in value]
    if isinstance(value, str):
        return redact_text(redact_assignments(value, extra), known)
    return value
