"""Notebook runs as data: recent runs with their outcome, and crash-free rates per release.

A run of ``sentry-ipy run`` leaves a transaction (op ``notebook.run``) tagged
``notebook.run_id``, ``notebook.outcome`` and ``notebook.failing_cell``, and
its failing cell's error tagged with the same run ID. ``sentry_list_notebook_runs``
joins the two through Discover, one row per run. ``sentry_get_notebook_health``
reads release health through :func:`sentry_ipy.tools.health.release_health` (the
one sessions query, by release; long ranges in windows): each run is a session,
as is each interactive kernel run with a release,
and sessions carry no tag that tells them apart, so the rates cover the
project's sessions in that environment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import Field

from ..api import capabilities
from ..errors import UnsupportedFeatureError
from ..frames import Frame
from ._context import ToolContext
from .health import STATUSES, release_health, totals
from ._lookup import parse_time, project_info
from ._params import Params, environment_field, limit_field, period_field, project_field
from ._registry import tool
from ._result import ToolResult, plural
from ._window import When, absolute_window, describe, end_field, start_field, window_params

__all__ = ["HEALTH_COLUMNS", "RUN_COLUMNS", "NotebookHealthParams", "NotebookRunsParams"]

#: Every tool here reads the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): explore.
PURPOSE = "explore"

RUN_TAG = "notebook.run_id"
_RUN_FIELDS = ("id", "transaction", "timestamp", "transaction.duration", "release", "environment", "trace",
               f"tags[{RUN_TAG}]", "tags[notebook.outcome]", "tags[notebook.failing_cell]")
_ERROR_FIELDS = ("id", "issue", "title", "level", "timestamp", f"tags[{RUN_TAG}]")
RUN_COLUMNS = ("run_id", "notebook", "started", "duration_s", "outcome", "failing_cell", "error", "issue",
               "event_id", "cascades", "release", "environment", "trace")
HEALTH_COLUMNS = ("time", "release", "sessions", "crash_free_rate", "healthy", "errored", "crashed",
                  "abnormal")


class NotebookRunsParams(Params):
    projectSlug: str = project_field()
    notebook: str | None = Field(None, description="Notebook file name, e.g. report.ipynb")
    statsPeriod: str = period_field("14d")
    start: When = start_field()
    end: When = end_field()
    limit: int = limit_field(100, "runs")


def _discover(ctx: ToolContext, params: list[tuple[str, Any]], limit: int) -> list[dict[str, Any]]:
    client = ctx.api()
    found = capabilities.discover(client, client.org, params, limit=limit, progress=ctx.progress)
    if found is None:
        raise UnsupportedFeatureError(f"{client.web_url} has no Discover (organizations/{client.org}/events/), "
                                      "which notebook runs are read from.", status=404,
                                      url=client.url("organizations", client.org, "events"), feature="Discover")
    return found[0]


@tool("sentry_list_notebook_runs", title="List notebook runs", read_only=True, idempotent=True,
      alias="notebook_runs", frame=Frame.NOTEBOOK_RUNS)
def list_notebook_runs(ctx: ToolContext, p: NotebookRunsParams) -> ToolResult:
    """List recent headless notebook runs (sentry-ipy run): outcome, duration, failing cell and its issue.

    Then sentry_get_issue for a failed run's issue. E.g. {"projectSlug":"notebook","notebook":"report.ipynb"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    query = f"has:{RUN_TAG}" + (f' transaction:"{p.notebook}"' if p.notebook else "")
    base = [("project", project["id"]), *window_params(p, "14d"), ("sort", "-timestamp"), ("query", query)]
    runs = _discover(ctx, [("dataset", "transactions"), *base, *[("field", f) for f in _RUN_FIELDS]],
                     p.limit + 1)
    runs = [r for r in runs if r.get(f"tags[{RUN_TAG}]")]  # a server may ignore has:
    truncated = len(runs) > p.limit
    runs = runs[:p.limit]
    ids = {r[f"tags[{RUN_TAG}]"] for r in runs}
    errors = _discover(ctx, [("dataset", "errors"), *base, *[("field", f) for f in _ERROR_FIELDS]], 1000) \
        if ids else []
    failures: dict[str, dict[str, Any]] = {}
    cascades: dict[str, int] = {}
    for event in reversed(errors):  # oldest first: the run's first error is its failure
        run_id = event.get(f"tags[{RUN_TAG}]")
        if run_id not in ids:
            continue
        if event.get("level") == "warning":
            cascades[run_id] = cascades.get(run_id, 0) + 1
        elif run_id not in failures:
            failures[run_id] = event
    records = [_run_record(r, failures.get(r[f"tags[{RUN_TAG}]"]), cascades) for r in runs]
    failed = sum(1 for r in records if r["outcome"] in ("crashed", "abnormal"))
    where = f" of {p.notebook}" if p.notebook else ""
    return ToolResult(
        summary=f"Found {plural(len(records), 'notebook run', more=truncated)}{where} in project "
                f"{project['slug']!r} {describe(p, '14d')}; {failed} failed.",
        records=records, columns=RUN_COLUMNS, truncated=truncated,
        hints=["A failed run's issue: sentry_get_issue with its issue ID; crash-free runs per release: "
               "sentry_get_notebook_health."] if failed else [])


