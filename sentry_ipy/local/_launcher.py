"""Starting the embedded backend for a face: one sentence on failure, one shared instance.

The CLI (``sentry-ipy local``, ``doctor``, ``demo``), the MCP server and every
``ToolContext`` without a configured Sentry start the backend through
:func:`start_local_server` or :func:`shared_local_server`, so each face can show
one sentence instead of a traceback whatever went wrong.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigurationError, SentryIpyError, error_line

if TYPE_CHECKING:  # pragma: no cover
    from ._backend import LocalServer

__all__ = ["LOCAL_PORT", "preferred_local_port", "shared_local_server", "start_local_server"]

#: The embedded backend's usual port (``sentry-ipy local``'s default).
LOCAL_PORT = 9000

_LOCAL_LOCK = threading.Lock()
_LOCAL: LocalServer | None = None


def start_local_server(data_dir: Path | str | None = None, *, host: str = "127.0.0.1",
                       port: int = 0, request_log: bool = False, tls: bool = False,
                       retention_days: float | None = None, allowed_hosts: tuple[str, ...] = ()) -> LocalServer:
    """Create and start an embedded backend; any failure becomes one ``ConfigurationError``.

    Every face starts the backend through here, so each can show one sentence
    (CLI line, ``UsageError``, MCP ``isError`` result) instead of a traceback,
    whatever went wrong: the data dir is a file or read-only, the port is
    taken, SQLite refused the database.

    Raises:
        ConfigurationError: naming the data dir and address, and what to change.
    """
    from ._backend import DEFAULT_RETENTION_DAYS, LocalServer

    where = f"{host}:{port}" if port else host
    fix = ("choose a writable --data-dir" if data_dir is not None
           else "point SENTRY_IPY_DATA_DIR at a writable folder")
    folder: object = data_dir if data_dir is not None else "the default data dir"
    server: LocalServer | None = None
    try:
        server = LocalServer(data_dir, host=host, port=port, request_log=request_log, tls=tls,
                             retention_days=DEFAULT_RETENTION_DAYS if retention_days is None else retention_days,
                             allowed_hosts=allowed_hosts)
        folder = getattr(server, "data_dir", folder)
        return server.start()
    except Exception as exc:  # noqa: BLE001 - translated for every face
        if server is not None:
            with contextlib.suppress(Exception):
                server.stop()  # close a database the failed start may have opened
        if isinstance(exc, SentryIpyError):
            raise
        raise ConfigurationError(
            f"The embedded local backend could not start with data dir {folder} on {where} "
            f"({_reason(exc)}); {fix}"
            f"{', or pick another port' if port else ''}, or set SENTRY_URL and SENTRY_AUTH_TOKEN "
            "to use a real Sentry.") from exc


def _reason(exc: BaseException) -> str:
    """One line saying what failed, without the traceback."""
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename:
        return f"{exc.filename} is a file, not a folder"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return error_line(exc, first_line=True)


def preferred_local_port() -> int:
    """The port an MCP server's own backend tries first: ``$SENTRY_IPY_LOCAL_PORT``, else 9000.

    Links in MCP answers name the backend's address; on the usual port they keep
    working after the server exits, once ``sentry-ipy local`` serves the same data
    dir there. ``0`` means any free port (what the tests use).
    """
    raw = os.environ.get("SENTRY_IPY_LOCAL_PORT", "").strip()
    return int(raw) if raw.isdigit() else LOCAL_PORT


def shared_local_server(prefer_port: int = 0) -> LocalServer:
    """Start (once per process) and return the embedded backend on its default data dir.

    Args:
        prefer_port: a port to try first; when it is taken, any free port is used.

    Raises:
        ConfigurationError: it cannot start (see :func:`start_local_server`);
            the next call tries again.
    """
    global _LOCAL
    with _LOCAL_LOCK:
        if _LOCAL is None:
            server = None
            if prefer_port and _port_free(prefer_port):
                with contextlib.suppress(ConfigurationError):  # taken meanwhile: any port will do
                    server = start_local_server(port=prefer_port)
            _LOCAL = server or start_local_server()
        return _LOCAL


def _port_free(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True
