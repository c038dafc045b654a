"""One issue per root cause: notebook-aware fingerprints and the cascade chain.

Sentry's default grouping merges the same exception raised from cells of
different notebooks (their frames all read ``<module>`` in a temporary file)
and can split one cell's error when its temporary file name changes. For a
notebook with a known path we send an explicit fingerprint instead:
notebook + cell + exception type + top in-app frame. The cell is its
nbformat 4.5 ``id`` (stable across edits and re-runs); when the frontend
sends none, its execution count, which is its position in a top-to-bottom
run (nbclient, papermill, ``sentry-ipy run``).

A failed cell also leaves names undefined: every name assigned by the
statement that failed or by those after it. When a later cell fails with a
``NameError``, ``AttributeError`` or ``KeyError`` on one of those names, that
failure is a *cascade* of the first, not a new bug: :class:`CascadeChain`
remembers which root failure left each name undefined (a cascade's own
undefined names chain to the same root). The chain lives in the kernel
process, so restarting the kernel clears it.
"""

from __future__ import annotations

import ast
import functools
import re
import sysconfig
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["CASCADE_TYPES", "CascadeChain", "Root", "cell_fingerprint", "cell_key",
           "failing_cell_line", "missing_name", "top_in_app_frame"]

#: Exceptions that can be the echo of an earlier failure (``UnboundLocalError`` is a ``NameError``).
CASCADE_TYPES: tuple[type[BaseException], ...] = (NameError, AttributeError, KeyError)
#: Undefined names remembered per kernel: a bound on memory, far above any notebook's.
MAX_UNDEFINED = 10_000

_NAME_IN_MESSAGE = re.compile(r"name '([^']+)' is not defined")


def cell_key(cell_id: str | None, execution_count: int | None) -> str:
    """The cell's stable name: ``id:<nbformat id>``, else ``position:<execution count>``."""
    if cell_id:
        return f"id:{cell_id}"
    return f"position:{execution_count}" if execution_count is not None else "position:unknown"


def _frames(tb: TracebackType | None) -> list[tuple[Any, int]]:
    out = []
    while tb is not None:
        out.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return out


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple({p for key in ("stdlib", "platstdlib", "purelib", "platlib") if (p := paths.get(key))})


def _is_library(filename: str) -> bool:
    return filename.startswith(_library_dirs()) or "site-packages" in filename


def top_in_app_frame(exc: BaseException, user_ns: dict[str, Any]) -> str:
    """The innermost frame of ``exc`` that is the user's code, without line numbers.

    Code defined in a cell reads ``cell:<function>`` (``cell:<module>`` for the
    cell body), whatever temporary file IPython compiled it into; code imported
    from the user's own files reads ``<module>.<function>``. Frames of the
    standard library and installed packages are skipped, as Sentry's in-app
    rules do; with none left the exception's origin is ``library``.
    """
    for frame, _ in reversed(_frames(exc.__traceback__)):
        code = frame.f_code
        if frame.f_globals is user_ns:
            return f"cell:{code.co_name}"
        if not _is_library(code.co_filename):
            return f"{frame.f_globals.get('__name__', '?')}.{code.co_name}"
    return "library"


def cell_fingerprint(notebook: str, key: str, exc: BaseException, user_ns: dict[str, Any]) -> list[str]:
    """Sentry ``fingerprint`` for a cell error: notebook, cell, exception type, top in-app frame."""
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return ["notebook-cell", notebook, key, name, top_in_app_frame(exc, user_ns)]


def failing_cell_line(exc: BaseException, user_ns: dict[str, Any]) -> int | None:
    """The line of the cell body that raised (the innermost cell-level frame), if any."""
    for frame, lineno in reversed(_frames(exc.__traceback__)):
        if frame.f_globals is user_ns and frame.f_code.co_name == "<module>":
            return int(lineno)
    return None


def missing_name(exc: BaseException) -> str | None:
    """The name a ``NameError``/``AttributeError``/``KeyError`` says is missing."""
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None)
        if isinstance(name, str):
            return name
        match = _NAME_IN_MESSAGE.search(str(exc))
        return match.group(1) if match else None
    if isinstance(exc, AttributeError):
        name = getattr(exc, "name", None)
        return name if isinstance(name, str) else None
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        return exc.args[0]
    return None


def _targets(node: ast.AST) -> set[str]:
    """Names a statement binds: variables, attributes set, string keys stored, defs and imports."""
    out: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
            out.add(sub.id)
        elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
            out.add(sub.attr)
        elif isinstance(sub, ast.Subscript) and isinstance(sub.ctx, ast.Store) \
                and isinstance(sub.slice, ast.Constant) and isinstance(sub.slice.value, str):
            out.add(sub.slice.value)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in sub.names if a.name != "*")
    return out


def undefined_names(source: str, failed_line: int | None) -> set[str]:
    """Names the cell would have bound from the failing statement on (all of them if unknown)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    out: set[str] = set()
    for stmt in tree.body:
        if failed_line is None or (stmt.end_lineno or stmt.lineno) >= failed_line:
            out |= _targets(stmt)
    return out


@dataclass
class Root:
    """A root-cause failure: the cell and error that left names undefined, and its echoes."""

    error: str
    cell: str
    execution_count: int | None
    event_id: str | None
    fingerprint: list[str] | None
    cascades: int = 0
    names: set[str] = field(default_factory=set)


class CascadeChain:
    """Which root failure left each name undefined, for this kernel process."""

    def __init__(self) -> None:
        self._undefined: dict[str, Root] = {}

    def __len__(self) -> int:
        return len(self._undefined)

    def root_of(self, exc: BaseException, user_ns: dict[str, Any]) -> Root | None:
        """The root failure ``exc`` echoes, or None when it is a failure of its own.

        A ``NameError`` only counts while the name is still undefined: a cell
        that defined it since has broken the chain for that name.
        """
        if not isinstance(exc, CASCADE_TYPES):
            return None
        name = missing_name(exc)
        root = self._undefined.get(name) if name else None
        if root is None or (isinstance(exc, NameError) and name in user_ns):
            return None
        return root

    def record(self, root: Root, source: str, failed_line: int | None) -> None:
        """Remember the names a failed cell left undefined, as caused by ``root``."""
        names = undefined_names(source, failed_line)
        room = MAX_UNDEFINED - len(self._undefined)
        for name in sorted(names)[:max(room, 0)]:
            self._undefined[name] = root
        root.names |= names

    def clear(self) -> None:
        """Forget every chain (a new kernel run)."""
        self._undefined.clear()
