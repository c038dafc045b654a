"""One release-health session per kernel run, so Sentry can show crash-free rates for notebooks.

The session starts just before the first cell runs (so an error in that cell
counts), keeps counting errors as cells fail (the telemetry layer adds each
captured error to the open session), and ends as ``exited`` when the extension
unloads or the kernel exits. Sentry derives "errored" from the error count and
"abnormal" from a session that never ended (a killed kernel). Sessions need a
release, so nothing happens until one is configured (``SENTRY_RELEASE`` or
``%config SentryMagics.release``).
"""

from __future__ import annotations

import atexit
import logging
import os
from typing import Any

__all__ = ["RunSession"]

log = logging.getLogger("sentry_ipy.notebook")


class RunSession:
    """A ``pre_run_cell`` callback that opens the kernel's session once a release is known.

    Args:
        magics: the ``SentryMagics`` instance (for its settings and tool context).
    """

    def __init__(self, magics: Any) -> None:
        self.magics = magics
        self.telemetry: Any = None
        self.sid: str | None = None
        self._given_up = False

    def __call__(self, info: Any = None) -> None:
        if self.sid is not None or self._given_up or not self.magics.track_sessions:
            return
        if not (self.magics.release or os.environ.get("SENTRY_RELEASE", "").strip()):
            return  # checked again before the next cell: a trait and an env lookup
        try:
            telemetry = self.magics.context.telemetry()
            session, _ = telemetry.start_session()
            self.telemetry = telemetry
            self.sid = str(session.get("sid"))
            atexit.register(self.end)
        except Exception as exc:  # never fail a cell because the session could not start
            self._given_up = True
            log.warning("sentry-ipy could not start a release-health session (%s); "
                        "this kernel run will not have one.", exc)

    def end(self) -> None:
        """Close the session as ``exited`` and deliver it (idempotent)."""
        if self.sid is None or self.telemetry is None:
            return
        telemetry, self.telemetry = self.telemetry, None
        atexit.unregister(self.end)
        try:
            telemetry.end_session("exited")
            telemetry.flush(2.0)
        except Exception as exc:  # the kernel is going away; say it once and move on
            log.warning("sentry-ipy could not end the release-health session (%s).", exc)
