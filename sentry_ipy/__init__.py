"""sentry-ipy: Sentry in Jupyter and IPython, and the same tools over MCP.

``%load_ext sentry_ipy`` loads the notebook face. Importing this package pulls
in only the standard library; httpx, pandas, sentry-sdk and mcp load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Settings",
    "ToolContext",
    "__version__",
    "load_ipython_extension",
    "run_tool",
    "unload_ipython_extension",
]

if TYPE_CHECKING:  # pragma: no cover
    from .config import Settings
    from .tools import ToolContext, run_tool

_LAZY = {"Settings": "sentry_ipy.config", "ToolContext": "sentry_ipy.tools",
         "run_tool": "sentry_ipy.tools"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'sentry_ipy' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%sentry*`` magics and notebook error capture (``%load_ext sentry_ipy``)."""
    from .notebook import load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """Undo :func:`load_ipython_extension` (``%unload_ext sentry_ipy``)."""
    from .notebook import unload

    unload(ipython)
