"""Initialise sentry-sdk before the first cell runs, so plain ``sentry_sdk`` calls are delivered.

``%load_ext sentry_ipy`` must stay instant (no sentry-sdk, httpx or pandas
import), yet a user who writes ``sentry_sdk.capture_message("x")`` in the next
cell expects it to go where the magics send events. So the extension registers
:class:`SdkStart` on ``pre_run_cell``: before each cell it checks (two attribute
reads) whether the kernel's telemetry exists, and creates it when it does not,
which calls ``sentry_sdk.init`` with the resolved settings (the configured DSN,
else the embedded local backend's). The first cell after loading pays that once.

It checks before every cell, not only the first, because a settings change
(``%config SentryMagics.dsn = ...``) drops the tool context: the next cell gets
a client initialised with the new settings. If initialising fails (a malformed
DSN, a data dir that cannot be written), it says so once on stderr and stops
trying; the cell runs regardless.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["SdkStart"]

log = logging.getLogger("sentry_ipy.notebook")


class SdkStart:
    """A ``pre_run_cell`` callback that makes sure sentry-sdk is initialised.

    Args:
        magics: the ``SentryMagics`` instance (its tool context owns the telemetry).
    """

    def __init__(self, magics: Any) -> None:
        self.magics = magics
        self.failed = False

    def __call__(self, info: Any = None) -> None:
        if self.failed or self.magics._telemetry_in_use() is not None:
            return
        try:
            self.magics.context.telemetry()
        except Exception as exc:  # noqa: BLE001 - never fail the user's cell over this
            self.failed = True
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("sentry-ipy could not initialise sentry-sdk (%s); plain sentry_sdk calls "
                        "send nothing until a magic succeeds.", text)
