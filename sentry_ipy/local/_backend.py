"""The :class:`LocalServer`: uvicorn in a daemon thread (or the foreground).

Only the standard library is imported at module level; Starlette and uvicorn
load in :meth:`LocalServer.start`, keeping ``%load_ext`` fast.

The listening socket is bound here, before uvicorn starts, and handed to it:
a taken port, a bad host or a port out of range then fails in the caller's
thread with one :class:`~sentry_ipy.errors.ConfigurationError` sentence (and
no race between choosing and binding), instead of uvicorn's exit code 3 from
a background thread. The server runs inside notebooks, so nothing it logs is
printed by default: the ``sentry_ipy.local`` and uvicorn loggers get a
``NullHandler`` and reach the user only through logging they configured.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from ..config import LOCAL_TOKEN_PREFIX
from ..errors import ConfigurationError
from .._hosts import is_loopback
from .store._store import Store

__all__ = ["LocalServer", "default_data_dir"]

DB_NAME = "local.sqlite3"
#: Sentry's own default event retention.
DEFAULT_RETENTION_DAYS = 90
#: How often a running server deletes what fell out of the retention period.
RETENTION_INTERVAL = 3600.0
TOKEN_FILE = "token"
_T = TypeVar("_T")


def default_data_dir() -> Path:
    """Return ``$SENTRY_IPY_DATA_DIR`` or the platform's user data directory."""
    env = os.environ.get("SENTRY_IPY_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("sentry-ipy"))


def _data_dir_error(data_dir: Path, exc: BaseException) -> ConfigurationError:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return ConfigurationError(
        f"The local backend cannot use its data folder {data_dir} ({reason}); make it a writable folder"
        " or point SENTRY_IPY_DATA_DIR (or data_dir=) somewhere else."
    )


def _bind(host: str, port: Any) -> socket.socket:
    """Bind the listening socket, or explain in one sentence why not.

    Raises:
        ConfigurationError: port out of range or taken, host not local.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigurationError(
            f"Port {port!r} is out of range; pass a number from 1 to 65535, or 0 to pick a free one."
        )
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise ConfigurationError(
            f"Cannot listen on host {host!r}: it is not an address or name this machine can resolve"
            f" ({getattr(exc, 'strerror', None) or exc}); use 127.0.0.1."
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":  # lets a restart reuse a port in TIME_WAIT; never a live listener's
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            message = f"Port {port} on {host} is in use; stop the other process or pass --port 0 to pick a free one."
        elif exc.errno in (errno.EACCES, errno.EPERM):
            message = f"Port {port} on {host} needs privileges to bind; use a port above 1023, or --port 0."
        elif exc.errno == errno.EADDRNOTAVAIL:
            message = f"Cannot listen on {host}: it is not an address of this machine; use 127.0.0.1."
        else:
            message = f"Cannot listen on {host}:{port} ({exc.strerror or exc}); pass another --host or --port."
        raise ConfigurationError(message) from None
    return sock


def _quiet_loggers() -> None:
    """Keep server logs out of notebook cells unless the user configured logging.

    With no handler anywhere, Python's last-resort handler prints warnings to
    stderr, which in a notebook lands in whatever cell runs. A ``NullHandler``
    stops that; records still propagate to handlers the user (or ``sentry-ipy
    local``) installed. sentry-sdk's logging integration is told to ignore the
    server's logger, so a server bug never becomes an event sent to itself.
    """
    for name in ("sentry_ipy.local", "uvicorn", "uvicorn.error", "uvicorn.access"):
        log = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
            log.addHandler(logging.NullHandler())
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    if "sentry_sdk" in sys.modules:
        try:
            from sentry_sdk.integrations.logging import ignore_logger

            ignore_logger("sentry_ipy.local")
        except ImportError:  # pragma: no cover - very old sentry-sdk
            pass


def _load_token(data_dir: Path, given: str | None) -> str:
    path = data_dir / TOKEN_FILE
    if given:
        token = given
    elif path.exists() and path.read_text().strip():
        return path.read_text().strip()
    else:
        token = LOCAL_TOKEN_PREFIX + secrets.token_hex(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token + "\n")
    os.chmod(path, 0o600)
    return token


class LocalServer:
    """An embedded Sentry-compatible backend on loopback.

    Args:
        data_dir: where ``local.sqlite3`` and ``token`` live; defaults to
            :func:`default_data_dir`.
        host: interface to bind; keep the default loopback address.
        port: TCP port; 0 picks a free one (read it back from :attr:`url`).
        token: bearer token for ``/api/0/``; persisted, generated if absent.
        workflows: False mimics an older self-hosted Sentry without the
            workflows/detectors API, so clients' fallback paths can be tested.
        retention_days: data older than this is deleted at start and hourly
            (Sentry's default, 90); 0 keeps everything.
        tls: serve https with a certificate from the data dir's own CA
            (:attr:`ca_path`; see :mod:`._tls`) instead of plain http.
        allowed_hosts: names besides loopback and ``host`` that requests may
            carry in ``Host`` (others are refused, against DNS rebinding; see
            :mod:`._guard`), e.g. the machine's name when bound to 0.0.0.0.
        web_token: the token of the web UI's link (:attr:`web_url`). By default one is
            generated when ``host`` is not loopback or ``allowed_hosts`` is given; pages
            then need it, except from loopback to a loopback name (see :mod:`._guard`).
    """

    org_slug = "local"

    def __init__(
        self,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        workflows: bool = True,
        request_log: bool = False,
        tls: bool = False,
        retention_days: float = DEFAULT_RETENTION_DAYS,
        allowed_hosts: Iterable[str] = (),
        web_token: str | None = None,
    ) -> None:
        if isinstance(retention_days, bool) or not isinstance(retention_days, (int, float)) or not retention_days >= 0:
            raise ConfigurationError(
                f"Retention of {retention_days!r} days is not a number of days; pass 90 (the default), any"
                " positive number, or 0 to keep everything."
            )
        self.retention_days = float(retention_days)
        self._retention_stop = threading.Event()
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise _data_dir_error(self.data_dir, NotADirectoryError(errno.ENOTDIR, "it is a file, not a folder"))
        self.host = host
        self.port = port
        self.workflows = workflows
        self.tls = tls
        self.allowed_hosts = tuple(allowed_hosts)
        if web_token is None and (self.allowed_hosts or not is_loopback(host)):
            web_token = secrets.token_urlsafe(24)
        self.web_token = web_token
        self._tls_files: Any = None
        self._given_token = token
        self._token: str | None = None
        self._store: Store | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._access_log = request_log
        self._log_handler: logging.Handler | None = None

    # -- properties -------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The SQLite store (opened on first access); has read helpers for tests.

        Raises:
            ConfigurationError: the data folder is a file, unwritable or unusable.
        """
        if self._store is None:
            self._store = self._in_data_dir(lambda: Store(self.data_dir / DB_NAME))
        return self._store

    @property
    def token(self) -> str:
        """The bearer token for the Web API (read from or written to ``data_dir/token``).

        Raises:
            ConfigurationError: the data folder is a file, unwritable or unusable.
        """
        if self._token is None:
            self._token = self._in_data_dir(lambda: _load_token(self.data_dir, self._given_token))
        return self._token

    def _in_data_dir(self, open_: Callable[[], _T]) -> _T:
        """Create the data folder if needed, then ``open_()`` something in it.

        Raises:
            ConfigurationError: the data folder is a file, unwritable or unusable.
        """
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return open_()
        except (OSError, sqlite3.Error) as exc:
            raise _data_dir_error(self.data_dir, exc) from None

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT``, ``https://`` with ``tls``), without ``/api/0``."""
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def web_url(self) -> str:
        """The web UI's address; with a :attr:`web_token`, the link that sets its cookie.

        It names the first allowed host (the name other machines use), else the bound
        address (loopback for a wildcard one).
        """
        base = self.url
        if self.allowed_hosts or self.host in ("0.0.0.0", "::", ""):
            name = self.allowed_hosts[0] if self.allowed_hosts else "127.0.0.1"
            base = f"{'https' if self.tls else 'http'}://{f'[{name}]' if ':' in name else name}:{self.port}"
        return f"{base}/?token={self.web_token}" if self.web_token else f"{base}/"

    @property
    def ca_path(self) -> Path | None:
        """The CA certificate clients must trust when ``tls`` is on (created on first access), else None.

        Raises:
            ConfigurationError: the data folder is a file, unwritable or unusable.
        """
        if not self.tls:
            return None
        if self._tls_files is None:
            from ._tls import ensure_certificate

            self._tls_files = self._in_data_dir(lambda: ensure_certificate(self.data_dir, self.host))
        return Path(self._tls_files.ca)

    def dsn(self, project_slug: str = "notebook") -> str:
        """Return the DSN of the project's first active key.

        Raises:
            KeyError: if the project does not exist or has no active key.
        """
        from .api._shapes import dsn

        project = self.store.project(1, project_slug)
        if project is None:
            raise KeyError(f"No project {project_slug!r} in the local org.")
        keys = self.store.keys(project["id"], active_only=True)
        if not keys:
            raise KeyError(f"Project {project_slug!r} has no active key.")
        return dsn(self.url, keys[0]["public_key"], int(project["id"]))

    # -- lifecycle --------------------------------------------------------------
    def _build(self) -> Any:
        import uvicorn

        from ._app import build_app
        from ._guard import allowed_host_names
        from .api._plumbing import Context

        _quiet_loggers()
        context = Context(store=self.store, token=self.token, workflows=self.workflows)
        app = build_app(context, allowed_host_names(self.host, self.allowed_hosts), web_token=self.web_token,
                        secure=self.tls)
        tls: dict[str, Any] = {}
        if self.ca_path is not None:
            tls = {"ssl_certfile": str(self._tls_files.cert), "ssl_keyfile": str(self._tls_files.key)}
        config = uvicorn.Config(
            app, host=self.host, port=self.port, log_level="info" if self._access_log else "warning",
            access_log=self._access_log,
            # C parser and loop (uvloop where it exists, else asyncio's): ingest's HTTP cost per event
            # was about half the server's CPU with h11 and asyncio's loop.
            http="httptools", loop="auto",
            lifespan="off", log_config=None, **tls,
        )
        server = uvicorn.Server(config)
        return server, context

    def start(self, timeout: float = 10.0) -> LocalServer:
        """Serve in a daemon thread and return once the socket is listening.

        Raises:
            ConfigurationError: the port is taken or out of range, the host is
                not local, or the data folder is unusable (one sentence each).
            RuntimeError: if the server does not start in time.
        """
        if self._thread is not None:
            return self
        sock = _bind(self.host, self.port)
        try:
            self._server, context = self._build()
        except BaseException:
            sock.close()
            raise
        if self._access_log and self._log_handler is None:
            self._log_handler = _log_requests_to_stderr()
        self.port = int(sock.getsockname()[1])

        def run() -> None:
            try:
                self._server.run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                self._error = exc
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name="sentry-ipy-local", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread.join(timeout=1)
                self._thread = None
                reason = repr(self._error) if self._error else "it exited or timed out"
                raise RuntimeError(f"Local Sentry server failed to start on {self.host}:{self.port} ({reason}).")
            time.sleep(0.01)
        context.url = self.url
        if self.retention_days:
            self._retention_stop.clear()
            threading.Thread(target=self._retain, name="sentry-ipy-local-retention", daemon=True).start()
        return self

    def purge(self) -> dict[str, int]:
        """Delete what is older than ``retention_days`` now; returns rows deleted per table.

        A running server does this at start and then hourly; 0 days keeps everything.
        """
        from .store._retention import purge_before

        if not self.retention_days:
            return {}
        return purge_before(self.store, time.time() - self.retention_days * 86400)

    def _retain(self) -> None:
        while not self._retention_stop.is_set():
            try:
                self.purge()
            except Exception:  # noqa: BLE001 - a failed cleanup must not stop the server; retried next hour
                logging.getLogger("sentry_ipy.local").warning("Retention cleanup failed", exc_info=True)
            self._retention_stop.wait(RETENTION_INTERVAL)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit, join its thread and close the database."""
        self._retention_stop.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self._thread = None
        self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._log_handler is not None:
            for name in _REQUEST_LOGGERS:
                logging.getLogger(name).removeHandler(self._log_handler)
            self._log_handler = None

    def serve_forever(self) -> None:
        """Run in the foreground until Ctrl-C, logging requests and errors to stderr.

        Call :meth:`start` first (with ``request_log=True``) to print something
        once the port is known; otherwise this starts the server itself.
        """
        if self._thread is None:
            self._access_log = True
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<LocalServer {self.url} data_dir={str(self.data_dir)!r} {state}>"


_REQUEST_LOGGERS = ("sentry_ipy.local", "uvicorn.access", "uvicorn.error")


def _log_requests_to_stderr() -> logging.Handler:
    """Send request and error logs to stderr (foreground ``sentry-ipy local``); undone by stop()."""
    handler = logging.StreamHandler(sys.stderr)
    for name in _REQUEST_LOGGERS:
        logging.getLogger(name).addHandler(handler)
    logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    return handler
