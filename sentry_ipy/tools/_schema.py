"""Compact JSON Schemas from parameter models.

pydantic's schemas carry a ``title`` on every property and ``$defs`` for nested
models. MCP clients send the whole ``tools/list`` to a model on every turn, so
we strip what adds tokens without adding meaning and inline the references.

Also dropped: boolean ``additionalProperties`` (``true`` is JSON Schema's
default; ``false`` is enforced by the parameter model, whose error names the
accepted arguments, and the seed schemas never had it) and ``items: {}``
(any item is the default). A mapping ``additionalProperties`` (``tags``:
string values) carries meaning and stays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pydantic import BaseModel

__all__ = ["compact_schema"]


def compact_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return ``model``'s JSON Schema with titles dropped and ``$ref``s inlined."""
    raw = model.model_json_schema()
    defs = raw.pop("$defs", {})

    def walk(node: Any, in_properties: bool = False) -> Any:
        if isinstance(node, dict):
            if not in_properties:
                node = _collapse_optional(node)
            if "$ref" in node and not in_properties:
                target = defs[node["$ref"].rsplit("/", 1)[-1]]
                merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
                return walk(merged)
            out = {}
            for key, value in node.items():
                if not in_properties and _redundant(key, value):
                    continue
                name = key if in_properties else _KEYWORDS.get(key, key)
                out[name] = walk(value, in_properties=(key == "properties" and not in_properties))
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    schema: dict[str, Any] = walk(raw)
    schema.setdefault("properties", {})
    schema["type"] = "object"
    return schema


#: pydantic's constraint names that reach a schema through ``WithJsonSchema`` types, and
#: the JSON Schema keywords that say the same (``ge`` means nothing to a client).
_KEYWORDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def _redundant(key: str, value: Any) -> bool:
    """Keys that cost tokens and say nothing a client or model needs."""
    return (key == "title" or (key == "additionalProperties" and isinstance(value, bool))
            or (key == "items" and value == {}))


def _collapse_optional(node: dict[str, Any]) -> dict[str, Any]:
    """Turn ``anyOf: [X, null]`` with ``default: null`` into plain ``X``.

    An omitted argument already means "not given"; advertising ``null`` only
    doubles the schema and invites clients to send it.
    """
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2:
        return node
    rest = [o for o in options if o != {"type": "null"}]
    if len(rest) != 1:
        return node
    out = {k: v for k, v in node.items() if k != "anyOf"}
    if out.get("default", ...) is None:
        out.pop("default")
    return {**rest[0], **out}
