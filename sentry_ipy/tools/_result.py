"""ToolResult: what every tool returns, and how it presents itself to each face.

One object carries the data once; the notebook asks for a DataFrame, MCP for
short markdown plus structured content, Python code for plain records.

Structured content is capped (:data:`STRUCTURED_BUDGET` characters of records):
a list of 10,000 issues is fine in a DataFrame but megabytes of JSON in an MCP
answer, which clients forward to a model. The cap keeps whole records, says how
many were left out, and ``records`` on the object itself stays complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["STRUCTURED_BUDGET", "ToolResult"]

_MD_ROWS = 15  # rows shown in markdown before a "N more" line
#: Characters of JSON records that :meth:`ToolResult.to_dict` carries (about 100k tokens).
STRUCTURED_BUDGET = 400_000


@dataclass
class ToolResult:
    """The outcome of one tool call.

    Attributes:
        summary: one sentence saying what happened (``"Found 57 issues in notebook."``).
        records: rows for list results; ``None`` for single-object results.
        data: the single object (an issue, an event, a captured event's ID...).
        frame: the column schema name in :mod:`sentry_ipy.frames` for ``records``.
        columns: what markdown shows: the columns of each row, or, for a single
            object, the keys worth a model's attention (all scalar keys when empty).
        links: ``label -> URL`` for the next step (web UI pages).
        hints: short next-step sentences (``"Call sentry_get_issue with ..."``).
        truncated: True when more rows existed than ``limit`` allowed.
    """

    summary: str
    records: list[dict[str, Any]] | None = None
    data: dict[str, Any] | None = None
    frame: str | None = None
    columns: tuple[str, ...] = ()
    links: dict[str, str] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)
    truncated: bool = False

    def to_dict(self, budget: int | None = STRUCTURED_BUDGET, *, compact: bool = False) -> dict[str, Any]:
        """Structured content: JSON-safe, for MCP and for Python callers.

        Args:
            budget: characters of JSON records to include (``None``: all). When
                records are left out, ``omitted`` counts them, ``truncated`` is
                True and ``note`` says how to get the rest.
            compact: keep only the fields worth a model's context (the frame's
                known columns and ``columns``) instead of the whole API object;
                MCP asks for this, Python callers get everything.
        """
        out: dict[str, Any] = {"summary": self.summary}
        if self.records is not None:
            records = self._compact_records() if compact else self.records
            kept = _fitting(records, budget)
            out["count"] = len(records)
            out["truncated"] = self.truncated or kept < len(records)
            out["records"] = records[:kept]
            if kept < len(records):
                out["omitted"] = len(records) - kept
                out["note"] = self._omitted_note(kept)
        if self.data is not None:
            out["data"] = ({k: self.data[k] for k in self.columns if k in self.data}
                           if compact and self.columns else self.data)
        if self.links:
            out["links"] = self.links
        return json.loads(json.dumps(out, default=str))

    def to_frame(self) -> "pd.DataFrame":
        """Return the records (or the single object) as a typed DataFrame."""
        from .. import frames

        rows = self.records if self.records is not None else ([self.data] if self.data else [])
        return frames.to_frame(rows, self.frame)

    def to_markdown(self, max_rows: int = _MD_ROWS) -> str:
        """Short markdown for a model or a terminal: summary, a capped table, links, hints."""
        parts = [self.summary]
        if self.records:
            cols = self.columns or tuple(self.records[0])[:6]
            shown = self.records[:max_rows]
            parts.append("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
            parts[-1] += "".join(
                "\n| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in shown)
            kept = _fitting(self._compact_records(), STRUCTURED_BUDGET)  # as MCP sends them
            rest = kept - len(shown)
            if rest > 0:
                parts.append(f"{rest} more rows in the structured result.")
            if kept < len(self.records):
                parts.append(self._omitted_note(kept))
        if self.truncated:
            parts.append("More exist on the server; raise `limit` to fetch them.")
        if self.data is not None and self.records is None:
            keys = self.columns or tuple(self.data)
            fields = {k: self.data.get(k) for k in keys
                      if self.data.get(k) not in (None, "", [], {})
                      and not isinstance(self.data.get(k), (dict, list))}
            blocks = {k: v for k, v in fields.items() if isinstance(v, str) and "\n" in v}
            parts.append("\n".join(f"- **{k}**: {_cell(v, 200)}" for k, v in fields.items()
                                   if k not in blocks))
            parts.extend(f"**{k}**:\n```\n{v[:4000]}\n```" for k, v in blocks.items())
        if self.links:
            parts.append("\n".join(f"- {label}: {url}" for label, url in self.links.items()))
        parts.extend(self.hints)
        return "\n\n".join(p for p in parts if p)

    def _compact_records(self) -> list[dict[str, Any]]:
        """Records cut to the frame's known columns plus ``columns``, for raw API objects.

        Only frames whose rows are whole Sentry objects (issues, events, projects,
        releases, replays) are cut; rows this package built are already lean.
        """
        from ..frames import RAW_API_FRAMES, columns, flatten

        rows = self.records or []
        if self.frame not in RAW_API_FRAMES:
            return rows
        keep = list(dict.fromkeys((*columns(self.frame), *self.columns)))
        flat = (flatten(row) for row in rows)
        return [{k: f[k] for k in keep if k in f} for f in flat]

    def _omitted_note(self, kept: int) -> str:
        total = len(self.records or [])
        return (f"Only the first {kept} of {total} records fit in this answer; ask for fewer "
                "(a smaller limit or a narrower query), or use the notebook or Python API for all.")

    def _repr_markdown_(self) -> str:
        """How Jupyter shows a result that is not a table (captures, one issue, the tool list)."""
        return self.to_markdown()

    def __repr__(self) -> str:
        n = f", {len(self.records)} records" if self.records is not None else ""
        return f"<ToolResult {self.summary!r}{n}>"


def _cell(value: Any, width: int = 80) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = text.replace("|", "\\|").replace("\n", " ")
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
