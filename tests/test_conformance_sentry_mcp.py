"""The official Sentry MCP server (npm ``@sentry/mcp-server``, pinned) against the local backend over https.

The server insists on https region URLs, so the backend runs with ``tls=True``
and the server trusts its CA through ``NODE_EXTRA_CA_CERTS``; it gets only a
private ``HOME``, ``PATH`` and that variable (no ``SENTRY_DSN``, so its own
telemetry is off; no LLM key). It is driven as an MCP client drives it: the 9
listed tools, and the rest through ``execute_sentry_tool``. Each result is
read for what the backend stored.

Out of scope: ``analyze_issue_with_seer`` and the autofix lookup inside issue
details (Seer, Sentry's AI), ``search_docs``/``get_doc`` (docs.sentry.io over
the network), natural-language queries (they need an LLM provider key).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests._conformance import SENTRY_MCP, Seeded, need, seeded_backend

pytestmark = pytest.mark.conformance


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    yield from seeded_backend(tmp_path_factory, tls=True)


def run_tools(seeded: Seeded, calls: list[tuple[str, dict[str, Any]]], errlog: Path) -> list[tuple[bool, str]]:
    """Call tools in order on one server process; ``(is_error, text)`` per call."""
    need(SENTRY_MCP)
    srv = seeded.srv
    assert srv.ca_path is not None
    host = srv.url.removeprefix("https://")
    params = StdioServerParameters(
        command="node", args=[str(SENTRY_MCP), f"--access-token={srv.token}", f"--host={host}", "--all-skills"],
        env={"HOME": str(seeded.home), "PATH": "/usr/local/bin:/usr/bin:/bin",
             "NODE_EXTRA_CA_CERTS": str(srv.ca_path), "DO_NOT_TRACK": "1"},
        cwd=str(seeded.home))
    results: list[tuple[bool, str]] = []

    async def main() -> None:
        with errlog.open("w") as err:
            async with Client(stdio_client(params, errlog=err)) as client:
                listed = {t.name for t in (await client.list_tools()).tools}
                assert {"find_organizations", "search_issues", "search_events", "execute_sentry_tool"} <= listed
                for name, args in calls:
                    result = await client.call_tool(name, args)
                    text = "\n".join(getattr(part, "text", "") for part in result.content)
                    results.append((bool(result.is_error), text))

    anyio.run(main)
    return results


def hidden(tool: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
    """A tool reached through ``execute_sentry_tool``, as the server's own catalog says."""
    return "execute_sentry_tool", {"name": tool, "arguments": {"organizationSlug": "local", **arguments}}


def test_official_mcp_server_tools(seeded: Seeded, tmp_path: Path) -> None:
    org = {"organizationSlug": "local"}
    issue = {"issueId": "NOTEBOOK-1"}
    calls: dict[str, tuple[str, dict[str, Any]]] = {
        "whoami": ("execute_sentry_tool", {"name": "whoami", "arguments": {}}),
        "orgs": ("find_organizations", {}),
        "projects": ("find_projects", org),
        "issues": ("search_issues", {**org, "query": "is:unresolved"}),
        "issue": ("get_sentry_resource", {**org, "resourceType": "issue", "resourceId": "NOTEBOOK-1"}),
        "errors": ("search_events", {**org, "dataset": "errors", "query": "level:error"}),
        "logs": ("search_events", {**org, "dataset": "logs", "query": ""}),
        "spans": ("search_events", {**org, "dataset": "spans", "query": "is_transaction:true"}),
        "tag": hidden("get_issue_tag_values", tagKey="feature", **issue),
        "note": hidden("add_issue_note", text="looked at it", **issue),
        "activity": hidden("get_issue_activity", **issue),
        "reports": hidden("get_issue_user_reports", **issue),
        "issue_events": hidden("search_issue_events", query="", **issue),
        "trace": hidden("get_trace_details", traceId=seeded.trace_id),
        "releases": hidden("find_releases"),
        "release": hidden("get_release_details", releaseVersion="app@1.0.0"),
        "teams": hidden("find_teams"),
        "new_team": ("execute_sentry_tool", {"name": "create_team", "arguments": {**org, "name": "backend"}}),
        "dsns": hidden("find_dsns", projectSlug="notebook"),
        "alerts": hidden("find_alert_rules"),
        "dashboards": hidden("find_dashboards"),
        "monitors": hidden("find_monitors"),
        "uptime": hidden("find_uptime_monitors"),
        "resolve": hidden("update_issue", status="resolved", **issue),
        "rename": hidden("update_project", projectSlug="notebook", name="Notebook"),
    }
    outcomes = run_tools(seeded, list(calls.values()), tmp_path / "mcp.stderr")
    results = dict(zip(calls, outcomes, strict=True))
    failed = {label: text[:300] for label, (is_error, text) in results.items() if is_error}
    assert not failed, failed
    out = {label: text for label, (_, text) in results.items()}

    assert json.loads(out["whoami"])["user"]["email"] == "local@localhost"
    orgs = json.loads(out["orgs"])["organizations"]
    assert orgs == [{"slug": "local", "webUrl": seeded.srv.url, "regionUrl": seeded.srv.url}]
    assert json.loads(out["projects"])["projects"] == [{"slug": "notebook"}]
    found = out["issues"]
    assert "NOTEBOOK-1" in found and "ZeroDivisionError: division by zero" in found
    detail = out["issue"]
    assert seeded.error_event_id in detail and "1 / 0" in detail  # the stack frame's source line
    errors = out["errors"]
    assert "ZeroDivisionError" in errors
    logs = out["logs"]
    assert "Found 1 log" in logs and "checkout started for u-1" in logs
    spans = out["spans"]
    assert "GET /checkout" in spans and seeded.trace_id in spans
    tag = json.loads(out["tag"])["tag"]
    assert [(v["value"], v["count"]) for v in tag["topValues"]] == [("checkout", 1)]
    assert "**Text**: looked at it" in out["note"]
    assert "looked at it" in out["activity"]
    assert "No issue user reports found" in out["reports"]
    assert seeded.error_event_id in out["issue_events"]
    trace = out["trace"]
    assert "**Total Spans**: 2" in trace and "**Errors**: 1" in trace and "**Logs**: 1" in trace
    assert "db [db" in trace
    releases = json.loads(out["releases"])["releases"]
    assert [r["version"] for r in releases] == ["1.0.0"] and releases[0]["newIssues"] == 2  # it shows shortVersion
    assert "**New Issues**: 2" in out["release"]
    assert json.loads(out["new_team"])["team"]["slug"] == "backend"
    assert {t["slug"] for t in json.loads(out["teams"])["teams"]} == {"local"}  # listed before creating
    assert json.loads(out["dsns"])["dsns"][0]["dsn"] == seeded.srv.dsn()
    assert json.loads(out["alerts"])["issueRules"] == []
    assert json.loads(out["dashboards"])["dashboards"] == []
    assert json.loads(out["monitors"])["monitors"] == []
    assert json.loads(out["uptime"])["monitors"] == []
    assert "unresolved → **resolved**" in out["resolve"]
    assert seeded.srv.store.issues()[0]["status"] == "resolved"
    assert "Notebook" in out["rename"] and seeded.srv.store.project(1, "notebook")["name"] == "Notebook"
