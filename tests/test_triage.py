"""Triage end to end over loopback: the local backend's bulk ``PUT`` with Sentry's semantics,
and ``sentry_update_issue`` reading every issue back to report exactly what changed."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sentry_ipy.config import Settings
from sentry_ipy.errors import ToolInputError
from sentry_ipy.local import LocalServer
from sentry_ipy.tools import ToolContext, registry, run_tool


def _seed(srv: LocalServer, *messages: str) -> list[str]:
    """One issue per message, sent to the store endpoint like an old SDK would; IDs oldest first."""
    key = srv.store.keys(1)[0]["public_key"]
    for text in messages:
        r = httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json={"message": text, "level": "error"})
        assert r.status_code == 200
    return [str(i["id"]) for i in sorted(srv.store.issues(), key=lambda i: i["id"])]


def _status(srv: LocalServer) -> dict[str, str]:
    return {str(i["id"]): i["status"] for i in srv.store.issues()}


@pytest.fixture()
def tool_ctx(srv: LocalServer) -> Iterator[ToolContext]:
    context = ToolContext(Settings(), local_server=srv)
    try:
        yield context
    finally:
        context.close()


def test_bulk_put_changes_nothing_when_one_id_is_out_of_scope(srv: LocalServer, api: httpx.Client) -> None:
    one, two, three = _seed(srv, "alpha fails", "beta fails", "gamma fails")
    r = api.put("organizations/local/issues/", params=[("id", one), ("id", two), ("id", "987654")],
                json={"status": "resolved"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"  # success, yet...
    assert set(_status(srv).values()) == {"unresolved"}  # ...nothing changed
    assert api.put("organizations/local/issues/", params={"id": "987654"}, json={"status": "resolved"}).status_code == 204
    r = api.put("organizations/local/issues/", params=[("id", one), ("id", two)],
                json={"assignedTo": "local@localhost", "priority": "low", "isBookmarked": True})
    assert r.json()["assignedTo"]["email"] == "local@localhost"
    shown = api.get(f"organizations/local/issues/{one}/").json()
    assert (shown["assignedTo"]["type"], shown["priority"], shown["isBookmarked"]) == ("user", "low", True)
    assert api.get(f"organizations/local/issues/{three}/").json()["assignedTo"] is None
    assert api.put("organizations/local/issues/", params={"query": "beta"}, json={"priority": "high"}).status_code == 400
    assert api.put("organizations/local/issues/", params={"id": one}, json={"assignedTo": "nobody"}).status_code == 400
    r = api.put("organizations/local/issues/", params={"query": "gamma"},
                json={"status": "ignored", "statusDetails": {"ignoreCount": 10, "ignoreWindow": 60}})
    assert r.json()["substatus"] == "archived_until_condition_met"
    gamma = api.get(f"organizations/local/issues/{three}/").json()
    assert gamma["status"] == "ignored" and gamma["statusDetails"] == {"ignoreCount": 10, "ignoreWindow": 60}
    assert api.put("organizations/local/issues/", params={"query": "nomatch"}, json={"status": "resolved"}).status_code == 204


def test_update_issue_reports_exactly_which_issues_changed(srv: LocalServer, tool_ctx: ToolContext) -> None:
    one, two, three = _seed(srv, "alpha fails", "beta fails", "gamma fails")
    short = run_tool("sentry_get_issue", {"issueId": two}, tool_ctx).data
    assert short is not None
    result = run_tool("sentry_update_issue", {"issues": [one, short["shortId"], "987654"], "status": "resolved"},
                      tool_ctx)
    assert result.records is not None
    assert {r["id"]: r["outcome"] for r in result.records} == {one: "changed", two: "changed"}
    assert "2 changed" in result.summary and "Not found: 987654" in result.summary
    assert _status(srv) == {one: "resolved", two: "resolved", three: "unresolved"}
    again = run_tool("sentry_update_issue", {"issues": f"{one},{three}", "status": "resolved"}, tool_ctx)
    assert {r["id"]: r["outcome"] for r in again.records or []} == {one: "already", three: "changed"}
    assign = run_tool("sentry_update_issue", {"issues": [three], "assignTo": "team:1", "bookmark": True,
                                              "priority": "low", "seen": True}, tool_ctx)
    (row,) = assign.records or []
    assert (row["outcome"], row["assignee"], row["priority"], row["isBookmarked"], row["hasSeen"]) == (
        "changed", "team:local", "low", True, True)
    run_tool("sentry_update_issue", {"issues": [three], "assignTo": ""}, tool_ctx)
    assert run_tool("sentry_get_issue", {"issueId": three}, tool_ctx).data["assignedTo"] is None  # type: ignore[index]


def test_query_selection_previews_then_needs_confirm(srv: LocalServer, tool_ctx: ToolContext) -> None:
    ids = _seed(srv, "disk full on node one", "disk full on node two", "timeout talking to db")
    args = {"projectSlug": "notebook", "query": "disk full", "status": "ignored", "ignoreMinutes": 30}
    preview = run_tool("sentry_update_issue", args, tool_ctx)
    assert preview.summary.startswith("Preview: 2 issues") and "nothing changed" in preview.summary
    assert {r["outcome"] for r in preview.records or []} == {"would change"}
    assert set(_status(srv).values()) == {"unresolved"}
    done = run_tool("sentry_update_issue", {**args, "confirm": True}, tool_ctx)
    assert sorted(r["id"] for r in done.records or []) == sorted(ids[:2])
    assert _status(srv) == {ids[0]: "ignored", ids[1]: "ignored", ids[2]: "unresolved"}
    detail = run_tool("sentry_get_issue", {"issueId": ids[0]}, tool_ctx).data or {}
    assert detail["substatus"] == "archived_until_condition_met" and "ignoreUntil" in detail["statusDetails"]


def test_update_issue_takes_a_frame_and_refuses_nothing_to_do(srv: LocalServer, tool_ctx: ToolContext) -> None:
    ids = _seed(srv, "alpha fails", "beta fails")
    frame = run_tool("sentry_list_issues", {"projectSlug": "notebook", "query": "alpha"}, tool_ctx).to_frame()
    result = run_tool("sentry_update_issue", {"issues": frame, "status": "resolvedInNextRelease"}, tool_ctx)
    assert [(r["id"], r["outcome"]) for r in result.records or []] == [(ids[0], "changed")]
    assert _status(srv) == {ids[0]: "resolved", ids[1]: "unresolved"}
    with pytest.raises(ToolInputError, match="Nothing to change"):
        run_tool("sentry_update_issue", {"issues": ids}, tool_ctx)
    with pytest.raises(ToolInputError, match="go with status 'ignored'"):
        run_tool("sentry_update_issue", {"issues": ids, "status": "resolved", "ignoreCount": 3}, tool_ctx)


def test_update_issue_is_declared_destructive() -> None:
    spec = registry()["sentry_update_issue"]
    assert spec.destructive and not spec.read_only and spec.alias == "update_issue"


def test_list_teams_names_the_team_to_assign(srv: LocalServer, tool_ctx: ToolContext) -> None:
    result = run_tool("sentry_list_teams", {}, tool_ctx)
    assert [(r["slug"], r["id"]) for r in result.records or []] == [("local", "1")]
    assert 'team:1' in result.hints[0]


def test_whoami_names_the_local_user_and_scopes(srv: LocalServer) -> None:
    context = ToolContext(Settings(url=srv.url, auth_token=srv.token, org="local"), local_server=srv)
    try:
        result = run_tool("sentry_whoami", {}, context)
    finally:
        context.close()
    assert result.data is not None
    assert (result.data["user.email"], result.data["organization"]) == ("local@localhost", "local")
    assert "event:write" in result.data["scopes"] and "Local user <local@localhost>" in result.summary
