"""How a :class:`ToolResult` is shown: markdown, JSON lines, structured content, compact rows.

The result holds data (:mod:`._result`); this module holds the presentation and
the size policy every text face shares, each number defined once here:
:data:`STRUCTURED_BUDGET` caps structured content, :data:`TEXT_ROWS_BUDGET` the
JSON lines that follow the markdown for text-only MCP clients, and
:data:`COMPACT_FRAMES` names the frames whose rows are whole Sentry objects,
cut to their known columns for a model's context. Which rendering a face uses
is the face's choice: the notebook shows DataFrames and markdown, MCP sends
markdown, JSON lines and compact structured content, Python callers get
:meth:`ToolResult.to_dict` with every field.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..frames import Frame

if TYPE_CHECKING:  # pragma: no cover
    from ._result import ToolResult

__all__ = ["COMPACT_FRAMES", "output_schema", "MARKDOWN_ROWS", "STRUCTURED_BUDGET", "TEXT_ROWS_BUDGET", "fenced", "markdown", "plural",
           "rows_json", "structured"]

#: Rows the markdown table shows before a "N more" line.
MARKDOWN_ROWS = 15
_MD_IDS = 50  # IDs of the rows past the table listed in markdown, for text-only clients
#: Keys that name a row, best first: what a text-only reader passes to the next tool.
_ID_KEYS = ("shortId", "issue", "eventID", "slug", "version", "id")
#: Characters of JSON records that structured content carries (about 100k tokens).
STRUCTURED_BUDGET = 400_000
#: Characters of JSON lines carrying the rows the markdown table leaves out (about 5k tokens).
TEXT_ROWS_BUDGET = 20_000
#: Frames whose rows are whole Sentry API objects, worth cutting down for a model's context.
COMPACT_FRAMES = frozenset({Frame.ISSUES, Frame.EVENTS, Frame.PROJECTS, Frame.RELEASES, Frame.REPLAYS})
#: Frames whose rows are points of a series: no row names a next call, so none are listed.
SERIES_FRAMES = frozenset({Frame.TIMESERIES})


def _content_model() -> Any:
    """The shape :func:`structured` returns, as a pydantic model (pydantic loads on first use)."""
    from pydantic import BaseModel

    class StructuredContent(BaseModel):  # no docstring: it would become the schema's description
        summary: str
        count: int | None = None
        truncated: bool | None = None
        records: list[dict[str, Any]] | None = None
        omitted: int | None = None
        note: str | None = None
        data: dict[str, Any] | None = None
        links: dict[str, Any] | None = None  # label -> URL

    return StructuredContent


_OUTPUT_SCHEMA: dict[str, Any] = {}


def output_schema() -> dict[str, Any]:
    """Every tool's ``outputSchema``: the compact JSON Schema of :func:`structured`'s result."""
    if not _OUTPUT_SCHEMA:
        from ._schema import compact_schema

        _OUTPUT_SCHEMA.update(compact_schema(_content_model()))
    return _OUTPUT_SCHEMA


def structured(r: ToolResult, budget: int | None = STRUCTURED_BUDGET, *, compact: bool = False) -> dict[str, Any]:
    """Structured content: JSON-safe, for MCP and for Python callers.

    Args:
        budget: characters of JSON records to include (``None``: all). When
            records are left out, ``omitted`` counts them, ``truncated`` is
            True and ``note`` says how to get the rest.
        compact: keep only the fields worth a model's context (the frame's
            known columns and ``columns``) instead of the whole API object;
            MCP asks for this, Python callers get everything.
    """
    out: dict[str, Any] = {"summary": r.summary}
    if r.records is not None:
        records = _compact_records(r) if compact else r.records
        kept = _fitting(records, budget)
        out["count"] = len(records)
        out["truncated"] = r.truncated or kept < len(records)
        out["records"] = records[:kept]
        if kept < len(records):
            out["omitted"] = len(records) - kept
            out["note"] = _omitted_note(r, kept)
    if r.data is not None:
        out["data"] = _picked(r) if compact and r.columns else r.data
    if r.links:
        out["links"] = r.links
    safe: dict[str, Any] = json.loads(json.dumps(out, default=str))
    return safe

def markdown(r: ToolResult, max_rows: int = MARKDOWN_ROWS, *, following: int = 0) -> str:
    """Short markdown for a model or a terminal: summary, a capped table, links, hints.

    Every piece of server text is escaped (table cells, bullets) or fenced with
    a fence longer than any backtick run in it, so an event's message cannot
    close our code block and pose as one of our hints.

    Args:
        max_rows: rows in the table; the rest are counted and listed by ID.
        following: how many of the rows past the table the caller sends right
            after this text (MCP's JSON lines, :meth:`rows_json`).
    """
    parts = [_line(r.summary)]
    if r.records:
        cols = _table_columns(r)
        shown = r.records[:max_rows]
        parts.append("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
        parts[-1] += "".join(
            "\n| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in shown)
        parts.append(_more_rows(r, len(shown), following))
        kept = _fitting(_compact_records(r), STRUCTURED_BUDGET)  # as MCP sends them
        if kept < len(r.records):
            parts.append(_omitted_note(r, kept))
        elif r.truncated:
            parts.append("More exist on the server; raise `limit` to fetch them.")
    elif r.truncated:
        parts.append("More exist on the server; raise `limit` to fetch them.")
    if r.data is not None and r.records is None:
        picked = _picked(r) if r.columns else r.data
        fields = {k: v for k, v in picked.items()
                  if v not in (None, "", [], {}) and not isinstance(v, (dict, list))}
        blocks = {k: v for k, v in fields.items() if isinstance(v, str) and _multiline(v)}
        parts.append("\n".join(f"- **{_cell(k)}**: {_cell(v, 200)}" for k, v in fields.items()
                               if k not in blocks))
        parts.extend(f"**{_cell(k)}**:\n{fenced(v[:4000])}" for k, v in blocks.items())
    if r.details:
        parts.append("\n".join(f"- **{_cell(k)}**: {_cell(v, 1000)}"
                               for k, v in r.details.items() if v and not _multiline(v)))
        parts.extend(f"**{_cell(k)}**:\n{fenced(v[:4000])}"
                     for k, v in r.details.items() if v and _multiline(v))
    if r.links:
        parts.append("\n".join(f"- {label}: {_line(url)}" for label, url in r.links.items() if url))
    parts.extend(r.hints)
    return "\n\n".join(p for p in parts if p)

def rows_json(r: ToolResult, start: int = MARKDOWN_ROWS, budget: int = TEXT_ROWS_BUDGET) -> tuple[str, int]:
    """The rows from ``start`` on as compact JSON lines, the table's columns only.

    Returns ``(text, rows)``: at most ``budget`` characters of whole rows, and how
    many rows that is (0 and ``""`` when none are past ``start``).
    """
    if not r.records or len(r.records) <= start:
        return "", 0
    cols = list(dict.fromkeys((*([k] if (k := _id_key(r)) else []), *_table_columns(r))))
    lines: list[str] = []
    used = 0
    for row in r.records[start:]:
        line = json.dumps({c: row.get(c) for c in cols}, separators=(",", ":"), default=str,
                          ensure_ascii=False)
        used += len(line) + 1
        if used > budget:
            break
        lines.append(line)
    return "\n".join(lines), len(lines)

def _picked(r: ToolResult) -> dict[str, Any]:
    """The single object's ``columns``, in order; dotted names (``team.slug``) reach inside."""
    from ..frames import flatten

    data = r.data or {}
    flat: dict[str, Any] | None = None
    out: dict[str, Any] = {}
    for key in r.columns:
        if key in data:
            out[key] = data[key]
            continue
        flat = flatten(data) if flat is None else flat
        if key in flat:
            out[key] = flat[key]
    return out

def _table_columns(r: ToolResult) -> tuple[str, ...]:
    return r.columns or tuple(r.records[0])[:6] if r.records else r.columns

def _id_key(r: ToolResult) -> str | None:
    """The column that names a row (short ID, slug, event ID...), if the rows have one."""
    first = r.records[0] if r.records else {}
    cols = _table_columns(r)
    return next((k for k in _ID_KEYS if k in cols), None) or next(
        (k for k in _ID_KEYS if k in first), None) or (cols[0] if cols else None)

def _more_rows(r: ToolResult, shown: int, following: int) -> str:
    """What a reader of the text alone needs about the rows past the table."""
    hidden = len(r.records or []) - shown
    if hidden <= 0:
        return ""
    following = min(following, hidden)
    out = []
    if following:
        out.append(f"The JSON lines below hold the next {plural(following, 'row')}.")
    rest = (r.records or [])[shown + following:]
    if rest:
        key = None if r.frame in SERIES_FRAMES else _id_key(r)
        ids = [str(r.get(key)) for r in rest[:_MD_IDS] if key and r.get(key) not in (None, "")]
        listed = f" ({key}: {', '.join(_cell(i, 40) for i in ids)}" + (
            f", … {len(rest) - len(ids)} more)" if len(rest) > len(ids) else ")") if ids else ""
        out.append(f"{plural(len(rest), 'more row')} not shown here{listed}; narrow the query "
                   "to see them in this table.")
    return " ".join(out)

def _compact_records(r: ToolResult) -> list[dict[str, Any]]:
    """Records cut to the frame's known columns plus ``columns``, for raw API objects.

    Only frames whose rows are whole Sentry objects (issues, events, projects,
    releases, replays) are cut; rows this package built are already lean.
    """
    from ..frames import columns, flatten

    rows = r.records or []
    if r.frame not in COMPACT_FRAMES:
        return rows
    keep = list(dict.fromkeys((*columns(r.frame), *r.columns)))
    flat = (flatten(row) for row in rows)
    return [{k: f[k] for k in keep if k in f} for f in flat]

def _omitted_note(r: ToolResult, kept: int) -> str:
    """Records cut by the size budget: a larger ``limit`` cannot help, so never suggest it."""
    total = len(r.records or [])
    server = (" The server has more as well; the notebook and Python API can fetch them "
              "with a larger `limit`." if r.truncated else "")
    return (f"Only the first {kept} of {total} records fit in this answer (a size cap); "
            "narrow the query (a filter or a shorter period) to get the rest here, or use the "
            f"notebook or Python API, which return every record.{server}")

def plural(n: int | str, noun: str, many: str | None = None, *, more: bool = False) -> str:
    """``n`` and ``noun`` in agreement: ``1 issue``, ``2 issues``, ``3+ issues`` (``more``).

    ``many`` is the plural when adding ``s`` is wrong (``plural(2, "entry", "entries")``).
    """
    one = str(n) == "1" and not more
    return f"{n}{'+' if more else ''} {noun if one else many or noun + 's'}"


def fenced(text: str) -> str:
    """``text`` in a code block whose fence is longer than any backtick run inside it.

    CommonMark closes a fence only with a run at least as long as the opening one,
    so untrusted text (an event message holding three backticks) stays inside.
    """
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


_BACKTICKS = re.compile(r"`+")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def _multiline(text: str) -> bool:
    return _LINE_BREAKS.search(text) is not None


def _line(text: str) -> str:
    """One line: server text in a sentence must not start a markdown line of its own."""
    return _LINE_BREAKS.sub(" ", text)


def _cell(value: Any, width: int = 80) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = _line(text.replace("|", "\\|"))
    return text if len(text) <= width else text[: width - 1] + "…"


def _fitting(records: list[dict[str, Any]], budget: int | None) -> int:
    """How many leading records fit in ``budget`` characters of JSON."""
    if budget is None:
        return len(records)
    used = 0
    for i, record in enumerate(records):
        used += len(json.dumps(record, default=str)) + 2
        if used > budget:
            return i
    return len(records)
