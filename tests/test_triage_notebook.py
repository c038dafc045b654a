"""The notebook face of triage and health: ``%sentry_update_issue -i df`` and ``%sentry_health``."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from sentry_ipy.local import LocalServer
from tests._shell import ip

__all__ = ["ip"]


def test_update_issue_magic_takes_a_frame_variable(ip: Any, local_server: LocalServer) -> None:
    token = uuid.uuid4().hex[:8]
    key = local_server.store.keys(1)[0]["public_key"]
    for n in ("one", "two"):
        httpx.post(f"{local_server.url}/api/1/store/?sentry_key={key}",
                   json={"message": f"triage {token} {n}", "level": "error"})
    ip.run_cell(f'df = %sentry_issues --query "{token}"')
    frame = ip.user_ns["df"]
    assert len(frame) == 2
    ip.run_line_magic("sentry_update_issue", "-i df --status ignored --ignoreUntil forever -o triaged")
    triaged = ip.user_ns["triaged"]
    assert sorted(triaged["outcome"]) == ["changed", "changed"]
    statuses = {str(i["id"]): (i["status"], i["substatus"]) for i in local_server.store.issues()}
    assert {statuses[str(i)] for i in frame["id"]} == {("ignored", "archived_forever")}


def test_health_magic_returns_a_frame(ip: Any) -> None:
    frame = ip.run_line_magic("sentry_health", "--statsPeriod 1d")
    assert {"time", "release", "sessions", "crash_free_sessions", "crash_free_users"} <= set(frame.columns)


def test_trace_and_health_magics_store_their_frames_with_o(ip: Any, local_server: LocalServer) -> None:
    """``%sentry_trace`` and ``%sentry_health`` are the registry's aliases, with ``-o`` like every magic."""
    import time

    import sentry_sdk

    from tests._sdk import sending_to

    with sending_to(local_server.dsn("notebook"), traces_sample_rate=1.0):
        with sentry_sdk.start_transaction(name="nightly-export", op="task") as txn:
            with sentry_sdk.start_span(op="db.query", name="SELECT orders"):
                pass
    deadline = time.monotonic() + 10
    while not any(e.get("contexts", {}).get("trace", {}).get("trace_id") == txn.trace_id
                  for e in local_server.store.events(type="transaction")):
        assert time.monotonic() < deadline, "the transaction did not arrive"
        time.sleep(0.1)
    assert ip.run_line_magic("sentry_trace", f"--traceId {txn.trace_id} -o spans") is None
    spans = ip.user_ns["spans"]
    assert sorted(spans["op"]) == ["db.query", "task"]
    assert spans.loc[spans["op"] == "db.query", "depth"].item() == 1
    assert ip.run_line_magic("sentry_health", "--statsPeriod 1d --interval 1h -o health") is None
    assert {"release", "crash_free_sessions"} <= set(ip.user_ns["health"].columns)
