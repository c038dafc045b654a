"""The MCP server as a real stdio subprocess, calling every tool against the local backend.

The child inherits only HOME, LOGNAME, PATH, SHELL, TERM and USER (the SDK's
safe list), so everything it needs goes through ``env=``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from tests._mcp_examples import example_value, seed_tools

REPO = Path(__file__).resolve().parent.parent


def server_env(local_server: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a user would put in their MCP client's ``env`` block, plus the checkout path."""
    return {
        "PYTHONPATH": str(REPO),
        "SENTRY_URL": local_server.url,
        "SENTRY_AUTH_TOKEN": local_server.token,
        "SENTRY_ORG": "local",
        "SENTRY_PROJECT": "notebook",
        "SENTRY_DSN": local_server.dsn("notebook"),
        "SENTRY_IPY_DATA_DIR": str(tmp_path / "child-data"),
        **extra,
    }


def wait_for(predicate: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


def _event_with(local_server: Any, marker: str) -> dict[str, Any] | None:
    rows = local_server.store.query(
        "SELECT e.event_id, e.issue_id, i.short_seq, p.slug FROM events e "
        "JOIN issues i ON i.id = e.issue_id JOIN projects p ON p.id = e.project_id "
        "WHERE e.payload LIKE ? ORDER BY e.id DESC", (f"%{marker}%",))
    return rows[0] if rows else None


def test_stdio_server_calls_every_tool(local_server: Any, tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex[:8]
    marker = f"stdio-marker-{run_id}"
    sid = str(uuid.uuid4())
    errlog = (tmp_path / "server.stderr").open("w+")
    params = StdioServerParameters(command=sys.executable, args=[str(REPO / "mcp_server.py")],
                                   env=server_env(local_server, tmp_path), cwd=str(tmp_path))
    results: dict[str, Any] = {}

    sdk_calls: list[tuple[str, dict[str, Any]]] = [
        ("sentry_set_release", {"release": f"stdio@{run_id}", "dist": "3"}),
        ("sentry_set_user", {"id": f"user-{run_id}", "email": "ada@example.com"}),
        ("sentry_set_tag", {"key": "face", "value": "mcp-stdio"}),
        ("sentry_set_context", {"name": "notebook", "context": {"cells": 12}}),
        ("sentry_add_breadcrumb", {"message": "loaded data", "category": "notebook"}),
        ("sentry_start_session", {"sessionId": sid, "distinctId": f"user-{run_id}"}),
        ("sentry_start_transaction", {"name": f"txn-{run_id}", "op": "notebook.cell"}),
        ("sentry_capture_exception", {"error": f"ValueError: {marker}", "level": "error",
                                      "tags": {"run": run_id}}),
        ("sentry_capture_message", {"message": f"message {marker}", "level": "warning"}),
        ("sentry_finish_transaction", {"status": "ok"}),
        ("sentry_end_session", {"status": "exited"}),
        ("sentry_capture_session", {"sessionId": str(uuid.uuid4()), "status": "crashed",
                                    "duration": 2.5, "errors": 1}),
    ]

    async def main() -> None:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            listed = {t.name: t for t in (await client.list_tools()).tools}
            assert {t["name"] for t in seed_tools()} <= set(listed)
            for name, args in sdk_calls:
                results[name] = await client.call_tool(name, args)
            found = await anyio.to_thread.run_sync(wait_for, lambda: _event_with(local_server, marker))
            assert found, "the captured exception never reached the backend"
            from sentry_ipy.local.ingest._grouping import short_id

            issue_id, event_id = str(found["issue_id"]), found["event_id"]
            api_calls: list[tuple[str, dict[str, Any]]] = [
                ("sentry_list_projects", {}),
                ("sentry_list_issues", {"projectSlug": "notebook", "query": marker}),
                ("sentry_get_issue", {"issueId": issue_id}),
                ("sentry_resolve_short_id", {"shortId": short_id(found["slug"], found["short_seq"])}),
                ("sentry_list_issue_events", {"issueId": issue_id, "limit": 5}),
                ("sentry_get_event", {"projectSlug": "notebook", "eventId": event_id}),
                ("sentry_list_error_events_in_project", {"projectSlug": "notebook", "limit": 10}),
                ("sentry_search_errors_in_file", {"projectSlug": "notebook", "filename": "report.py"}),
                ("sentry_create_release", {"version": f"api@{run_id}", "projects": ["notebook"]}),
                ("sentry_list_releases", {"projectSlug": "notebook"}),
                ("sentry_get_organization_stats", {"stat": "received", "resolution": "1d"}),
                ("sentry_create_alert_rule", {"projectSlug": "notebook", "name": f"alert {run_id}"}),
                ("sentry_create_project", {"name": f"MCP {run_id}", "slug": f"mcp-{run_id}",
                                           "team": "local", "platform": "python"}),
                ("sentry_setup_project", {"projectSlug": f"mcp-{run_id}", "platform": "python"}),
                ("sentry_list_organization_replays", {"limit": 5}),
            ]
            for name, args in api_calls:
                results[name] = await client.call_tool(name, args)
            # tools beyond the seed: call them with their own required arguments
            for name, tool in listed.items():
                if name not in results:
                    schema = tool.input_schema
                    args = {k: example_value(k, schema["properties"][k])
                            for k in schema.get("required", [])}
                    results[name] = await client.call_tool(name, args)
                    assert "Internal error" not in results[name].content[0].text, name
            results["_issue"] = issue_id
            results["_event"] = event_id

    try:
        anyio.run(main)
    finally:
        errlog.seek(0)
        stderr = errlog.read()
        errlog.close()
    seed = {t["name"] for t in seed_tools()}
    failed = {n: r.content[0].text for n, r in results.items()
              if n in seed and r.is_error}
    assert not failed, f"{failed}\n--- server stderr ---\n{stderr[-3000:]}"
    assert seed <= set(results)
    assert local_server.token not in stderr

    # API tools returned data the backend holds
    texts = {n: r.content[0].text for n, r in results.items() if n in seed}
    assert "notebook" in texts["sentry_list_projects"]
    assert results["sentry_get_event"].structured_content and results["_event"] in json.dumps(
        results["sentry_get_event"].structured_content)
    assert local_server.store.project(1, f"mcp-{run_id}") is not None
    assert local_server.store.release(1, f"api@{run_id}") is not None

    # telemetry arrived at the backend, with the scope the earlier calls set
    event = wait_for(lambda: next((e for e in local_server.store.events()
                                   if marker in json.dumps(e) and e.get("exception")), None))
    assert event["user"]["id"] == f"user-{run_id}"
    assert event["release"] == f"stdio@{run_id}"
    tags = event.get("tags")
    tags = dict(tags) if isinstance(tags, list) else tags
    assert tags["face"] == "mcp-stdio" and tags["run"] == run_id
    assert wait_for(lambda: [t for t in local_server.store.transactions()
                             if t.get("transaction") == f"txn-{run_id}"])
    sessions = wait_for(lambda: [s for s in local_server.store.sessions() if s.get("sid") == sid])
    assert sessions and sessions[-1].get("status") == "exited"
    assert sessions[-1].get("attrs", {}).get("release") == f"stdio@{run_id}"


def test_stdio_without_sentry_uses_the_local_backend(tmp_path: Path) -> None:
    """No token, no URL, no DSN: the server says so on stderr and still answers."""
    errlog = (tmp_path / "server.stderr").open("w+")
    env = {"PYTHONPATH": str(REPO), "SENTRY_IPY_DATA_DIR": str(tmp_path / "own-backend"),
           "SENTRY_IPY_LOCAL_PORT": "0"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "sentry_ipy.mcp"],
                                   env=env, cwd=str(tmp_path))

    async def main() -> Any:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            return await client.call_tool("sentry_list_projects", {})

    result = anyio.run(main)
    errlog.seek(0)
    stderr = errlog.read()
    errlog.close()
    assert not result.is_error, result.content[0].text
    notice = [line for line in stderr.splitlines() if "local backend" in line]
    assert len(notice) == 1, stderr


@pytest.mark.parametrize("argv", [["--toolsets", "bogus"], ["--url", "ftp://nope"]])
def test_bad_configuration_exits_2_with_one_line(argv: list[str], tmp_path: Path) -> None:
    import subprocess

    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "sentry_ipy.mcp", *argv], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_stdio_with_an_unusable_data_dir_serves_and_answers_each_call_with_the_sentence(
        tmp_path: Path) -> None:
    """SENTRY_IPY_DATA_DIR is a regular file: the server still starts; tools say why they cannot run."""
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    errlog = (tmp_path / "server.stderr").open("w+")
    env = {"PYTHONPATH": str(REPO), "SENTRY_IPY_DATA_DIR": str(not_a_dir), "SENTRY_IPY_LOCAL_PORT": "0"}
    params = StdioServerParameters(command=sys.executable, args=["-m", "sentry_ipy.mcp"],
                                   env=env, cwd=str(tmp_path))

    async def main() -> list[Any]:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            return [await client.call_tool("sentry_list_projects", {}),
                    await client.call_tool("sentry_set_tag", {"key": "k", "value": "v"})]

    results = anyio.run(main)
    errlog.seek(0)
    stderr = errlog.read()
    errlog.close()
    for result in results:
        assert result.is_error
        text = result.content[0].text
        assert str(not_a_dir) in text and "not a folder" in text and "SENTRY_IPY_DATA_DIR" in text
    assert "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if "not a folder" in line]) == 1, stderr


