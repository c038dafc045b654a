"""getsentry's newer npm ``sentry`` CLI (pinned in tests/setup_sentry_clients.sh) against the local backend.

Run as a user would (``SENTRY_URL``/``SENTRY_AUTH_TOKEN``/``SENTRY_ORG``/
``SENTRY_PROJECT``, private ``HOME``, ``SENTRY_CLI_NO_TELEMETRY=1``,
``DO_NOT_TRACK=1``, ``SENTRY_CLI_NO_UPDATE_CHECK=1``); the test reads what each
command printed. Out of scope: ``status`` (asks a public status page),
``issue explain``/``plan`` (Seer, Sentry's AI), ``docs`` and ``init`` (the
network), ``auth login`` (OAuth on sentry.io).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from tests._conformance import SENTRY_JS, Seeded, client_env, need, run_client, seeded_backend

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    yield from seeded_backend(tmp_path_factory)


def sentry(seeded: Seeded, *args: str) -> subprocess.CompletedProcess[str]:
    need(SENTRY_JS)
    proc = run_client(["node", str(SENTRY_JS), *args], client_env(seeded.srv, seeded.home))
    assert proc.returncode == 0, f"sentry {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def as_json(seeded: Seeded, *args: str) -> Any:
    return json.loads(sentry(seeded, *args, "--json").stdout)


def test_info_verifies_the_token(seeded: Seeded) -> None:
    out = sentry(seeded, "info").stdout
    assert f"Sentry Server: {seeded.srv.url}" in out
    assert "Verified: yes" in out and "User: local@localhost" in out


def test_org_project_team_dsn_lists(seeded: Seeded) -> None:
    assert "│ local │ Local │" in sentry(seeded, "org", "list").stdout
    assert "│ local │ notebook │ notebook │ python   │" in sentry(seeded, "project", "list").stdout
    assert "│ local │ local │ Local │" in sentry(seeded, "team", "list", "local/").stdout
    assert seeded.srv.dsn() in sentry(seeded, "dsn", "list", "local/notebook").stdout


def test_issue_list_view_events_tags_resolve(seeded: Seeded) -> None:
    listed = as_json(seeded, "issue", "list", "local/notebook")
    issues = listed["data"] if isinstance(listed, dict) else listed
    assert {(i["shortId"], i["title"]) for i in issues} == {
        ("NOTEBOOK-1", "ZeroDivisionError: division by zero"), ("NOTEBOOK-2", "payment gateway slow")}
    view = sentry(seeded, "issue", "view", "NOTEBOOK-1").stdout
    assert "ZeroDivisionError: division by zero" in view and "Unresolved" in view
    events = sentry(seeded, "issue", "events", "NOTEBOOK-1").stdout
    assert seeded.error_event_id in events and "ada@example.com" in events
    tags = sentry(seeded, "issue", "tags", "NOTEBOOK-1", "feature").stdout
    assert "│ checkout │      1 │ 100.0% │" in tags
    assert "Resolved" in sentry(seeded, "issue", "resolve", "NOTEBOOK-2").stdout
    assert seeded.srv.store.issues()[1]["status"] == "resolved"


def test_release_create_finalize_deploy_view_list(seeded: Seeded) -> None:
    created = sentry(seeded, "release", "create", "local/js@2.0.0", "--project", "notebook").stdout
    assert "Release Created: js@2.0.0" in created and "Unreleased" in created
    assert "Finalized" in sentry(seeded, "release", "finalize", "local/js@2.0.0").stdout
    deploy = sentry(seeded, "release", "deploy", "local/js@2.0.0", "production").stdout
    assert "Deploy Created" in deploy and "production" in deploy
    view = sentry(seeded, "release", "view", "local/js@2.0.0").stdout
    assert "Finalized" in view and "production (0m ago)" in view
    listed = as_json(seeded, "release", "list", "local/")
    versions = {r["version"] for r in (listed["data"] if isinstance(listed, dict) else listed)}
    assert {"js@2.0.0", "app@1.0.0"} <= versions


def test_trace_list_and_view(seeded: Seeded) -> None:
    listed = sentry(seeded, "trace", "list", "local/notebook").stdout
    assert seeded.trace_id in listed and "GET /checkout" in listed
    view = sentry(seeded, "trace", "view", f"local/{seeded.trace_id}").stdout
    assert "[http.server] GET /checkout" in view
    assert "db — SELECT * FROM carts" in view  # the child span, under its transaction


def test_span_and_log_lists_and_explore(seeded: Seeded) -> None:
    spans = sentry(seeded, "span", "list", "local/notebook").stdout
    assert "Showing 2 spans" in spans and seeded.trace_id in spans
    logs = sentry(seeded, "log", "list", "local/notebook").stdout
    assert "checkout started for u-1" in logs and "INFO" in logs
    explored = sentry(seeded, "explore", "--dataset", "transactions", "local/notebook").stdout
    assert "GET /checkout" in explored and "Showing 1 result" in explored


def test_lists_of_absent_features_are_empty(seeded: Seeded) -> None:
    assert "No dashboards found." in sentry(seeded, "dashboard", "list", "local/").stdout
    assert "No replays found." in sentry(seeded, "replay", "list", "local/notebook").stdout
    assert "No issue alert rules found." in sentry(seeded, "alert", "issues", "list", "local/").stdout
