"""The notebook face when things go wrong: secrets in failing cells, a broken backend, bad magic lines.

Uses ``tests/_shell.py``'s ``ip`` fixture: a real InteractiveShell with the
extension loaded, pointed at the session's local backend over loopback.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from tests._sdk import stored_events  # noqa: E402
from tests._shell import ip, loaded_shell  # noqa: E402, F401  (fixture)

_SECRET_CELL = '''
conn = "postgresql://admin:S3cretPassA@db:5432/x"
headers = {"X-Api-Key": "S3cretPassB"}
auth = ("user", "S3cretPassC")
def leaky(pw="S3cretPassD", aws_secret_access_key="S3cretPassE"):
    stripe_key = "sk_live_S3cretPassF"
    gh = "ghp_S3cretPassGaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    raise RuntimeError(f"could not open {conn} (marker-secrets-3371)")
leaky()
'''


def test_secrets_in_a_failing_cell_never_reach_the_stored_event(ip: Any, local_server: Any) -> None:
    ip.run_cell(_SECRET_CELL, store_history=True)
    import sentry_sdk

    sentry_sdk.flush(5)
    found = stored_events(local_server, lambda e: "marker-secrets-3371" in json.dumps(e))
    assert found, "the cell's exception did not reach the backend"
    stored = json.dumps(found[-1])
    for secret in ("S3cretPassA", "S3cretPassB", "S3cretPassC", "S3cretPassD", "S3cretPassE",
                   "S3cretPassF", "S3cretPassG", local_server.token):
        assert secret not in stored, secret
    assert "postgresql://admin:[Filtered]@db:5432/x" in stored  # still readable
    frame = found[-1]["exception"]["values"][-1]["stacktrace"]["frames"][-1]
    assert frame["vars"]["pw"] == "[Filtered]"


def test_a_huge_error_message_is_reported_and_so_is_the_next_error(ip: Any, local_server: Any) -> None:
    # 200k name characters once took the scrubber minutes (quadratic), and the next unrelated
    # error as long again, because the old text rides along as a breadcrumb and is scrubbed
    # again. Now both events arrive; the suite's timeout is what a quadratic scan would hit.
    import sentry_sdk

    ip.run_cell("raise ValueError('E' * 200_000 + ' marker-huge-5521 token=\"S3cretPassH\"')",
                store_history=True)
    ip.run_cell("1 / 0  # marker-next-5521", store_history=True)
    sentry_sdk.flush(10)
    huge = stored_events(local_server, lambda e: "marker-huge-5521" in json.dumps(e))
    after = stored_events(local_server, lambda e: "marker-next-5521" in json.dumps(e))
    assert huge and after, "the huge error or the next one did not reach the backend"
    assert "S3cretPassH" not in json.dumps(huge[-1]) + json.dumps(after[-1])
    assert after[-1]["exception"]["values"][-1]["type"] == "ZeroDivisionError"


@pytest.fixture()
def broken_ip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """A shell with no Sentry configured and a regular file as the local backend's data dir."""
    import sentry_ipy.local._launcher as startup

    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    monkeypatch.setenv("SENTRY_IPY_DATA_DIR", str(not_a_dir))
    monkeypatch.setattr(startup, "_LOCAL", None)  # no backend started by an earlier test
    with loaded_shell() as shell:
        yield shell


def test_unusable_backend_is_one_line_once_per_kernel(broken_ip: Any) -> None:
    with capture_output() as first:
        broken_ip.run_cell("1/0")
    with capture_output() as second:
        broken_ip.run_cell("2/0")
    lines = first.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in first.stderr
    assert lines[0].startswith("sentry-ipy could not report this cell's error: ")
    assert "not a folder" in lines[0] and "later failures are silent" in lines[0]
    assert second.stderr == ""
    with pytest.raises(UsageError) as err:
        broken_ip.run_line_magic("sentry_issues", "")
    assert "ConfigurationError" in str(err.value) and "\n" not in str(err.value)


def test_reporting_speaks_again_after_it_worked(broken_ip: Any) -> None:
    capture = broken_ip._sentry_ipy_state[1]
    capture.failing = True  # told the user already
    sent: list[BaseException] = []

    class Working:  # a telemetry that delivers: the backend came back
        extra_scrub_keys = ()

        def capture_exception(self, exc: BaseException, **kwargs: Any) -> str:
            sent.append(exc)
            return "event-id"

    original = capture._telemetry
    capture._telemetry = Working
    with capture_output():
        broken_ip.run_cell("1/0")
    assert sent and not capture.failing
    capture._telemetry = original
    with capture_output() as again:
        broken_ip.run_cell("1/0")
    assert "could not report" in again.stderr


def test_sentry_capture_does_not_send_a_usage_error(ip: Any) -> None:
    ip.run_cell("%sentry_issues --limit abc")  # a mistyped magic: sys.last_value is its UsageError
    with capture_output():
        result = ip.run_cell("%sentry_capture")
    assert isinstance(result.error_in_exec, UsageError)
    assert "the last error was a usage error, nothing to send" in str(result.error_in_exec)


@pytest.mark.parametrize("magic, line", [("sentry_capture", "'unbalanced"),
                                         ("sentry_browse", "notebook --query 'x"),
                                         ("sentry_issues", "--query 'is:unresolved")])
