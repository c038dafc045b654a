"""ToolContext: what a tool may use, built lazily so unused parts cost nothing.

A context holds the settings and creates, on first use, the Web API client,
the telemetry handle and (when no Sentry is configured) the embedded local
backend. The notebook keeps one context per kernel, the MCP server one per
process.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import ConfigurationError, SentryIpyError, error_line

if TYPE_CHECKING:  # pragma: no cover
    from ..api import SentryClient
    from ..local import LocalServer
    from ..telemetry import Telemetry

__all__ = ["LOCAL_PORT", "Progress", "ToolContext", "preferred_local_port", "shared_local_server",
           "start_local_server"]

#: The embedded backend's usual port (``sentry-ipy local``'s default).
LOCAL_PORT = 9000

#: ``progress(done, total_or_None, message)``: called by long tools between pages.
Progress = Callable[[int, "int | None", str], None]

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
    from ..local import LocalServer
    from ..local._backend import DEFAULT_RETENTION_DAYS

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


class ToolContext:
    """The services a tool call may use.

    Args:
        settings: resolved settings; ``Settings.resolve()`` when omitted.
        progress: optional callback for long fetches.
        local_server: an already running local backend to use instead of the shared one.
        fetch_all: list tools fetch every page unless the call gives a ``limit``
            (the notebook and Python, where a frame must hold all of the data); the
            MCP server turns it off, so a model gets the tool's compact default.
        local_port: the port to try first when this context starts the shared
            backend (the MCP server passes :func:`preferred_local_port`); 0: any.
    """

    def __init__(self, settings: Settings | None = None, *, progress: Progress | None = None,
                 local_server: LocalServer | None = None, fetch_all: bool = True,
                 local_port: int = 0) -> None:
        self.settings = settings if settings is not None else Settings.resolve()
        self.progress: Progress = progress or _no_progress
        self.fetch_all = fetch_all
        self.local_port = local_port
        self._local = local_server
        self._api: SentryClient | None = None
        self._telemetry: Telemetry | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ToolContext({self.settings!r})"

    @property
    def local_server(self) -> LocalServer | None:
        """The local backend in use, started on demand; ``None`` when Sentry is configured.

        Raises:
            ConfigurationError: the backend cannot start (bad data dir, port taken).
        """
        if not self.settings.uses_local_backend:
            return None
        if self._local is None:
            self._local = shared_local_server(self.local_port)
        return self._local

    @property
    def running_local_server(self) -> LocalServer | None:
        """The local backend this context already uses, if any; never starts one."""
        return self._local

    @property
    def telemetry_in_use(self) -> Telemetry | None:
        """The sentry-sdk handle if a call created it; never creates one."""
        return self._telemetry

    def row_limit(self, params: Any) -> int | None:
        """The ``limit`` a list tool pages to: the caller's, else ``None`` (all) when fetching all.

        A limit the caller left out is the schema's default (50 events, 100 issues)
        only where :attr:`fetch_all` is off (MCP); a frame otherwise holds every row.
        """
        limit = getattr(params, "limit", None)
        if self.fetch_all and "limit" not in params.model_fields_set:
            return None
        return limit

    def effective_settings(self) -> Settings:
        """Settings with the local backend's URL, token, org, project and DSN filled in."""
        srv = self.local_server
        if srv is None:
            return self.settings
        s = self.settings
        return Settings(**{**_fields(s), "url": srv.url, "auth_token": srv.token,
                           "org": s.org or srv.org_slug, "project": s.project or "notebook",
                           "dsn": s.dsn or srv.dsn(s.project or "notebook")})

    def api(self) -> SentryClient:
        """The Web API client, created on first use."""
        with self._lock:
            if self._api is None:
                from ..api import SentryClient

                self._api = SentryClient(self.effective_settings())
            return self._api

    def telemetry(self) -> Telemetry:
        """The sentry-sdk handle, initialised on first use."""
        with self._lock:
            if self._telemetry is None:
                from ..telemetry import Telemetry

                self._telemetry = Telemetry(self.effective_settings())
            return self._telemetry

    def settle(self, timeout: float = 2.0) -> None:
        """Deliver queued events before a read, so a capture shows up in the next listing.

        Costs nothing when telemetry was never used or its queue is empty.
        """
        if self._telemetry is not None:
            self._telemetry.flush(timeout)

    def close(self) -> None:
        """Release the HTTP client; the shared local backend keeps running."""
        if self._api is not None:
            self._api.close()
            self._api = None


def _fields(s: Settings) -> dict[str, Any]:
    import dataclasses

    return {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}


def _no_progress(done: int, total: int | None, message: str) -> None:
    return None
