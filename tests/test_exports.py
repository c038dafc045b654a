"""The curated public surface: every package lists its names, and every listed name exists."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = ["sentry_ipy", "sentry_ipy.api", "sentry_ipy.config", "sentry_ipy.errors", "sentry_ipy.frames",
          "sentry_ipy.local", "sentry_ipy.mcp", "sentry_ipy.notebook", "sentry_ipy.scrub",
          "sentry_ipy.telemetry", "sentry_ipy.tools"]


@pytest.mark.parametrize("name", PUBLIC)
def test_all_is_declared_and_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported, f"{name} declares no __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"


def test_top_level_face_is_pinned() -> None:
    import sentry_ipy

    assert sorted(sentry_ipy.__all__) == ["Settings", "ToolContext", "__version__", "load_ipython_extension",
                                          "run_tool", "unload_ipython_extension"]


def test_error_tree_is_rooted() -> None:
    from sentry_ipy import errors

    classes = [getattr(errors, name) for name in errors.__all__ if name != "error_line"]
    for cls in classes:
        assert issubclass(cls, errors.SentryIpyError)
