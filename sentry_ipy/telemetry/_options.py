"""sentry-sdk options for a library living inside a notebook kernel or an MCP server.

Options are data: :func:`build_options` maps :class:`~sentry_ipy.config.Settings`
to ``sentry_sdk.init`` keyword arguments in one place.

Integrations, and why
---------------------
sentry-sdk's defaults are written for an application that owns its process.
sentry-ipy is a guest in someone else's process, so it turns the automatic
ones off and enables a short list explicitly:

* ``auto_enabling_integrations=False``: the httpx, Starlette and asyncio
  integrations would instrument our own Web API client (adding trace headers
  to every request), the embedded local backend (each ingest request would
  become a transaction, sent back to itself) and the MCP server.
* no ``excepthook`` / ``threading``: the host's own uncaught exceptions are
  not ours to report; notebooks capture cells explicitly (IPython swallows
  exceptions anyway) and the MCP server reports tool failures itself.
* no ``argv`` / ``modules``: ``sys.argv`` of an MCP server can hold a token,
  and the module list of a data-science kernel is hundreds of entries per event.
* kept: ``dedupe`` (an exception captured by a magic and by a tool is sent
  once), ``logging`` as breadcrumbs only (``event_level=None``: a library's
  log line is not the user's error; transport chatter is ignored), and
  ``atexit`` with a quiet callback, so queued events are flushed when the
  kernel or server exits without printing into the notebook.

PII: ``send_default_pii`` is left unset, which sentry-sdk treats as False
(passing it at all is deprecated since 2.7x in favour of ``data_collection``,
and passing ``data_collection`` would switch off the event scrubber).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sentry_sdk.integrations.atexit import AtexitIntegration
from sentry_sdk.integrations.dedupe import DedupeIntegration
from sentry_sdk.integrations.logging import LoggingIntegration, ignore_logger

from ..config import Settings
from ._scrubbing import event_scrubber, make_before_send
from ._transport import Delivery, transport_class

__all__ = ["DEFAULT_QUEUE_SIZE", "IGNORED_LOGGERS", "build_options"]

#: sentry-sdk's default of 100 drops events in a tight loop (measured against Bugsink).
DEFAULT_QUEUE_SIZE = 2000

#: Loggers whose records are transport or server chatter, never useful breadcrumbs.
IGNORED_LOGGERS = ("httpx", "httpcore", "urllib3", "uvicorn", "uvicorn.access", "uvicorn.error",
                   "sentry_ipy.local", "mcp", "mcp.server")

_logger = logging.getLogger("sentry_ipy.telemetry")


def _quiet_atexit(pending: int, timeout: float) -> None:
    _logger.info("sentry-ipy: flushing %d pending event(s) for up to %.0f s at exit", pending, timeout)


def integrations() -> list[Any]:
    """The integrations sentry-ipy enables (see the module docstring for the reasons)."""
    for name in IGNORED_LOGGERS:
        ignore_logger(name)
    return [
        DedupeIntegration(),
        LoggingIntegration(level=logging.INFO, event_level=None),
        AtexitIntegration(callback=_quiet_atexit),
    ]


def build_options(settings: Settings, *, extra_scrub_keys: Iterable[str], queue_size: int,
                  delivery: Delivery) -> dict[str, Any]:
    """``sentry_sdk.init`` keyword arguments for these settings."""
    keys = tuple(extra_scrub_keys)
    before_send = make_before_send(keys, settings.secrets)
    return {
        "dsn": settings.dsn,
        "release": settings.release,
        "dist": settings.dist,
        "environment": settings.environment,
        "traces_sample_rate": settings.traces_sample_rate,
        "debug": settings.debug,
        "default_integrations": False,
        "auto_enabling_integrations": False,
        "integrations": integrations(),
        "auto_session_tracking": False,
        "transport": transport_class(delivery),
        "transport_queue_size": queue_size,
        "before_send": before_send,
        "before_send_transaction": before_send,
        "event_scrubber": event_scrubber(keys),
        "include_local_variables": True,
    }
