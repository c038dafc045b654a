"""The 12 SDK tools through ``run_tool``, each envelope read back at the local backend (real HTTP)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from sentry_ipy.errors import ToolInputError
from sentry_ipy.tools import ToolContext, registry, run_tool
from tests._sdk import event_by_id, reset_sentry_sdk, sessions_by_sid, transaction_by_id  # noqa: F401

SDK_TOOLS = ("sentry_add_breadcrumb", "sentry_capture_exception", "sentry_capture_message",
             "sentry_capture_session", "sentry_end_session", "sentry_finish_transaction",
             "sentry_set_context", "sentry_set_release", "sentry_set_tag", "sentry_set_user",
             "sentry_start_session", "sentry_start_transaction")


def call(ctx: ToolContext, tool_name: str, /, **args: Any) -> dict[str, Any]:
    result = run_tool(tool_name, args, ctx)
    assert result.summary and result.summary.endswith("."), result.summary
    return result.data or {}


def test_sdk_tools_are_registered_with_sdk_family() -> None:
    tools = registry()
    for name in SDK_TOOLS:
        assert tools[name].family == "sdk"
        assert tools[name].description


def test_capture_exception_sends_typed_exception_with_per_call_scope(ctx: ToolContext, local_server: Any) -> None:
    data = call(ctx, "sentry_capture_exception", error="KeyError: 'price'", level="warning",
                tags={"stage": "load"}, context={"rows": 120}, user={"id": "u-1", "email": "a@b.c"})
    assert data["delivered"] is True and data["type"] == "KeyError"
    event = event_by_id(local_server, data["event_id"])
    (exc,) = event["exception"]["values"]
    assert (exc["type"], exc["value"]) == ("KeyError", "'price'")
    assert exc["mechanism"] == {"type": "sentry_ipy.tool", "handled": True,
                                "description": "reported with sentry_capture_exception"}
    assert event["level"] == "warning"
    assert event["tags"]["stage"] == "load"
    assert event["contexts"]["additional"] == {"rows": 120}
    assert event["user"] == {"id": "u-1", "email": "a@b.c"}

    # Nothing of the per-call scope leaks into the next event.
    later = call(ctx, "sentry_capture_message", message="after the exception")
    event = event_by_id(local_server, later["event_id"])
    assert "stage" not in (event.get("tags") or {})
    assert "additional" not in event.get("contexts", {})
    assert "user" not in event or not event["user"].get("id")
    assert event["level"] == "info"


def test_capture_exception_without_type_prefix_is_error(ctx: ToolContext, local_server: Any) -> None:
    data = call(ctx, "sentry_capture_exception", error="the nightly job fell over")
    (exc,) = event_by_id(local_server, data["event_id"])["exception"]["values"]
    assert (exc["type"], exc["value"]) == ("Error", "the nightly job fell over")


def test_scope_tools_apply_to_later_events(ctx: ToolContext, local_server: Any) -> None:
    call(ctx, "sentry_set_user", id="42", email="ada@example.com", username="ada",
         ip_address="10.0.0.7", segment="paid")
    call(ctx, "sentry_set_tag", key="notebook", value="pricing.ipynb")
    call(ctx, "sentry_set_context", name="dataset", context={"rows": 120, "source": {"kind": "s3"}})
    call(ctx, "sentry_add_breadcrumb", message="loaded prices.csv", category="io", level="warning",
         data={"rows": 120})
    data = call(ctx, "sentry_capture_message", message="prices loaded", level="info",
                tags={"extra": "yes"}, context={"n": 1})
    event = event_by_id(local_server, data["event_id"])
    assert event["message"] == "prices loaded" or event["logentry"]["message"] == "prices loaded"
    assert event["user"] == {"id": "42", "email": "ada@example.com", "username": "ada",
                             "ip_address": "10.0.0.7", "segment": "paid"}
    assert event["tags"]["notebook"] == "pricing.ipynb" and event["tags"]["extra"] == "yes"
    assert event["contexts"]["dataset"] == {"rows": 120, "source": {"kind": "s3"}}
    assert event["contexts"]["additional"] == {"n": 1}
    crumbs = [c for c in event["breadcrumbs"]["values"] if c.get("message") == "loaded prices.csv"]
    assert crumbs and crumbs[-1]["category"] == "io" and crumbs[-1]["level"] == "warning"
    assert crumbs[-1]["data"] == {"rows": 120}

    cleared = run_tool("sentry_set_user", {}, ctx)
    assert cleared.data == {"user": None}
    event = event_by_id(local_server, call(ctx, "sentry_capture_message", message="anon")["event_id"])
    assert not (event.get("user") or {}).get("id")


def test_set_release_sets_client_release_and_dist_not_a_tag(ctx: ToolContext, local_server: Any) -> None:
    data = call(ctx, "sentry_set_release", release="shop@1.2.0", dist="build-7")
    assert data == {"release": "shop@1.2.0", "dist": "build-7", "reinitialised": True}
    assert call(ctx, "sentry_set_release", release="shop@1.2.0", dist="build-7")["reinitialised"] is False
    event = event_by_id(local_server, call(ctx, "sentry_capture_message", message="released")["event_id"])
    assert (event["release"], event["dist"]) == ("shop@1.2.0", "build-7")
    assert "release" not in (event.get("tags") or {})
    session = call(ctx, "sentry_capture_session", sessionId=str(uuid.uuid4()), status="exited")
    stored = sessions_by_sid(local_server, session["sid"])
    assert stored[0]["attrs"]["release"] == "shop@1.2.0"


def test_set_release_rejects_names_sentry_refuses(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="Release 'a/b' is not valid"):
        run_tool("sentry_set_release", {"release": "a/b"}, ctx)


def test_transaction_round_trip_with_nested_span(ctx: ToolContext, local_server: Any) -> None:
    started = call(ctx, "sentry_start_transaction", name="nightly import", op="task",
                   description="load and clean")
    assert started["kind"] == "transaction" and started["sampled"] is True
    child = call(ctx, "sentry_start_transaction", name="read csv", op="file.read")
    assert child["kind"] == "span" and child["trace_id"] == started["trace_id"]
    with ctx.telemetry().span("db.query", "select prices"):
        pass
    inner = call(ctx, "sentry_finish_transaction", status="ok")
    assert inner["kind"] == "span"
    msg = call(ctx, "sentry_capture_message", message="inside the transaction")
    done = call(ctx, "sentry_finish_transaction", status="internal_error")
    assert done["kind"] == "transaction" and done["delivered"] is True
    assert (done["trace_id"], done["span_id"]) == (started["trace_id"], started["span_id"])
    assert done["duration"] >= 0 and done["spans"] == 2

    txn = transaction_by_id(local_server, done["event_id"])
    assert txn["transaction"] == "nightly import"
    trace = txn["contexts"]["trace"]
    assert (trace["op"], trace["status"], trace["trace_id"]) == ("task", "internal_error", started["trace_id"])
    assert trace["description"] == "load and clean"
    spans = {s["op"]: s for s in txn["spans"]}
    assert spans["file.read"]["parent_span_id"] == started["span_id"]
    assert spans["db.query"]["parent_span_id"] == child["span_id"]
    assert spans["db.query"]["description"] == "select prices"
    # The message captured while it was open joined its trace.
    assert event_by_id(local_server, msg["event_id"])["contexts"]["trace"]["trace_id"] == started["trace_id"]


def test_finish_without_open_transaction_is_a_clear_error(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="^No transaction is open; start one with sentry_start_transaction.$"):
        run_tool("sentry_finish_transaction", {}, ctx)


def test_session_start_end_honours_sid_did_release_environment(ctx: ToolContext, local_server: Any) -> None:
    sid = str(uuid.uuid4())
    started = call(ctx, "sentry_start_session", sessionId=sid.upper(), distinctId="user-42",
                   release="shop@2.0.0", environment="staging")
    assert started["sid"] == sid and started["status"] == "ok" and started["init"] is True
    call(ctx, "sentry_capture_exception", error="ValueError: bad row")
    ended = call(ctx, "sentry_end_session", status="crashed")
    assert ended["status"] == "crashed" and ended["errors"] == 1 and ended["init"] is False

    first, last = sessions_by_sid(local_server, sid)
    assert (first["did"], first["status"], first["init"]) == ("user-42", "ok", True)
    assert first["attrs"] == {"release": "shop@2.0.0", "environment": "staging"}
    assert (last["did"], last["status"], last["init"], last["errors"]) == ("user-42", "crashed", False, 1)
    assert last["duration"] >= 0 and last["started"] == first["started"]

    with pytest.raises(ToolInputError, match="No session is open"):
        run_tool("sentry_end_session", {"status": "exited"}, ctx)


def test_session_needs_a_release(ctx: ToolContext) -> None:
    with pytest.raises(ToolInputError, match="call sentry_set_release first"):
        run_tool("sentry_start_session", {"distinctId": "u"}, ctx)
    with pytest.raises(ToolInputError, match="call sentry_set_release first"):
        run_tool("sentry_capture_session", {"sessionId": "abc"}, ctx)


def test_starting_a_session_ends_the_open_one(ctx: ToolContext, local_server: Any) -> None:
    call(ctx, "sentry_set_release", release="shop@3.0.0")
    first = call(ctx, "sentry_start_session", distinctId="a")
    second = call(ctx, "sentry_start_session", distinctId="b")
    assert second["previous"]["sid"] == first["sid"] and second["previous"]["status"] == "exited"
    assert [s["status"] for s in sessions_by_sid(local_server, first["sid"])] == ["ok", "exited"]
    call(ctx, "sentry_end_session")


def test_a_release_change_ends_the_open_session_and_starts_one_under_the_new_release(
        ctx: ToolContext, local_server: Any) -> None:
    call(ctx, "sentry_set_release", release="roll@1")
    first = call(ctx, "sentry_start_session", distinctId="user-7")
    call(ctx, "sentry_capture_exception", error="KeyError: 'x'")
    result = run_tool("sentry_set_release", {"release": "roll@2"}, ctx)
    ended, started = result.data["endedSession"], result.data["startedSession"]  # type: ignore[index]
    assert ended["sid"] == first["sid"] and started["sid"] != first["sid"]
    assert (f"session {first['sid']} (roll@1) was ended as exited with 1 error(s) and session "
            f"{started['sid']} started under roll@2.") in result.summary
    call(ctx, "sentry_capture_exception", error="KeyError: 'y'")
    last = call(ctx, "sentry_end_session")
    assert last["sid"] == started["sid"] and last["errors"] == 1

    old = sessions_by_sid(local_server, first["sid"])
    assert [(s["status"], s["attrs"]["release"], s["errors"]) for s in old] == [
        ("ok", "roll@1", 0), ("exited", "roll@1", 1)]
    new = sessions_by_sid(local_server, started["sid"])
    assert [(s["status"], s["attrs"]["release"], s["init"], s["did"]) for s in new] == [
        ("ok", "roll@2", True, "user-7"), ("exited", "roll@2", False, "user-7")]

    # Without an open session, or with the same release, nothing about sessions is said.
    assert "Sessions belong" not in run_tool("sentry_set_release", {"release": "roll@3"}, ctx).summary


def test_starting_the_open_session_again_sends_nothing_and_an_ended_one_is_refused(
        ctx: ToolContext, local_server: Any) -> None:
    call(ctx, "sentry_set_release", release="again@1")
    sid = str(uuid.uuid4())
    call(ctx, "sentry_start_session", sessionId=sid)
    result = run_tool("sentry_start_session", {"sessionId": sid}, ctx)
    assert result.summary.startswith(f"Session {sid} is already open (release again@1")
    assert result.summary.endswith("nothing was sent.")
    call(ctx, "sentry_end_session")
    assert [s["init"] for s in sessions_by_sid(local_server, sid)] == [True, False]
    with pytest.raises(ToolInputError, match=f"^Session {sid} already ended; Sentry would count"):
        run_tool("sentry_start_session", {"sessionId": sid}, ctx)


def test_capture_session_sends_standalone_item(ctx: ToolContext, local_server: Any) -> None:
    call(ctx, "sentry_set_release", release="shop@4.0.0")
    data = call(ctx, "sentry_capture_session", sessionId="request-17", distinctId="user-9",
                status="errored", duration=12.5, errors=2, environment="prod")
    assert data["sid_derived_from"] == "request-17"
    assert data["sid"] == str(uuid.UUID(data["sid"]))
    again = call(ctx, "sentry_capture_session", sessionId="request-17", status="exited")
    assert again["sid"] == data["sid"], "the same custom ID maps to the same session"
    (stored, _) = sessions_by_sid(local_server, data["sid"])
    assert stored["did"] == "user-9" and stored["status"] == "errored" and stored["errors"] == 2
    assert stored["duration"] == 12.5 and stored["init"] is True
    assert stored["attrs"] == {"release": "shop@4.0.0", "environment": "prod"}
    assert {"started", "timestamp"} <= set(stored)


@pytest.mark.parametrize(("name", "args", "pattern"), [
    ("sentry_capture_message", {"message": "x", "level": "loud"}, "argument 'level'"),
    ("sentry_capture_message", {"message": "x", "context": [1, 2]}, "argument 'context'"),
    ("sentry_set_context", {"name": "x", "context": "text"}, "argument 'context'"),
    ("sentry_finish_transaction", {"status": "fine"}, "argument 'status'"),
    ("sentry_end_session", {"status": "ok"}, "argument 'status'"),
    ("sentry_capture_session", {"sessionId": "s", "errors": -1}, "argument 'errors'"),
    ("sentry_set_tag", {"key": "bad key!", "value": "v"}, "Tag key 'bad key!' is not valid"),
    ("sentry_set_user", {"ip_address": "not-an-ip"}, "not an IPv4 or IPv6 address"),
    ("sentry_set_context", {"name": "trace", "context": {}}, "reserved"),
    ("sentry_capture_message", {}, "needs the argument 'message'"),
])
def test_bad_input_is_one_sentence(ctx: ToolContext, name: str, args: dict[str, Any], pattern: str) -> None:
    with pytest.raises(ToolInputError, match=pattern) as info:
        run_tool(name, args, ctx)
    assert str(info.value).endswith((".", ")")) and "\n" not in str(info.value)


def test_huge_message_is_cut_to_sentry_limit_and_says_so(ctx: ToolContext, local_server: Any) -> None:
    result = run_tool("sentry_capture_message", {"message": "x" * 10_000_000}, ctx)
    assert result.data and result.data["truncated"] is True
    assert "cut from 10,000,000 to 8,192 characters" in result.summary
    event = event_by_id(local_server, result.data["event_id"])
    text = event.get("message") or event["logentry"]["message"]
    assert len(text) == 8192 and text.endswith("...")


def test_non_utf8_bytes_are_decoded_with_replacement(ctx: ToolContext, local_server: Any) -> None:
    data = call(ctx, "sentry_capture_message", message=b"caf\xe9 \xff ok", tags={"k": "v\udc80"})
    event = event_by_id(local_server, data["event_id"])
    assert (event.get("message") or event["logentry"]["message"]) == "caf\ufffd \ufffd ok"
    assert event["tags"]["k"] == "v?"


def test_deep_context_is_cut_at_documented_depth(ctx: ToolContext, local_server: Any) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for i in range(40):
        deep = {f"level{i}": deep}
    call(ctx, "sentry_set_context", name="deep", context=deep)
    data = call(ctx, "sentry_capture_message", message="deep")
    node = event_by_id(local_server, data["event_id"])["contexts"]["deep"]
    depth = 1
    while isinstance(node, dict):
        (node,) = node.values()
        depth += 1
    assert node == "[Truncated]" and depth == 9  # MAX_CONTEXT_DEPTH = 8 object levels kept
