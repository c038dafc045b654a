"""The :class:`LocalServer`: uvicorn in a daemon thread (or the foreground).

Only the standard library is imported at module level; Starlette and uvicorn
load in :meth:`LocalServer.start`, keeping ``%load_ext`` fast.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from ._store import Store

__all__ = ["LocalServer", "default_data_dir"]

DB_NAME = "local.sqlite3"
TOKEN_FILE = "token"


def default_data_dir() -> Path:
    """Return ``$SENTRY_IPY_DATA_DIR`` or the platform's user data directory."""
    env = os.environ.get("SENTRY_IPY_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("sentry-ipy"))


def _load_token(data_dir: Path, given: str | None) -> str:
    path = data_dir / TOKEN_FILE
    if given:
        token = given
    elif path.exists() and path.read_text().strip():
        return path.read_text().strip()
    else:
        token = "sntrys_local_" + secrets.token_hex(24)
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
    """

    org_slug = "local"

    def __init__(
        self,
        data_dir: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        workflows: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
        self.host = host
        self.port = port
        self.workflows = workflows
        self._given_token = token
        self._token: str | None = None
        self._store: Store | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # -- properties -------------------------------------------------------------
    @property
    def store(self) -> Store:
        """The SQLite store (opened on first access); has read helpers for tests."""
        if self._store is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._store = Store(self.data_dir / DB_NAME)
        return self._store

    @property
    def token(self) -> str:
        """The bearer token for the Web API (read from or written to ``data_dir/token``)."""
        if self._token is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._token = _load_token(self.data_dir, self._given_token)
        return self._token

    @property
    def url(self) -> str:
        """Base URL (``http://127.0.0.1:PORT``), without ``/api/0``."""
        return f"http://{self.host}:{self.port}"

    def dsn(self, project_slug: str = "notebook") -> str:
        """Return the DSN of the project's first active key.

        Raises:
            KeyError: if the project does not exist or has no active key.
        """
        from ._shapes import dsn

        project = self.store.project(1, project_slug)
        if project is None:
            raise KeyError(f"No project {project_slug!r} in the local org.")
        keys = self.store.keys(project["id"], active_only=True)
        if not keys:
            raise KeyError(f"Project {project_slug!r} has no active key.")
        return dsn(self.url, keys[0]["public_key"], int(project["id"]))

    # -- lifecycle --------------------------------------------------------------
    def _build(self) -> Any:
        import logging

        import uvicorn

        from ._app import build_app
        from ._http import Context

        context = Context(store=self.store, token=self.token, workflows=self.workflows)
        app = build_app(context)
        config = uvicorn.Config(
            app, host=self.host, port=self.port, log_level="warning", access_log=False,
            lifespan="off", log_config=None,
        )
        logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
        server = uvicorn.Server(config)
        return server, context

    def _bound_port(self) -> int:
        for srv in getattr(self._server, "servers", []) or []:
            for sock in srv.sockets:
                return int(sock.getsockname()[1])
        return self.port

    def start(self, timeout: float = 10.0) -> LocalServer:
        """Serve in a daemon thread and return once the socket is listening.

        Raises:
            RuntimeError: if the server cannot bind or does not start in time.
        """
        if self._thread is not None:
            return self
        self._server, context = self._build()

        def run() -> None:
            try:
                self._server.run()
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                self._error = exc

        self._thread = threading.Thread(target=run, name="sentry-ipy-local", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread.join(timeout=1)
                self._thread = None
                reason = self._error or "the server exited (is the port already in use?)"
                raise RuntimeError(f"Local Sentry server failed to start on {self.host}:{self.port}: {reason}")
            time.sleep(0.01)
        self.port = self._bound_port()
        context.url = self.url
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit, join its thread and close the database."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self._thread = None
        self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def serve_forever(self) -> None:
        """Run in the foreground until Ctrl-C (used by ``sentry-ipy local``)."""
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
