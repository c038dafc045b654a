"""A real IPython shell with the sentry_ipy extension loaded, for the notebook-face tests.

Import the fixture into a test module (``from tests._shell import ip``): ``ip`` is
the global InteractiveShell with the extension loaded, pointed by environment at
the session's local backend (``local_server``), DSN included. Fixtures that need
a differently set-up shell build it from ``point_at`` and ``loaded_shell``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

__all__ = ["ip", "loaded_shell", "point_at"]


def point_at(monkeypatch: pytest.MonkeyPatch, local_server: Any, *, dsn: bool = True) -> None:
    """Point the extension at ``local_server`` by env: its URL, token and org, project ``notebook``.

    With ``dsn``, SENTRY_DSN too, so the extension's own error reporting goes there as well.
    """
    monkeypatch.setenv("SENTRY_URL", local_server.url)
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", local_server.token)
    monkeypatch.setenv("SENTRY_ORG", local_server.org_slug)
    monkeypatch.setenv("SENTRY_PROJECT", "notebook")
    if dsn:
        monkeypatch.setenv("SENTRY_DSN", local_server.dsn())


@contextmanager
def loaded_shell() -> Iterator[Any]:
    """The global InteractiveShell with sentry_ipy loaded for this block (unloaded after)."""
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()
    shell.run_line_magic("load_ext", "sentry_ipy")
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "sentry_ipy")


@pytest.fixture()
def ip(local_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real InteractiveShell with the extension loaded, pointed at the local backend by env."""
    from tests._sdk import reset_sdk

    point_at(monkeypatch, local_server)
    try:
        with loaded_shell() as shell:
            yield shell
    finally:
        # Not a bare sentry_sdk.init(): that would switch on sentry-sdk's default integrations,
        # whose MCP integration patches the mcp package for every later test in the process.
        reset_sdk()
