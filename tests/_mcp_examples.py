"""Argument examples generated from the seed specification's input schemas.

For every seed tool: the required arguments only, every property, and one
example per enum value. Realistic values by property name, so the same
examples can also be sent to the real tools.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEED_PATH = Path(__file__).resolve().parents[2] / "shared" / "spec" / "seed-tools.json"
_FALLBACK_SEED = Path("/work/shared/spec/seed-tools.json")

#: Realistic string values by property name.
STRINGS: dict[str, str] = {
    "error": "ZeroDivisionError: division by zero",
    "message": "cache warmed in 3.2s",
    "category": "notebook",
    "key": "team",
    "value": "data",
    "name": "nightly-report",
    "op": "notebook.cell",
    "description": "run the report",
    "id": "user-42",
    "email": "ada@example.com",
    "username": "ada",
    "ip_address": "127.0.0.1",
    "segment": "beta",
    "distinctId": "user-42",
    "sessionId": "9f1b6c1e-0c57-4a8f-9a43-0e8e2b0a6c11",
    "release": "report@1.2.3",
    "environment": "staging",
    "dist": "7",
    "projectSlug": "notebook",
    "project": "notebook",
    "query": "is:unresolved",
    "version": "report@1.2.3",
    "url": "https://example.com/report/1.2.3",
    "dateReleased": "2025-01-02T03:04:05Z",
    "since": "2025-01-01T00:00:00Z",
    "until": "2025-01-02T00:00:00Z",
    "shortId": "NOTEBOOK-1",
    "eventId": "0123456789abcdef0123456789abcdef",
    "issueId": "1",
    "slug": "new-project",
    "team": "local",
    "platform": "python",
    "filename": "report.py",
}


def seed_tools() -> list[dict[str, Any]]:
    """The 27 seed tools (name, description, inputSchema)."""
    path = SEED_PATH if SEED_PATH.is_file() else _FALLBACK_SEED
    return json.loads(path.read_text(encoding="utf-8"))


def example_value(name: str, schema: dict[str, Any]) -> Any:
    """One value a seed client could send for property ``name``."""
    if "enum" in schema:
        return schema.get("default", schema["enum"][0])
    kind = schema.get("type")
    if kind == "string":
        return STRINGS.get(name, "example")
    if kind in ("number", "integer"):
        return schema.get("default", 1.5 if name == "duration" else 1)
    if kind == "boolean":
        return True
    if kind == "array":
        items = schema.get("items")
        return [example_value(name, items)] if items else []
    if kind == "object":
        props = schema.get("properties")
        if props:
            return {k: example_value(k, v) for k, v in props.items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            return {"team": example_value("value", extra)}
        return {"notebook": "report.ipynb", "cells": 12}
    raise AssertionError(f"no example for {name}: {schema}")


def examples(tool: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(label, arguments)`` pairs: required-only, all properties, each enum value."""
    schema = tool["inputSchema"]
    props: dict[str, Any] = schema.get("properties", {})
    required = schema.get("required") or []
    base = {k: example_value(k, props[k]) for k in required}
    out = [("required", base), ("all", {k: example_value(k, v) for k, v in props.items()})]
    for key, prop in props.items():
        for value in prop.get("enum", ()):
            out.append((f"{key}={value}", {**base, key: value}))
    return out
