"""The notebook face in a real IPython shell, against the local backend over loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

IPython = pytest.importorskip("IPython")

from tests._sdk import stored_events  # noqa: E402
from tests._shell import ip  # noqa: E402, F401  (fixture)


def test_load_twice_registers_once_and_unload_removes_everything(ip: Any) -> None:
    ip.run_line_magic("load_ext", "sentry_ipy")  # already loaded: no-op
    hooks = [cb for cb in ip.events.callbacks["post_run_cell"] if type(cb).__name__ == "CellCapture"]
    assert len(hooks) == 1
    assert "sentry" in ip.magics_manager.magics["line"]
    assert "sentry_txn" in ip.magics_manager.magics["cell"]
    ip.run_line_magic("unload_ext", "sentry_ipy")
    assert not [cb for cb in ip.events.callbacks["post_run_cell"] if type(cb).__name__ == "CellCapture"]
    assert not [n for n in ip.magics_manager.magics["line"] if n.startswith("sentry")]
    ip.run_line_magic("load_ext", "sentry_ipy")  # the fixture unloads again


def test_cell_exception_is_captured_with_cell_and_kernel_context(ip: Any, local_server: Any) -> None:
    marker = "cell-capture-marker-8127"
    result = ip.run_cell(f"raise ValueError({marker!r})", store_history=True)
    assert isinstance(result.error_in_exec, ValueError)
    ip.run_line_magic("sentry", "--help")  # any later cell; flush happens below
    import sentry_sdk

    sentry_sdk.flush(5)
    found = stored_events(local_server, lambda e: marker in json.dumps(e.get("exception", {})))
    assert found, "the cell's exception did not reach the backend"
    event = found[-1]
    assert event["contexts"]["cell"]["source"] == f"raise ValueError({marker!r})"
    assert event["contexts"]["cell"]["execution_count"] == result.execution_count
    assert event["contexts"]["kernel"]["python"] == sys.version.split()[0]
    assert event["tags"]["mechanism"] == "notebook_cell"


def test_capture_can_be_turned_off_with_config(ip: Any, local_server: Any) -> None:
    ip.run_line_magic("config", "SentryMagics.capture_cell_errors = False")
    marker = "not-captured-marker-5521"
    ip.run_cell(f"raise KeyError({marker!r})")
    import sentry_sdk

    sentry_sdk.flush(2)
    assert not stored_events(local_server, lambda e: marker in json.dumps(e), timeout=0.5)
    ip.run_line_magic("config", "SentryMagics.capture_cell_errors = True")


def test_capture_of_the_last_error_says_when_the_cell_hook_already_sent_it(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell("raise ValueError('reported by the hook')")
    event_id = ip._sentry_ipy_state[1].last_event_id
    assert event_id
    capsys.readouterr()
    ip.run_line_magic("sentry_capture", "")
    out = capsys.readouterr().out
    assert out.strip() == (f"ValueError was already reported by the cell hook as event {event_id}; "
                           "nothing new was sent.")
    assert "None" not in out

    ip.run_line_magic("config", "SentryMagics.capture_cell_errors = False")
    try:
        ip.run_cell("raise KeyError('not hooked')")
        capsys.readouterr()
        ip.run_line_magic("sentry_capture", "")
        assert capsys.readouterr().out.startswith("Sent KeyError as event ")
        ip.run_line_magic("sentry_capture", "")  # sentry-sdk sends one exception once
        out = capsys.readouterr().out
        assert out.startswith("sentry-sdk discarded KeyError (already reported once") and "None" not in out
    finally:
        ip.run_line_magic("config", "SentryMagics.capture_cell_errors = True")
        ip.config.SentryMagics.pop("capture_cell_errors", None)


def test_issues_magic_returns_a_typed_dataframe(ip: Any, local_server: Any) -> None:
    ip.run_line_magic("sentry_capture", '"dataframe probe message" --level warning')
    import sentry_sdk

    sentry_sdk.flush(5)
    frame = ip.run_line_magic("sentry", 'list_issues notebook --query ""')
    import pandas as pd

    assert isinstance(frame, pd.DataFrame)
    assert "dataframe probe message" in set(frame["title"])
    assert str(frame["count"].dtype) == "Int64"
    assert "datetime64" in str(frame["lastSeen"].dtype)


def test_output_option_stores_the_frame(ip: Any) -> None:
    assert ip.run_line_magic("sentry", 'list_projects -o projects') is None
    assert "notebook" in set(ip.user_ns["projects"]["slug"])


def test_bad_input_is_one_usage_error_line(ip: Any) -> None:
    from IPython.core.error import UsageError

    with pytest.raises(UsageError) as err:
        ip.run_line_magic("sentry", "get_issue NOPE-ZZZZZZ")
    text = str(err.value)
    assert text.startswith("NotFoundError: ") and "\n" not in text
    with pytest.raises(UsageError, match="no tool named"):
        ip.run_line_magic("sentry", "no_such_tool")
    with pytest.raises(UsageError, match="--level"):
        ip.run_line_magic("sentry_capture", "hi --level loud")


def test_help_prints_and_returns_nothing(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_line_magic("sentry", "list_issues -h") is None
    out = capsys.readouterr().out
    assert "--query" in out and "projectSlug" in out


def test_sentry_txn_runs_the_cell_and_sends_a_transaction(ip: Any, local_server: Any) -> None:
    value = ip.run_cell_magic("sentry_txn", "load prices --op etl.load", "x = 20\nx * 2 + 2")
    assert value == 42 and ip.user_ns["x"] == 20
    import sentry_sdk

    sentry_sdk.flush(5)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        txns = [t for t in local_server.store.transactions() if t.get("transaction") == "load prices"]
        if txns:
            break
        time.sleep(0.05)
    assert txns and txns[-1]["contexts"]["trace"]["op"] == "etl.load"
    assert txns[-1]["contexts"]["trace"]["status"] == "ok"
    with pytest.raises(ZeroDivisionError):
        ip.run_cell_magic("sentry_txn", "failing cell", "1/0")


def test_load_ext_does_not_import_heavy_libraries() -> None:
    code = ("from IPython.testing.globalipapp import start_ipython; ip = start_ipython(); "
            "ip.run_line_magic('load_ext', 'sentry_ipy'); import sys; "
            "print(sorted(m for m in ('pandas', 'httpx', 'sentry_sdk', 'mcp', 'pydantic') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_aliases_read_from_the_source_match_the_registry() -> None:
    from sentry_ipy.tools import declared_aliases, registry

    assert declared_aliases() == {s.alias: s.name for s in registry().values() if s.alias}


def test_every_alias_magic_is_registered_with_help(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from sentry_ipy.tools import declared_aliases

    for alias in declared_aliases():
        assert f"sentry_{alias}" in ip.magics_manager.magics["line"]
        assert ip.run_line_magic(f"sentry_{alias}", "-h") is None
        assert "usage:" in capsys.readouterr().out


def test_a_failed_cell_shows_up_in_the_next_listing_without_a_manual_flush(ip: Any) -> None:
    marker = "ReadYourWritesError"
    ip.run_cell(f"class {marker}(Exception): pass\nraise {marker}('listed right away')")
    frame = ip.run_line_magic("sentry", 'list_issues notebook --query ""')
    assert any(marker in title for title in frame["title"])


def test_a_kernel_run_is_a_release_health_session(ip: Any, local_server: Any) -> None:
    ip.run_line_magic("config", 'SentryMagics.release = "nb-sessions@1.0"')
    try:
        ip.run_cell("x = 1")
        ip.run_cell("raise RuntimeError('counts against the session')")
        ip.run_line_magic("unload_ext", "sentry_ipy")  # ends the session, as kernel exit would
    finally:
        ip.config.SentryMagics.pop("release", None)  # %config outlives the extension in this shell
        ip.run_line_magic("load_ext", "sentry_ipy")  # the fixture unloads again
    updates = [s for s in local_server.store.sessions() if s.get("attrs", {}).get("release") == "nb-sessions@1.0"]
    assert updates, "no session reached the backend"
    assert updates[0]["init"] is True
    assert {u["sid"] for u in updates} == {updates[0]["sid"]}
    final = updates[-1]
    assert final["status"] == "exited" and final["errors"] >= 1


def _session_updates(local_server: Any, release_prefix: str) -> list[dict[str, Any]]:
    return [s for s in local_server.store.sessions()
            if str(s.get("attrs", {}).get("release", "")).startswith(release_prefix)]


def test_a_release_change_mid_run_ends_the_kernel_session_and_starts_one(ip: Any, local_server: Any) -> None:
    ip.run_line_magic("config", 'SentryMagics.release = "nb-roll@1"')
    try:
        ip.run_cell("raise RuntimeError('under release 1')")
        ip.run_line_magic("config", 'SentryMagics.release = "nb-roll@2"')
        ip.run_cell("raise RuntimeError('under release 2')")
        ip.run_line_magic("unload_ext", "sentry_ipy")
    finally:
        ip.config.SentryMagics.pop("release", None)
        ip.run_line_magic("load_ext", "sentry_ipy")
    one, two = _session_updates(local_server, "nb-roll@1"), _session_updates(local_server, "nb-roll@2")
    assert [(u["status"], u["init"], u["errors"]) for u in one] == [("ok", True, 0), ("exited", False, 1)]
    assert [(u["status"], u["init"], u["errors"]) for u in two] == [("ok", True, 0), ("exited", False, 1)]
    assert one[0]["sid"] != two[0]["sid"]


def test_the_kernel_session_yields_to_the_users_own(ip: Any, local_server: Any) -> None:
    ip.run_line_magic("config", 'SentryMagics.release = "nb-yield@1"')
    try:
        ip.run_cell("raise RuntimeError('in the kernel session')")
        mine = ip.run_line_magic("sentry", "start_session --distinctId me").data
        ip.run_cell("raise RuntimeError('in my session')")
        ip.run_line_magic("unload_ext", "sentry_ipy")  # must not end my session
    finally:
        ip.config.SentryMagics.pop("release", None)
        ip.run_line_magic("load_ext", "sentry_ipy")
    updates = _session_updates(local_server, "nb-yield@1")
    kernel = [u for u in updates if u["sid"] != mine["sid"]]
    assert [(u["status"], u["errors"]) for u in kernel] == [("ok", 0), ("exited", 1)]
    assert [(u["status"], u["did"]) for u in updates if u["sid"] == mine["sid"]] == [("ok", "me")]
    assert {u["sid"] for u in kernel} == {kernel[0]["sid"]}, "the kernel did not start another session"


def test_turning_track_sessions_off_ends_the_open_session(ip: Any, local_server: Any) -> None:
    ip.run_line_magic("config", 'SentryMagics.release = "nb-off@1"')
    try:
        ip.run_cell("x = 1")  # the session opens before this cell
        ip.run_line_magic("config", "SentryMagics.track_sessions = False")
        assert [u["status"] for u in _session_updates(local_server, "nb-off@1")] == ["ok", "exited"]
        ip.run_cell("y = 2")  # and stays off
        assert len(_session_updates(local_server, "nb-off@1")) == 2
    finally:
        ip.config.SentryMagics.pop("release", None)
        ip.config.SentryMagics.pop("track_sessions", None)
        ip.run_line_magic("config", "SentryMagics.track_sessions = True")
        ip.config.SentryMagics.pop("track_sessions", None)


def test_no_release_means_no_session(ip: Any, local_server: Any) -> None:
    before = len(local_server.store.sessions())
    ip.run_cell("y = 2")
    ip.run_line_magic("unload_ext", "sentry_ipy")
    ip.run_line_magic("load_ext", "sentry_ipy")
    assert len(local_server.store.sessions()) == before


def test_results_that_are_not_tables_render_as_markdown_in_jupyter(ip: Any) -> None:
    tools = ip.run_line_magic("sentry", "")
    shown = tools._repr_markdown_()  # what Jupyter's markdown formatter calls (terminal IPython shows text)
    # rows are alphabetical and the table is cut to a size budget: the first rows are always shown
    assert "add_breadcrumb" in shown and "%sentry_breadcrumb" in shown and "| tool |" in shown
