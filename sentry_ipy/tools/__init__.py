"""The tool layer: 27 seed tools (and more), defined once, served to every face.

``registry()`` lists them, ``run_tool(name, args, ctx)`` runs one. Tool modules
(``capture``, ``issues``, ...) are imported on first use.
"""

from __future__ import annotations

from ._context import Progress, ToolContext, shared_local_server
from ._issue_actions import ISSUE_STATUSES, update_issue_status
from ._registry import TOOL_MODULES, ToolSpec, get_tool, registry, run_tool, tool
from ._result import ToolResult

__all__ = [
    "ISSUE_STATUSES",
    "TOOL_MODULES",
    "Progress",
    "ToolContext",
    "ToolResult",
    "ToolSpec",
    "get_tool",
    "registry",
    "run_tool",
    "shared_local_server",
    "tool",
    "update_issue_status",
]