def test_a_long_run_of_name_characters_does_not_freeze_the_server(local_server: Any, tmp_path: Path) -> None:
    # "ab" * 100000 in a context (hex, base64 and DNA look like this) once kept the scrubber
    # busy for minutes while the stdio server answered nothing. Now the capture is answered and
    # the next request is served; the suite's timeout is what a quadratic scan would hit.
    marker = f"stdio-long-{uuid.uuid4().hex[:8]}"
    params = StdioServerParameters(command=sys.executable, args=[str(REPO / "mcp_server.py")],
                                   env=server_env(local_server, tmp_path), cwd=str(tmp_path))
    errlog = (tmp_path / "server.stderr").open("w+")

    async def main() -> tuple[Any, Any]:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            captured = await client.call_tool("sentry_capture_message", {
                "message": marker, "context": {"blob": "ab" * 100_000, "api_key": "S3cretPassK"}})
            return captured, await client.list_tools()

    try:
        captured, listed = anyio.run(main)
    finally:
        errlog.close()
    assert not captured.is_error, captured.content[0].text
    assert listed.tools
    found = wait_for(lambda: _event_with(local_server, marker))
    assert found, "the message never reached the backend"
    payload = local_server.store.query("SELECT payload FROM events WHERE event_id = ?",
                                       (found["event_id"],))[0]["payload"]
    assert "S3cretPassK" not in payload and "abab" in payload
