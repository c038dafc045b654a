"""Measure what ``tools/list`` costs a model: the JSON every MCP client sends each turn.

Run: ``.venv/bin/python benchmarks/mcp_tools_list.py`` — it rewrites
``benchmarks/mcp_tools_list.md``. Tokens are approximated as characters / 4,
which is close for English prose and JSON with the tokenizers in use today.
Nothing is contacted: the server is built and listed in memory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


#: ``tools/list`` chars per surface at 9de57ba, before descriptions, schemas and
#: annotations were trimmed (the commit that added this table): the "before" column.
BEFORE = {"all tools": 22_957, "--read-only": 9_132, "--toolsets sdk": 10_116,
          "--toolsets api": 12_909, "--toolsets api --read-only": 9_132}


def wire_json(tools: list[Any]) -> str:
    """The ``tools/list`` result exactly as serialised on the wire (compact JSON)."""
    from mcp_types import ListToolsResult

    result = ListToolsResult(tools=tools)
    return json.dumps(result.model_dump(by_alias=True, exclude_none=True, mode="json"),
                      separators=(",", ":"), ensure_ascii=False)


def listed(**options: Any) -> list[Any]:
    import anyio
    from mcp import Client

    from sentry_ipy.config import Settings
    from sentry_ipy.mcp import build_mcp_server

    server = build_mcp_server(Settings(url="https://sentry.invalid", auth_token="unused"), **options)

    async def main() -> list[Any]:
        async with Client(server) as client:
            return list((await client.list_tools()).tools)

    return anyio.run(main)


def tokens(chars: int) -> int:
    return round(chars / 4)


#: What the trim changed and kept, rendered under the tables.
TRIM_NOTES = [
    "## What the trim did",
    "",
    "- Tool descriptions: the imperative first line (also the magic's help line), then when to",
    "  use it or what to call next, then one compact JSON example; wrapped docstring lines are",
    "  joined and paragraphs end in one newline.",
    "- Property descriptions only where they add a format, range, default or meaning the name,",
    "  type, enum, pattern or default do not already give (no `\"User ID\"` for `id`).",
    "- Schemas: no boolean `additionalProperties` (`true` is the default; `false` is enforced",
    "  by the parameter model, whose error names the accepted arguments; the seed never had it),",
    "  no `items: {}`, `limit` caps as `maximum` instead of prose.",
    "- Annotations: hints equal to the MCP defaults (readOnly false, destructive true,",
    "  idempotent false, openWorld true) are left out; the title is sent once, as the tool's",
    "  `title`.",
    "- Kept: seed property names, types, enums, defaults and required lists; the titles; the",
    "  `statsPeriod` pattern; `destructiveHint: false` / `idempotentHint: true` on read-only",
    "  tools (spec-meaningless there, but not the defaults, so a client that ignores",
    "  `readOnlyHint` would otherwise assume destructive).",
    "",
]


def measure() -> str:
    tools = listed()
    full = wire_json(tools)
    rows = []
    for tool in tools:
        one = wire_json([tool])
        desc = len(tool.description or "")
        schema = len(json.dumps(tool.input_schema, separators=(",", ":")))
        rows.append((len(one), tool.name, desc, schema))
    rows.sort(reverse=True)
    variants = [("all tools", tools), ("--read-only", listed(read_only=True)),
                ("--toolsets sdk", listed(toolsets="sdk")), ("--toolsets api", listed(toolsets="api")),
                ("--toolsets api --read-only", listed(toolsets="api", read_only=True))]
    seed_path = HERE.parent.parent / "shared" / "spec" / "seed-tools.json"
    seed_line = ""
    if seed_path.is_file():
        seed = json.loads(seed_path.read_text(encoding="utf-8"))
        seed_chars = len(json.dumps({"tools": seed}, separators=(",", ":"), ensure_ascii=False))
        seed_line = (f"\nFor comparison, the seed server's 27 tools (names, one-line descriptions, "
                     f"schemas; no titles or annotations): {seed_chars:,} chars, "
                     f"≈{tokens(seed_chars):,} tokens.\n")
    lines = [
        "# `tools/list` size",
        "",
        "MCP clients put the whole `tools/list` result in the model's context on every turn,",
        "so its size is a running cost. Regenerate with `.venv/bin/python benchmarks/mcp_tools_list.py`.",
        "Compact wire JSON; tokens ≈ chars / 4.",
        "",
        "| surface | tools | chars | ≈ tokens | before the trim (9de57ba) | change |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, subset in variants:
        n = len(wire_json(subset))
        was = BEFORE.get(label)
        before = f"{was:,} (≈{tokens(was):,} tokens)" if was else "–"
        change = f"{100 * (n - was) / was:+.0f}%" if was else "–"
        lines.append(f"| {label} | {len(subset)} | {n:,} | {tokens(n):,} | {before} | {change} |")
    lines += [seed_line, "## Per tool (largest first)", "",
              "| tool | total chars | description | input schema |", "|---|---:|---:|---:|"]
    lines += [f"| `{name}` | {total:,} | {desc:,} | {schema:,} |" for total, name, desc, schema in rows]
    desc_total = sum(r[2] for r in rows)
    schema_total = sum(r[3] for r in rows)
    ann_total = sum(len(json.dumps(t.annotations.model_dump(by_alias=True, exclude_none=True),
                                   separators=(",", ":"))) for t in tools if t.annotations)
    lines += ["", f"Descriptions: {desc_total:,} chars ({100 * desc_total // len(full)}%); "
                  f"input schemas: {schema_total:,} chars ({100 * schema_total // len(full)}%); "
                  f"annotations: {ann_total:,} chars ({100 * ann_total // len(full)}%); "
                  "the rest is names, titles and JSON punctuation.", "", *TRIM_NOTES]
    return "\n".join(lines)


def main() -> None:
    text = measure()
    (HERE / "mcp_tools_list.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
