"""``sentry-ipy run``: real kernels (nbclient), the real CLI in a subprocess, a fresh local backend.

Each notebook runs once per module (a kernel start costs seconds); the tests
then read what the backend stored: the run's session, its transaction with a
span per cell, the failing cell's event, and the executed notebook on disk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")


def _notebook(path: Path, cells: list[tuple[str, list[str]]]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src, metadata={"tags": tags}) for src, tags in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


PRICES = [("rows = 3\nfail = False", ["parameters"]),
          ("prices = [1.5 * i for i in range(rows)]", []),
          ("if fail:\n    mean = sum(prices) / 0\nelse:\n    mean = sum(prices) / rows", []),
          ("print(f'mean {mean}')", [])]
CASCADE = [("frame = load_frame()", ["raises-exception"]),
           ("cols = frame.columns", ["raises-exception"]),
           ("print(cols)", ["raises-exception"]),
           ("done = True", [])]


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from sentry_ipy.local import LocalServer

    with LocalServer(tmp_path_factory.mktemp("runs-backend")) as server:
        yield server


def _run(backend: Any, workdir: Path, *args: str, release: str | None = "nb@1") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SENTRY_URL": backend.url, "SENTRY_AUTH_TOKEN": backend.token,
           "SENTRY_ORG": backend.org_slug, "SENTRY_PROJECT": "notebook", "SENTRY_DSN": backend.dsn(),
           "HOME": str(workdir), "SENTRY_IPY_DATA_DIR": str(workdir / "data")}
    env.pop("SENTRY_RELEASE", None)
    if release:
        env["SENTRY_RELEASE"] = release
    return subprocess.run([sys.executable, "-m", "sentry_ipy.cli", "run", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=240)


@pytest.fixture(scope="module")
def runs(backend: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("runs")
    prices = _notebook(work / "prices.ipynb", PRICES)
    cascade = _notebook(work / "cascade.ipynb", CASCADE)
    return {
        "work": work, "prices": prices,
        "passing": _run(backend, work, str(prices), "-p", "rows", "4", "-o", str(work / "out.ipynb")),
        "failing": _run(backend, work, str(prices), "-p", "fail", "True"),
        "cascade": _run(backend, work, str(cascade), release="nb@2"),
    }


def _run_id(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.stdout.startswith("Run "), proc.stdout + proc.stderr
    return proc.stdout.split()[1]


def _sessions(backend: Any, run_id: str) -> list[dict[str, Any]]:
    import uuid

    sid = str(uuid.UUID(run_id))
    return [s for s in backend.store.sessions() if s.get("sid") == sid]


def _transaction(backend: Any, run_id: str) -> dict[str, Any]:
    found = [t for t in backend.store.transactions() if (t.get("tags") or {}).get("notebook.run_id") == run_id]
    assert len(found) == 1, f"{len(found)} transactions for run {run_id}"
    return found[0]


def _errors(backend: Any, run_id: str) -> list[dict[str, Any]]:
    return [e for e in backend.store.events() if e.get("type") != "transaction"
            and (e.get("tags") or {}).get("notebook.run_id") == run_id]


def test_a_passing_run_exits_0_with_an_exited_session_and_a_span_per_cell(runs: dict[str, Any],
                                                                        backend: Any) -> None:
    proc = runs["passing"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_id = _run_id(proc)
    assert "finished in" in proc.stdout
    assert [s["status"] for s in _sessions(backend, run_id)] == ["ok", "exited"]
    assert _sessions(backend, run_id)[-1]["attrs"]["release"] == "nb@1"
    txn = _transaction(backend, run_id)
    assert txn["contexts"]["trace"]["op"] == "notebook.run" and txn["contexts"]["trace"]["status"] == "ok"
    assert txn["tags"]["notebook.outcome"] == "exited"
    cells = [s for s in txn["spans"] if s["op"] == "notebook.cell"]
    assert len(cells) == 5 and {s["status"] for s in cells} == {"ok"}  # 4 cells + the injected parameters
    assert not _errors(backend, run_id)
    out = nbformat.read(runs["work"] / "out.ipynb", as_version=4)
    injected = [c for c in out.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "rows = 4" in injected[0].source
    assert "mean 2.25" in out.cells[-1].outputs[0]["text"]  # the parameter won over the default


def test_a_failing_run_exits_1_is_crashed_and_captures_the_error_once_with_its_run(runs: dict[str, Any],
                                                                                 backend: Any) -> None:
    proc = runs["failing"]
    assert proc.returncode == 1, proc.stdout + proc.stderr
    run_id = _run_id(proc)
    assert "ZeroDivisionError: float division by zero" in proc.stdout and "failed at the cell at index 3" in proc.stdout
    final = _sessions(backend, run_id)[-1]
    assert final["status"] == "crashed" and final["errors"] >= 1
    errors = _errors(backend, run_id)
    assert len(errors) == 1
    event = errors[0]
    assert event["event_id"] in proc.stdout.replace("-", "")
    assert event["contexts"]["run"]["parameters"] == {"fail": "True"}
    assert event["contexts"]["run"]["notebook"] == str(runs["prices"])
    cell_id = nbformat.read(runs["prices"], as_version=4).cells[2].id  # ids survive injection
    assert event["fingerprint"] == ["notebook-cell", str(runs["prices"]), f"id:{cell_id}",
                                    "ZeroDivisionError", "cell:<module>"]
    txn = _transaction(backend, run_id)
    assert txn["tags"]["notebook.outcome"] == "crashed"
    assert txn["tags"]["notebook.failing_cell"] == f"id:{cell_id}"
    assert [s["status"] for s in txn["spans"] if s["op"] == "notebook.cell"][-1] == "internal_error"
    assert event["contexts"]["trace"]["trace_id"] == txn["contexts"]["trace"]["trace_id"]
    saved = runs["work"] / "prices.failed.ipynb"
    assert str(saved) in proc.stdout
    outputs = [o for c in nbformat.read(saved, as_version=4).cells for o in c.get("outputs", [])]
    assert any(o.get("ename") == "ZeroDivisionError" for o in outputs)


def test_a_cascade_in_a_real_kernel_is_one_issue_and_the_run_is_errored(runs: dict[str, Any],
                                                                      backend: Any) -> None:
    proc = runs["cascade"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_id = _run_id(proc)
    assert _sessions(backend, run_id)[-1]["status"] == "errored"
    out = nbformat.read(runs["work"] / "cascade.failed.ipynb", as_version=4) \
        if (runs["work"] / "cascade.failed.ipynb").exists() else None
    assert out is None  # a run that finished is not saved unless -o asks
    errors = _errors(backend, run_id)
    assert [e["level"] for e in errors] == ["error", "warning", "warning"]
    issues = {backend.store.one("SELECT issue_id FROM events WHERE event_id = ?", [e["event_id"]])["issue_id"]
              for e in errors}
    assert len(issues) == 1


def test_run_says_what_is_wrong_in_one_line(backend: Any, tmp_path: Path) -> None:
    nb = _notebook(tmp_path / "p.ipynb", PRICES)
    bad = _run(backend, tmp_path, str(nb), "-p", "not a name", "1")
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0
    assert "is not a Python variable name" in bad.stderr
    missing = _run(backend, tmp_path, str(tmp_path / "nope.ipynb"))
    assert missing.returncode == 1 and "There is no notebook at" in missing.stderr
    assert "Traceback" not in bad.stderr + missing.stderr
    helped = subprocess.run([sys.executable, "-m", "sentry_ipy.cli", "run", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert helped.returncode == 0 and "-p NAME VALUE" in helped.stdout and "papermill" in helped.stdout


def test_parameters_follow_papermill(tmp_path: Path) -> None:
    from sentry_ipy.runs import inject_parameters, parse_value

    assert [parse_value(v) for v in ("3", "2.5", "True", "None", "x1")] == [3, 2.5, True, None, "x1"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("a = 1", metadata={"tags": ["parameters"]})]
    inject_parameters(nb, [("a", 2)])
    inject_parameters(nb, [("a", 3)])  # a re-run replaces the injected cell
    assert [c.source for c in nb.cells][1:] == ["a = 1", "# Parameters\na = 3\n"]
    plain = nbformat.v4.new_notebook()
    plain.cells = [nbformat.v4.new_code_cell("b = 1")]
    inject_parameters(plain, [("b", "x")])
    assert plain.cells[0].source == "# Parameters\nb = 'x'\n"
    assert json.dumps(nb)  # still a serialisable notebook


@pytest.fixture()
def backend_ctx(backend: Any) -> Iterator[Any]:
    from sentry_ipy.config import Settings
    from sentry_ipy.tools import ToolContext

    context = ToolContext(Settings(url=backend.url, auth_token=backend.token, org=backend.org_slug))
    try:
        yield context
    finally:
        context.close()


def test_runs_as_data_one_row_per_run_with_outcome_failing_cell_and_issue(runs: dict[str, Any],
                                                                        backend_ctx: Any) -> None:
    from sentry_ipy.tools import run_tool

    result = run_tool("sentry_list_notebook_runs", {"projectSlug": "notebook"}, backend_ctx)
    by_id = {r["run_id"]: r for r in result.records or []}
    passing, failing, cascade = (by_id[_run_id(runs[k])] for k in ("passing", "failing", "cascade"))
    assert (passing["outcome"], passing["issue"], passing["notebook"]) == ("exited", None, "prices.ipynb")
    assert failing["outcome"] == "crashed" and failing["failing_cell"].startswith("id:")
    assert failing["error"].startswith("ZeroDivisionError") and failing["issue"].startswith("NOTEBOOK-")
    assert failing["event_id"] in runs["failing"].stdout.replace("-", "")
    assert cascade["outcome"] == "errored" and cascade["cascades"] == 2 and cascade["error"].startswith("NameError")
    assert all(r["duration_s"] > 0 for r in (passing, failing, cascade))
    frame = result.to_frame()
    assert list(frame.columns[:4]) == ["run_id", "notebook", "started", "duration_s"]
    assert str(frame["started"].dtype).startswith("datetime64") and str(frame["cascades"].dtype) == "Int64"
    only = run_tool("sentry_list_notebook_runs", {"projectSlug": "notebook", "notebook": "cascade.ipynb"},
                    backend_ctx)
    assert [r["run_id"] for r in only.records or []] == [cascade["run_id"]]


def test_crash_free_rate_of_runs_per_release(runs: dict[str, Any], backend_ctx: Any) -> None:
    from sentry_ipy.tools import run_tool

    result = run_tool("sentry_get_notebook_health", {"projectSlug": "notebook", "interval": "1d"}, backend_ctx)
    rows = result.records or []
    per_release: dict[str, dict[str, int]] = {}
    for row in rows:
        totals = per_release.setdefault(row["release"], {"sessions": 0, "crashed": 0, "errored": 0})
        for key in totals:
            totals[key] += row[key]
    assert per_release["nb@1"] == {"sessions": 2, "crashed": 1, "errored": 0}
    assert per_release["nb@2"] == {"sessions": 1, "crashed": 0, "errored": 1}
    assert {r["crash_free_rate"] for r in rows if r["release"] == "nb@2"} == {100.0}
    assert "crash-free" in result.summary
    frame = result.to_frame()
    assert list(frame.columns[:4]) == ["time", "release", "sessions", "crash_free_rate"]
    assert str(frame["time"].dtype).startswith("datetime64")


def test_run_health_past_the_point_cap_is_asked_in_windows(runs: dict[str, Any], backend_ctx: Any) -> None:
    """500 days at 1h is 12,000 points, past Sentry's 10,000: one sessions query (health.py's) splits it."""
    from datetime import datetime, timedelta, timezone

    from sentry_ipy.tools import run_tool

    def per_release(args: dict[str, Any]) -> dict[str, tuple[int, int]]:
        rows = run_tool("sentry_get_notebook_health", {"projectSlug": "notebook", "interval": "1h", **args},
                        backend_ctx).records or []
        out: dict[str, tuple[int, int]] = {}
        for row in rows:
            sessions, crashed = out.get(row["release"], (0, 0))
            out[row["release"]] = (sessions + row["sessions"], crashed + row["crashed"])
        return out

    start = (datetime.now(timezone.utc) - timedelta(days=500)).isoformat()
    recent = per_release({"statsPeriod": "1d"})
    assert recent["nb@1"] == (2, 1)
    assert per_release({"start": start}) == recent
