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

__all__ = ["CellCapture", "notebook_path"]

log = logging.getLogger("sentry_ipy.notebook")

_MAX_SOURCE = 4096
#: Exceptions that are the user's intent or our own one-line errors, not crashes.
_SKIP = ("KeyboardInterrupt", "UsageError", "SystemExit", "HelpShown")


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

    def __call__(self, result: Any) -> None:
        error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
        if error is None or not self.enabled or type(error).__name__ in _SKIP:
            return
        try:
            self.last_event_id = self._capture(error, *self._context(result))
        except Exception:  # never break the notebook because reporting failed
            log.warning("sentry-ipy could not report the cell error", exc_info=True)

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


def _version(module: str) -> str | None:
    mod = sys.modules.get(module)
    return getattr(mod, "__version__", None)