def _run_record(row: dict[str, Any], failure: dict[str, Any] | None, cascades: dict[str, int]) -> dict[str, Any]:
    run_id = row[f"tags[{RUN_TAG}]"]
    duration = row.get("transaction.duration")
    seconds = round(float(duration) / 1000, 3) if isinstance(duration, (int, float)) else None
    started = None
    if row.get("timestamp") and seconds is not None:
        started = (parse_time(str(row["timestamp"]), "timestamp") - timedelta(seconds=seconds)).isoformat()
    return {"run_id": run_id, "notebook": row.get("transaction"), "started": started, "duration_s": seconds,
            "outcome": row.get("tags[notebook.outcome]"), "failing_cell": row.get("tags[notebook.failing_cell]"),
            "error": failure.get("title") if failure else None, "issue": failure.get("issue") if failure else None,
            "event_id": failure.get("id") if failure else None, "cascades": cascades.get(run_id, 0),
            "release": row.get("release"), "environment": row.get("environment"), "trace": row.get("trace")}


class NotebookHealthParams(Params):
    projectSlug: str = project_field()
    statsPeriod: str = period_field("14d")
    start: When = start_field()
    end: When = end_field()
    interval: Literal["1h", "6h", "12h", "1d"] = "1d"
    environment: str | None = environment_field()


@tool("sentry_get_notebook_health", title="Notebook run health", read_only=True, idempotent=True,
      alias="notebook_health", frame=Frame.RUN_HEALTH)
def get_notebook_health(ctx: ToolContext, p: NotebookHealthParams) -> ToolResult:
    """Crash-free rate of a project's sessions (notebook runs, kernel runs) per release over time.

    One row per interval and release, ready to plot. E.g. {"projectSlug":"notebook","interval":"1d"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    start, end = absolute_window(p, "14d")
    rows, _ = release_health(client, project_id=project["id"], keys=["release"], interval=p.interval,
                             start=start, end=end, environment=p.environment)
    records = [{"time": r["time"], "release": r["release"] or "", "sessions": r["sessions"],
                "crash_free_rate": r["crash_free_sessions"], **{s: r[s] for s in STATUSES}} for r in rows]
    releases = sorted({r["release"] for r in records})
    total = totals(rows)
    env = f" in {p.environment}" if p.environment else ""
    overall = f"{total['rate']}% crash-free" if total["rate"] is not None else "no sessions"
    return ToolResult(
        summary=f"{plural(total['sessions'], 'session')} in project {project['slug']!r}{env} "
                f"{describe(p, '14d')} across {plural(len(releases), 'release')}: {overall} "
                f"({total['crashed']} crashed, {total['errored']} errored, {total['abnormal']} abnormal).",
        records=records, columns=HEALTH_COLUMNS,
        hints=["Plot it: df.pivot(index='time', columns='release', values='crash_free_rate').plot()"])
