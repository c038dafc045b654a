"""ToolContext: what a tool may use, built lazily so unused parts cost nothing.

A context holds the settings and creates, on first use, the Web API client,
the telemetry handle and (when no Sentry is configured) the embedded local
backend. The notebook keeps one context per kernel, the MCP server one per
process.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .._types import Progress
from ..config import Settings

if TYPE_CHECKING:  # pragma: no cover
    from ..api import SentryClient
    from ..local import LocalServer
    from ..telemetry import Telemetry

__all__ = ["Progress", "ToolContext"]



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
            from ..local import shared_local_server

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
