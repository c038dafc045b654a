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
    """A ``post_run_cell`` callback that sends cell exceptions to Sentry.

    Args:
        shell: the IPython shell.
        capture: ``capture(exc, contexts, tags) -> event_id``; called only on error.
    """

    def __init__(self, shell: Any, capture: Callable[[BaseException, dict[str, Any], dict[str, str]], Any]) -> None:
        self.shell = shell
        self._capture = capture
        self.enabled = True
        self.last_event_id: str | None = None
        self.last_error: BaseException | None = None  # the exception last_event_id reports
        self.failing = False  # reporting failed and the user was told; quiet until it works

    def __call__(self, result: Any) -> None:
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if error is None or not self.enabled or not is_crash(error):
            return
        self.last_error, self.last_event_id = error, None
        try:
            self.last_event_id = self._capture(error, *self._context(result))
        except Exception as exc:  # noqa: BLE001 - never break the notebook because reporting failed
            self._report_failure(exc)
        else:
            self.failing = False

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
        return contexts, tags


def _sentence(exc: BaseException) -> str:
    """The error as one scrubbed line without a trailing period."""
    from ..errors import SentryIpyError, error_line

    ours = isinstance(exc, SentryIpyError) or type(exc).__name__ == "UsageError"
    return error_line(exc, named=not ours, first_line=True).rstrip(".")


def _version(module: str) -> str | None:
    mod = sys.modules.get(module)
    return getattr(mod, "__version__", None)
