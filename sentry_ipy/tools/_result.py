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
import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..frames import Frame

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["STRUCTURED_BUDGET", "ToolResult", "fenced", "plural"]

_MD_ROWS = 15  # rows shown in markdown before a "N more" line
_MD_IDS = 50  # IDs of the rows past the table listed in markdown, for text-only clients
#: Keys that name a row, best first: what a text-only reader passes to the next tool.
_ID_KEYS = ("shortId", "issue", "eventID", "slug", "version", "id")
#: Characters of JSON records that :meth:`ToolResult.to_dict` carries (about 100k tokens).
STRUCTURED_BUDGET = 400_000


@dataclass
class ToolResult:
    """The outcome of one tool call.

    Attributes:
        summary: one sentence saying what happened (``"Found 57 issues in notebook."``).
        records: rows for list results; ``None`` for single-object results.
        data: the single object (an issue, an event, a captured event's ID...).
        frame: the column schema in :mod:`sentry_ipy.frames` for ``records`` (a
            tool declares it in ``@tool(frame=...)``; an unknown name is refused).
        columns: what markdown shows: the columns of each row, or, for a single
            object, the keys worth a model's attention (all scalar keys when empty).
        links: ``label -> URL`` for the next step (web UI pages).
        hints: short next-step sentences (``"Call sentry_get_issue with ..."``).
        truncated: True when more rows existed than ``limit`` allowed.
        details: markdown-only ``label -> text`` lines after the fields (an event's
            tags, breadcrumbs...); the text is untrusted and rendered escaped or fenced.
        fetch: how list records were fetched (``limit``, ``query``, ``server``,
            ``fetched_at``), filled in by ``run_tool``; a frame carries it as ``attrs``.
        untrusted: the result carries what some SDK sent (events, issues made from
            them): :func:`~sentry_ipy.tools.run_tool` scrubs it, like an outgoing
            event, before any face shows it (:meth:`scrubbed`).
    """

    summary: str
    records: list[dict[str, Any]] | None = None
    data: dict[str, Any] | None = None
    frame: Frame | None = None
    columns: tuple[str, ...] = ()
    links: dict[str, str] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)
    truncated: bool = False
    details: dict[str, str] = field(default_factory=dict)
    fetch: dict[str, Any] = field(default_factory=dict)
    untrusted: bool = False

    def scrubbed(self, extra_keys: tuple[str, ...] = (), secrets: tuple[str, ...] = ()) -> ToolResult:
        """A copy whose text, records, object and details passed :func:`sentry_ipy.scrub.scrub`.

        Events stored by any SDK may hold ``api_key=...`` in a message, an
        ``authorization`` tag or a password in a frame variable; we scrub what we
        send, and this scrubs what we show, with the same denylist and shapes.
        """
        from ..scrub import scrub

        return replace(self, summary=scrub(self.summary, extra_keys, secrets),
                       records=None if self.records is None else scrub(self.records, extra_keys, secrets),
                       data=None if self.data is None else scrub(self.data, extra_keys, secrets),
                       details=scrub(self.details, extra_keys, secrets), untrusted=False)

    def __post_init__(self) -> None:
        if self.frame is not None and not isinstance(self.frame, Frame):
            try:
                self.frame = Frame(self.frame)
            except ValueError:
                raise ValueError(f"frame {self.frame!r} is not one of "
                                 f"{', '.join(f.value for f in Frame)}") from None

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
            out["data"] = self._picked() if compact and self.columns else self.data
        if self.links:
            out["links"] = self.links
        safe: dict[str, Any] = json.loads(json.dumps(out, default=str))
        return safe

    def to_frame(self) -> "pd.DataFrame":
        """Return the records (or the single object) as a typed DataFrame."""
        from .. import frames

        rows = self.records if self.records is not None else ([self.data] if self.data else [])
        attrs = {"truncated": self.truncated, "rows": len(rows), **self.fetch} if self.fetch else None
        return frames.to_frame(rows, self.frame, attrs)

    def truncation_note(self) -> str | None:
        """One line for a frame that stopped at a ``limit``: more rows exist, and how to get them."""
        if not self.truncated or self.records is None:
            return None
        limit = self.fetch.get("limit")
        why = f"stopped at limit={limit}" if limit else "stopped early"
        return (f"sentry-ipy: this frame holds {len(self.records)} rows and {why}; the server has more "
                "(leave out limit, or narrow the query or window, to get all of them).")

    def to_markdown(self, max_rows: int = _MD_ROWS, *, following: int = 0) -> str:
        """Short markdown for a model or a terminal: summary, a capped table, links, hints.

        Every piece of server text is escaped (table cells, bullets) or fenced with
        a fence longer than any backtick run in it, so an event's message cannot
        close our code block and pose as one of our hints.

        Args:
            max_rows: rows in the table; the rest are counted and listed by ID.
            following: how many of the rows past the table the caller sends right
                after this text (MCP's JSON lines, :meth:`rows_json`).
        """
        parts = [_line(self.summary)]
        if self.records:
            cols = self._table_columns()
            shown = self.records[:max_rows]
            parts.append("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
            parts[-1] += "".join(
                "\n| " + " | ".join(_cell(r.get(c)) for c in cols) + " |" for r in shown)
            parts.append(self._more_rows(len(shown), following))
            kept = _fitting(self._compact_records(), STRUCTURED_BUDGET)  # as MCP sends them
            if kept < len(self.records):
                parts.append(self._omitted_note(kept))
            elif self.truncated:
                parts.append("More exist on the server; raise `limit` to fetch them.")
        elif self.truncated:
            parts.append("More exist on the server; raise `limit` to fetch them.")
        if self.data is not None and self.records is None:
            picked = self._picked() if self.columns else self.data
            fields = {k: v for k, v in picked.items()
                      if v not in (None, "", [], {}) and not isinstance(v, (dict, list))}
            blocks = {k: v for k, v in fields.items() if isinstance(v, str) and _multiline(v)}
            parts.append("\n".join(f"- **{_cell(k)}**: {_cell(v, 200)}" for k, v in fields.items()
                                   if k not in blocks))
            parts.extend(f"**{_cell(k)}**:\n{fenced(v[:4000])}" for k, v in blocks.items())
        if self.details:
            parts.append("\n".join(f"- **{_cell(k)}**: {_cell(v, 1000)}"
                                   for k, v in self.details.items() if v and not _multiline(v)))
            parts.extend(f"**{_cell(k)}**:\n{fenced(v[:4000])}"
                         for k, v in self.details.items() if v and _multiline(v))
        if self.links:
            parts.append("\n".join(f"- {label}: {_line(url)}" for label, url in self.links.items()))
        parts.extend(self.hints)
        return "\n\n".join(p for p in parts if p)

    def rows_json(self, start: int = _MD_ROWS, budget: int = 20_000) -> tuple[str, int]:
        """The rows from ``start`` on as compact JSON lines, the table's columns only.

        Returns ``(text, rows)``: at most ``budget`` characters of whole rows, and how
        many rows that is (0 and ``""`` when none are past ``start``).
        """
        if not self.records or len(self.records) <= start:
            return "", 0
        cols = list(dict.fromkeys((*([k] if (k := self._id_key()) else []), *self._table_columns())))
        lines: list[str] = []
        used = 0
        for row in self.records[start:]:
            line = json.dumps({c: row.get(c) for c in cols}, separators=(",", ":"), default=str,
                              ensure_ascii=False)
            used += len(line) + 1
            if used > budget:
                break
            lines.append(line)
        return "\n".join(lines), len(lines)

    def _picked(self) -> dict[str, Any]:
        """The single object's ``columns``, in order; dotted names (``team.slug``) reach inside."""
        from ..frames import flatten

        data = self.data or {}
        flat: dict[str, Any] | None = None
        out: dict[str, Any] = {}
        for key in self.columns:
            if key in data:
                out[key] = data[key]
                continue
            flat = flatten(data) if flat is None else flat
            if key in flat:
                out[key] = flat[key]
        return out

    def _table_columns(self) -> tuple[str, ...]:
        return self.columns or tuple(self.records[0])[:6] if self.records else self.columns

    def _id_key(self) -> str | None:
        """The column that names a row (short ID, slug, event ID...), if the rows have one."""
        first = self.records[0] if self.records else {}
        cols = self._table_columns()
        return next((k for k in _ID_KEYS if k in cols), None) or next(
            (k for k in _ID_KEYS if k in first), None) or (cols[0] if cols else None)

    def _more_rows(self, shown: int, following: int) -> str:
        """What a reader of the text alone needs about the rows past the table."""
        hidden = len(self.records or []) - shown
        if hidden <= 0:
            return ""
        following = min(following, hidden)
        out = []
        if following:
            out.append(f"The JSON lines below hold the next {plural(following, 'row')}.")
        rest = (self.records or [])[shown + following:]
        if rest:
            key = self._id_key()
            ids = [str(r.get(key)) for r in rest[:_MD_IDS] if key and r.get(key) not in (None, "")]
            listed = f" ({key}: {', '.join(_cell(i, 40) for i in ids)}" + (
                f", … {len(rest) - len(ids)} more)" if len(rest) > len(ids) else ")") if ids else ""
            out.append(f"{plural(len(rest), 'more row')} not shown here{listed}; narrow the query "
                       "to see them in this table.")
        return " ".join(out)

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
        """Records cut by the size budget: a larger ``limit`` cannot help, so never suggest it."""
        total = len(self.records or [])
        server = (" The server has more as well; the notebook and Python API can fetch them "
                  "with a larger `limit`." if self.truncated else "")
        return (f"Only the first {kept} of {total} records fit in this answer (a size cap); "
                "narrow the query (a filter or a shorter period) to get the rest here, or use the "
                f"notebook or Python API, which return every record.{server}")

    def _repr_markdown_(self) -> str:
        """How Jupyter shows a result that is not a table (captures, one issue, the tool list)."""
        return self.to_markdown()

    def __repr__(self) -> str:
        n = f", {len(self.records)} records" if self.records is not None else ""
        return f"<ToolResult {self.summary!r}{n}>"


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
