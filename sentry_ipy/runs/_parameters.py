"""Papermill-style parameters: ``-p NAME VALUE`` becomes a cell after the ``parameters`` cell.

The notebook's cell tagged ``parameters`` holds the defaults; the values
given on the command line go into a new cell tagged ``injected-parameters``
right after it (replacing one a previous run left there), so they win and
the executed notebook shows what the run used. Without a ``parameters`` cell
the injected cell goes first. Values are read as papermill's ``-p`` reads
them: ``True``/``False``/``None``, integers and floats, otherwise text.
"""

from __future__ import annotations

import keyword
from collections.abc import Iterable
from typing import Any

from ..errors import ToolInputError

__all__ = ["INJECTED_TAG", "PARAMETERS_TAG", "inject_parameters", "parse_value"]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


def parse_value(text: str) -> Any:
    """A command-line value as papermill reads it (``"3"`` -> 3, ``"True"`` -> True, ``"x"`` -> "x")."""
    special = {"True": True, "False": False, "None": None}
    if text in special:
        return special[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def inject_parameters(nb: Any, parameters: Iterable[tuple[str, Any]]) -> Any:
    """Put ``parameters`` into ``nb`` (an nbformat notebook) as an ``injected-parameters`` cell.

    Returns:
        the injected cell, or None when there were no parameters.

    Raises:
        ToolInputError: a name that is not a Python identifier.
    """
    import nbformat

    pairs = list(parameters)
    if not pairs:
        return None
    for name, _ in pairs:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ToolInputError(f"Parameter name {name!r} is not a Python variable name; use letters, "
                                 "digits and underscores, not starting with a digit.")
    source = "# Parameters\n" + "".join(f"{name} = {value!r}\n" for name, value in pairs)
    cell = nbformat.v4.new_code_cell(  # type: ignore[no-untyped-call]  # nbformat is untyped
        source, metadata={"tags": [INJECTED_TAG]})
    cells = [c for c in nb.cells if INJECTED_TAG not in _tags(c)]
    at = next((i + 1 for i, c in enumerate(cells) if PARAMETERS_TAG in _tags(c)), 0)
    cells.insert(at, cell)
    nb.cells = cells
    return cell
