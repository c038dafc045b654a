"""The session-scoped ``bugsink`` fixture: one real Bugsink server per pytest session.

``tests/conftest.py`` imports it (``from tests._fixtures_bugsink import bugsink``).
Bugsink is installed by ``tests/setup_bugsink.sh`` (``tests/run.sh`` runs it) into
``$REPO/.venv-bugsink``, or the venv named by ``$SENTRY_IPY_BUGSINK_VENV``.
Without it the tests that use the fixture skip -- except under CI (``$CI`` set),
where they fail, so a broken setup can never pass as green.

Migrated databases are cached in ``.test-cache/bugsink-db-<version>`` so a
session starts the server in about a second instead of ~7 s.
Each test should make its own project: ``project_id, dsn = bugsink.create_project(name)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bugsink import BugsinkServer, bugsink_version, venv_ready

REPO = Path(__file__).resolve().parent.parent


def bugsink_venv() -> Path:
    return Path(os.environ.get("SENTRY_IPY_BUGSINK_VENV") or REPO / ".venv-bugsink")


@pytest.fixture(scope="session")
def bugsink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BugsinkServer]:
    venv = bugsink_venv()
    if not venv_ready(venv):
        message = f"Bugsink not installed: run tests/setup_bugsink.sh (tests/run.sh does this); looked in {venv}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} -- CI must not skip the Bugsink tests", pytrace=False)
        pytest.skip("Bugsink not installed: run tests/setup_bugsink.sh (tests/run.sh does this)")
    template = REPO / ".test-cache" / f"bugsink-db-{bugsink_version(venv)}"
    server = BugsinkServer(venv, tmp_path_factory.mktemp("bugsink"), template_dir=template)
    server.start()
    try:
        yield server
    finally:
        server.stop()
