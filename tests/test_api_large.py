"""A Web API answer of 50 MB is read within bounded memory; one past the cap is one sentence.

Real HTTP on loopback (``tests/_scripted.py``). Memory is measured with
tracemalloc around the tool call: the body is held once as bytes and once
parsed, never copied per row, and what an MCP client gets stays capped.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest

from sentry_ipy.api._wire import MAX_BODY_BYTES
from sentry_ipy.errors import UnexpectedResponseError
from sentry_ipy.tools import ToolContext, run_tool
from tests._scripted import Reply, ScriptedServer, scripted_settings
from tests._scripted import server  # noqa: F401  (fixture)


def _projects(total_bytes: int, rows: int = 100) -> bytes:
    """A projects page of about ``total_bytes``: ``rows`` projects with very long names."""
    pad = "x" * (total_bytes // rows)
    page = [{"id": str(i), "slug": f"p{i}", "name": f"{i}-{pad}", "platform": "python"} for i in range(rows)]
    return json.dumps(page).encode()


def _run(scripted: ScriptedServer, name: str, args: dict[str, Any]) -> Any:
    ctx = ToolContext(scripted_settings(scripted.url, max_retries=0, timeout=60.0))
    try:
        return run_tool(name, args, ctx)
    finally:
        ctx.close()


def test_a_50_mb_answer_is_read_in_bounded_memory(server: ScriptedServer) -> None:  # noqa: F811
    body = _projects(50 * 2**20)
    server.queue(Reply(raw=body))
    tracemalloc.start()
    try:
        result = _run(server, "sentry_list_projects", {})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(result.records) == 100
    assert peak < 4 * len(body), f"peak {peak >> 20} MiB for a {len(body) >> 20} MiB answer"
    assert len(json.dumps(result.to_dict())) < 1_000_000, "an MCP client gets a capped result"


def test_an_answer_past_the_cap_is_one_sentence(server: ScriptedServer) -> None:  # noqa: F811
    server.queue(Reply(raw=_projects(MAX_BODY_BYTES + 2**20)))
    with pytest.raises(UnexpectedResponseError) as info:
        _run(server, "sentry_list_projects", {})
    text = str(info.value)
    assert f"sent more than {MAX_BODY_BYTES // 2**20} MiB" in text and "\n" not in text
    assert "a smaller limit" in text
