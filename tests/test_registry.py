"""The tool decorator: each fact about a tool is declared once, and mistakes fail at import."""

from __future__ import annotations

import types

import pytest
from pydantic import BaseModel

from sentry_ipy.frames import Frame
from sentry_ipy.tools import ToolContext, ToolResult, registry, tool


class _Params(BaseModel):
    n: int = 1


def _module(family: str | None) -> types.ModuleType:
    """A throwaway tool module (``FAMILY`` set or not) to define tools in."""
    import sys

    mod = types.ModuleType("sentry_ipy_probe_tools")
    if family is not None:
        mod.FAMILY = family  # type: ignore[attr-defined]
        mod.PURPOSE = "explore"  # type: ignore[attr-defined]
    sys.modules[mod.__name__] = mod
    return mod


def _probe(ctx: ToolContext, p: _Params) -> ToolResult:
    """Probe."""
    return ToolResult(summary=str(p.n))


def _in(mod: types.ModuleType, fn: types.FunctionType) -> types.FunctionType:
    fn.__module__ = mod.__name__
    return fn


def test_misspelt_frame_fails_when_the_module_is_imported() -> None:
    with pytest.raises(ValueError, match="issuez"):
        tool("sentry_probe_frame", title="Probe", read_only=True,
             frame="issuez")(_in(_module("api"), _probe))  # type: ignore[arg-type]
    assert "sentry_probe_frame" not in registry()


def test_a_module_without_family_is_refused() -> None:
    with pytest.raises(TypeError, match="FAMILY"):
        tool("sentry_probe_family", title="Probe", read_only=True)(_in(_module(None), _probe))


def test_params_come_from_the_annotation() -> None:
    def untyped(ctx, p):  # type: ignore[no-untyped-def]
        """Probe."""

    with pytest.raises(TypeError, match="parameter model"):
        tool("sentry_probe_params", title="Probe", read_only=True)(_in(_module("api"), untyped))


def test_registered_tools_take_family_params_and_frame_from_one_place() -> None:
    tools = registry()
    issues = tools["sentry_list_issues"]
    assert issues.family == "api" and issues.params.__name__ == "ListIssuesParams"
    assert issues.frame is Frame.ISSUES
    assert {s.family for s in tools.values() if s.fn.__module__.endswith(".capture")} == {"sdk"}
