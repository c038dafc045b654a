"""The Bugsink fixture works: raw sentry-sdk events reach a real independent server
and come back through the helper with their tags, user and breadcrumbs."""

from __future__ import annotations

import uuid

import pytest
import sentry_sdk

from tests._sdk import sending_to
from tests.bugsink import BugsinkError, BugsinkServer

pytestmark = pytest.mark.bugsink


def test_message_and_exception_round_trip(bugsink: BugsinkServer) -> None:
    project_id, dsn = bugsink.create_project(f"round-trip-{uuid.uuid4().hex[:8]}")
    assert dsn.startswith("http://") and dsn.endswith(f"@127.0.0.1:{bugsink.port}/{project_id}")

    with sending_to(dsn, release="fixture@1.0", environment="bugsink-test") as scope:
        with sentry_sdk.isolation_scope():
            sentry_sdk.set_tag("fixture", "message")
            message_id = sentry_sdk.capture_message("hello from the bugsink fixture")
        with sentry_sdk.isolation_scope():
            sentry_sdk.set_user({"id": "u-42", "email": "ada@example.com"})
            sentry_sdk.add_breadcrumb(category="test", message="about to divide", level="info")
            try:
                1 / 0  # noqa: B018
            except ZeroDivisionError as exc:
                exception_id = sentry_sdk.capture_exception(exc)
        assert scope.client.is_active()
    assert message_id and exception_id
    assert not sentry_sdk.get_client().is_active()  # nothing leaked into global state

    issues = bugsink.issues(project_id)
    by_type = {issue["calculated_type"]: issue for issue in issues}
    assert set(by_type) == {"Log Message", "ZeroDivisionError"}
    assert by_type["Log Message"]["calculated_value"] == "hello from the bugsink fixture"
    assert by_type["ZeroDivisionError"]["calculated_value"] == "division by zero"
    assert by_type["ZeroDivisionError"]["events_at"] == ["fixture@1.0"]

    # The message: listed without payload, fetched by pk with it.
    [row] = bugsink.events(by_type["Log Message"]["id"])
    assert "data" not in row
    assert uuid.UUID(row["event_id"]).hex == message_id
    message = bugsink.event(row["id"])["data"]
    assert message["message"] == "hello from the bugsink fixture"
    assert message["tags"] == {"fixture": "message"}
    assert message["release"] == "fixture@1.0"
    assert message["environment"] == "bugsink-test"
    assert "user" not in message or not message["user"]

    # The exception: looked up by the SDK's event id (hex and dashed both work).
    looked_up = bugsink.lookup_event(project_id, exception_id)
    assert looked_up == bugsink.lookup_event(project_id, str(uuid.UUID(exception_id)))
    assert looked_up == bugsink.event(exception_id)  # event() resolves SDK ids too
    data = looked_up["data"]
    assert data["user"] == {"id": "u-42", "email": "ada@example.com"}
    crumbs = data["breadcrumbs"]["values"]
    assert [(c["category"], c["message"]) for c in crumbs] == [("test", "about to divide")]
    [exc_value] = data["exception"]["values"]
    assert exc_value["type"] == "ZeroDivisionError"
    assert "fixture" not in data.get("tags", {})  # scopes stayed separate

    with pytest.raises(BugsinkError, match="404"):
        bugsink.lookup_event(project_id, uuid.uuid4().hex)


def test_all_pages_are_read(bugsink: BugsinkServer) -> None:
    """Bugsink pages at 250 rows; the helper follows ``next`` to the end."""
    project_id, dsn = bugsink.create_project(f"pages-{uuid.uuid4().hex[:8]}")
    count = 260
    with sending_to(dsn, transport_queue_size=1000) as scope:
        for i in range(count):
            sentry_sdk.capture_message(f"same message number {i}")  # numbers group together
            if i % 50 == 49:
                scope.client.flush(timeout=30)

    [issue] = bugsink.issues(project_id)
    assert issue["digested_event_count"] == count
    events = bugsink.events(issue["id"])
    assert len(events) == count
    assert len({e["id"] for e in events}) == count
    ascending = bugsink.events(issue["id"], order="asc")
    assert [e["id"] for e in ascending] == [e["id"] for e in reversed(events)]


def test_server_facts(bugsink: BugsinkServer) -> None:
    assert bugsink.base_url.startswith("http://127.0.0.1:")
    assert len(bugsink.token) == 40
    resp = bugsink.http.get("projects/", headers={"Authorization": ""})
    assert resp.status_code in (401, 403)
    with pytest.raises(BugsinkError, match="unique"):
        bugsink.create_project("dup")
        bugsink.create_project("dup")
