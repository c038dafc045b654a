"""sentry-sdk wrapper: init, scope, captures, transactions, sessions, scrubbing, delivery, the spool.

:class:`Telemetry` is the one place that initialises sentry-sdk from
:class:`~sentry_ipy.config.Settings`. The SDK tools (``sentry_capture_exception``,
``sentry_start_session``...) and the notebook's cell capture all go through it.

Names are imported on first access, so tool parameter models can use the
limits here without loading sentry-sdk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from ._events import Notes
    from ._limits import (MAX_CONTEXT_DEPTH, MAX_MESSAGE_CHARS, MAX_RELEASE_CHARS, MAX_TAG_KEY_CHARS,
                          MAX_TAG_VALUE_CHARS, clean_text)
    from ._options import DEFAULT_QUEUE_SIZE, IGNORED_LOGGERS
    from ._session_tracker import END_STATUSES, SESSION_STATUSES, normalise_sid
    from ._spool import Spool
    from ._telemetry import Telemetry, describe_delivery
    from ._tracing import SPAN_STATUSES, OpenSpan
    from ._transport import DeliveryStats

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "END_STATUSES",
    "IGNORED_LOGGERS",
    "MAX_CONTEXT_DEPTH",
    "MAX_MESSAGE_CHARS",
    "MAX_RELEASE_CHARS",
    "MAX_TAG_KEY_CHARS",
    "MAX_TAG_VALUE_CHARS",
    "SESSION_STATUSES",
    "SPAN_STATUSES",
    "DeliveryStats",
    "Notes",
    "OpenSpan",
    "Spool",
    "Telemetry",
    "clean_text",
    "describe_delivery",
    "normalise_sid",
]

_LAZY = {
    "DEFAULT_QUEUE_SIZE": "._options", "IGNORED_LOGGERS": "._options",
    "END_STATUSES": "._session_tracker", "SESSION_STATUSES": "._session_tracker", "normalise_sid": "._session_tracker",
    "MAX_CONTEXT_DEPTH": "._limits", "MAX_MESSAGE_CHARS": "._limits", "MAX_RELEASE_CHARS": "._limits",
    "clean_text": "._limits",
    "MAX_TAG_KEY_CHARS": "._limits", "MAX_TAG_VALUE_CHARS": "._limits",
    "SPAN_STATUSES": "._tracing", "OpenSpan": "._tracing",
    "DeliveryStats": "._transport", "Notes": "._events", "Telemetry": "._telemetry",
    "describe_delivery": "._telemetry", "Spool": "._spool",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
