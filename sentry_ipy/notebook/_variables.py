"""What the failing cell's names held: a compact, scrubbed summary for the event.

A traceback says where a cell failed, not what it was working on. The summary
covers the names the failing cell mentions that exist in the namespace: each
name's type, its length or shape, the dtype of arrays and Series and the
columns (with dtypes) of DataFrames. Values never travel beyond a short repr
of scalars, strings and small builtin containers, cut to :data:`MAX_REPR`
characters and scrubbed like every other event text; a name that looks
secret (``password``, ``api_token``...) shows its type only.

Only built for a failing cell (the hook returns before this on success), and
bounded: at most :data:`MAX_NAMES` names, :data:`MAX_COLUMNS` columns each
and :data:`MAX_BYTES` in all. Nothing here calls an object's own ``__repr__``
or ``__len__`` (those can be slow or fail): only builtin types are repr'd,
and arrays and frames are asked only for ``shape``, ``dtype``, ``dtypes``.
"""

from __future__ import annotations

import ast
import json
import reprlib
from collections.abc import Iterable
from typing import Any

__all__ = ["MAX_BYTES", "MAX_COLUMNS", "MAX_NAMES", "MAX_REPR", "cell_names", "summarise_variables"]

MAX_NAMES = 20
MAX_COLUMNS = 20
MAX_REPR = 80
#: Upper bound of the whole summary as JSON; names past it are counted, not shown.
MAX_BYTES = 4096

_SCALARS = (int, float, complex, bool, type(None))
_TEXT = (str, bytes, bytearray)
_CONTAINERS = (list, tuple, set, frozenset, dict)
_SKIP_TYPES = ("module", "function", "builtin_function_or_method", "type", "method")

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxstring = MAX_REPR
_repr.maxother = 20
for _attr in ("maxlist", "maxtuple", "maxset", "maxfrozenset", "maxdict"):
    setattr(_repr, _attr, 6)


def cell_names(source: str) -> list[str]:
    """Names the cell mentions, in order of first appearance (empty if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    seen: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            seen.setdefault(node.id, None)
    return list(seen)


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module.split('.')[0]}.{kind.__qualname__}"


def _shape(value: Any) -> list[int] | None:
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and all(isinstance(n, int) for n in shape):
        return list(shape)
    return None


def _describe(name: str, value: Any, scrub_text: Any, extra_keys: tuple[str, ...]) -> dict[str, Any]:
    from ..scrub import FILTERED, is_secret_key

    kind = type(value)
    out: dict[str, Any] = {"type": _type_name(value)}
    top = kind.__module__.split(".")[0]
    if top in ("pandas", "polars") and kind.__name__ == "DataFrame":
        out["shape"] = _shape(value)
        dtypes = value.dtypes
        pairs = list(dtypes.items()) if hasattr(dtypes, "items") else list(zip(value.columns, dtypes, strict=False))
        out["columns"] = {scrub_text(str(col))[:MAX_REPR]: str(dtype) for col, dtype in pairs[:MAX_COLUMNS]}
        if len(pairs) > MAX_COLUMNS:
            out["columns_total"] = len(pairs)
    elif top in ("pandas", "polars") and kind.__name__ in ("Series", "Index"):
        shape = _shape(value)
        out["len"] = shape[0] if shape else None
        out["dtype"] = str(value.dtype)
        if getattr(value, "name", None) is not None:
            out["name"] = scrub_text(str(value.name))[:MAX_REPR]
    elif top in ("numpy", "torch", "jax", "jaxlib", "cupy") and hasattr(value, "dtype"):
        out["shape"] = _shape(value)
        out["dtype"] = str(value.dtype)
    elif isinstance(value, _TEXT + _CONTAINERS):
        out["len"] = len(value)
    if isinstance(value, _SCALARS + _TEXT + _CONTAINERS) and kind in (*_SCALARS, *_TEXT, *_CONTAINERS):
        out["repr"] = FILTERED if is_secret_key(name, extra_keys) else scrub_text(_repr.repr(value))[:MAX_REPR]
    return out


def summarise_variables(names: Iterable[str], user_ns: dict[str, Any], *,
                        extra_keys: Iterable[str] = ()) -> dict[str, Any]:
    """The summary of ``names`` found in ``user_ns`` (see the module docstring for the limits).

    Returns:
        ``{name: {type, shape|len, dtype|columns, repr}}``, plus ``"…"``
        (the number of names left out) when a limit was reached.
    """
    from ..scrub import scrub

    keys = tuple(extra_keys)

    def scrub_text(text: str) -> str:
        return str(scrub(text, keys))

    out: dict[str, Any] = {}
    size = 2
    left_out = 0
    for name in names:
        if name.startswith("_") or name in ("In", "Out", "get_ipython", "exit", "quit") or name not in user_ns:
            continue
        value = user_ns[name]
        if type(value).__name__ in _SKIP_TYPES:
            continue
        if len(out) >= MAX_NAMES:
            left_out += 1
            continue
        try:
            entry = _describe(name, value, scrub_text, keys)
        except Exception:  # noqa: BLE001 - a summary never costs the user their error report
            entry = {"type": _type_name(value), "note": "could not be summarised"}
        cost = len(json.dumps(entry, default=str)) + len(name) + 6
        if size + cost > MAX_BYTES:
            left_out += 1
            continue
        out[name] = entry
        size += cost
    if left_out:
        out["…"] = f"{left_out} more name(s) left out (limits: {MAX_NAMES} names, {MAX_BYTES} bytes)"
    return out
