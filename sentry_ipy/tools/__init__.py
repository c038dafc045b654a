"""The tool layer: 27 seed tools (and more), defined once, served to every face.

``registry()`` lists them, ``run_tool(name, args, ctx)`` runs one. Tool modules
(``capture``, ``issues``, ...) are imported on first use, and so are the names
below (through a module ``__getattr__``): ``%load_ext`` only needs
:func:`declared_aliases`, so it loads the registry module and nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # pragma: no cover
    from ..local import shared_local_server
    from ._context import Progress, ToolContext
    from ._params import MAX_LIMIT, FromVariable
    from ._registry import (MAX_ARGUMENT_CHARS, TOOL_MODULES, ToolSpec, declared_aliases, get_tool, registry,
                            run_tool, tool)
    from ._render import COMPACT_FRAMES, STRUCTURED_BUDGET, TEXT_ROWS_BUDGET
    from ._result import ToolResult

__all__ = [
    "COMPACT_FRAMES",
    "FromVariable",
    "MAX_ARGUMENT_CHARS",
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
]

_LAZY = {
    "COMPACT_FRAMES": "._render", "STRUCTURED_BUDGET": "._render", "TEXT_ROWS_BUDGET": "._render",
    "MAX_LIMIT": "._params", "FromVariable": "._params",  # imports pydantic
    "Progress": "._context", "ToolContext": "._context", "ToolResult": "._result",
    "MAX_ARGUMENT_CHARS": "._registry", "TOOL_MODULES": "._registry", "ToolSpec": "._registry",
    "declared_aliases": "._registry",
    "get_tool": "._registry", "registry": "._registry", "run_tool": "._registry", "tool": "._registry",
    "shared_local_server": "..local",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
