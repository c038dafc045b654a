"""``before_send`` hooks: every event passes :func:`sentry_ipy.scrub.scrub` before it leaves.

sentry-sdk's own ``EventScrubber`` already filters some well-known keys in
frame variables, ``extra``, breadcrumbs and request headers. It does not look
at contexts or tags, does not know the user's extra key names, and cannot
recognise our auth token or DSN by value. The hook below walks the whole event
with the project's one denylist and redacts known secret values anywhere
(messages, exception values, frame variable reprs), so a single list governs
notebooks, logs, MCP output and telemetry alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sentry_sdk.scrubber import DEFAULT_DENYLIST as SDK_DENYLIST
from sentry_sdk.scrubber import EventScrubber

from ..scrub import denylisted_names, scrub

__all__ = ["event_scrubber", "make_before_send"]

#: Top-level event keys that are protocol structure, never user data: left as they are.
_STRUCTURAL = frozenset({"event_id", "timestamp", "start_timestamp", "type", "platform", "level",
                         "sdk", "release", "dist", "environment", "server_name", "transaction_info",
                         "fingerprint", "logger", "modules", "_meta"})

Hook = Callable[[dict[str, Any], dict[str, Any]], "dict[str, Any] | None"]


def make_before_send(extra_keys: Iterable[str], secrets: Iterable[str | None]) -> Hook:
    """Return a ``before_send``/``before_send_transaction`` hook bound to the key list and secrets.

    Args:
        extra_keys: user-added secret key names (matched like the default denylist).
        secrets: literal values to redact wherever they appear (the auth token, DSN keys).
    """
    keys = tuple(extra_keys)
    known = tuple(s for s in secrets if s)

    def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
        return {k: (v if k in _STRUCTURAL else scrub(v, keys, known)) for k, v in event.items()}

    return before_send


def event_scrubber(extra_keys: Iterable[str]) -> EventScrubber:
    """sentry-sdk's scrubber with our key names added, recursive, keeping explicit PII.

    The SDK's scrubber only matches whole keys, so it gets our names
    (:func:`sentry_ipy.scrub.denylisted_names`) as a first pass; the
    ``before_send`` hook is the one that applies the full rules.

    ``send_default_pii=False`` already stops the SDK from *collecting* IPs and
    cookies; an ``ip_address`` the user set on purpose with ``sentry_set_user``
    is kept (the SDK's default PII denylist would blank it).
    """
    return EventScrubber(denylist=[*SDK_DENYLIST, *denylisted_names(extra_keys)], recursive=True, send_default_pii=True)
