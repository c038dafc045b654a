"""``IssueBrowser``: an opt-in ipywidgets view over the issue tools (``%sentry_browse``).

The DataFrame magics stay the primary result; this is a convenience for
clicking through issues. It holds no HTTP code: the list comes from
``sentry_list_issues``, the detail pane (and its events-over-time chart, from
the issue's ``stats``) from ``sentry_get_issue`` and ``sentry_list_issue_events``,
and Resolve, Unresolve, Ignore, Bookmark and Assign all from ``sentry_update_issue``,
the one triage path every face uses. That tool reads the issue back, so the
status line says what the server changed, not what was asked.

Widget callbacks are not cells: nothing shows their exceptions and a raising
handler leaves a half-updated widget. Every handler therefore runs through
:meth:`IssueBrowser._guard`, which writes one sentence into the status line
(and reports unexpected errors, not ``SentryIpyError``, to Sentry).

ipywidgets is imported here, and this module only when the magic runs.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ipywidgets as w

from ..errors import SentryIpyError, error_line
from ..tools import MAX_LIMIT, ToolContext, ToolResult, run_tool
from ._charts import CHART_PERIODS, events_png, events_series

__all__ = ["IGNORE_MODES", "SORTS", "IssueBrowser"]

#: Sort dropdown: label -> the ``sort`` value of ``sentry_list_issues``.
SORTS: tuple[tuple[str, str], ...] = (("Last seen", "date"), ("First seen", "new"),
                                      ("Events", "freq"), ("Users", "user"))
#: Ignore dropdown: label -> the ``sentry_update_issue`` arguments that ignore that way.
IGNORE_MODES: dict[str, dict[str, Any]] = {
    "until escalating": {"ignoreUntil": "escalating"}, "forever": {"ignoreUntil": "forever"},
    "for 1 hour": {"ignoreMinutes": 60}, "for 1 day": {"ignoreMinutes": 1440}}
_PERIOD_WORDS = {"24h": "in the last 24 hours, per hour", "30d": "in the last 30 days, per day"}
_MATPLOTLIB_HINT = "The events chart needs matplotlib: pip install 'sentry-ipy[notebook]'."
_EVENT_ROWS = 10  # events shown in the detail pane
_TITLE_WIDTH = 90  # characters of an issue title in the list
_TD = '<td style="text-align:left;padding:2px 14px 2px 0">'
_TH = '<th style="text-align:left;padding:2px 14px 2px 0">'


class IssueBrowser:
    """Browse, inspect and triage one project's issues.

    Display the browser (it is the last expression of a cell, or pass it to
    ``display``) to show its widget. The parts are attributes so code and tests
    can drive them: ``filter_text``, ``sort_dropdown``, ``refresh_button``,
    ``limit_box``, ``issue_list``, ``detail``, ``chart`` (and ``chart_period``,
    ``chart_note``), ``resolve_button``, ``unresolve_button``, ``ignore_dropdown``,
    ``ignore_button``, ``bookmark_button``, ``assign_text``, ``assign_button``,
    ``status_line``.

    The issue the action buttons act on (``current``) is always the one the
    list highlights: when loading a selected issue fails, ``current`` is
    cleared and the buttons are disabled rather than left on the previous one.

    Args:
        ctx: the tool context (the magics' ``context``).
        project: project slug whose issues are listed.
        query: initial Sentry search; ``""`` lists every issue.
        sort: one of the :data:`SORTS` values.
        limit: most issues listed (the "Limit" box changes it).
        load: fetch the list now, reporting a failure in the status line
            (``%sentry_browse`` passes False and calls :meth:`refresh` itself,
            so a bad project fails the cell instead).
    """

    def __init__(self, ctx: ToolContext, project: str, query: str = "is:unresolved", *,
                 sort: str = "date", limit: int = 100, load: bool = True) -> None:
        self.ctx = ctx
        self.project = project
        self.issues: dict[str, dict[str, Any]] = {}
        self.current: dict[str, Any] | None = None
        #: The events-over-time series the chart shows (a pandas Series by UTC time), or None.
        self.chart_data: Any = None

        self.filter_text = w.Text(value=query, description="Query",
                                  placeholder="Sentry search, e.g. is:unresolved level:error",
                                  layout=w.Layout(flex="1 1 auto", width="auto"))
        self.sort_dropdown = w.Dropdown(options=SORTS, value=sort, description="Sort",
                                        layout=w.Layout(width="14em"))
        self.limit_box = w.BoundedIntText(value=max(1, limit), min=1, max=MAX_LIMIT, description="Limit",
                                          tooltip="Most issues listed", layout=w.Layout(width="11em"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh", tooltip="Fetch the issues again")
        self.issue_list = w.Select(options=[], rows=10, layout=w.Layout(width="auto"))
        self.resolve_button = w.Button(description="Resolve", icon="check", button_style="success",
                                       disabled=True, tooltip="Mark the selected issue resolved")
        self.unresolve_button = w.Button(description="Unresolve", icon="undo", disabled=True,
                                         tooltip="Mark the selected issue unresolved")
        self.ignore_dropdown = w.Dropdown(options=list(IGNORE_MODES), value="until escalating",
                                          layout=w.Layout(width="11em"))
        self.ignore_button = w.Button(description="Ignore", icon="bell-slash", disabled=True,
                                      tooltip="Ignore (archive) the selected issue as the menu beside says")
        self.bookmark_button = w.Button(description="Bookmark", icon="bookmark", disabled=True,
                                        tooltip="Bookmark the selected issue (or remove its bookmark)")
        self.assign_text = w.Text(placeholder="user:ID, team:ID, username or email; empty unassigns",
                                  layout=w.Layout(width="22em"))
        self.assign_button = w.Button(description="Assign", icon="user", disabled=True,
                                      tooltip="Assign the selected issue (an empty box unassigns it)")
        self.status_line = w.HTML()
        self.detail = w.HTML(value=_muted("Select an issue to see its details."))
        self.chart_period = w.ToggleButtons(options=CHART_PERIODS, value="24h",
                                            style={"button_width": "7em"})
        self.chart = w.Image(format="png", layout=w.Layout(max_width="640px", width="100%"))
        self.chart_note = w.HTML()
        self.chart_box = w.VBox([self.chart_period, self.chart_note, self.chart],
                                layout=w.Layout(display="none"))
        for part, name in ((self.issue_list, "list"), (self.detail, "detail"),
                           (self.status_line, "status"), (self.refresh_button, "refresh"),
                           (self.limit_box, "limit"), (self.chart_box, "chart"),
                           (self.resolve_button, "resolve"), (self.unresolve_button, "unresolve"),
                           (self.ignore_dropdown, "ignore-mode"), (self.ignore_button, "ignore"),
                           (self.bookmark_button, "bookmark"), (self.assign_text, "assignee"),
                           (self.assign_button, "assign")):
            part.add_class(f"sentry-browse-{name}")

        header = w.HBox([w.HTML(f"<b>Sentry issues</b> &middot; <code>{_esc(project)}</code>"),
                         self.filter_text, self.sort_dropdown, self.limit_box, self.refresh_button],
                        layout=w.Layout(align_items="center", width="100%"))
        actions = w.HBox([self.resolve_button, self.unresolve_button, self.ignore_dropdown, self.ignore_button,
                          self.bookmark_button, self.assign_text, self.assign_button],
                         layout=w.Layout(flex_flow="row wrap", align_items="center"))
        self.widget = w.VBox([header, self.issue_list, self.status_line, actions, self.chart_box, self.detail],
                             layout=w.Layout(width="100%"))
        self.widget.add_class("sentry-browse")

        self.refresh_button.on_click(lambda _b: self._guard("loading the issues", self.refresh))
        self.sort_dropdown.observe(lambda _c: self._guard("loading the issues", self.refresh), names="value")
        self.limit_box.observe(lambda _c: self._guard("loading the issues", self.refresh), names="value")
        self.issue_list.observe(self._on_select, names="value")
        self.resolve_button.on_click(lambda _b: self._guard("resolving the issue", self.set_status, "resolved"))
        self.unresolve_button.on_click(
            lambda _b: self._guard("unresolving the issue", self.set_status, "unresolved"))
        self.ignore_button.on_click(lambda _b: self._guard("ignoring the issue", self.ignore))
        self.bookmark_button.on_click(lambda _b: self._guard("bookmarking the issue", self.toggle_bookmark))
        self.assign_button.on_click(lambda _b: self._guard("assigning the issue", self.assign))
        self.chart_period.observe(lambda _c: self._guard("drawing the chart", self._draw_chart), names="value")
        if load:
            self._guard("loading the issues", self.refresh)

    def __repr__(self) -> str:
        return f"<IssueBrowser project={self.project!r} issues={len(self.issues)}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def limit(self) -> int:
        """Most issues listed: the value of the "Limit" box."""
        return int(self.limit_box.value)

    @limit.setter
    def limit(self, value: int) -> None:
        self.limit_box.value = value  # observed: refreshes the list

    # ------------------------------------------------------------ actions
    def refresh(self) -> None:
        """Fetch the issues for the current query and sort; keep the selection if it is still listed.

        Raises:
            SentryIpyError: the fetch failed (callbacks show it in the status line).
        """
        query = self.filter_text.value.strip()
        args = {"projectSlug": self.project, "query": query, "sort": self.sort_dropdown.value,
                "limit": self.limit}
        with self._busy("Loading issues"):
            result = self._run("sentry_list_issues", args)
        rows = result.records or []
        self.issues = {str(r["id"]): r for r in rows}
        keep = self.issue_list.value if self.issue_list.value in self.issues else None
        self.issue_list.unobserve(self._on_select, names="value")
        try:
            self.issue_list.options = [(_label(r), str(r["id"])) for r in rows]
            self.issue_list.value = keep
        finally:
            self.issue_list.observe(self._on_select, names="value")
        if keep is None:
            self.current = None
            self._hide_chart()
            self.detail.value = _muted("Select an issue to see its details." if rows else
                                       "No issues match this query.")
        self._update_buttons()
        more = " (more exist; raise the Limit)" if result.truncated else ""
        self._say(f"{len(rows)} issue{'s' if len(rows) != 1 else ''} "
                  f"(query: {_esc(query) if query else 'all'}){more}.")

    def select(self, issue_id: str) -> None:
        """Show one issue: summary, stack trace, its newest events and its events over time.

        Raises:
            SentryIpyError: a fetch failed.
        """
        try:
            with self._busy("Loading the issue"):
                issue = self._run("sentry_get_issue", {"issueId": issue_id})
                events = self._run("sentry_list_issue_events", {"issueId": issue_id, "limit": _EVENT_ROWS})
        except BaseException:
            # Never leave the action buttons acting on the previously shown issue
            # while the list highlights this one.
            self.current = None
            self.detail.value = _muted("Could not load this issue; select it again or press Refresh.")
            self._hide_chart()
            self._update_buttons()
            raise
        self.current = issue.data or {}
        self.detail.value = _detail_html(issue, events)
        self._update_buttons()
        self._draw_chart()
        self._say(_esc(issue.summary))

    def set_status(self, status: str) -> None:
        """Mark the selected issue ``resolved`` or ``unresolved`` (``sentry_update_issue``).

        Raises:
            SentryIpyError: the update failed.
        """
        self.update(f"Marking the issue {status}", status=status)

    def ignore(self) -> None:
        """Ignore (archive) the selected issue the way ``ignore_dropdown`` says."""
        self.update(f"Ignoring the issue {self.ignore_dropdown.value}", status="ignored",
                    **IGNORE_MODES[self.ignore_dropdown.value])

    def toggle_bookmark(self) -> None:
        """Bookmark the selected issue, or remove its bookmark when it has one."""
        marked = bool((self.current or {}).get("isBookmarked"))
        self.update("Removing the bookmark" if marked else "Bookmarking the issue", bookmark=not marked)

    def assign(self) -> None:
        """Assign the selected issue to ``assign_text`` (``user:ID``, ``team:ID``, username, email); empty unassigns."""
        who = self.assign_text.value.strip()
        self.update(f"Assigning the issue to {who}" if who else "Unassigning the issue", assignTo=who)

    def update(self, doing: str, **changes: Any) -> None:
        """Apply ``changes`` (``sentry_update_issue`` arguments) to the selected issue, then show it again.

        The status line says what the server changed, as the tool read it back
        (or that it already was so, or that the server left it as it was).

        Raises:
            SentryIpyError: the update failed.
        """
        if not self.current:
            self._say("Select an issue first.")
            return
        issue_id = str(self.current.get("id"))
        with self._busy(doing):
            done = self._run("sentry_update_issue", {"issues": [issue_id], **changes})
        row = next(iter(done.records or []), None)
        if row is None:  # the issue is gone: the tool said so in its summary
            self._say(_esc(done.summary), error=True)
            return
        said = _outcome(row)
        new_status = str(row.get("status") or self.current.get("status"))
        listed = self.issues.get(issue_id)
        if listed is not None:
            self.issues[issue_id] = {**listed, "status": new_status}
        query = self.filter_text.value.strip()
        if _query_excludes(query, new_status):
            # The row leaves the list; the pane shows the issue's new state once more, but with
            # nothing highlighted there is nothing for the buttons to act on.
            self._drop_row(issue_id)
            self.select(issue_id)
            self.current = None
            self._update_buttons()
            self.detail.value = (_muted(f"{row.get('shortId') or issue_id} left the list: it no longer matches "
                                        f"the query {query!r}.") + self.detail.value)
            self._say(f"{_esc(said)} It left the list (query: {_esc(query)}).")
            return
        self._relabel(issue_id)
        self.select(issue_id)
        self._say(_esc(said), error=row.get("outcome") not in ("changed", "already"))

    def _relabel(self, issue_id: str) -> None:
        """Show a row's new status in its label, keeping the selection."""
        row = self.issues.get(issue_id)
        if row is None:
            return
        self.issue_list.unobserve(self._on_select, names="value")
        try:
            value = self.issue_list.value
            self.issue_list.options = [(_label(self.issues[v]) if v == issue_id else lbl, v)
                                       for lbl, v in self.issue_list.options]
            self.issue_list.value = value
        finally:
            self.issue_list.observe(self._on_select, names="value")

    def _drop_row(self, issue_id: str) -> None:
        """Remove a row the query no longer matches; nothing stays selected."""
        self.issues.pop(issue_id, None)
        self.issue_list.unobserve(self._on_select, names="value")
        try:
            self.issue_list.options = [(lbl, v) for lbl, v in self.issue_list.options if v != issue_id]
            self.issue_list.value = None
        finally:
            self.issue_list.observe(self._on_select, names="value")

    # ------------------------------------------------------------ plumbing
    def _on_select(self, change: dict[str, Any]) -> None:
        if change.get("new"):
            self._guard("loading the issue", self.select, change["new"])

    def _run(self, name: str, args: dict[str, Any]) -> ToolResult:
        return run_tool(name, args, self.ctx)

    def _guard(self, action: str, fn: Callable[..., None], *args: Any) -> None:
        """Run a callback; never let an exception escape into the kernel's output."""
        try:
            fn(*args)
        except SentryIpyError as exc:
            self._say(_esc(error_line(exc, first_line=True)), error=True)
        except Exception as exc:  # noqa: BLE001 - a widget callback must survive any bug
            reported = ""
            try:
                event_id = self.ctx.telemetry().capture_exception(
                    exc, tags={"mechanism": "notebook_widget"}, contexts={"widget": {"action": action}})
                reported = f"; reported to Sentry as {event_id}" if event_id else ""
            except Exception:  # noqa: BLE001, S110 - reporting is best effort
                pass
            self._say(f"Unexpected {type(exc).__name__} while {action}: "
                      f"{_esc(_first_line(str(exc)) or 'no message')}{reported}.", error=True)

    @contextmanager
    def _busy(self, what: str) -> Iterator[None]:
        """Disable the buttons and show progress in the status line while fetching."""
        parts = (self.refresh_button, self.resolve_button, self.unresolve_button, self.ignore_button,
                 self.bookmark_button, self.assign_button)
        before = [b.disabled for b in parts]
        old_progress = self.ctx.progress

        def progress(done: int, total: int | None, message: str) -> None:
            of = f" of {total}" if total else ""
            self._say(f"&#8987; {what}&hellip; {done}{of} rows")

        for b in parts:
            b.disabled = True
        self._say(f"&#8987; {what}&hellip;")
        self.ctx.progress = progress
        try:
            yield
        finally:
            self.ctx.progress = old_progress
            for b, was in zip(parts, before, strict=True):
                b.disabled = was
            self.refresh_button.disabled = False

    def _update_buttons(self) -> None:
        status = (self.current or {}).get("status")
        self.resolve_button.disabled = not self.current or status == "resolved"
        self.unresolve_button.disabled = not self.current or status == "unresolved"
        for button in (self.ignore_button, self.bookmark_button, self.assign_button):
            button.disabled = not self.current
        marked = bool((self.current or {}).get("isBookmarked"))
        self.bookmark_button.description = "Unbookmark" if marked else "Bookmark"
        self.bookmark_button.button_style = "info" if marked else ""

    def _draw_chart(self) -> None:
        """Draw the selected issue's events over ``chart_period`` from the ``stats`` it came with."""
        if not self.current:
            self._hide_chart()
            return
        self.chart_box.layout.display = "flex"
        period = str(self.chart_period.value)
        series = events_series(self.current, period)
        self.chart_data = series
        if series.empty:
            self.chart.layout.display = "none"
            self.chart_note.value = _muted(f"The server sent no {period} event counts for this issue.")
            return
        try:
            total = int(series.sum())
            png = events_png(series, f"{self.current.get('shortId')}: {total} event{'s' if total != 1 else ''} "
                                     f"{_PERIOD_WORDS.get(period, 'in ' + period)}")
        except ImportError:
            self.chart.layout.display = "none"
            self.chart_note.value = _muted(_MATPLOTLIB_HINT)
            return
        self.chart_note.value = ""
        self.chart.value = png
        self.chart.layout.display = None

    def _hide_chart(self) -> None:
        self.chart_data = None
        self.chart_box.layout.display = "none"

    def _say(self, text_html: str, *, error: bool = False) -> None:
        color = "var(--jp-error-color1, #c62828)" if error else "var(--jp-ui-font-color2, #555)"
        self.status_line.value = f'<span style="color:{color}">{text_html}</span>'


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _muted(text: str) -> str:
    return f'<i style="color:var(--jp-ui-font-color2, #777)">{_esc(text)}</i>'


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _label(row: dict[str, Any]) -> str:
    """``SHORT-ID — title — count``, then ``— status`` unless the issue is unresolved."""
    title = str(row.get("title") or "(no title)")
    if len(title) > _TITLE_WIDTH:
        title = title[: _TITLE_WIDTH - 1] + "…"
    status = row.get("status")
    shown = f" — {status}" if status and status != "unresolved" else ""
    return f"{row.get('shortId') or row.get('id')} — {title} — {row.get('count') or 0}{shown}"


def _outcome(row: dict[str, Any]) -> str:
    """One sentence for a ``sentry_update_issue`` row: what the server changed, as read back."""
    name = row.get("shortId") or row.get("id")
    outcome = row.get("outcome")
    if outcome == "changed":
        return f"{name}: {row.get('changes') or 'changed'} (read back from the server)."
    if outcome == "already":
        return f"{name} already was so; nothing changed."
    if outcome == "gone":
        return f"{name} no longer exists on the server."
    return (f"The server left {name} as it was (status {row.get('status')}); the change may need a permission "
            "this token lacks.")


#: ``is:`` values of Sentry search that name an issue status.
_STATUS_TERMS = {"resolved": "resolved", "unresolved": "unresolved", "ignored": "ignored",
                 "archived": "ignored"}


def _query_excludes(query: str, status: str) -> bool:
    """True when ``query``'s ``is:``/``!is:`` status terms rule out an issue with ``status``."""
    wanted: set[str] = set()
    for word in query.split():
        negated = word.startswith("!")
        key, _, value = word.lstrip("!").partition(":")
        term = _STATUS_TERMS.get(value.lower()) if key.lower() == "is" else None
        if term is None:
            continue
        if negated and term == status:
            return True
        if not negated:
            wanted.add(term)
    return bool(wanted) and status not in wanted


def _detail_html(issue: ToolResult, events: ToolResult) -> str:
    """The detail pane: title, facts, stack trace and a small events table, all escaped."""
    d = issue.data or {}
    link = issue.links.get("Issue")
    title = f"{_esc(d.get('shortId'))}: {_esc(d.get('title'))}"
    head = (f'<a href="{_esc(link)}" target="_blank" rel="noopener">{title}</a>' if link else title)
    facts = [("Status", d.get("status")), ("Level", d.get("level")), ("Events", d.get("count")),
             ("Users", d.get("userCount")), ("First seen", d.get("firstSeen")),
             ("Last seen", d.get("lastSeen")), ("Culprit", d.get("culprit"))]
    fact_html = " &middot; ".join(f"<b>{k}</b> {_esc(v)}" for k, v in facts if v not in (None, ""))
    stack = d.get("stacktrace")
    stack_html = (f'<pre class="sentry-browse-stack" style="white-space:pre-wrap;margin:4px 0">'
                  f"{_esc(stack)}</pre>" if stack else _muted("No stack trace in the latest event."))
    rows = events.records or []
    cells = "".join(
        f"<tr>{_TD}<code>{_esc(str(r.get('eventID') or r.get('id') or '')[:12])}</code></td>"
        f"{_TD}{_esc(r.get('dateCreated'))}</td>{_TD}{_esc(r.get('message') or r.get('title'))}</td></tr>"
        for r in rows)
    more = f" (newest {len(rows)})" if events.truncated else ""
    table = (f'<table class="sentry-browse-events"><thead><tr>{_TH}Event</th>{_TH}Time</th>{_TH}Message</th>'
             f"</tr></thead><tbody>{cells}</tbody></table>" if rows else _muted("No events."))
    return (f'<div class="sentry-browse-issue"><h4 style="margin:6px 0">{head}</h4>'
            f"<div>{fact_html}</div><h5 style=\"margin:8px 0 2px\">Stack trace</h5>{stack_html}"
            f"<h5 style=\"margin:8px 0 2px\">Events{more}</h5>{table}</div>")
