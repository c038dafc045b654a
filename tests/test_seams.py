"""Public seams: no module reaches into another package's private modules or names.

A package (``tools/``, ``mcp/``, ``local/``...) is free to arrange its
``_private`` modules; everyone outside it uses what its ``__init__`` exports,
so a package can be restructured without its neighbours noticing.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sentry_ipy"


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) of everything ``path`` imports from sentry_ipy, names included."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            found += [(node.lineno, f"{target}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
    return [(line, name) for line, name in found if name.startswith("sentry_ipy.")]


def _owner(name: str) -> str | None:
    """The top-level package or module whose private part ``name`` reaches, if any."""
    parts = name.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:2]) if i > 1 else "sentry_ipy"
    return None


def test_no_module_imports_another_packages_private_names() -> None:
    crossings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        mine = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:2])
        for line, name in _imports(path):
            owner = _owner(name)
            if owner is not None and owner != mine and owner != "sentry_ipy":
                crossings.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert not crossings, "\n".join(crossings)
