"""The ``sentry-ipy`` command: every failure is one line on stderr and exit status 1."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

import pytest

from sentry_ipy.cli import main


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("sentry-ipy:")]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


def test_demo_with_a_file_as_data_dir_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_dir = tmp_path / "afile"
    not_a_dir.write_text("")
    assert main(["demo", "--data-dir", str(not_a_dir)]) == 1
    line = _one_error_line(capsys)
    assert str(not_a_dir) in line and "not a folder" in line  # whoever words it: the path and the problem


def test_local_on_a_taken_port_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["local", "--port", str(port), "--data-dir", str(tmp_path / "d")]) == 1
    line = _one_error_line(capsys)
    assert str(port) in line and "port" in line.lower()


@pytest.mark.parametrize("url", ["http://[::1", "https://a..b", "https://xn--.example"])
def test_doctor_with_a_malformed_url_is_one_line(url: str, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SENTRY_URL", url)
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", "t")
    assert main(["doctor"]) == 1
    assert "ConfigurationError: Sentry URL" in _one_error_line(capsys)


def test_doctor_never_prints_url_credentials(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SENTRY_URL", "https://user:hunter2@127.0.0.1:1")
    assert main(["doctor"]) == 1
    out = capsys.readouterr()
    assert "hunter2" not in out.out + out.err
    assert "remove it and use SENTRY_AUTH_TOKEN" in out.err


def test_doctor_treats_a_blank_url_as_unset(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SENTRY_URL", "   ")
    assert main(["doctor"]) == 0
    assert "embedded local backend" in capsys.readouterr().out


def test_doctor_with_nothing_set_checks_the_local_backend(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "tools use the embedded local backend" in out
    assert f"with data dir {tmp_path / 'data'}" in out and "OK: the local backend started on http://127.0.0.1:" in out


def test_doctor_shows_each_setting_with_its_source_and_masks_the_token(
        tmp_path: Path, local_server: Any, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    rc = tmp_path / "home" / ".sentryclirc"
    rc.write_text("[auth]\ntoken = sntrys_not-the-right-token-123\n[defaults]\norg = local\n")
    monkeypatch.setenv("SENTRY_URL", local_server.url)
    monkeypatch.setenv("SENTRY_RELEASE", "doc@1")
    assert main(["doctor"]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert "not-the-right-token" not in out + captured.err
    assert f"auth_token  sntrys_*** (30 characters)  (from {rc})" in out
    assert f"org         local  (from {rc})" in out
    assert f"url         {local_server.url}  (from environment variable SENTRY_URL)" in out
    assert "release     doc@1  (from environment variable SENTRY_RELEASE)" in out
    assert f"Checking {local_server.url} (organization 'local') ..." in out
    assert f"Sentry rejected the auth token from {rc} (401" in _one_error_line_of(captured.err)


def test_doctor_with_a_url_and_no_token_says_a_token_is_needed(
        local_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SENTRY_URL", local_server.url)
    monkeypatch.setenv("SENTRY_ORG", "local")
    assert main(["doctor"]) == 1
    line = _one_error_line(capsys)
    assert "Sentry needs an auth token (401" in line and "set SENTRY_AUTH_TOKEN" in line
    assert "rejected" not in line


def _one_error_line_of(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("sentry-ipy:")]
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


def test_demo_sends_real_events_and_lists_the_issues_it_stored(tmp_path: Path) -> None:
    """The README's first command: a fresh process, no account, real envelopes, issues read back."""
    import subprocess
    import sys

    data = tmp_path / "demo-data"
    run = subprocess.run([sys.executable, "-m", "sentry_ipy.cli", "demo", "--data-dir", str(data)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    for title in ("FileNotFoundError", "ZeroDivisionError: division by zero", "KeyError: 'price'",
                  "Demo run finished"):
        assert title in run.stdout
    assert "Traceback" not in run.stdout + run.stderr
    # Next steps in each face's syntax, not MCP calls or links to the port that died with the demo.
    assert "Next: sentry_" not in run.stdout and "/organizations/local/issues/" not in run.stdout
    short_ids = re.findall(r"^\| (NOTEBOOK-\d+) \| [A-Za-z]+Error", run.stdout, re.M)
    assert short_ids and f"%sentry get_issue {short_ids[0]}" in run.stdout
    assert "%load_ext sentry_ipy" in run.stdout and "sentry-ipy-mcp" in run.stdout
    assert f"sentry-ipy local --data-dir {data}, then open http://127.0.0.1:9000/" in run.stdout

    from sentry_ipy.local import LocalServer

    with LocalServer(data) as srv:  # what the demo stored outlives it
        stored = srv.store.events()
        assert {e.get("release") for e in stored} == {"sentry-ipy-demo@1.0.0"}
        assert len([e for e in stored if e.get("exception")]) == 3
        sessions = srv.store.sessions()
        assert sessions and sessions[-1]["status"] == "errored"
        txns = srv.store.transactions()
        assert txns and txns[-1]["transaction"] == "demo pipeline"


def test_local_labels_the_web_ui_and_hides_uvicorns_process_line(tmp_path: Path) -> None:
    import httpx

    from tests._local_cli import foreground_local

    with foreground_local("--port", "0", "--data-dir", str(tmp_path / "d")) as text:
        assert "Started server process" not in text, text
        match = re.search(r"^Web UI: (http://127\.0\.0\.1:\d+/)$", text, re.M)
        assert match, text
        page = httpx.get(match.group(1), timeout=10, follow_redirects=True)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_mcp_help_says_http_clients_share_one_sentry_scope(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["mcp", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "one process is one Sentry client, so every HTTP client shares its scope" in text
    assert "run one server per user" in text
