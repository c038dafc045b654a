"""Sentry's own clients against the local backend: where they are, how they run, what they see.

``tests/setup_sentry_clients.sh`` installs them, pinned, into ``.test-cache/``:
sentry-cli (PyPI), the npm ``sentry`` CLI and the official ``@sentry/mcp-server``.
Every run gets a private ``HOME``, telemetry and update checks off, and proxies
pointing at a closed loopback port, so a request that tried to leave the machine
fails instead of reaching the network. The backend is fresh per test module and
seeded through sentry-sdk the way an application would fill it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sentry_ipy.local import LocalServer
from tests._sdk import sending_to

__all__ = ["Seeded", "client_env", "need", "run_client", "seeded_backend", "SENTRY_CLI", "SENTRY_JS", "SENTRY_MCP"]

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".test-cache"
SENTRY_CLI = CACHE / "sentry-cli" / "bin" / "sentry-cli"
SENTRY_JS = CACHE / "sentry-clients" / "node_modules" / "sentry" / "dist" / "bin.cjs"
SENTRY_MCP = CACHE / "sentry-clients" / "node_modules" / "@sentry" / "mcp-server" / "dist" / "index.js"
#: Nothing listens on port 9 (discard) of loopback: a proxied request fails at once.
_DEAD_PROXY = "http://127.0.0.1:9"


def need(path: Path) -> None:
    """Skip (fail in CI) when a client is not installed."""
    if path.exists() and shutil.which("node"):
        return
    message = f"{path.relative_to(REPO)} missing: run tests/setup_sentry_clients.sh (tests/run.sh does)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Seeded:
    """A seeded backend and the IDs the seed produced."""

    srv: LocalServer
    home: Path
    trace_id: str
    error_event_id: str
    transaction_event_id: str
    ids: dict[str, Any] = field(default_factory=dict)


def client_env(srv: LocalServer, home: Path, **extra: str) -> dict[str, str]:
    """The environment a user would export for Sentry's clients, and nothing of ours."""
    env = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "SENTRY_URL": srv.url,
        "SENTRY_AUTH_TOKEN": srv.token,
        "SENTRY_ORG": "local",
        "SENTRY_PROJECT": "notebook",
        # sentry-cli and the npm CLI: no update checks, no telemetry
        "SENTRY_DISABLE_UPDATE_CHECK": "true",
        "SENTRY_CLI_NO_TELEMETRY": "1",
        "SENTRY_CLI_NO_UPDATE_CHECK": "1",
        "DO_NOT_TRACK": "1",
        "NO_COLOR": "1",
        "http_proxy": _DEAD_PROXY, "https_proxy": _DEAD_PROXY, "HTTP_PROXY": _DEAD_PROXY,
        "HTTPS_PROXY": _DEAD_PROXY, "no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
    }
    if srv.ca_path is not None:
        env.update({"NODE_EXTRA_CA_CERTS": str(srv.ca_path), "SSL_CERT_FILE": str(srv.ca_path)})
    env.update(extra)
    return env


def run_client(argv: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run one client command; stdout and stderr as text, never raising on a non-zero exit."""
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, cwd=env["HOME"])


def _wait(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def seeded_backend(tmp_path_factory: pytest.TempPathFactory, tls: bool = False) -> Iterator[Seeded]:
    """A fresh backend holding what one instrumented request of an app sends.

    One traced request ``GET /checkout`` (a ``db`` span inside) raised a
    ``ZeroDivisionError`` and logged a line; a warning message was captured
    outside the trace. User, tag, release and environment are set as an app
    would set them.
    """
    base = tmp_path_factory.mktemp("conformance")
    home = base / "home"
    home.mkdir()
    with LocalServer(base / "data", tls=tls) as srv:
        options: dict[str, Any] = {"release": "app@1.0.0", "environment": "production",
                                   "traces_sample_rate": 1.0, "enable_logs": True}
        if srv.ca_path is not None:
            options["ca_certs"] = str(srv.ca_path)
        import sentry_sdk

        with sending_to(srv.dsn(), **options) as scope:
            scope.set_user({"id": "u-1", "email": "ada@example.com"})
            scope.set_tag("feature", "checkout")
            with sentry_sdk.start_transaction(name="GET /checkout", op="http.server") as txn:
                with sentry_sdk.start_span(op="db", name="SELECT * FROM carts"):
                    pass
                sentry_sdk.logger.info("checkout started for {user}", user="u-1")
                try:
                    1 / 0  # noqa: B018 - the error the app reports
                except ZeroDivisionError as exc:
                    error_id = scope.capture_exception(exc)
                trace_id = txn.trace_id
            scope.capture_message("payment gateway slow", level="warning")
        txns = _wait(lambda: srv.store.transactions())
        assert txns and error_id, "the seed did not reach the backend"
        assert _wait(lambda: len(srv.store.events()) >= 2)
        yield Seeded(srv=srv, home=home, trace_id=trace_id, error_event_id=str(error_id),
                     transaction_event_id=str(txns[0]["event_id"]))
