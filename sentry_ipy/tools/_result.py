"""ToolResult: what every tool returns, the data only.

One object carries the data once; the notebook asks for a DataFrame, MCP for
short markdown plus structured content, Python code for plain records. How it
is shown, and the size caps of what is shown, live in :mod:`._render`; the
methods here are the short way to call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..frames import Frame
from . import _render
from ._render import STRUCTURED_BUDGET, fenced, plural

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["STRUCTURED_BUDGET", "ToolResult", "fenced", "plural"]


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
        links: ``label -> URL`` for the next step (web UI pages). A ``None`` URL (a page
            this server's web UI is not known to have, see ``SentryClient.web_link``)
            is dropped: no link rather than a wrong one.
        hints: short next-step sentences (``"Call sentry_get_issue with ..."``).
        truncated: True when more rows existed than ``limit`` allowed.
        details: markdown-only ``label -> text`` lines after the fields (an event's
            tags, breadcrumbs...); the text is untrusted and rendered escaped or fenced.
        fetch: how list records were fetched (``limit``, ``query``, ``server``,
            ``fetched_at``), filled in by ``run_tool``; a frame carries it as ``attrs``.
        types: column -> Sentry meta type (``integer``, ``date``, ``duration``…), for
            records whose columns the query chose (Explore): the server's
            ``meta.fields`` types the frame instead of a :class:`Frame` schema.
        units: column -> unit from the server's ``meta.units`` (``millisecond``,
            ``byte``); kept in the frame's ``attrs["units"]``.
        untrusted: the result carries what some SDK sent (events, issues made from
            them): :func:`~sentry_ipy.tools.run_tool` scrubs it, like an outgoing
            event, before any face shows it (:meth:`scrubbed`).
    """

    summary: str
    records: list[dict[str, Any]] | None = None
    data: dict[str, Any] | None = None
    frame: Frame | None = None
    columns: tuple[str, ...] = ()
    links: dict[str, str | None] = field(default_factory=dict)
    hints: list[str] = field(default_factory=list)
    truncated: bool = False
    details: dict[str, str] = field(default_factory=dict)
    fetch: dict[str, Any] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
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
        self.links = {label: url for label, url in self.links.items() if url}
        if self.frame is not None and not isinstance(self.frame, Frame):
            try:
                self.frame = Frame(self.frame)
            except ValueError:
                raise ValueError(f"frame {self.frame!r} is not one of "
                                 f"{', '.join(f.value for f in Frame)}") from None

    def to_dict(self, budget: int | None = STRUCTURED_BUDGET, *, compact: bool = False) -> dict[str, Any]:
        """Structured content, JSON-safe: at most ``budget`` characters of records (``None``: all),
        cut to the fields worth a model's context when ``compact`` (see :func:`._render.structured`)."""
        return _render.structured(self, budget, compact=compact)

    def to_frame(self) -> "pd.DataFrame":
        """Return the records (or the single object) as a typed DataFrame."""
        from .. import frames

        rows = self.records if self.records is not None else ([self.data] if self.data else [])
        attrs: dict[str, Any] = {"truncated": self.truncated, "rows": len(rows), **self.fetch} if self.fetch else {}
        if self.units:
            attrs["units"] = dict(self.units)
        return frames.to_frame(rows, self.frame, attrs or None, types=self.types or None)

    def truncation_note(self) -> str | None:
        """One line for a frame that stopped at a ``limit``: more rows exist, and how to get them."""
        if not self.truncated or self.records is None:
            return None
        limit = self.fetch.get("limit")
        why = f"stopped at limit={limit}" if limit else "stopped early"
        return (f"sentry-ipy: this frame holds {len(self.records)} rows and {why}; the server has more "
                "(leave out limit, or narrow the query or window, to get all of them).")

    def to_markdown(self, max_rows: int = _render.MARKDOWN_ROWS, *, following: int = 0) -> str:
        """Short markdown for a model or a terminal (see :func:`._render.markdown`)."""
        return _render.markdown(self, max_rows, following=following)

    def rows_json(self, start: int = _render.MARKDOWN_ROWS,
                  budget: int = _render.TEXT_ROWS_BUDGET) -> tuple[str, int]:
        """The rows past the markdown table as JSON lines (see :func:`._render.rows_json`)."""
        return _render.rows_json(self, start, budget)

    def _repr_markdown_(self) -> str:
        """How Jupyter shows a result that is not a table (captures, one issue, the tool list)."""
        return self.to_markdown()

    def __repr__(self) -> str:
        n = f", {len(self.records)} records" if self.records is not None else ""
        return f"<ToolResult {self.summary!r}{n}>"
