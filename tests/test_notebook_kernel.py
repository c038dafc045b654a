"""The notebook face in a real kernel (nbclient): plain sentry-sdk right after loading, paging.

A data scientist's first cells: ``%load_ext sentry_ipy``, then plain
``sentry_sdk.capture_message`` in a loop (no magic has run yet), then a list
magic over every page. The events must arrive, the frame must hold all of them,
and the notebook as saved must hold a true progress line, not a bar's first frame.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SENT = 480

CELLS = [
    "%load_ext sentry_ipy",
    "import sentry_sdk\n"
    f"ids = [sentry_sdk.capture_message(f'plain sdk message {{i % 3}}') for i in range({SENT})]\n"
    "sentry_sdk.flush(30)\n"
    "print(sum(i is not None for i in ids))",
    "events = %sentry list_error_events_in_project notebook --statsPeriod 1h",
    "print(len(events), events.attrs['truncated'], events.attrs['limit'])",
    "few = %sentry list_error_events_in_project notebook --limit 30",
    "print(len(few), few.attrs['truncated'])",
]


def test_plain_sdk_after_load_ext_reaches_the_backend_and_lists_page_through(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    out = ["\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "")
                     for o in cell.get("outputs", [])) for cell in nb.cells]
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    assert out[1].strip() == str(SENT)  # every capture got an event ID: the SDK was initialised
    assert f"Sentry: fetched {SENT} rows." in out[2]  # the saved line is the outcome
    assert "0%" not in out[2] and f"/{SENT}" not in out[2]
    assert out[3].strip() == f"{SENT} False None"
    assert "holds 30 rows and stopped at limit=30" in out[4]
    assert out[5].strip() == "30 True"