def test_unbalanced_quotes_are_one_usage_error(ip: Any, magic: str, line: str) -> None:
    with pytest.raises(UsageError, match="check the quotes"):
        ip.run_line_magic(magic, line)


def test_sentry_txn_with_unbalanced_quotes_is_one_usage_error(ip: Any) -> None:
    with pytest.raises(UsageError, match="check the quotes"):
        ip.run_cell_magic("sentry_txn", "x --op 'unbalanced", "1 + 1")


def test_sentry_txn_line_form_shows_help_or_says_it_is_a_cell_magic(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert ip.run_line_magic("sentry_txn", "-h") is None
    assert "--op" in capsys.readouterr().out
    with pytest.raises(UsageError, match=r"^%%sentry_txn is a cell magic: put it on the first line of a cell\.$"):
        ip.run_line_magic("sentry_txn", "load prices")
    result = ip.run_cell("%sentry_txn")
    assert isinstance(result.error_in_exec, UsageError)


def test_sentry_txn_supports_top_level_await(ip: Any) -> None:
    cell = "import asyncio\nawait asyncio.sleep(0)\nawaited = 'yes'\nawait asyncio.sleep(0, result=41) + 1"
    assert ip.run_cell_magic("sentry_txn", "async cell", cell) == 42
    assert ip.user_ns["awaited"] == "yes"


def test_sentry_txn_await_inside_a_running_loop_is_one_usage_error(ip: Any) -> None:
    async def in_kernel() -> Any:  # a Jupyter kernel runs cells inside its event loop
        return ip.run_cell_magic("sentry_txn", "t", "import asyncio\nawait asyncio.sleep(0)")

    with pytest.raises(UsageError, match="cannot run top-level await"):
        asyncio.run(in_kernel())


@pytest.mark.parametrize("cell, message", [("return 5", "'return' outside function (line 1 of the cell)"),
                                           ("x = 1\ndef f(:\n  pass", "line 2 of the cell")])
def test_sentry_txn_syntax_errors_are_one_line_and_send_nothing(
        ip: Any, local_server: Any, cell: str, message: str) -> None:
    name = f"never-sent-{time.monotonic_ns()}"
    with pytest.raises(UsageError) as err:
        ip.run_cell_magic("sentry_txn", name, cell)
    assert message in str(err.value) and "\n" not in str(err.value)
    import sentry_sdk

    sentry_sdk.flush(2)
    assert not [t for t in local_server.store.transactions() if t.get("transaction") == name]


def test_sentry_txn_trailing_semicolon_hides_the_value(ip: Any) -> None:
    with capture_output():
        assert ip.run_cell_magic("sentry_txn", "quiet", "q = 5\nq;") is None
        assert ip.run_cell_magic("sentry_txn", "loud", "q = 5\nq") == 5


@pytest.mark.parametrize("name", ["1bad", "a b", "class"])
def test_output_name_must_be_an_identifier(ip: Any, name: str) -> None:
    with pytest.raises(UsageError, match="is not a valid variable name"):
        ip.run_line_magic("sentry", f"list_projects -o '{name}'")
    assert name not in ip.user_ns


def test_help_shows_choices_and_patterns_of_undescribed_fields(ip: Any,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("sentry_issues", "-h")
    out = " ".join(capsys.readouterr().out.split())
    assert "one of date, new, trends" in out
    assert r"matching ^\d+[smhdw]$" in out


def test_progress_only_with_a_frontend_and_from_the_second_page(capsys: pytest.CaptureFixture[str]) -> None:
    from sentry_ipy.notebook._progress import FetchProgress

    class Terminal:  # no kernel, and pytest's stderr is not a TTY
        kernel = None

    progress = FetchProgress(Terminal())
    progress(5, None, "page 1")
    progress(10, None, "page 2")
    progress.close(12)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_json_arguments_survive_ipython_expansion(ip: Any, local_server: Any) -> None:
    """``--tags {json.dumps(t)}`` and ``--user {json.dumps(u)}``, as a data scientist writes them."""
    import sentry_sdk

    ip.user_ns.update(t={"team": "data sci", "run": "7"}, u={"id": "42", "email": "ada@example.com"})
    ip.run_cell("import json")
    result = ip.run_cell("%sentry capture_exception 'ValueError: json args marker 5521' "
                         "--tags {json.dumps(t)} --user {json.dumps(u)}")
    assert result.error_in_exec is None and result.error_before_exec is None
    sentry_sdk.flush(5)
    found = stored_events(local_server, lambda e: "json args marker 5521" in json.dumps(e))
    assert found
    event = found[-1]
    tags = dict(event["tags"]) if isinstance(event["tags"], list) else event["tags"]
    assert tags["team"] == "data sci" and tags["run"] == "7"
    assert event["user"]["id"] == "42" and event["user"]["email"] == "ada@example.com"


def test_small_argument_mistakes_read_as_sentences(ip: Any) -> None:
    with pytest.raises(UsageError, match="argument --limit: expected a number, got 'abc'"):
        ip.run_line_magic("sentry_issues", "--limit abc")
    with pytest.raises(UsageError, match="would hide Python's built-in print"):
        ip.run_line_magic("sentry", "list_projects -o print")
    assert ip.user_ns.get("print") is None  # nothing was stored under the builtin's name
