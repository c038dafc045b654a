"""The package's layout is its architecture: checks that keep it so.

Module names are unique across ``sentry_ipy``, so a name in a traceback,
a docstring or a review points at one file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sentry_ipy"


def test_module_names_are_unique_across_the_package() -> None:
    names = Counter(p.name for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    twice = {name: sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob(name))
             for name, n in names.items() if n > 1}
    assert not twice, f"module names used more than once: {twice}"
