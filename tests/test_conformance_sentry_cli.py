"""sentry-cli (PyPI ``sentry-cli``, pinned in tests/setup_sentry_clients.sh) against the local backend.

Each command runs as a user would run it (``SENTRY_URL``, ``SENTRY_AUTH_TOKEN``,
``SENTRY_ORG``, ``SENTRY_PROJECT`` exported, a private ``HOME``, no update
check) and the test reads what it printed, not only its exit code.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from tests._conformance import SENTRY_CLI, Seeded, client_env, need, run_client, seeded_backend

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    yield from seeded_backend(tmp_path_factory)


def cli(seeded: Seeded, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    need(SENTRY_CLI)
    env = client_env(seeded.srv, seeded.home, SENTRY_DSN=seeded.srv.dsn())
    proc = run_client([str(SENTRY_CLI), *args], env)
    if ok:
        assert proc.returncode == 0, f"sentry-cli {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_send_event_and_envelope_are_stored(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> None:
    cli(seeded, "send-event", "-m", "sent by sentry-cli", "--tag", "via:cli")
    envelope = tmp_path_factory.mktemp("envelope") / "one.envelope"
    event = {"event_id": "4c1f5fd4c19d4b1a8e0c3a4b7a5b9f01", "message": "envelope from sentry-cli", "level": "error"}
    envelope.write_text(json.dumps({"event_id": event["event_id"]}) + "\n"
                        + json.dumps({"type": "event"}) + "\n" + json.dumps(event) + "\n")
    cli(seeded, "send-envelope", str(envelope))
    stored = json.dumps(seeded.srv.store.events())
    assert "sent by sentry-cli" in stored and "envelope from sentry-cli" in stored
    listed = cli(seeded, "events", "list").stdout
    assert "sent by sentry-cli" in listed and "ZeroDivisionError: division by zero" in listed


def test_organizations_and_projects_list(seeded: Seeded) -> None:
    orgs = cli(seeded, "organizations", "list").stdout
    assert "| 1  | Local | local |" in orgs
    projects = cli(seeded, "projects", "list").stdout
    assert "| notebook |" in projects and "Local" in projects


def test_release_new_list_info(seeded: Seeded) -> None:
    assert "Created release cli@2.0.0" in cli(seeded, "releases", "new", "cli@2.0.0").stdout
    listed = cli(seeded, "releases", "list").stdout
    assert "cli@2.0.0" in listed and "app@1.0.0" in listed
    info = cli(seeded, "releases", "info", "cli@2.0.0").stdout
    assert "cli@2.0.0" in info


def test_info_shows_the_token_scopes(seeded: Seeded) -> None:
    out = cli(seeded, "info").stdout
    assert f"Sentry Server: {seeded.srv.url}" in out
    assert "Default Organization: local" in out and "Default Project: notebook" in out
    assert "Method: Auth Token" in out
    assert "project:releases" in out and "event:write" in out  # the scopes /api/0/ reported


def test_issues_list_resolve_unresolve_mute(seeded: Seeded) -> None:
    listed = cli(seeded, "issues", "list").stdout
    assert "ZeroDivisionError: division by zero" in listed and "payment gateway slow" in listed
    store = seeded.srv.store

    def statuses() -> set[str]:
        return {i["status"] for i in store.issues()}

    cli(seeded, "issues", "resolve", "-a")
    assert statuses() == {"resolved"}
    rows = [line for line in cli(seeded, "issues", "list").stdout.splitlines() if "ZeroDivisionError" in line]
    assert len(rows) == 1 and "| resolved |" in rows[0]  # sentry-cli sends query= (every status)
    cli(seeded, "issues", "unresolve", "-s", "resolved")
    assert statuses() == {"unresolved"}
    first = min(int(i["id"]) for i in store.issues())
    cli(seeded, "issues", "mute", "-i", str(first))
    assert {int(i["id"]): i["status"] for i in store.issues()}[first] == "ignored"
    cli(seeded, "issues", "unresolve", "-i", str(first))
    assert statuses() == {"unresolved"}


def test_release_finalize_deploys_delete(seeded: Seeded) -> None:
    cli(seeded, "releases", "new", "cli@3.0.0")
    assert "Finalized release cli@3.0.0" in cli(seeded, "releases", "finalize", "cli@3.0.0").stdout
    release = seeded.srv.store.release(1, "cli@3.0.0")
    assert release is not None and release["date_released"] is not None
    assert "(unreleased)" not in [line for line in cli(seeded, "releases", "list").stdout.splitlines()
                                   if "cli@3.0.0" in line][0]
    out = cli(seeded, "deploys", "new", "-r", "cli@3.0.0", "-e", "staging", "-n", "canary").stdout
    assert "Created new deploy canary for 'staging'" in out
    listed = cli(seeded, "deploys", "list", "-r", "cli@3.0.0").stdout
    assert "staging" in listed and "canary" in listed
    assert "Deleted release cli@3.0.0" in cli(seeded, "releases", "delete", "cli@3.0.0").stdout
    assert seeded.srv.store.release(1, "cli@3.0.0") is None
    refused = cli(seeded, "releases", "delete", "app@1.0.0", ok=False)  # issues started in it
    assert refused.returncode != 0 and "referenced by active issues" in refused.stderr


def test_monitors_list_is_empty_not_missing(seeded: Seeded) -> None:
    proc = cli(seeded, "monitors", "list")  # sentry-cli prints nothing for an empty list
    assert (proc.stdout, proc.stderr) == ("", "")


def test_logs_list_shows_sdk_logs(seeded: Seeded) -> None:
    out = cli(seeded, "logs", "list").stdout
    rows = [line for line in out.splitlines() if "checkout started for u-1" in line]
    assert len(rows) == 1 and seeded.trace_id in rows[0] and "info" in rows[0].lower()
