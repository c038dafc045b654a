"""One release-health session per kernel run, so Sentry can show crash-free rates for notebooks.

The session starts just before the first cell runs (so an error in that cell
counts), keeps counting errors as cells fail (the telemetry layer adds each
captured error to the open session), and ends as ``exited`` when the extension
unloads or the kernel exits. Sentry derives "errored" from the error count and
"abnormal" from a session that never ended (a killed kernel). Sessions need a
release, so nothing happens until one is configured (``SENTRY_RELEASE`` or
``%config SentryMagics.release``).

A session belongs to one release: when the release changes mid-run the kernel
session ends as ``exited`` and a new one starts under the new release. The
kernel session is the default, not the only one: when the user starts their
own (``%sentry start_session``), the kernel session ends and does not come
back for this run, and the kernel never ends a session it did not start.
``%config SentryMagics.track_sessions = False`` ends it at once.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

from ..config import setting_from_env

__all__ = ["RunSession"]

log = logging.getLogger("sentry_ipy.notebook")


class RunSession:
    """A ``pre_run_cell`` callback that opens the kernel's session once a release is known.

    Sessions it opens are tagged with it as owner (the telemetry layer keeps the
    owner when a release change replaces the session), so it can tell its own
    session from the user's.

    Args:
        magics: the ``SentryMagics`` instance (for its settings and tool context).
    """

    def __init__(self, magics: Any) -> None:
        self.magics = magics
        self.telemetry: Any = None
        self.sid: str | None = None
        self.yielded = False  # the user took over sessions for this run
        self._given_up = False

    @property
    def is_open(self) -> bool:
        """True while the kernel's session is the open one."""
        return self.telemetry is not None and bool(self.telemetry.sessions.owned_by(self))

    def __call__(self, info: Any = None) -> None:
        if self._given_up or self.yielded or not self.magics.track_sessions:
            return
        if self.telemetry is not None:
            if self.is_open:
                self.sid = str(self.telemetry.sessions.current.sid)  # a release change renews it
            else:  # the user's own session replaced it, or they ended it: theirs from now on
                self._forget()
                self.yielded = True
            return
        if not (self.magics.release or setting_from_env("release")):
            return  # checked again before the next cell: a trait and an env lookup
        try:
            telemetry = self.magics.context.telemetry()
            if telemetry.sessions.current is not None:  # the user's session is open: leave it be
                self.yielded = True
                return
            session, _ = telemetry.start_session(owner=self)
            self.telemetry = telemetry
            self.sid = str(session.get("sid"))
            atexit.register(self.end)
        except Exception as exc:  # never fail a cell because the session could not start
            self._given_up = True
            log.warning("sentry-ipy could not start a release-health session (%s); "
                        "this kernel run will not have one.", exc)

    def end(self) -> None:
        """Close the kernel's session as ``exited`` and deliver it (idempotent).

        A session the user started is left alone: it is theirs to end.
        """
        if self.telemetry is None:
            return
        telemetry, own = self.telemetry, self.is_open
        self._forget()
        if not own:
            return
        try:
            telemetry.end_session("exited", owner=self)
            telemetry.flush(2.0)
        except Exception as exc:  # the kernel is going away; say it once and move on
            log.warning("sentry-ipy could not end the release-health session (%s).", exc)

    def _forget(self) -> None:
        self.telemetry = None
        self.sid = None
        atexit.unregister(self.end)
