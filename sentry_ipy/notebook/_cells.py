"""Capturing exceptions raised by notebook cells, with notebook, cell and kernel context.

IPython swallows cell exceptions, so sentry-sdk's excepthook never sees them.
We listen on ``post_run_cell`` instead: it fires after every cell, costs one
attribute check when the cell succeeded, and chains with other tools (unlike
``set_custom_exc``, a single slot).
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from collections.abc import Callable
from typing import Any

from ._causes import CascadeChain, Root, cell_fingerprint, cell_key, failing_cell_line, missing_name
from ._variables import cell_names, summarise_variables

__all__ = ["NOT_CRASHES", "CellCapture", "is_crash", "notebook_path"]

log = logging.getLogger("sentry_ipy.notebook")

_MAX_SOURCE = 4096
#: Exceptions that are the user's intent or our own one-line errors, not crashes:
#: the hook does not send them and ``%sentry_capture`` refuses to.
NOT_CRASHES = ("KeyboardInterrupt", "UsageError", "SystemExit", "HelpShown")


def is_crash(error: BaseException) -> bool:
    """Tell whether a cell's exception is worth an event (not an interrupt or a usage error)."""
    return type(error).__name__ not in NOT_CRASHES


def notebook_path(user_ns: dict[str, Any]) -> str | None:
    """The notebook's path when the frontend tells us (Jupyter server, VS Code)."""
    for key in ("__vsc_ipynb_file__", "__session__"):
        value = user_ns.get(key)
        if isinstance(value, str) and value:
            return value
    return os.environ.get("JPY_SESSION_NAME") or None


