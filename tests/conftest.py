"""Shared fixtures: an isolated environment, a real local backend on loopback, tool contexts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

try:  # the Bugsink fixture module may be absent while it is being written
    from tests._fixtures_bugsink import bugsink  # noqa: F401  (session fixture)
except ImportError:  # pragma: no cover
    pass

from sentry_ipy.config import SETTINGS

#: Every environment variable a setting reads (config.SETTINGS is the one list).
_SENTRY_ENV = tuple(e for s in SETTINGS for e in s.env)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's Sentry settings or ~/.sentryclirc."""
    for key in _SENTRY_ENV:
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SENTRY_IPY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SENTRY_IPY_LOCAL_PORT", "0")  # tests bind ephemeral ports only
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator["LocalServer"]:
    """One embedded backend for the session, on a free loopback port."""
    from sentry_ipy.local import LocalServer

    srv = LocalServer(tmp_path_factory.mktemp("local-backend")).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture()
def srv(tmp_path: Path) -> Iterator["LocalServer"]:
    """An embedded backend of this test's own (fresh store in ``tmp_path / "data"``)."""
    from sentry_ipy.local import LocalServer

    with LocalServer(tmp_path / "data") as server:
        yield server


@pytest.fixture()
def api(srv: "LocalServer") -> Iterator[httpx.Client]:
    """An httpx client for ``srv``'s Web API (``/api/0/``), with its bearer token."""
    with httpx.Client(base_url=srv.url + "/api/0/", headers={"Authorization": f"Bearer {srv.token}"}) as client:
        yield client


@pytest.fixture()
def ctx(local_server: "LocalServer") -> Iterator["ToolContext"]:
    """A tool context with no Sentry configured, so it uses the local backend (as a new user would)."""
    from sentry_ipy.config import Settings
    from sentry_ipy.tools import ToolContext

    context = ToolContext(Settings.resolve(), local_server=local_server)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture(scope="module")
def tctx(local_server: "LocalServer") -> Iterator["ToolContext"]:
    """A module-wide tool context on the local backend: plain ``Settings()``, no Sentry configured.

    For modules whose module fixtures seed a project once and whose tests then read it back.
    """
    from sentry_ipy.config import Settings
    from sentry_ipy.tools import ToolContext

    context = ToolContext(Settings(), local_server=local_server)
    try:
        yield context
    finally:
        context.close()


if os.environ.get("TYPE_CHECKING_ONLY"):  # pragma: no cover
    from sentry_ipy.local import LocalServer
    from sentry_ipy.tools import ToolContext
