"""Cells as spans: the stored transaction of a traced kernel run segment, from a real shell."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.utils.capture import capture_output  # noqa: E402

from tests._sdk import stored_events  # noqa: E402
from tests._shell import ip  # noqa: E402, F401  (fixture)


def _transaction(srv: Any, marker: str) -> dict[str, Any]:
    import sentry_sdk

    sentry_sdk.flush(5)
    found = stored_events(srv, lambda e: e.get("type") == "transaction"
                          and any(marker in (s.get("description") or "") for s in e.get("spans", [])))
    assert found, "no transaction with the cells' spans was stored"
    return found[-1]


def test_each_cell_is_a_span_of_the_segment_and_sentry_txn_nests_inside(ip: Any, local_server: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    ip.user_ns["__session__"] = f"/work/{marker}/traced.ipynb"
    ip.run_line_magic("config", "SentryMagics.trace_cells = True")
    try:
        ip.run_cell(f"a_{marker} = 1", cell_id="cell-a")
        failed = ip.run_cell(f"b_{marker} = 1 / 0", cell_id="cell-b")
        with capture_output():
            ip.run_cell(f"%%sentry_txn load {marker}\nc_{marker} = sum(range(10))", cell_id="cell-c")
        event_id = ip._sentry_ipy_state[1].last_event_id
    finally:
        ip.run_line_magic("config", "SentryMagics.trace_cells = False")  # ends the segment: it is sent
        ip.config.SentryMagics.pop("trace_cells", None)
    assert failed.error_in_exec is not None
    txn = _transaction(local_server, marker)
    assert txn["transaction"] == "traced.ipynb" and txn["contexts"]["trace"]["op"] == "notebook.run"
    assert txn["contexts"]["trace"]["status"] == "internal_error"  # a cell of the segment failed
    root = txn["contexts"]["trace"]["span_id"]
    cells = [s for s in txn["spans"] if s["op"] == "notebook.cell" and s["parent_span_id"] == root]
    by_name = {s["description"]: s for s in cells}
    assert set(by_name) == {f"a_{marker} = 1", f"b_{marker} = 1 / 0", f"c_{marker} = sum(range(10))"}
    assert by_name[f"a_{marker} = 1"]["status"] == "ok"
    assert by_name[f"b_{marker} = 1 / 0"]["status"] == "internal_error"
    assert by_name[f"a_{marker} = 1"]["data"]["notebook.cell_id"] == "cell-a"
    inner = [s for s in txn["spans"] if s.get("description") == f"load {marker}"]
    assert inner and inner[0]["parent_span_id"] == by_name[f"c_{marker} = sum(range(10))"]["span_id"]
    error = stored_events(local_server, lambda e: e.get("event_id") == str(event_id).replace("-", ""))[0]
    assert error["contexts"]["trace"]["trace_id"] == txn["contexts"]["trace"]["trace_id"]


def test_a_transaction_left_open_in_a_cell_runs_on_into_later_cells(ip: Any, local_server: Any) -> None:
    marker = uuid.uuid4().hex[:8]
    ip.run_line_magic("config", "SentryMagics.trace_cells = True")
    try:
        with capture_output():
            ip.run_cell(f"%sentry start_transaction --name etl-{marker} --op etl")
            ip.run_cell(f"x_{marker} = 2")
            ip.run_cell("%sentry finish_transaction")
    finally:
        ip.run_line_magic("config", "SentryMagics.trace_cells = False")
        ip.config.SentryMagics.pop("trace_cells", None)
    txn = _transaction(local_server, marker)
    spans = {s.get("description"): s for s in txn["spans"]}
    etl = spans[f"etl-{marker}"]
    assert etl["status"] == "ok"  # finished by the user, not cancelled at the end of its cell
    assert spans[f"x_{marker} = 2"]["parent_span_id"] == etl["span_id"]


def test_tracing_is_off_by_default(ip: Any) -> None:
    ip.run_cell("y = 1")
    tracer = ip._sentry_ipy_state[4]
    assert tracer.enabled is False and tracer.segment is None
