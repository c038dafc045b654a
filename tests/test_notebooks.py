"""Every notebook in notebooks/ executes top to bottom in a real kernel (nbclient)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


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
    if path.name == "analysis.ipynb":
        assert "holds 10 rows and stopped at limit=10" in text and "(True, 10)" in text
        assert "(False, None)" in text  # the issues frame holds every issue, untruncated
