"""Smaller hostile inputs of issue 8, at the tool face (run_tool on the local backend).

A bogus ``is:`` in the events search, ``latest`` as a release version and a context
nested past the depth limit: each is one sentence (or a note in the result), and the
next call is served.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sentry_ipy.errors import APIError, ToolInputError
from sentry_ipy.local import LocalServer
from sentry_ipy.tools import ToolContext, run_tool
from tests._sdk import event_by_id, reset_sentry_sdk  # noqa: F401  (autouse fixture)


def _capture(ctx: ToolContext, message: str, **extra: Any) -> dict[str, Any]:
    result = run_tool("sentry_capture_message", {"message": message, **extra}, ctx)
    assert ctx.telemetry().flush(5.0) is True
    assert result.data is not None
    return result.data | {"summary": result.summary}


def test_events_search_refuses_an_unknown_is_value(ctx: ToolContext, local_server: LocalServer) -> None:
    _capture(ctx, "searchable event 5521", tags={"region": "eu"})
    with pytest.raises(APIError) as err:
        run_tool("sentry_list_error_events_in_project", {"projectSlug": "notebook", "query": "is:bogus"}, ctx)
    assert err.value.status == 400 and "Invalid is: value 'bogus'" in str(err.value)
    # the local API answers it like Sentry: 400 with {"detail": ...}, not every event
    r = httpx.get(f"{local_server.url}/api/0/organizations/local/events/",
                  params=[("dataset", "errors"), ("field", "id"), ("query", "is:bogus")],
                  headers={"Authorization": f"Bearer {local_server.token}"})
    assert r.status_code == 400 and r.json()["detail"].startswith("Invalid is: value 'bogus'; use unresolved")

    def titles(query: str) -> list[str]:
        found = run_tool("sentry_list_error_events_in_project", {"projectSlug": "notebook", "query": query}, ctx)
        return [str(r["title"]) for r in found.records or []]

    assert "searchable event 5521" in titles("is:unresolved region:eu")
    assert "searchable event 5521" not in titles("is:resolved")
    assert "searchable event 5521" in titles("has:region")
    assert "searchable event 5521" not in titles("!has:region")
    assert "searchable event 5521" in titles("region:us OR region:eu")


def test_latest_is_not_a_release_version(ctx: ToolContext, local_server: LocalServer) -> None:
    for version in ("latest", "Latest"):
        with pytest.raises(ToolInputError) as err:
            run_tool("sentry_create_release", {"version": version, "projects": ["notebook"]}, ctx)
        assert str(err.value) == ("Release version 'latest' is reserved by Sentry (searches use it for the newest"
                                  " release); choose another version, e.g. 'myapp@1.2.3'.")
    r = httpx.post(f"{local_server.url}/api/0/organizations/local/releases/", json={"version": "latest",
                   "projects": ["notebook"]}, headers={"Authorization": f"Bearer {local_server.token}"})
    assert r.status_code == 400 and "latest" in str(r.json())
    made = run_tool("sentry_create_release", {"version": "nb@latest-fix", "projects": ["notebook"]}, ctx)
    assert "was created" in made.summary


def test_a_context_cut_at_the_depth_limit_is_said(ctx: ToolContext, local_server: LocalServer) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for level in range(12):
        deep = {f"level{level}": deep}
    data = _capture(ctx, "deep context 7710", context=deep)
    assert "context 'additional' cut below 8 levels of nesting" in data["summary"]
    stored = event_by_id(local_server, data["event_id"])["contexts"]["additional"]
    assert "[Truncated]" in str(stored)
    shallow = _capture(ctx, "shallow context 7711", context={"a": {"b": 1}})
    assert "levels of nesting" not in shallow["summary"]


def test_an_issue_url_on_another_host_is_refused_unless_the_issue_is_linked_there(
        ctx: ToolContext, local_server: LocalServer) -> None:
    """The same org and ID on another server may be another issue: only what the configured server
    links under that host is answered (a server behind a proxy links its issues under its public name)."""
    _capture(ctx, "an issue to look up by URL 7741")
    issues = run_tool("sentry_list_issues", {"projectSlug": "notebook", "query": "7741"}, ctx).records or []
    issue_id = str(issues[0]["id"])
    for url in (f"https://sentry.example.com/organizations/local/issues/{issue_id}/",
                f"https://sentry.example.com/organizations/local/issues/{issue_id}/events/abc/"):
        with pytest.raises(ToolInputError) as err:
            run_tool("sentry_get_issue", {"issueId": url}, ctx)
        assert str(err.value).startswith(f"That issue URL is on sentry.example.com, but the tools are configured"
                                         f" for 127.0.0.1, whose issue {issue_id} is not linked there; set SENTRY_URL")
    with pytest.raises(ToolInputError, match="is on sentry.example.com"):  # also when no such issue exists here
        run_tool("sentry_get_issue", {"issueId": "https://sentry.example.com/organizations/local/issues/99999/"}, ctx)
    # The configured server's own URLs, under any loopback name, are answered.
    port = local_server.url.rsplit(":", 1)[1]
    for base in (local_server.url, f"http://localhost:{port}"):
        got = run_tool("sentry_get_issue", {"issueId": f"{base}/organizations/local/issues/{issue_id}/"}, ctx)
        assert "an issue to look up by URL 7741" in got.summary + str(got.data)
