"""The fault matrix for delivery: an ingest that is down, rate limits, 5xx, resets, a slow server.

Every case runs against a real loopback proxy (``tests/_faulty_ingest.py``) in
front of the embedded backend, which stores what gets through and drops an
event ID it already has. Waiting is on signals (flush, the proxy's request
count), never on sleeps; rate-limit windows and backoff run on a clock the
test moves.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sentry_ipy.config import Settings
from sentry_ipy.telemetry import Telemetry
from tests._faulty_ingest import FaultyIngest
from tests._sdk import reset_sentry_sdk  # noqa: F401  (autouse)


class Clock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture()
def ingest(local_server: Any) -> Iterator[FaultyIngest]:
    proxy = FaultyIngest(local_server.url)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def _dsn(local_server: Any, ingest: FaultyIngest) -> str:
    return local_server.dsn("notebook").replace(local_server.url.split("//", 1)[1], ingest.host)


def _tel(local_server: Any, ingest: FaultyIngest, tmp_path: Path, clock: Clock, **kw: Any) -> Telemetry:
    return Telemetry(Settings(dsn=_dsn(local_server, ingest)), data_dir=tmp_path / "spool-data", clock=clock, **kw)


def _stored(local_server: Any, ids: list[str]) -> dict[str, int]:
    """How many times the backend stored each of ``ids``."""
    marks = ",".join("?" * len(ids))
    rows = local_server.store.query(
        f"SELECT event_id, COUNT(*) AS n FROM events WHERE event_id IN ({marks}) GROUP BY event_id", ids)
    return {r["event_id"]: r["n"] for r in rows}


def _capture(tel: Telemetry, n: int, label: str) -> list[str]:
    ids = [tel.capture_message(f"{label} {i}")[0] for i in range(n)]
    assert all(ids)
    return [str(i) for i in ids]


def _wait_accepted(ingest: FaultyIngest, ids: list[str], timeout: float = 60.0,
                   tel: Telemetry | None = None, clock: Clock | None = None) -> None:
    """Block until the proxy has seen the backend accept every one of ``ids`` (a signal per request).

    With ``tel`` and ``clock``: on a loaded machine one replayed request can time out for real,
    and the transport then backs off on the test's clock, which only the test moves. So after
    a quiet spell the wait lets a backoff's worth of time pass and flushes, as time and the
    next flush would for a user; what is asserted afterwards (each event once, in order) holds.
    """
    want = set(ids)
    quiet = 0.0
    while not want <= set(ingest.accepted):
        if ingest.requests.acquire(timeout=5.0):
            quiet = 0.0
            continue
        quiet += 5.0
        missing = f"{len(want - set(ingest.accepted))} of {len(want)} events never reached the backend"
        assert quiet < timeout, f"{missing} (last failure: {tel.delivery() if tel else 'unknown'})"
        if tel is not None and clock is not None:
            clock.advance(61)
            tel.flush(5.0)


def _spool(tel: Telemetry) -> dict[str, Any]:
    return tel.delivery()["spool"]


def _accepted_order(ingest: FaultyIngest, ids: list[str]) -> list[str]:
    wanted = set(ids)
    return [eid for mode, eid in ingest.seen if mode == "forward" and eid in wanted]


def test_outage_of_1000_events_then_recovery_delivers_each_once_in_order(
        local_server: Any, ingest: FaultyIngest, tmp_path: Path, clock: Clock) -> None:
    tel = _tel(local_server, ingest, tmp_path, clock)
    ingest.down()
    ids = _capture(tel, 1000, "outage")
    assert tel.flush(5.0) is False, "nothing could be delivered, so flush must not say it was"
    spool = _spool(tel)
    assert spool["count"] == 1000 and set(spool["reasons"]) == {"refused"}
    assert spool["categories"] == {"error": 1000}
    assert any("1000 because the ingest server refused the connection" in line for line in tel.delivery_lines())

    ingest.up()
    clock.advance(61)  # past the backoff: the next capture tries the server, replaying the spool first
    (after,) = _capture(tel, 1, "after the outage")
    _wait_accepted(ingest, [*ids, after], tel=tel, clock=clock)
    assert _accepted_order(ingest, [*ids, after]) == [*ids, after], "replayed oldest-first, new events last"
    assert tel.flush(10.0) is True
    assert _stored(local_server, [*ids, after]) == {i: 1 for i in [*ids, after]}
    assert set(ingest.accepted.values()) == {1}, "no envelope was sent twice"
    assert _spool(tel)["count"] == 0 and tel.delivery()["lost"] == {}


_CHILD = """
import json, sys
from pathlib import Path
from sentry_ipy.config import Settings
from sentry_ipy.telemetry import Telemetry
tel = Telemetry(Settings(dsn=sys.argv[1]), data_dir=Path(sys.argv[2]))
ids = [tel.capture_message(f"before restart {i}")[0] for i in range(int(sys.argv[3]))]
print(json.dumps(ids))
"""  # exits without flushing: atexit and the transport spool what is left


def test_kernel_restart_mid_outage_loses_nothing(local_server: Any, ingest: FaultyIngest, tmp_path: Path,
                                                 clock: Clock) -> None:
    ingest.down()
    data_dir = tmp_path / "spool-data"
    child = subprocess.run([sys.executable, "-c", _CHILD, _dsn(local_server, ingest), str(data_dir), "500"],
                           capture_output=True, text=True, timeout=120, check=True)
    first = json.loads(child.stdout)
    assert len(first) == 500

    tel = _tel(local_server, ingest, tmp_path, clock)  # the restarted kernel: still no ingest
    second = _capture(tel, 500, "after restart")
    assert tel.flush(5.0) is False
    assert _spool(tel)["count"] == 1000
    tel.close()  # and it restarts once more

    ingest.up()
    restarted = Clock()
    third = _tel(local_server, ingest, tmp_path, restarted)  # the next process start replays on its own
    _wait_accepted(ingest, first + second, tel=third, clock=restarted)
    assert _accepted_order(ingest, first + second) == first + second
    assert _stored(local_server, first + second) == {i: 1 for i in first + second}
    assert set(ingest.accepted.values()) == {1}


def test_429_with_retry_after_holds_events_for_the_window(local_server: Any, ingest: FaultyIngest,
                                                          tmp_path: Path, clock: Clock) -> None:
    tel = _tel(local_server, ingest, tmp_path, clock)
    ingest.answer(429, {"Retry-After": "120"})
    ids = _capture(tel, 3, "limited")
    assert tel.flush(5.0) is False
    assert len(ingest.seen) == 1, "after a 429 nothing is sent until the window ends"
    assert _spool(tel)["reasons"] == {"http_429": 1, "ratelimit": 2}
    assert tel.delivery()["rate_limits"]["*"] == pytest.approx(120, abs=1)
    assert any("Rate limited by the server: all categories for 120 s more" in line
               for line in tel.delivery_lines())

    ingest.up()
    clock.advance(119)
    assert tel.flush(5.0) is False and len(ingest.seen) == 1
    clock.advance(2)
    assert tel.flush(10.0) is True
    assert _accepted_order(ingest, ids) == ids and _stored(local_server, ids) == {i: 1 for i in ids}


def test_429_without_retry_after_waits_sixty_seconds(local_server: Any, ingest: FaultyIngest,
                                                     tmp_path: Path, clock: Clock) -> None:
    tel = _tel(local_server, ingest, tmp_path, clock)
    ingest.answer(429)
    ids = _capture(tel, 2, "limited")
    assert tel.flush(5.0) is False
    ingest.up()
    clock.advance(59)
    assert tel.flush(5.0) is False and len(ingest.seen) == 1
    clock.advance(2)
    assert tel.flush(10.0) is True and _stored(local_server, ids) == {i: 1 for i in ids}


def test_a_rate_limited_category_waits_while_others_flow(local_server: Any, ingest: FaultyIngest,
                                                         tmp_path: Path, clock: Clock) -> None:
    tel = _tel(local_server, ingest, tmp_path, clock)
    ingest.answer(429, {"X-Sentry-Rate-Limits": "60:transaction:key, 5::organization:quota"})
    with tel.span("task", "limited transaction"):
        pass
    assert tel.flush(5.0) is False
    ingest.up()
    clock.advance(6)  # the all-category limit is over, transactions still wait
    errors = _capture(tel, 3, "errors flow")
    assert tel.flush(10.0) is False, "the transaction is still waiting"
    assert _stored(local_server, errors) == {i: 1 for i in errors}
    assert _spool(tel)["categories"] == {"transaction": 1}
    clock.advance(60)
    assert tel.flush(10.0) is True and _spool(tel)["count"] == 0
    (txn_id,) = [eid for mode, eid in ingest.seen if mode == "forward" and eid not in errors]
    assert _stored(local_server, [txn_id]) == {txn_id: 1}


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_bursts_back_off_then_deliver(status: int, local_server: Any, ingest: FaultyIngest,
                                          tmp_path: Path, clock: Clock) -> None:
    tel = _tel(local_server, ingest, tmp_path, clock)
    ingest.answer(status)
    ids = _capture(tel, 5, f"burst {status}")
    assert tel.flush(5.0) is False
    assert _spool(tel)["reasons"] == {f"http_{status}": 5}
    tries = len(ingest.seen)
    assert tries <= 2, "after a failure the transport backs off instead of hammering the server"
    clock.advance(1.5)
    more = _capture(tel, 1, "still failing")  # the backoff is over: it tries the oldest once, fails, spools
    ingest.up()
    assert tel.flush(10.0) is True
    assert _accepted_order(ingest, ids + more) == ids + more
    assert _stored(local_server, ids + more) == {i: 1 for i in ids + more}


def test_connection_reset_mid_body_is_retried(local_server: Any, ingest: FaultyIngest, tmp_path: Path,
                                              clock: Clock) -> None:
    tel = _tel(local_server, ingest, tmp_path, clock)
    ingest.reset_mid_body()
    ids = _capture(tel, 3, "reset")
    assert tel.flush(5.0) is False and set(_spool(tel)["reasons"]) == {"reset"}
    ingest.up()
    assert tel.flush(10.0) is True and _stored(local_server, ids) == {i: 1 for i in ids}


def test_slow_server_past_the_timeout_after_storing_is_not_duplicated(
        local_server: Any, ingest: FaultyIngest, tmp_path: Path, clock: Clock) -> None:
    tel = _tel(local_server, ingest, tmp_path, clock, timeout=0.5)
    ingest.hold()  # the backend stores the event, the answer never comes back in time
    (event_id,) = _capture(tel, 1, "slow")
    assert tel.flush(5.0) is False
    assert _spool(tel)["reasons"] == {"timeout": 1}
    assert _stored(local_server, [event_id]) == {event_id: 1}
    ingest.release()
    ingest.up()
    assert tel.flush(10.0) is True
    assert ingest.accepted[event_id] >= 2, "the replay went out again (after a partial delivery)"
    assert _stored(local_server, [event_id]) == {event_id: 1}, "and the backend kept the event once"


def test_full_spool_drops_the_oldest_and_says_so(local_server: Any, ingest: FaultyIngest, tmp_path: Path,
                                                  clock: Clock) -> None:
    tel = _tel(local_server, ingest, tmp_path, clock, spool_max_count=5)
    ingest.down()
    ids = _capture(tel, 8, "overflow")
    assert tel.flush(5.0) is False
    info = tel.delivery()
    assert info["spool"]["count"] == 5 and info["spool"]["dropped"] == 3
    assert info["lost"] == {"envelope:spool_overflow": 3}
    assert any("the 3 oldest envelope(s) were dropped" in line for line in tel.delivery_lines())
    ingest.up()
    assert tel.flush(10.0) is True, "the loss was reported by the previous flush"
    assert _stored(local_server, ids) == {i: 1 for i in ids[3:]}


def test_a_full_queue_spools_instead_of_dropping(local_server: Any, tmp_path: Path) -> None:
    tel = Telemetry(Settings(dsn=local_server.dsn("notebook")), data_dir=tmp_path / "spool-data",
                    transport_queue_size=2)
    ids = _capture(tel, 200, "queue overflow")
    assert tel.flush(30.0) is True
    assert _stored(local_server, ids) == {i: 1 for i in ids}
    assert tel.delivery()["lost"] == {}


def test_two_processes_replaying_one_spool_send_each_envelope_once(
        local_server: Any, ingest: FaultyIngest, tmp_path: Path, clock: Clock) -> None:
    ingest.down()
    tel = _tel(local_server, ingest, tmp_path, clock)
    ids = _capture(tel, 200, "shared spool")
    tel.close()
    ingest.up()
    out: list[str] = []
    child = threading.Thread(target=lambda: out.append(subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; from sentry_ipy.config import Settings;"
         "from sentry_ipy.telemetry import Telemetry;"
         "t = Telemetry(Settings(dsn=sys.argv[1]), data_dir=Path(sys.argv[2])); print(t.flush(60))",
         _dsn(local_server, ingest), str(tmp_path / "spool-data")],
        capture_output=True, text=True, timeout=120).stdout))
    child.start()
    mine = _tel(local_server, ingest, tmp_path, Clock())
    mine.flush(60.0)
    child.join()
    _wait_accepted(ingest, ids)
    assert set(ingest.accepted.values()) == {1}, "a claimed file is sent by one process only"
    assert _stored(local_server, ids) == {i: 1 for i in ids}


def test_tools_status_and_doctor_say_what_waits_and_why(local_server: Any, ingest: FaultyIngest,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from sentry_ipy.cli import main
    from sentry_ipy.tools import ToolContext, run_tool

    ctx = ToolContext(Settings(dsn=_dsn(local_server, ingest), url=local_server.url,
                               auth_token=local_server.token, org=local_server.org_slug))
    ingest.down()
    sent = run_tool("sentry_capture_message", {"message": "while the ingest is down"}, ctx)
    assert sent.data is not None and sent.data["delivered"] is False
    assert "queued for" in sent.summary
    assert any("1 waiting in the disk spool because the ingest server refused the connection" in h
               for h in sent.hints)
    status = run_tool("sentry_delivery_status", {}, ctx)
    assert "Spooled on disk: 1 envelope(s)" in status.summary and "refused the connection" in status.summary
    assert status.data is not None and status.data["spool"]["count"] == 1

    monkeypatch.setenv("SENTRY_URL", local_server.url)
    monkeypatch.setenv("SENTRY_AUTH_TOKEN", local_server.token)
    monkeypatch.setenv("SENTRY_ORG", local_server.org_slug)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "Spooled on disk: 1 envelope(s)" in out and "1 because the ingest server refused the connection" in out

    ingest.up()
    again = run_tool("sentry_capture_message", {"message": "the ingest is back"}, ctx)
    assert again.data is not None and again.data["delivered"] is True
    assert _stored(local_server, [sent.data["event_id"], again.data["event_id"]]) == {
        sent.data["event_id"]: 1, again.data["event_id"]: 1}
    assert "Nothing is waiting in the spool" in run_tool("sentry_delivery_status", {}, ctx).summary
    ctx.close()
