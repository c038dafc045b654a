"""The tool layer: 27 seed tools (and more), defined once, served to every face.

``registry()`` lists them, ``run_tool(name, args, ctx)`` runs one. Tool modules
(``capture``, ``issues``, ...) are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..local import shared_local_server
from ._context import Progress, ToolContext
from ._issue_actions import ISSUE_STATUSES, update_issue_status
from ._registry import TOOL_MODULES, ToolSpec, declared_aliases, get_tool, registry, run_tool, tool
from ._render import COMPACT_FRAMES, STRUCTURED_BUDGET, TEXT_ROWS_BUDGET
from ._result import ToolResult

if TYPE_CHECKING:  # pragma: no cover
    from ._params import MAX_LIMIT

__all__ = [
    "COMPACT_FRAMES",
    "ISSUE_STATUSES",
    "MAX_LIMIT",
    "STRUCTURED_BUDGET",
    "TEXT_ROWS_BUDGET",
    "TOOL_MODULES",
    "Progress",
    "ToolContext",
    "ToolResult",
    "ToolSpec",
    "declared_aliases",
    "get_tool",
    "registry",
    "run_tool",
    "shared_local_server",
    "tool",
    "update_issue_status",
]


def __getattr__(name: str) -> Any:
    """``MAX_LIMIT`` lives with the parameter models, which import pydantic: load it on first use."""
    if name == "MAX_LIMIT":
        from ._params import MAX_LIMIT

        return MAX_LIMIT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
