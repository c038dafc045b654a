"""sentry-sdk wrapper: init, scope, captures, transactions, sessions, scrubbing, delivery.

:class:`Telemetry` is the one place that initialises sentry-sdk from
:class:`~sentry_ipy.config.Settings`. The SDK tools (``sentry_capture_exception``,
``sentry_start_session``...) and the notebook's cell capture all go through it.
"""

from __future__ import annotations

from ._events import Notes
from ._limits import MAX_CONTEXT_DEPTH, MAX_MESSAGE_CHARS, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS
from ._options import DEFAULT_QUEUE_SIZE, IGNORED_LOGGERS
from ._sessions import END_STATUSES, SESSION_STATUSES, normalise_sid
from ._telemetry import Telemetry
from ._tracing import SPAN_STATUSES, OpenSpan
from ._transport import DeliveryStats

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "DeliveryStats",
    "END_STATUSES",
    "IGNORED_LOGGERS",
    "MAX_CONTEXT_DEPTH",
    "MAX_MESSAGE_CHARS",
    "MAX_TAG_KEY_CHARS",
    "MAX_TAG_VALUE_CHARS",
    "Notes",
    "OpenSpan",
    "SESSION_STATUSES",
    "SPAN_STATUSES",
    "Telemetry",
    "normalise_sid",
]
