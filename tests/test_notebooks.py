"""Every notebook in notebooks/ executes top to bottom in a real kernel (nbclient)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _tagged(nb: Any, tag: str) -> str:
    """The text/plain result of the code cell tagged ``tag``."""
    cell = next(c for c in nb.cells if tag in c.get("metadata", {}).get("tags", []))
    return "".join(str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))


def _check_triage_and_health(nb: Any, data_dir: Path) -> None:
    """Its frames are typed and full, and the bulk triage changed exactly the previewed issues, at the backend."""
    from sentry_ipy.local import LocalServer

    dtypes = _tagged(nb, "explore-dtypes")
    assert "string" in dtypes and "datetime64" in dtypes and "UTC" in dtypes
    groupby = _tagged(nb, "explore-groupby")
    assert "shop@1.0" in groupby and "shop@1.1" in groupby and "OverflowError" in groupby
    health = _tagged(nb, "health")
    assert "shop@1.0" in health and "shop@1.1" in health and "crash_free_sessions" in health
    previewed = ast.literal_eval(_tagged(nb, "preview-ids"))
    assert previewed and "would change" in _tagged(nb, "preview")
    confirmed, outcomes = ast.literal_eval(_tagged(nb, "confirmed-ids"))
    assert confirmed == previewed and outcomes == ["changed"]
    # The kernel (and its backend) has exited; its store is in the data dir this test gave it.
    with LocalServer(data_dir) as backend:
        issues = backend.store.issues()
        project = next(i["project_id"] for i in issues if str(i["id"]) == previewed[0])
        mine = [i for i in issues if i["project_id"] == project]
        ignored = sorted(str(i["id"]) for i in mine if i["status"] == "ignored")
        assert ignored == sorted(previewed)
        assert {i["substatus"] for i in mine if i["status"] == "ignored"} == {"archived_forever"}
        assert sorted(str(i["id"]) for i in mine if i["level"] == "warning") == sorted(previewed)
        releases = backend.store.query("SELECT DISTINCT release FROM sessions WHERE project_id = ?", [project])
        assert sorted(r["release"] for r in releases) == ["shop@1.0", "shop@1.1"]  # sessions of both releases


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    allowed = [c for c in nb.cells if "raises-exception" in c.get("metadata", {}).get("tags", [])]
    assert len(errors) == len(allowed), [e.get("ename") + ": " + e.get("evalue", "") for e in errors]
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) + o.get("text", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                 if "image/png" in o.get("data", {}))
    if path.name == "monitoring-runs.ipynb":
        assert "exit 1: Run" in text and "exit 0: Run" in text  # failing and passing runs
        assert "crashed" in text and "daily@1.2" in text
        assert images == 2  # crash-free rate per release, and over time
    if path.name == "analysis.ipynb":
        assert images >= 2 and "analysis-demo@2.2.0" in text  # events by release, and over time (and others)
    if path.name == "quickstart.ipynb":
        assert "ZeroDivisionError" in text  # the failing cell's issue is listed
        assert "Int64" in text  # counts are typed
    if path.name == "triage-and-health.ipynb":
        assert images >= 2  # errors per hour by release, and the crash-free rate per release
        assert ast.literal_eval(_tagged(nb, "timeseries")) == ["shop@1.0", "shop@1.1"]  # one series each
        _check_triage_and_health(nb, tmp_path / "data")  # conftest's SENTRY_IPY_DATA_DIR, which the kernel inherits
    if path.name == "analysis.ipynb":
        assert "holds 10 rows and stopped at limit=10" in text and "(True, 10)" in text
        assert "(False, None)" in text  # the issues frame holds every issue, untruncated
