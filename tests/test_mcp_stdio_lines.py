"""MCP over stdio answers every line: the raw protocol, one JSON-RPC message per line.

A real client library would refuse to send most of these lines, so the test writes
them itself to a real ``mcp_server.py`` subprocess and reads its stdout line by line.
Each bad line gets its error reply (the right code and id), and the next request is
served as usual.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sentry_ipy.mcp._stdio import answer_for

REPO = Path(__file__).resolve().parent.parent

_CALL = '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"sentry_set_tag","arguments":%s}}'

#: line -> (expected code, expected id); what the SDK alone answered: nothing at all.
HOSTILE = [
    ("{not json", -32700, None),
    ('{"jsonrpc":"2.0","id":7,"method":"tools/list"', -32700, None),  # cut short
    (_CALL % (11, '{"key":"a","value":"\\udcff"}'), -32602, 11),  # a lone surrogate
    (_CALL % (12, '{"key":"a","value":' + '[' * 200 + ']' * 200 + '}'), -32602, 12),  # 200 deep
    (_CALL % ('"req-13"', '{"key":"a","value":"\\ud800"}'), -32602, "req-13"),
    ('{"jsonrpc":"1.0","id":14,"method":"tools/list"}', -32600, 14),
    ('[1, 2, 3]', -32600, None),
    ('"just a string"', -32600, None),
]


@pytest.mark.parametrize("line, code, request_id", HOSTILE)
def test_each_line_the_sdk_drops_gets_an_answer(line: str, code: int, request_id: Any) -> None:
    error = answer_for(line)
    assert error is not None and error.error.code == code and error.id == request_id
    assert error.error.message.endswith(".") and "\n" not in error.error.message


def test_good_lines_and_notifications_are_left_to_the_sdk() -> None:
    assert answer_for('{"jsonrpc":"2.0","id":1,"method":"tools/list"}') is None
    assert answer_for('{"jsonrpc":"2.0","method":"notifications/initialized"}') is None
    assert answer_for('{"jsonrpc":"2.0","method":"notifications/x","params":{"a":"\\udcff"}}') is None


class _Wire:
    """A raw line-based JSON-RPC connection to a stdio server subprocess."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def receive(self, timeout: float = 30) -> dict[str, Any]:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, "the server sent no answer"
        return dict(json.loads(self.proc.stdout.readline()))


@pytest.fixture()
def wire(local_server: Any, tmp_path: Path) -> Iterator[_Wire]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(REPO),
           "SENTRY_URL": local_server.url, "SENTRY_AUTH_TOKEN": local_server.token,
           "SENTRY_ORG": "local", "SENTRY_IPY_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, str(REPO / "mcp_server.py")], env=env, cwd=tmp_path,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=(tmp_path / "stderr").open("w"))
    w = _Wire(proc)
    try:
        w.send(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"}}}))
        assert "result" in w.receive()
        w.send('{"jsonrpc":"2.0","method":"notifications/initialized"}')
        yield w
    finally:
        proc.terminate()
        proc.wait(10)


def test_stdio_answers_every_line_and_keeps_serving(wire: _Wire) -> None:
    for number, (line, code, request_id) in enumerate(HOSTILE):
        wire.send(line)
        answer = wire.receive()
        assert answer["error"]["code"] == code and answer["id"] == request_id, (line[:60], answer)
        assert "id" in answer  # null, not missing
        wire.send(json.dumps({"jsonrpc": "2.0", "id": 1000 + number, "method": "tools/list"}))
        listed = wire.receive()
        assert listed["id"] == 1000 + number and listed["result"]["tools"]
