"""The MCP face: the tool registry served to AI assistants over stdio or HTTP.

``build_mcp_server()`` returns an ``mcp`` ``MCPServer`` generated from
:func:`sentry_ipy.tools.registry` (no per-tool code); ``main()`` is the
``sentry-ipy-mcp`` command.
"""

from __future__ import annotations

from ._cli import build_parser, main
from ._server import (ANNOTATION_DEFAULTS, MAX_ARGUMENT_CHARS, SERVER_NAME, build_mcp_server,
                      select_tools, toolset_names)

__all__ = [
    "ANNOTATION_DEFAULTS",
    "MAX_ARGUMENT_CHARS",
    "SERVER_NAME",
    "build_mcp_server",
    "build_parser",
    "main",
    "select_tools",
    "toolset_names",
]
