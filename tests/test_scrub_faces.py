"""What any SDK stored reaches no model, notebook or page unscrubbed.

We scrub the events we send, but a backend also holds events from other SDKs that
scrub nothing. Such an event is posted here as raw JSON (no sentry-sdk in between),
with secrets in its message, a tag, a frame variable, a request header and extra
data; every face that shows it (MCP text and structured content, the notebook's
DataFrame, the local web UI) must show ``[Filtered]`` instead, and serve the next
request as usual.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from mcp import Client

from sentry_ipy.config import Settings
from sentry_ipy.mcp import build_mcp_server
from sentry_ipy.tools import ToolContext
from tests._shell import ip  # noqa: F401  (fixture)

SECRETS = ("supersecret123", "swordfish7731", "sk_live_51Habcdefgh", "eyJmYWtlIjoidG9rZW4ifQ",
           "c3dvcmRmaXNoNzczMTpzd29yZGZpc2g3NzMx", "tok-live-998877")


def _foreign_event(marker: str) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4().hex, "platform": "javascript", "level": "error",
        "message": f"{marker} login failed api_key=supersecret123 password=swordfish7731 "
                   "token=sk_live_51Habcdefgh",
        "tags": {"authorization": "Bearer eyJmYWtlIjoidG9rZW4ifQ", "plain": "kept-7731"},
        "exception": {"values": [{"type": "Error", "value": f"{marker} password=swordfish7731",
                                  "stacktrace": {"frames": [{"filename": "app.js", "function": "login",
                                                             "vars": {"password": "swordfish7731", "n": "3"}}]}}]},
        "request": {"url": "http://app.test/login", "method": "POST",
                    "headers": {"Authorization": "Basic c3dvcmRmaXNoNzczMTpzd29yZGZpc2g3NzMx", "Accept": "*/*"}},
        "extra": {"session_token": "tok-live-998877"},
    }


@pytest.fixture(scope="module")
def stored(local_server: Any) -> dict[str, Any]:
    """A foreign event with secrets, as the backend holds it (unscrubbed)."""
    marker = f"foreign-{uuid.uuid4().hex[:8]}"
    event = _foreign_event(marker)
    dsn = urlsplit(local_server.dsn("notebook"))
    header = json.dumps({"event_id": event["event_id"]})
    body = "\n".join([header, json.dumps({"type": "event"}), json.dumps(event)])
    r = httpx.post(f"{local_server.url}/api{dsn.path}/envelope/?sentry_key={dsn.username}", content=body)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    rows: list[Any] = []
    while time.monotonic() < deadline and not rows:
        rows = local_server.store.query("SELECT issue_id, payload FROM events WHERE event_id = ?",
                                        (event["event_id"],))
        time.sleep(0.05)
    assert rows and "swordfish7731" in rows[0]["payload"], "the backend should hold the event as sent"
    return {"event_id": event["event_id"], "issue_id": str(rows[0]["issue_id"]), "marker": marker}


def _assert_scrubbed(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret
    assert "[Filtered]" in text


@pytest.fixture()
def mcp_server(local_server: Any) -> Iterator[Any]:
    context = ToolContext(Settings(), local_server=local_server)
    try:
        yield build_mcp_server(context=context)
    finally:
        context.close()


def test_mcp_results_are_scrubbed_text_and_structured(stored: dict[str, Any], mcp_server: Any) -> None:
    async def main() -> list[Any]:
        async with Client(mcp_server) as client:
            return [await client.call_tool("sentry_get_event", {"projectSlug": "notebook",
                                                                "eventId": stored["event_id"]}),
                    await client.call_tool("sentry_list_issue_events", {"issueId": stored["issue_id"]}),
                    await client.call_tool("sentry_get_issue", {"issueId": stored["issue_id"]}),
                    await client.call_tool("sentry_list_projects", {})]

    *shown, projects = anyio.run(main)
    for result in shown:
        assert not result.is_error, result.content[0].text
        _assert_scrubbed("\n".join(c.text for c in result.content) + json.dumps(result.structured_content))
    event = shown[0].structured_content["data"]
    assert event["tags"]["authorization"] == "[Filtered]" and event["tags"]["plain"] == "kept-7731"
    assert stored["marker"] in event["message"]
    assert not projects.is_error  # the next request is served as usual


def test_notebook_displays_of_the_event_are_scrubbed(stored: dict[str, Any], ip: Any) -> None:
    shown = ip.run_line_magic("sentry", f"get_event --projectSlug notebook --eventId {stored['event_id']}")
    _assert_scrubbed(shown._repr_markdown_() + repr(shown) + shown.to_frame().to_json())
    issues = ip.run_line_magic("sentry", f"list_issue_events --issueId {stored['issue_id']}")
    _assert_scrubbed(issues.to_json())
    assert ip.run_line_magic("sentry", "list_projects") is not None


def test_web_ui_pages_of_the_event_are_scrubbed(stored: dict[str, Any], local_server: Any) -> None:
    base = f"/organizations/local/issues/{stored['issue_id']}/"
    with httpx.Client(base_url=local_server.url) as web:
        for address in (base, f"{base}events/", f"{base}events/{stored['event_id']}/",
                        "/organizations/local/issues/?query=" + stored["marker"]):
            page = web.get(address)
            assert page.status_code == 200, address
            for secret in SECRETS:
                assert secret not in page.text, (address, secret)
        assert "kept-7731" in web.get(base).text
