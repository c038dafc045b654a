"""The official MCP Inspector CLI (npm) as an independent client of the stdio server."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests._inspector import EXIT_OK, EXIT_TOOL_ERROR, inspector_bin, run_inspector

pytestmark = pytest.mark.inspector

REPO = Path(__file__).resolve().parent.parent
SERVER = [sys.executable, str(REPO / "mcp_server.py")]


@pytest.fixture(autouse=True)
def _need_inspector() -> None:
    if inspector_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("MCP Inspector missing in CI: tests/setup_inspector.sh must run first")
        pytest.skip("MCP Inspector not installed: run tests/setup_inspector.sh")


def env_for(local_server: Any, tmp_path: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(REPO), "SENTRY_URL": local_server.url,
            "SENTRY_AUTH_TOKEN": local_server.token, "SENTRY_ORG": "local",
            "SENTRY_DSN": local_server.dsn("notebook"),
            "SENTRY_IPY_DATA_DIR": str(tmp_path / "inspector-data")}


def payload(stdout: str) -> dict[str, Any]:
    data = json.loads(stdout)
    return data.get("result", data)


def test_tools_list(local_server: Any, tmp_path: Path) -> None:
    proc = run_inspector([*SERVER, "--method", "tools/list"], env_for(local_server, tmp_path))
    assert proc.returncode == EXIT_OK, proc.stderr
    tools = {t["name"]: t for t in payload(proc.stdout)["tools"]}
    assert len(tools) >= 27 and "sentry_get_organization_stats" in tools
    assert all("annotations" in t and "inputSchema" in t for t in tools.values())


def test_read_tool(local_server: Any, tmp_path: Path) -> None:
    proc = run_inspector([*SERVER, "--method", "tools/call", "--tool-name", "sentry_list_projects",
                          "--format", "json"], env_for(local_server, tmp_path))
    assert proc.returncode == EXIT_OK, proc.stderr
    result = payload(proc.stdout)
    assert not result.get("isError")
    assert any(r.get("slug") == "notebook" for r in result["structuredContent"]["records"])
    assert local_server.token not in proc.stdout


def test_capture_tool_reaches_the_backend(local_server: Any, tmp_path: Path) -> None:
    marker = f"inspector capture {os.getpid()}-{tmp_path.name}"
    proc = run_inspector([*SERVER, "--method", "tools/call", "--tool-name", "sentry_capture_message",
                          "--tool-args-json", json.dumps({"message": marker, "level": "warning"}),
                          "--format", "json"], env_for(local_server, tmp_path))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert not payload(proc.stdout).get("isError")
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if any(marker in json.dumps(e) for e in local_server.store.events()):
            break
        time.sleep(0.1)
    assert any(marker in json.dumps(e) for e in local_server.store.events())


def test_tool_error_exits_nonzero(local_server: Any, tmp_path: Path) -> None:
    proc = run_inspector([*SERVER, "--method", "tools/call", "--tool-name", "sentry_list_issues",
                          "--tool-arg", "projectSlug=no-such-project", "--format", "json"],
                         env_for(local_server, tmp_path))
    assert proc.returncode == EXIT_TOOL_ERROR, (proc.returncode, proc.stdout, proc.stderr)
    result = payload(proc.stdout)
    assert result["isError"] and "no-such-project" in result["content"][0]["text"]


def test_read_only_server_hides_capture(local_server: Any, tmp_path: Path) -> None:
    proc = run_inspector([*SERVER, "--read-only", "--method", "tools/call", "--tool-name",
                          "sentry_capture_message", "--tool-arg", "message=hidden"],
                         env_for(local_server, tmp_path))
    assert proc.returncode != EXIT_OK
