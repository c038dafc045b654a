"""The issue browser widget, driven from Python against the local backend over loopback.

A module fixture creates its own project and sends, through sentry-sdk, two
exceptions (one twice), an error message and a warning message whose text is
HTML. The tests build ``IssueBrowser`` programmatically, click its buttons and
set its list's value, and read the answers back through the tools.
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sentry_sdk

pytest.importorskip("ipywidgets")

from IPython.core.error import UsageError  # noqa: E402

from sentry_ipy.config import Settings  # noqa: E402
from sentry_ipy.local import LocalServer  # noqa: E402
from sentry_ipy.notebook._widgets import IssueBrowser  # noqa: E402
from sentry_ipy.tools import ToolContext, run_tool  # noqa: E402
from tests._sdk import reset_sentry_sdk, sending_to  # noqa: E402,F401  (autouse)
from tests._shell import loaded_shell, point_at  # noqa: E402

HTML_MESSAGE = "widget <script>alert(1)</script> & friends"


@dataclass
class Seeded:
    slug: str
    issues: dict[str, dict[str, Any]]  # title -> issue row


def _parse_config(text: str) -> dict[str, Any]:
    if not text:
        raise ValueError("empty widget config")
    return {"ok": text}


def _lookup_price(table: dict[str, float]) -> float:
    return table["price"]


@pytest.fixture(scope="module")
def seeded(tctx: ToolContext) -> Seeded:
    slug = f"widgets-{uuid.uuid4().hex[:6]}"
    run_tool("sentry_create_project", {"name": "Widgets", "slug": slug, "team": "local"}, tctx)
    dsn = run_tool("sentry_setup_project", {"projectSlug": slug}, tctx).data["dsn"]  # type: ignore[index]
    with sending_to(dsn):
        for _ in range(2):
            try:
                _parse_config("")
            except ValueError as exc:
                sentry_sdk.capture_exception(exc)
        try:
            _lookup_price({})
        except KeyError as exc:
            sentry_sdk.capture_exception(exc)
        sentry_sdk.capture_message("widget export failed", level="error")
        sentry_sdk.capture_message(HTML_MESSAGE, level="warning")
    deadline = time.monotonic() + 10
    while True:
        rows = run_tool("sentry_list_issues", {"projectSlug": slug, "query": ""}, tctx).records or []
        if len(rows) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(rows) == 4, rows
    return Seeded(slug, {r["title"]: r for r in rows})


def _issue(seeded: Seeded, startswith: str) -> dict[str, Any]:
    return next(r for t, r in seeded.issues.items() if t.startswith(startswith))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_list_shows_every_issue_with_short_id_title_and_count(tctx: ToolContext, seeded: Seeded) -> None:
    browser = IssueBrowser(tctx, seeded.slug, "")
    labels = dict((value, label) for label, value in browser.issue_list.options)
    assert set(labels) == {str(r["id"]) for r in seeded.issues.values()}
    value_error = _issue(seeded, "ValueError")
    assert labels[str(value_error["id"])] == f"{value_error['shortId']} — {value_error['title']} — 2"
    assert "4 issues" in browser.status_line.value
    assert browser.resolve_button.disabled and browser.unresolve_button.disabled


def test_selecting_fills_the_detail_pane_with_title_stack_and_events(tctx: ToolContext, seeded: Seeded) -> None:
    browser = IssueBrowser(tctx, seeded.slug, "")
    issue = _issue(seeded, "ValueError")
    browser.issue_list.value = str(issue["id"])
    detail = browser.detail.value
    assert "ValueError: empty widget config" in detail
    assert issue["shortId"] in detail
    assert "_parse_config" in detail and "test_widgets.py" in detail  # the stack trace
    events = run_tool("sentry_list_issue_events", {"issueId": str(issue["id"])}, tctx).records or []
    assert len(events) == 2
    for event in events:
        assert event["eventID"][:12] in detail
    assert browser.current is not None and browser.current["shortId"] == issue["shortId"]
    assert not browser.resolve_button.disabled


def test_detail_pane_escapes_html(tctx: ToolContext, seeded: Seeded) -> None:
    browser = IssueBrowser(tctx, seeded.slug, "")
    browser.issue_list.value = str(_issue(seeded, "widget <script>")["id"])
    assert "<script>" not in browser.detail.value
    assert "widget &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends" in browser.detail.value
    assert "No stack trace" in browser.detail.value  # a message has none


def test_filter_and_refresh_narrow_the_list(tctx: ToolContext, seeded: Seeded) -> None:
    browser = IssueBrowser(tctx, seeded.slug, "")
    assert len(browser.issue_list.options) == 4
    browser.filter_text.value = "level:warning"
    browser.refresh_button.click()
    assert [v for _, v in browser.issue_list.options] == [str(_issue(seeded, "widget <script>")["id"])]
    assert "1 issue (query: level:warning)" in browser.status_line.value
    browser.filter_text.value = "is:unresolved level:error"
    browser.sort_dropdown.value = "freq"  # a sort change refreshes too
    assert len(browser.issue_list.options) == 3
    assert browser.issue_list.options[0][1] == str(_issue(seeded, "ValueError")["id"])  # 2 events: first


def test_resolve_and_unresolve_change_the_status_at_the_backend(tctx: ToolContext, seeded: Seeded) -> None:
    issue = _issue(seeded, "KeyError")
    browser = IssueBrowser(tctx, seeded.slug, "")
    browser.issue_list.value = str(issue["id"])
    browser.resolve_button.click()
    back = run_tool("sentry_get_issue", {"issueId": issue["shortId"]}, tctx).data or {}
    assert back["status"] == "resolved"
    assert (f"{issue['shortId']}: status unresolved → resolved, substatus new → None (read back from the server)."
            in browser.status_line.value)
    assert "<b>Status</b> resolved" in browser.detail.value
    assert browser.resolve_button.disabled and not browser.unresolve_button.disabled

    browser.filter_text.value = "is:unresolved"
    browser.refresh_button.click()
    assert str(issue["id"]) not in [v for _, v in browser.issue_list.options]
    browser.filter_text.value = ""
    browser.refresh_button.click()
    browser.issue_list.value = str(issue["id"])
    browser.unresolve_button.click()
    back = run_tool("sentry_get_issue", {"issueId": issue["shortId"]}, tctx).data or {}
    assert back["status"] == "unresolved"


def test_a_failing_callback_shows_one_sentence_and_the_widget_lives_on(
        tctx: ToolContext, seeded: Seeded, local_server: LocalServer) -> None:
    browser = IssueBrowser(tctx, seeded.slug, "")
    good = browser.ctx
    bad = ToolContext(Settings(url=f"http://127.0.0.1:{_closed_port()}", auth_token="t", org="local",
                               max_retries=0, timeout=5))
    bad.telemetry = lambda: pytest.fail("an expected error must not be reported")  # type: ignore[method-assign]
    browser.ctx = bad
    try:
        browser.refresh_button.click()  # no exception escapes
        status = browser.status_line.value
        assert "TransportError: Could not connect" in status
        assert "Traceback" not in status and status.count("\n") == 0
        assert len(browser.issue_list.options) == 4  # the last good list stays
        assert not browser.refresh_button.disabled
        browser.issue_list.value = browser.issue_list.options[0][1]  # selecting fails the same way
        assert "TransportError" in browser.status_line.value
    finally:
        browser.ctx = good
        bad.close()
    browser.refresh_button.click()
    assert "4 issues" in browser.status_line.value


def test_a_failed_selection_leaves_nothing_to_resolve(tctx: ToolContext, seeded: Seeded) -> None:
    """Selecting B fails: Resolve must not act on A, which the pane showed before."""
    a, b = _issue(seeded, "KeyError"), _issue(seeded, "ValueError")
    browser = IssueBrowser(tctx, seeded.slug, "")
    browser.issue_list.value = str(a["id"])
    assert browser.current is not None and not browser.resolve_button.disabled
    good = browser.ctx
    bad = ToolContext(Settings(url=f"http://127.0.0.1:{_closed_port()}", auth_token="t", org="local",
                               max_retries=0, timeout=5))
    browser.ctx = bad
    try:
        browser.issue_list.value = str(b["id"])  # the user clicks B; the fetch fails
    finally:
        browser.ctx = good
        bad.close()
    assert "TransportError" in browser.status_line.value
    assert browser.current is None
    assert browser.resolve_button.disabled and browser.unresolve_button.disabled
    assert a["title"] not in browser.detail.value and "Could not load this issue" in browser.detail.value
    browser.resolve_button.click()  # even a programmatic click resolves nothing
    assert "Select an issue first." in browser.status_line.value
    for issue in (a, b):
        back = run_tool("sentry_get_issue", {"issueId": issue["shortId"]}, tctx).data or {}
        assert back["status"] == "unresolved"
    browser.issue_list.value = None
    browser.issue_list.value = str(b["id"])  # selecting again works
    assert browser.current is not None and browser.current["shortId"] == b["shortId"]


def test_resolving_relabels_the_row_or_drops_it_when_the_query_excludes_it(
        tctx: ToolContext, seeded: Seeded) -> None:
    issue = _issue(seeded, "widget export")
    value = str(issue["id"])
    browser = IssueBrowser(tctx, seeded.slug, "")
    browser.issue_list.value = value
    browser.resolve_button.click()
    labels = dict((v, lbl) for lbl, v in browser.issue_list.options)
    assert labels[value].endswith(" — resolved")
    assert browser.issue_list.value == value and browser.current is not None
    browser.unresolve_button.click()
    labels = dict((v, lbl) for lbl, v in browser.issue_list.options)
    assert not labels[value].endswith("resolved")

    narrowed = IssueBrowser(tctx, seeded.slug, "is:unresolved")
    narrowed.issue_list.value = value
    narrowed.resolve_button.click()
    try:
        assert value not in [v for _, v in narrowed.issue_list.options]
        assert narrowed.issue_list.value is None and narrowed.current is None
        assert narrowed.resolve_button.disabled and narrowed.unresolve_button.disabled
        assert "left the list" in narrowed.detail.value and "<b>Status</b> resolved" in narrowed.detail.value
        assert "status unresolved → resolved" in narrowed.status_line.value
        assert "It left the list (query: is:unresolved)." in narrowed.status_line.value
    finally:
        run_tool("sentry_update_issue", {"issues": [issue["shortId"]], "status": "unresolved"}, tctx)


@pytest.mark.parametrize(("query", "status", "excluded"), [
    ("is:unresolved", "resolved", True), ("is:unresolved", "unresolved", False),
    ("level:error", "resolved", False), ("!is:resolved", "resolved", True),
    ("is:resolved is:ignored", "ignored", False), ("is:archived", "unresolved", True)])
def test_query_status_terms(query: str, status: str, excluded: bool) -> None:
    from sentry_ipy.notebook._widgets import _query_excludes

    assert _query_excludes(query, status) is excluded


def test_the_limit_box_limits_the_list(tctx: ToolContext, seeded: Seeded) -> None:
    browser = IssueBrowser(tctx, seeded.slug, "", limit=2)
    assert browser.limit_box.value == 2 and len(browser.issue_list.options) == 2
    assert "raise the Limit" in browser.status_line.value
    browser.limit_box.value = 10  # changing it fetches again
    assert len(browser.issue_list.options) == 4 and "raise the" not in browser.status_line.value


def test_an_unexpected_error_is_reported_to_sentry_and_shown(tctx: ToolContext, seeded: Seeded,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    browser = IssueBrowser(tctx, seeded.slug, "")
    sent: list[tuple[BaseException, dict[str, Any]]] = []

    class FakeTelemetry:
        def capture_exception(self, exc: BaseException, **kwargs: Any) -> str:
            sent.append((exc, kwargs))
            return "abc123"

    def broken(name: str, args: dict[str, Any]) -> Any:
        raise RuntimeError("list went sideways")

    monkeypatch.setattr(tctx, "telemetry", lambda: FakeTelemetry())
    monkeypatch.setattr(browser, "_run", broken)
    browser.refresh_button.click()
    assert ("Unexpected RuntimeError while loading the issues: list went sideways; "
            "reported to Sentry as abc123.") in browser.status_line.value
    assert len(sent) == 1 and isinstance(sent[0][0], RuntimeError)
    assert sent[0][1]["tags"] == {"mechanism": "notebook_widget"}

    monkeypatch.setattr(tctx, "telemetry", lambda: (_ for _ in ()).throw(OSError("no telemetry")))
    browser.refresh_button.click()  # reporting itself fails: still one line, nothing escapes
    assert "Unexpected RuntimeError while loading the issues: list went sideways." in browser.status_line.value


def _stored(local_server: LocalServer, issue_id: str) -> dict[str, Any]:
    """The issue as the local backend holds it (its row and triage row), read without the tools."""
    row = next(i for i in local_server.store.issues() if str(i["id"]) == issue_id)
    triage = local_server.store.query("SELECT * FROM issue_triage WHERE issue_id = ?", [int(issue_id)])
    return {**row, **(triage[0] if triage else {"is_bookmarked": 0, "assigned_to": None})}


def test_ignore_archives_the_issue_at_the_backend_as_the_menu_says(
        tctx: ToolContext, seeded: Seeded, local_server: LocalServer) -> None:
    issue = _issue(seeded, "KeyError")
    value = str(issue["id"])
    browser = IssueBrowser(tctx, seeded.slug, "")
    assert browser.ignore_button.disabled  # nothing selected yet
    browser.issue_list.value = value
    assert not browser.ignore_button.disabled
    browser.ignore_dropdown.value = "forever"
    try:
        browser.ignore_button.click()
        stored = _stored(local_server, value)
        assert (stored["status"], stored["substatus"]) == ("ignored", "archived_forever")
        status = browser.status_line.value
        assert f"{issue['shortId']}: status unresolved → ignored, substatus " in status
        assert " → archived_forever (read back from the server)." in status
        assert "read back from the server" in status and "Traceback" not in status
        assert "<b>Status</b> ignored" in browser.detail.value  # the pane shows the issue again
        assert dict((v, lbl) for lbl, v in browser.issue_list.options)[value].endswith(" — ignored")
        assert not browser.resolve_button.disabled and not browser.unresolve_button.disabled

        browser.ignore_button.click()  # again: the server already has it so
        assert f"{issue['shortId']} already was so; nothing changed." in browser.status_line.value

        browser.ignore_dropdown.value = "for 1 hour"
        browser.ignore_button.click()
        stored = _stored(local_server, value)
        assert (stored["status"], stored["substatus"]) == ("ignored", "archived_until_condition_met")
    finally:
        browser.unresolve_button.click()
    assert _stored(local_server, value)["status"] == "unresolved"


def test_ignoring_drops_the_row_from_an_unresolved_list(
        tctx: ToolContext, seeded: Seeded, local_server: LocalServer) -> None:
    issue = _issue(seeded, "widget export")
    browser = IssueBrowser(tctx, seeded.slug, "is:unresolved")
    browser.issue_list.value = str(issue["id"])
    try:
        browser.ignore_button.click()  # until escalating, the default
        stored = _stored(local_server, str(issue["id"]))
        assert (stored["status"], stored["substatus"]) == ("ignored", "archived_until_escalating")
        assert str(issue["id"]) not in [v for _, v in browser.issue_list.options]
        assert browser.current is None and browser.ignore_button.disabled
        assert "It left the list (query: is:unresolved)." in browser.status_line.value
    finally:
        run_tool("sentry_update_issue", {"issues": [issue["shortId"]], "status": "unresolved"}, tctx)


def test_bookmark_toggles_at_the_backend(tctx: ToolContext, seeded: Seeded, local_server: LocalServer) -> None:
    issue = _issue(seeded, "ValueError")
    value = str(issue["id"])
    browser = IssueBrowser(tctx, seeded.slug, "")
    browser.issue_list.value = value
    assert browser.bookmark_button.description == "Bookmark"
    browser.bookmark_button.click()
    assert _stored(local_server, value)["is_bookmarked"] == 1
    assert f"{issue['shortId']}: isBookmarked False → True (read back" in browser.status_line.value
    assert browser.bookmark_button.description == "Unbookmark"
    browser.bookmark_button.click()
    assert _stored(local_server, value)["is_bookmarked"] == 0
    assert "isBookmarked True → False" in browser.status_line.value
    assert browser.bookmark_button.description == "Bookmark"


def test_assign_and_unassign_at_the_backend_and_a_bad_assignee_is_one_sentence(
        tctx: ToolContext, seeded: Seeded, local_server: LocalServer) -> None:
    issue = _issue(seeded, "ValueError")
    value = str(issue["id"])
    team = (run_tool("sentry_list_teams", {}, tctx).records or [])[0]
    browser = IssueBrowser(tctx, seeded.slug, "")
    browser.issue_list.value = value
    browser.assign_text.value = f"team:{team['id']}"
    browser.assign_button.click()
    assert _stored(local_server, value)["assigned_to"] == f"team:{team['id']}"
    assert f"assignee None → team:{team['slug']}" in browser.status_line.value
    browser.assign_text.value = "local@localhost"
    browser.assign_button.click()
    assert _stored(local_server, value)["assigned_to"] == "user:1"
    assert f"assignee team:{team['slug']} → user:Local user" in browser.status_line.value

    browser.assign_text.value = "nobody@nowhere.test"
    browser.assign_button.click()  # the server refuses: one sentence, nothing changed, the widget lives
    status = browser.status_line.value
    assert "APIError: The bulk update failed, nothing is known to have changed" in status
    assert "Unknown actor input" in status and "Traceback" not in status and "\n" not in status
    assert _stored(local_server, value)["assigned_to"] == "user:1"
    assert not browser.assign_button.disabled and not browser.refresh_button.disabled

    browser.assign_text.value = "  "
    browser.assign_button.click()  # empty unassigns
    assert _stored(local_server, value)["assigned_to"] is None
    assert "assignee user:Local user → None" in browser.status_line.value


def test_the_chart_draws_the_selected_issues_events_over_time(tctx: ToolContext, seeded: Seeded) -> None:
    pytest.importorskip("matplotlib")
    browser = IssueBrowser(tctx, seeded.slug, "")
    assert browser.chart_box.layout.display == "none" and browser.chart_data is None
    issue = _issue(seeded, "ValueError")
    browser.issue_list.value = str(issue["id"])
    assert browser.chart_box.layout.display == "flex"
    hourly = browser.chart_data
    assert len(hourly) == 24 and int(hourly.sum()) == 2 == int(issue["count"])  # both events, this hour
    assert str(hourly.index.dtype) == "datetime64[ms, UTC]" or "UTC" in str(hourly.index.dtype)
    png = browser.chart.value
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    browser.chart_period.value = "30d"
    daily = browser.chart_data
    assert len(daily) == 30 and int(daily.sum()) == 2
    assert browser.chart.value != png  # redrawn from the daily series
    browser.issue_list.value = str(_issue(seeded, "KeyError")["id"])
    assert int(browser.chart_data.sum()) == 1


def test_without_matplotlib_the_chart_says_how_to_get_it(tctx: ToolContext, seeded: Seeded,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import matplotlib.figure raises ImportError
    browser = IssueBrowser(tctx, seeded.slug, "")
    browser.issue_list.value = str(_issue(seeded, "ValueError")["id"])
    assert "pip install &#x27;sentry-ipy[notebook]&#x27;" in browser.chart_note.value
    assert browser.chart.layout.display == "none"
    assert "Unexpected" not in browser.status_line.value and "ValueError" in browser.detail.value


@pytest.mark.parametrize(("row", "said"), [
    ({"shortId": "A-1", "outcome": "changed", "changes": "status unresolved → resolved"},
     "A-1: status unresolved → resolved (read back from the server)."),
    ({"shortId": "A-1", "outcome": "already", "changes": ""}, "A-1 already was so; nothing changed."),
    ({"shortId": "A-1", "outcome": "unchanged", "status": "unresolved"},
     "The server left A-1 as it was (status unresolved); the change may need a permission this token lacks.")])
def test_outcome_sentences(row: dict[str, Any], said: str) -> None:
    from sentry_ipy.notebook._widgets import _outcome

    assert _outcome(row) == said


# ------------------------------------------------------------------ the magic
@pytest.fixture()
def ip(local_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The notebook shell (tests._shell) without SENTRY_DSN: the magic is under test, not reporting."""
    point_at(monkeypatch, local_server, dsn=False)
    with loaded_shell() as shell:
        yield shell


def test_magic_returns_the_browser(ip: Any, seeded: Seeded) -> None:
    browser = ip.run_line_magic("sentry_browse", f"{seeded.slug} --query 'level:warning'")
    assert isinstance(browser, IssueBrowser)
    assert len(browser.issue_list.options) == 1
    bundle = browser._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_magic_help_bad_project_and_unload(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_line_magic("sentry_browse", "-h") is None
    assert "--query" in capsys.readouterr().out
    with pytest.raises(UsageError, match=r"^NotFoundError: .*no-such-project"):
        ip.run_line_magic("sentry_browse", "no-such-project")
    with pytest.raises(UsageError, match="--sort"):
        ip.run_line_magic("sentry_browse", "x --sort sideways")
    ip.run_line_magic("unload_ext", "sentry_ipy")
    assert "sentry_browse" not in ip.magics_manager.magics["line"]
    ip.run_line_magic("load_ext", "sentry_ipy")
