"""Cells as spans: each executed cell a ``notebook.cell`` span of a transaction per run segment.

With ``%config SentryMagics.trace_cells = True`` (and always under
``sentry-ipy run``), the kernel's work shows up in Sentry's traces: a
transaction (op ``notebook.run``, named after the notebook) per *run
segment*, and in it one span per cell, named by the cell's first line, with
its cell id and execution count as data and its outcome as status (``ok``,
``internal_error``, ``cancelled`` for an interrupt).

A segment is a stretch of work: it ends when no cell has started for
:data:`IDLE_SECONDS`, after :data:`MAX_CELLS` cells (sentry-sdk keeps 1,000
spans per transaction), when tracing is turned off, the extension unloads or
the kernel exits; a headless run is one segment. The spans live on the
telemetry's span stack, so ``%%sentry_txn`` and ``sentry_start_transaction``
inside a cell nest under the cell's span; a transaction the user leaves open
at the end of a cell runs on (the cell span ends alone), and the cells after
it nest under it until it is finished.

Errors captured while a cell runs carry its span's trace, so an issue links
to the run it happened in.
"""

from __future__ import annotations

import atexit
import logging
import os
import time
from collections.abc import Callable
from typing import Any

__all__ = ["IDLE_SECONDS", "MAX_CELLS", "CellTracer", "cell_title"]

log = logging.getLogger("sentry_ipy.notebook")

#: A pause longer than this between cells starts a new segment (a new transaction).
IDLE_SECONDS = 15 * 60.0
#: Cells per segment: well under sentry-sdk's 1,000 spans per transaction.
MAX_CELLS = 500
_TITLE_CHARS = 80


def cell_title(source: str) -> str:
    """A cell's span name: its first non-blank, non-magic line (scrubbed, cut to 80 characters)."""
    from ..scrub import scrub

    for line in source.splitlines():
        text = line.strip()
        if text and not text.startswith(("%%sentry", "#")):
            text = str(scrub(text[:_TITLE_CHARS * 2]))
            return text if len(text) <= _TITLE_CHARS else text[:_TITLE_CHARS - 1] + "…"
    return "(empty cell)"


class CellTracer:
    """``pre_run_cell``/``post_run_cell`` callbacks that time cells as spans (off until enabled).

    Args:
        telemetry: returns the :class:`~sentry_ipy.telemetry.Telemetry`; only
            called while tracing is on.
        notebook: returns the notebook's path, if known (names the transaction).
    """

    def __init__(self, telemetry: Callable[[], Any], notebook: Callable[[], str | None]) -> None:
        self._telemetry = telemetry
        self._notebook = notebook
        self.enabled = False
        #: Tags put on each segment's transaction (a headless run's ID and notebook).
        self.tags: dict[str, str] = {}
        self._segment: Any = None
        self._cell: Any = None
        self._cells = 0
        self._failed = 0
        self._last = 0.0
        self._given_up = False

    @property
    def segment(self) -> Any:
        """The open segment's transaction entry (an ``OpenSpan``), if any."""
        return self._segment

    def before(self, info: Any = None) -> None:
        """Open the cell's span (and, first, a segment if none is open)."""
        if not self.enabled or self._given_up:
            return
        try:
            telemetry = self._telemetry()
            stale = time.monotonic() - self._last > IDLE_SECONDS or self._cells >= MAX_CELLS
            if self._segment is not None and stale and telemetry.spans.top() is self._segment:
                self.end_segment()
            if self._segment is None:
                self._start_segment(telemetry)
            raw = getattr(info, "raw_cell", None) or ""
            cell = telemetry.spans.start(cell_title(raw), "notebook.cell", automatic=True)
            cell_id = getattr(info, "cell_id", None)
            if cell_id:
                cell.span.set_data("notebook.cell_id", cell_id)
            self._cell = cell
            self._cells += 1
        except Exception as exc:  # noqa: BLE001 - tracing must never fail a cell
            self._given_up = True
            log.warning("sentry-ipy stopped tracing cells for this kernel run (%s).", exc)

    def after(self, result: Any) -> None:
        """Finish the cell's span with the cell's outcome."""
        cell, self._cell = self._cell, None
        if cell is None:
            return
        self._last = time.monotonic()
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        count = getattr(result, "execution_count", None)
        if count is not None:
            cell.span.set_data("notebook.execution_count", count)
        status = "ok"
        if isinstance(error, KeyboardInterrupt):
            status = "cancelled"
        elif error is not None:
            status = "internal_error"
            self._failed += 1
        try:
            self._telemetry().spans.finish_alone(cell, status)
        except Exception as exc:  # noqa: BLE001
            log.debug("sentry-ipy could not finish a cell span", exc_info=exc)

    def _start_segment(self, telemetry: Any) -> None:
        path = self._notebook()
        name = os.path.basename(path) if path else "notebook kernel"
        segment = telemetry.spans.start(name, "notebook.run", automatic=True)
        for key, value in {**({"notebook": name} if path else {}), **self.tags}.items():
            segment.span.set_tag(key, value)
        if path:
            segment.span.set_data("notebook.path", path)
        self._segment, self._cells, self._failed = segment, 0, 0
        atexit.register(self.end_segment)

    def end_segment(self, status: str | None = None, tags: dict[str, str] | None = None) -> dict[str, Any] | None:
        """Finish the open segment's transaction and send it; returns what was sent.

        ``status`` defaults to ``internal_error`` when a cell of the segment
        failed, else ``ok``. Spans still open inside it are finished too.
        """
        segment, self._segment = self._segment, None
        atexit.unregister(self.end_segment)
        if segment is None:
            return None
        try:
            telemetry = self._telemetry()
            if self._cell is not None:
                telemetry.spans.finish_alone(self._cell, "cancelled")
                self._cell = None
            for key, value in (tags or {}).items():
                segment.span.set_tag(key, value)
            segment.span.set_data("notebook.cells", self._cells)
            segment.span.set_data("notebook.failed_cells", self._failed)
            return dict(telemetry.spans.finish(status or ("internal_error" if self._failed else "ok"), segment))
        except Exception as exc:  # noqa: BLE001 - the kernel may be going away
            log.warning("sentry-ipy could not send the notebook's transaction (%s).", exc)
            return None
