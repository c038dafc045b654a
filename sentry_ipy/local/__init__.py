"""Embedded, Sentry-compatible local backend.

The local backend ingests what ``sentry-sdk`` sends (envelopes and the legacy
store endpoint) and answers the subset of the ``/api/0/`` Web API that the
sentry-ipy tools call, with Sentry's response shapes, backed by one SQLite file.
It lets notebooks, demos and tests work offline against a real HTTP server.

Importing this package loads only the standard library; Starlette and uvicorn
are imported when a server starts.

Example:
    >>> from sentry_ipy.local import LocalServer
    >>> with LocalServer(tmp_path) as srv:  # doctest: +SKIP
    ...     sentry_sdk.init(dsn=srv.dsn())
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._backend import LocalServer, default_data_dir
    from ._launcher import LOCAL_PORT, preferred_local_port, shared_local_server, start_local_server
    from ._tls import ca_environment
    from .store._store import Store

__all__ = ["LOCAL_PORT", "LocalServer", "Store", "ca_environment", "default_data_dir",
           "preferred_local_port", "shared_local_server", "start_local_server"]

_LAZY = {
    "LocalServer": "._backend",
    "default_data_dir": "._backend",
    "Store": ".store._store",
    "shared_local_server": "._launcher",
    "start_local_server": "._launcher",
    "LOCAL_PORT": "._launcher",
    "preferred_local_port": "._launcher",
    "ca_environment": "._tls",
}


def __getattr__(name: str) -> Any:
    """Import public names on first access so package import stays cheap."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
