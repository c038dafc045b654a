"""Telemetry from Python: init, scrubbing, threads, delivery accounting, spans (real HTTP on loopback)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import sentry_sdk

from sentry_ipy.config import Settings
from sentry_ipy.errors import ConfigurationError, ToolInputError
from sentry_ipy.telemetry import Telemetry, normalise_sid
from sentry_ipy.tools import ToolContext, run_tool
from tests._sdk import event_by_id, reset_sentry_sdk, transaction_by_id  # noqa: F401


def _settings(local_server: Any, **changes: Any) -> Settings:
    return Settings(url=local_server.url, auth_token=local_server.token, project="notebook",
                    dsn=local_server.dsn("notebook"), **changes)


def _all_payloads(local_server: Any) -> str:
    rows = local_server.store.query("SELECT payload FROM events UNION ALL SELECT payload FROM sessions")
    return "\n".join(r["payload"] for r in rows)


def test_init_is_idempotent_and_reinits_only_on_change(local_server: Any) -> None:
    tel = Telemetry(_settings(local_server, environment="lab"))
    client = sentry_sdk.get_client()
    assert client.options["environment"] == "lab"
    assert client.options["transport_queue_size"] >= 1000
    assert client.options["auto_enabling_integrations"] is False
    assert set(client.integrations) == {"dedupe", "logging", "atexit"}
    assert tel.configure(environment="lab") is False and sentry_sdk.get_client() is client
    assert tel.configure(environment="prod") is True
    assert sentry_sdk.get_client() is not client and sentry_sdk.get_client().options["environment"] == "prod"
    assert client.transport is None, "the replaced client was flushed and closed"


def test_describe_names_the_local_backend(ctx: ToolContext, local_server: Any) -> None:
    assert ctx.telemetry().describe() == (
        f"Sending to the embedded local backend at {local_server.url} (project notebook).")
    other = Telemetry(Settings(dsn="https://abc123@o1.ingest.example.com/42", release="a@1"))
    assert other.describe() == "Sending to https://o1.ingest.example.com (project ID 42, release a@1)."


def test_invalid_dsn_is_one_configuration_sentence() -> None:
    with pytest.raises(ConfigurationError, match="^The DSN is malformed; copy it from Project Settings"):
        Settings.resolve(dsn="not a dsn")
    with pytest.raises(ConfigurationError, match="^The DSN is malformed"):
        Telemetry(Settings(dsn="https://nokey.example.com/1"))


def test_without_a_dsn_tools_refuse_instead_of_pretending() -> None:
    tel = Telemetry(Settings())
    assert tel.describe().startswith("Telemetry is off")
    with pytest.raises(ConfigurationError, match="No DSN is configured"):
        tel.capture_message("lost")
    assert tel.flush(0.1) is True


def test_python_exception_keeps_traceback_and_scrubs_secrets(local_server: Any) -> None:
    settings = _settings(local_server)
    tel = Telemetry(settings, extra_scrub_keys=("customer_ref",))
    tel.set_context("db", {"password": "hunter2", "host": "db.local", "nested": {"api_key": "k-123"}})
    tel.set_tag("auth_mode", "sso")

    def load(path: str) -> None:
        token = "tok-live-123456"  # noqa: F841 - a local the SDK snapshots
        customer_ref = "C-998877"  # noqa: F841
        raise FileNotFoundError(f"{path} missing (sent with {settings.auth_token})")

    try:
        load("prices.csv")
    except FileNotFoundError as exc:
        event_id = tel.capture_exception(exc, tags={"stage": "load"})
    assert tel.flush(5.0)
    event = event_by_id(local_server, event_id)
    (exc_entry,) = event["exception"]["values"]
    assert exc_entry["type"] == "FileNotFoundError"
    assert exc_entry["value"] == "prices.csv missing (sent with [Filtered])"
    frame = exc_entry["stacktrace"]["frames"][-1]
    assert frame["function"] == "load" and frame["vars"]["path"] == "'prices.csv'"
    assert frame["vars"]["token"] == "[Filtered]" and frame["vars"]["customer_ref"] == "[Filtered]"
    assert event["contexts"]["db"] == {"password": "[Filtered]", "host": "db.local",
                                       "nested": {"api_key": "[Filtered]"}}
    assert event["tags"]["auth_mode"] == "[Filtered]" and event["tags"]["stage"] == "load"
    stored = _all_payloads(local_server)
    assert "hunter2" not in stored and "tok-live-123456" not in stored and "C-998877" not in stored


def test_auth_token_and_dsn_key_never_reach_stored_payloads(ctx: ToolContext, local_server: Any) -> None:
    settings = ctx.effective_settings()
    token, dsn_key = settings.auth_token, settings.secrets[-1]
    assert token and dsn_key
    run_tool("sentry_set_release", {"release": "scrub@1"}, ctx)
    run_tool("sentry_add_breadcrumb", {"message": f"called API with {token}", "data": {"dsn": settings.dsn}}, ctx)
    run_tool("sentry_set_context", {"name": "cfg", "context": {"url": settings.dsn, "note": token}}, ctx)
    run_tool("sentry_capture_message", {"message": f"token is {token}", "tags": {"t": token[:150]}}, ctx)
    run_tool("sentry_capture_exception", {"error": f"RuntimeError: Bearer {token}"}, ctx)
    run_tool("sentry_start_transaction", {"name": f"txn {token}", "op": "task"}, ctx)
    run_tool("sentry_finish_transaction", {}, ctx)
    run_tool("sentry_capture_session", {"sessionId": "s-1", "distinctId": token}, ctx)
    stored = _all_payloads(local_server)
    assert token not in stored and dsn_key not in stored
    assert "[Filtered]" in stored


def test_scope_set_on_one_thread_reaches_captures_on_another(local_server: Any) -> None:
    tel = Telemetry(_settings(local_server))
    results: dict[str, Any] = {}

    def worker(name: str, fn: Any) -> None:
        t = threading.Thread(target=lambda: results.__setitem__(name, fn()), name=name)
        t.start()
        t.join()

    worker("tagger", lambda: (tel.set_tag("from_thread", "a"), tel.set_user(id="t-1"),
                              tel.add_breadcrumb("crumb from a thread")))
    worker("txn", lambda: tel.start_transaction("threaded", "task"))
    worker("capture", lambda: tel.capture_message("from another thread")[0])
    worker("finish", lambda: tel.finish_transaction("ok"))
    assert tel.flush(5.0)
    event = event_by_id(local_server, results["capture"])
    assert event["tags"]["from_thread"] == "a" and event["user"]["id"] == "t-1"
    assert any(c.get("message") == "crumb from a thread" for c in event["breadcrumbs"]["values"])
    assert event["contexts"]["trace"]["trace_id"] == results["txn"].span.trace_id
    txn = transaction_by_id(local_server, results["finish"]["event_id"])
    assert txn["transaction"] == "threaded" and txn["tags"]["from_thread"] == "a"


def test_span_context_manager_marks_errors_and_becomes_a_transaction_alone(local_server: Any) -> None:
    tel = Telemetry(_settings(local_server))
    with pytest.raises(ZeroDivisionError):
        with tel.span("compute", "mean price"):
            1 / 0  # noqa: B018
    assert len(tel.spans) == 0 and tel.flush(5.0)
    txn = local_server.store.transactions()[-1]
    assert txn["transaction"] == "mean price"
    assert (txn["contexts"]["trace"]["op"], txn["contexts"]["trace"]["status"]) == ("compute", "internal_error")


def test_finish_with_open_inner_spans_closes_them_first(local_server: Any) -> None:
    tel = Telemetry(_settings(local_server))
    outer = tel.start_transaction("outer", "task")
    tel.start_transaction("inner", "step")
    info = tel.spans.finish("ok", outer)  # finish the root while its child is still open
    assert info["kind"] == "transaction" and info["spans"] == 1 and len(tel.spans) == 0
    assert tel.flush(5.0)
    (span,) = transaction_by_id(local_server, info["event_id"])["spans"]
    assert span["status"] == "cancelled"
    with pytest.raises(ToolInputError, match="No transaction is open"):
        tel.finish_transaction()


def test_tight_loop_is_not_dropped(local_server: Any) -> None:
    tel = Telemetry(_settings(local_server))
    before = len(local_server.store.events())
    ids = [tel.capture_message(f"loop {i}")[0] for i in range(300)]
    assert tel.flush(20.0) is True
    assert len(local_server.store.events()) - before == 300 and len(set(ids)) == 300
    assert tel.delivery()["lost"] == {}


def test_undeliverable_server_is_reported_by_flush(tmp_path: Any) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    tel = Telemetry(Settings(dsn=f"http://abc@127.0.0.1:{port}/1"))
    tel.capture_message("nobody home")
    assert tel.flush(5.0) is False
    assert tel.delivery()["spool"]["reasons"] == {"refused": 1}
    assert any("1 because the ingest server refused the connection" in line for line in tel.delivery_lines())


def test_session_helpers_normalise_ids() -> None:
    fixed = "7b1a7c1e-3a52-4b8e-9a5e-5e6e7472792d"
    assert normalise_sid(fixed.replace("-", "").upper()) == (fixed, False)
    assert normalise_sid("{" + fixed + "}") == (fixed, False)
    derived, was_derived = normalise_sid("request-17")
    assert was_derived and derived == normalise_sid("request-17")[0]
    assert normalise_sid(None)[1] is False


def test_python_exception_counts_against_open_session(local_server: Any) -> None:
    tel = Telemetry(_settings(local_server, release="health@1"))
    body, _ = tel.start_session(distinct_id="d-1")
    try:
        raise KeyError("price")
    except KeyError as exc:
        tel.capture_exception(exc)
    end = tel.end_session("errored")
    assert end["errors"] == 1 and end["status"] == "errored" and end["did"] == "d-1"
    assert tel.flush(5.0)
    stored = [s for s in local_server.store.sessions() if s.get("sid") == body["sid"]]
    assert [s["status"] for s in stored] == ["ok", "errored"]
    assert json.dumps(stored[-1]["attrs"]) == json.dumps({"release": "health@1", "environment": "production"})