class CellCapture:
    """A ``post_run_cell`` callback that sends cell exceptions to Sentry, one issue per root cause.

    A failing cell's event carries the notebook, cell and kernel context and a
    summary of the cell's variables (:mod:`._variables`); for a notebook with a
    known path (and ``group_by_cell`` on) it is fingerprinted by notebook +
    cell (:mod:`._causes`). A failure that only echoes an earlier one (a
    ``NameError`` on a name the failed cell never defined) is a cascade: it is
    counted on the root cause's issue and the user gets one line saying so.

    Args:
        shell: the IPython shell.
        telemetry: returns the :class:`~sentry_ipy.telemetry.Telemetry` to send
            through; called only when a cell failed.
    """

    def __init__(self, shell: Any, telemetry: Callable[[], Any]) -> None:
        self.shell = shell
        self._telemetry = telemetry
        self.enabled = True
        self.group_by_cell = True
        self.chain = CascadeChain()
        self.run: dict[str, Any] | None = None  # the headless run this kernel executes (sentry-ipy run)
        self.run_tags: dict[str, str] = {}
        self.last_event_id: str | None = None
        self.last_error: BaseException | None = None  # the exception last_event_id reports
        self.failing = False  # reporting failed and the user was told; quiet until it works

    def __call__(self, result: Any) -> None:
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if error is None or not self.enabled or not is_crash(error):
            return
        self.last_error, self.last_event_id = error, None
        try:
            self.last_event_id = self._report(result, error)
        except Exception as exc:  # noqa: BLE001 - never break the notebook because reporting failed
            self._report_failure(exc)
        else:
            self.failing = False

    def _report(self, result: Any, error: BaseException) -> str | None:
        """Send the cell's error (or count it as a cascade); return the event ID sent, if any."""
        user_ns = getattr(self.shell, "user_ns", None) or {}
        contexts, tags = self._context(result)
        cell = contexts["cell"]
        source = self._python_source(getattr(getattr(result, "info", None), "raw_cell", None) or "")
        line = failing_cell_line(error, user_ns)
        key = cell_key(cell["cell_id"], cell["execution_count"])
        root = self.chain.root_of(error, user_ns)
        if root is not None:
            self.chain.record(root, source, line)  # what this cell failed to define echoes the same root
            return self._report_cascade(root, error, key, contexts, tags)
        telemetry = self._telemetry()
        path = contexts["notebook"]["path"]
        fingerprint = cell_fingerprint(path, key, error, user_ns) if path and self.group_by_cell else None
        contexts["variables"] = summarise_variables(cell_names(source), user_ns,
                                                    extra_keys=telemetry.extra_scrub_keys)
        root = Root(error=type(error).__name__, cell=key, execution_count=cell["execution_count"],
                    event_id=None, fingerprint=fingerprint)
        self.chain.record(root, source, line)
        root.event_id = telemetry.capture_exception(error, contexts=contexts, tags=tags,
                                                    fingerprint=fingerprint)
        return root.event_id

    def _report_cascade(self, root: Root, error: BaseException, key: str, contexts: dict[str, Any],
                        tags: dict[str, str]) -> str | None:
        """Count a cascade on its root's issue: a breadcrumb, a warning in that issue, one line here.

        With a fingerprint (a notebook with a known path) the warning joins the
        root's issue; without one Sentry's default grouping decides the root's
        issue, which we cannot address, so only the breadcrumb is recorded (later
        events carry it).
        """
        root.cascades += 1
        text = _sentence(error)
        where = f"cell {root.execution_count}" if root.execution_count is not None else "an earlier cell"
        telemetry = self._telemetry()
        data = {"cell": key, "name": missing_name(error), "root_cell": root.cell, "root_error": root.error,
                "root_event_id": root.event_id, "cascades": root.cascades}
        telemetry.add_breadcrumb(f"{text} (cascade of the {root.error} in {where})",
                                 category="notebook.cascade", level="warning", data=data)
        event_id = None
        if root.fingerprint:
            contexts["cascade"] = data
            event_id, _ = telemetry.capture_message(
                f"Cascade of {root.error}: {text}", level="warning", tags={**tags, "notebook.cascade": "yes"},
                contexts=contexts, fingerprint=root.fingerprint)
        reported = f" (event {root.event_id})" if root.event_id else ""
        print(f"sentry-ipy: {text} follows from the {root.error} in {where}{reported}; counted on that "
              "issue, not reported as a new one.", file=sys.stderr)
        return event_id

    def _python_source(self, raw: str) -> str:
        """The cell as Python (magics and ``!`` lines transformed), for parsing its names."""
        try:
            return str(self.shell.transform_cell(raw))
        except Exception:  # noqa: BLE001 - an untransformable cell has no names to offer
            return raw

    def reset(self) -> None:
        """Forget the cascade chain (a new kernel run)."""
        self.chain.clear()

    def _report_failure(self, exc: Exception) -> None:
        """Say once, in one line, that reporting fails; the traceback only with debug logging.

        The hook runs after every failing cell: a traceback (or even a line) each
        time would bury the user's own error under ours.
        """
        debug = log.isEnabledFor(logging.DEBUG)
        if debug:
            log.debug("sentry-ipy could not report the cell error", exc_info=exc)
        if self.failing:
            return
        self.failing = True
        print(f"sentry-ipy could not report this cell's error: {_sentence(exc)}; later failures are "
              "silent until it works again.", file=sys.stderr)

    def _context(self, result: Any) -> tuple[dict[str, Any], dict[str, str]]:
        info = getattr(result, "info", None)
        source = getattr(info, "raw_cell", None) or ""
        cell = {
            "execution_count": getattr(result, "execution_count", None),
            "cell_id": getattr(info, "cell_id", None),
            "source": source[:_MAX_SOURCE] + ("\n… [truncated]" if len(source) > _MAX_SOURCE else ""),
            "phase": "before_exec" if getattr(result, "error_before_exec", None) else "exec",
        }
        path = notebook_path(getattr(self.shell, "user_ns", {}) or {})
        kernel = {
            "python": sys.version.split()[0],
            "ipython": _version("IPython"),
            "implementation": platform.python_implementation(),
            "pid": os.getpid(),
            "shell": type(self.shell).__name__,
        }
        tags = {"notebook.cell": str(cell["execution_count"]),
                "mechanism": "notebook_cell"}
        if path:
            tags["notebook"] = os.path.basename(path)
        contexts = {"cell": cell, "notebook": {"path": path}, "kernel": kernel}
        if self.run is not None:
            contexts["run"] = self.run
            tags.update(self.run_tags)
        if cell["cell_id"]:
            tags["notebook.cell_id"] = str(cell["cell_id"])
        return contexts, tags


def _sentence(exc: BaseException) -> str:
    """The error as one scrubbed line without a trailing period."""
    from ..errors import SentryIpyError, error_line

    ours = isinstance(exc, SentryIpyError) or type(exc).__name__ == "UsageError"
    return error_line(exc, named=not ours, first_line=True).rstrip(".")


def _version(module: str) -> str | None:
    mod = sys.modules.get(module)
    return getattr(mod, "__version__", None)
