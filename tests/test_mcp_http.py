"""``sentry-ipy-mcp --http`` as a subprocess: a real client, bearer token, DNS-rebinding check."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

REPO = Path(__file__).resolve().parent.parent
TOKEN = "mcp-http-test-token-0123456789abcdef"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "probe", "version": "0"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def command() -> list[str]:
    """The installed console script when present, else the same entry point via ``-m``."""
    script = Path(sys.executable).with_name("sentry-ipy-mcp")
    if script.exists():
        return [str(script)]
    found = shutil.which("sentry-ipy-mcp")
    return [found] if found else [sys.executable, "-m", "sentry_ipy.mcp"]


class HttpServer:
    def __init__(self, proc: subprocess.Popen[str], url: str, log: Path) -> None:
        self.proc, self.url, self.log = proc, url, log


def start(tmp_path: Path, local_server: Any, *extra: str) -> HttpServer:
    port = free_port()
    log = tmp_path / f"http-{port}.stderr"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(REPO),
           "SENTRY_URL": local_server.url, "SENTRY_AUTH_TOKEN": local_server.token,
           "SENTRY_ORG": "local", "SENTRY_DSN": local_server.dsn("notebook"),
           "MCP_TEST_TOKEN": TOKEN}
    proc = subprocess.Popen([*command(), "--http", "--port", str(port), *extra], env=env,
                            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=log.open("w"), text=True)
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}: {log.read_text()}")
        if "serving MCP" in log.read_text():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return HttpServer(proc, url, log)
            except OSError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"server did not start: {log.read_text()}")


def stop(server: HttpServer) -> None:
    server.proc.send_signal(signal.SIGINT)
    try:
        server.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:  # pragma: no cover
        server.proc.kill()
        server.proc.wait()
    assert server.proc.stdout is not None
    assert server.proc.stdout.read() == ""  # stdout stays silent in HTTP mode too
    server.proc.stdout.close()


@pytest.fixture()
def open_server(tmp_path: Path, local_server: Any) -> Iterator[HttpServer]:
    server = start(tmp_path, local_server)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture()
def guarded_server(tmp_path: Path, local_server: Any) -> Iterator[HttpServer]:
    server = start(tmp_path, local_server, "--auth-token-env", "MCP_TEST_TOKEN", "--read-only")
    try:
        yield server
    finally:
        stop(server)


def test_client_lists_and_calls_tools_over_http(open_server: HttpServer, local_server: Any) -> None:
    async def main() -> Any:
        async with Client(open_server.url) as client:
            tools = (await client.list_tools()).tools
            result = await client.call_tool("sentry_list_projects", {})
            bad = await client.call_tool("sentry_get_issue", {"issueId": "NOPE-424242"})
            return tools, result, bad

    tools, result, bad = anyio.run(main)
    assert len(tools) >= 27 and "sentry_capture_exception" in {t.name for t in tools}
    assert not result.is_error and "notebook" in result.content[0].text
    assert bad.is_error and local_server.token not in bad.content[0].text
    assert "serving MCP over streamable HTTP at http://127.0.0.1:" in open_server.log.read_text()


def test_foreign_host_header_is_refused(open_server: HttpServer) -> None:
    port = open_server.url.split(":")[2].split("/")[0]
    good = httpx.post(open_server.url, json=INIT, headers=HEADERS, timeout=10)
    assert good.status_code == 200
    evil = httpx.post(open_server.url, json=INIT, timeout=10,
                      headers={**HEADERS, "Host": f"evil.example:{port}"})
    assert evil.status_code in (403, 421)
    origin = httpx.post(open_server.url, json=INIT, timeout=10,
                        headers={**HEADERS, "Origin": "http://evil.example"})
    assert origin.status_code in (403, 421)


def test_bearer_token_is_required(guarded_server: HttpServer) -> None:
    for auth in (None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"):
        headers = dict(HEADERS) if auth is None else {**HEADERS, "Authorization": auth}
        response = httpx.post(guarded_server.url, json=INIT, headers=headers, timeout=10)
        assert response.status_code == 401, auth
        assert response.json()["error"] == "unauthorized"
        assert TOKEN not in response.text
    ok = httpx.post(guarded_server.url, json=INIT, timeout=10,
                    headers={**HEADERS, "Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200
    assert TOKEN not in guarded_server.log.read_text()


def test_client_with_token_sees_only_read_tools(guarded_server: HttpServer) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    async def main() -> Any:
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"},
                                      timeout=30) as http:
            async with Client(streamable_http_client(guarded_server.url, http_client=http)) as client:
                tools = (await client.list_tools()).tools
                result = await client.call_tool("sentry_list_projects", {})
                return tools, result

    tools, result = anyio.run(main)
    assert tools and all(t.annotations.read_only_hint for t in tools)
    assert "sentry_capture_exception" not in {t.name for t in tools}
    assert not result.is_error


def test_missing_token_env_exits_2(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*command(), "--http", "--port", "0", "--auth-token-env", "NOT_SET_HERE"],
                          env=env, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and "NOT_SET_HERE" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "mcp.example"])
def test_non_loopback_without_a_token_refuses_to_start(tmp_path: Path, host: str) -> None:
    # It used to warn and then serve every tool, write tools included, to the network.
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([*command(), "--http", "--host", host, "--port", "0"], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sentry-ipy-mcp: refusing to serve {host} ")
    assert "--auth-token-env" in lines[0] and "--allow-unauthenticated" in lines[0]


def test_what_counts_as_loopback() -> None:
    from sentry_ipy.mcp._cli import build_parser, is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]", "app.localhost"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.com", "localhost.example"]))
    assert build_parser().parse_args(["--http", "--allow-unauthenticated"]).allow_unauthenticated
