"""MCP over stdio that answers every line it reads.

The SDK's stdio reader (mcp 2.3) drops a line that fails validation: it passes the
exception to the session, which logs nothing and answers nothing, so a client that
sent malformed JSON, a lone surrogate (``"\\udcff"``) or JSON nested past the
parser's depth limit waits forever for that ``id``. The streamable HTTP transport
answers the same inputs. This layer sits in front of the SDK's reader: every line
the SDK would drop is answered here, through the SDK's own writer (so replies never
interleave), as JSON-RPC says:

* not JSON at all: ``-32700`` (parse error) with ``"id": null``;
* JSON, but not a JSON-RPC message: ``-32600`` (invalid request), with its id if it has one;
* a request whose parameters the SDK cannot take: ``-32602`` (invalid params) with its id.

A notification cannot be answered; it is logged on stderr instead.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import AsyncIterator
from io import TextIOWrapper
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import (INVALID_PARAMS, INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError,
                       jsonrpc_message_adapter)
from pydantic import ValidationError

__all__ = ["answer_for", "serve_stdio"]

log = logging.getLogger("sentry_ipy.mcp")

_DETAIL_CHARS = 200


def answer_for(line: str) -> JSONRPCError | None:
    """The error reply for a line the SDK cannot take, ``None`` for one it can (or a notification).

    A pure function of the line, so each rule is tested without a process.
    """
    try:
        jsonrpc_message_adapter.validate_json(line, by_name=False)
        return None
    except ValidationError as exc:
        detail = _detail(exc)
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return _error(None, PARSE_ERROR, f"Parse error: the line is not valid JSON ({_short(exc)}); "
                                         "send one JSON-RPC message per line.")
    request_id = message.get("id") if isinstance(message, dict) else None
    if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
        request_id = None
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" \
            or not isinstance(message.get("method"), str):
        if isinstance(message, dict) and "method" in message and "id" not in message:
            log.warning("dropped a notification that is not valid JSON-RPC: %s", detail)
            return None
        return _error(request_id, INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 request "
                                                   f"({detail}); send an object with jsonrpc, id and method.")
    if "id" not in message:
        log.warning("dropped notification %s: %s", message.get("method"), detail)
        return None
    return _error(request_id, INVALID_PARAMS, f"Invalid params: {detail}; send valid UTF-8 JSON "
                                              "with arguments that nest at most a few levels deep.")


def _detail(exc: ValidationError) -> str:
    """What the SDK's parser objected to, first error only, short."""
    errors = exc.errors(include_url=False, include_input=False)
    return _short(errors[0]["msg"] if errors else exc)


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def _error(request_id: str | int | None, code: int, message: str) -> JSONRPCError:
    return JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=code, message=message))


class _AnsweredLines:
    """The process's stdin as the SDK's reader sees it, minus the lines answered here."""

    def __init__(self) -> None:
        self._reply: Any = None
        self._ready = anyio.Event()

    def answer_with(self, write_stream: Any) -> None:
        self._reply = write_stream
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        wire = anyio.wrap_file(TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace"))
        async for line in wire:
            if not line.strip():
                continue
            error = answer_for(line)
            if error is None:
                yield line
                continue
            await self._ready.wait()
            await self._reply.send(SessionMessage(error))


async def serve_stdio(server: MCPServer) -> None:
    """Serve ``server`` over stdin/stdout until the client closes stdin."""
    lines = _AnsweredLines()
    # stdout is still claimed by the SDK (fd 1 points at stderr while serving, so a stray
    # print cannot corrupt the protocol); only the reading side is ours.
    async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
        lines.answer_with(write_stream)
        lowlevel = server._lowlevel_server  # the SDK's own run_stdio_async uses it the same way
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
