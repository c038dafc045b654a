"""The kernel's half of a monitored headless run (``sentry-ipy run``).

The runner starts the kernel with the extension loaded and the run described
in :data:`RUN_ENV` (its ID, the notebook's path, the parameters). In such a
kernel every cell is a span of one transaction (the run), failing cells carry
the run as a context and ``notebook.run_id`` as a tag, and the kernel opens
no release-health session of its own: the runner records one per run, with
the run's outcome. When the cells are done the runner calls
:func:`finish_run` in the kernel, which ends the transaction and reports back
what was sent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

__all__ = ["OUTCOME_STATUS", "RUN_ENV", "finish_run", "read_run_context"]

#: Environment variable the runner describes the run in (JSON: id, notebook, parameters).
RUN_ENV = "SENTRY_IPY_RUN"

#: The run transaction's status for each session outcome.
OUTCOME_STATUS = {"exited": "ok", "errored": "ok", "crashed": "internal_error", "abnormal": "deadline_exceeded"}


def read_run_context(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The run this kernel executes, or None outside ``sentry-ipy run`` (or if the value is unreadable)."""
    text = (os.environ if environ is None else environ).get(RUN_ENV)
    if not text:
        return None
    try:
        run = json.loads(text)
    except ValueError:
        return None
    return run if isinstance(run, dict) and isinstance(run.get("id"), str) else None


def apply_run_context(magics: Any, capture: Any, tracer: Any, run: dict[str, Any]) -> None:
    """Set a freshly loaded extension up for the run: cells traced, run context on events, no session."""
    tags = {"notebook.run_id": str(run["id"])}
    capture.run = {"id": run["id"], "notebook": run.get("notebook"), "parameters": run.get("parameters") or {}}
    capture.run_tags = tags
    tracer.tags = dict(tags)
    magics.track_sessions = False  # the runner records the run's session, with the run's outcome
    magics.trace_cells = True


def finish_run(shell: Any, outcome: str, failing_cell: str | None = None, timeout: float = 10.0) -> str:
    """End the run's transaction with ``outcome`` and deliver everything; return a JSON report.

    Called by the runner in the kernel (as a user expression) after the last
    cell. The report says which event the failing cell's error became, the
    transaction's event and trace IDs, and whether delivery was confirmed.
    """
    from . import _STATE_KEY

    state = getattr(shell, _STATE_KEY, None)
    if state is None:
        return json.dumps({"loaded": False})
    magics, capture, _session, _start, tracer = state
    tags = {"notebook.outcome": outcome}
    if failing_cell:
        tags["notebook.failing_cell"] = failing_cell
    sent = tracer.end_segment(OUTCOME_STATUS.get(outcome, "unknown_error"), tags) or {}
    delivered = None
    telemetry = magics.context.telemetry_in_use
    if telemetry is not None:
        delivered = telemetry.flush(timeout)
    return json.dumps({"loaded": True, "event_id": capture.last_event_id,
                       "error": type(capture.last_error).__name__ if capture.last_error else None,
                       "transaction": sent.get("event_id"), "trace_id": sent.get("trace_id"),
                       "delivered": delivered})
