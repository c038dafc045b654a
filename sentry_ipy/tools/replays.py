"""Replay tool: list the organization's session replays."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..errors import UnsupportedFeatureError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import count_of, project_info
from ._params import Number, Params, environment_field, limit_field, period_field
from ._window import When, describe, end_field, start_field, window_params
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["ListReplaysParams"]

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): triage.
PURPOSE = "triage"


class ListReplaysParams(Params):
    project: str | None = Field(None, description="Slug or ID")
    limit: Number = limit_field(50, "replays")
    query: str | None = None
    statsPeriod: str = period_field("14d")
    environment: str | None = environment_field()
    sort: str = "-started_at"
    start: When = start_field()
    end: When = end_field()


@tool("sentry_list_organization_replays", title="List replays", read_only=True, idempotent=True,
      alias="replays", frame=Frame.REPLAYS)
def list_replays(ctx: ToolContext, p: ListReplaysParams) -> ToolResult:
    """List the organization's session replays, all pages up to limit.

    E.g. {"query":"count_errors:>0"}
    """
    client = ctx.api()
    params: list[tuple[str, Any]] = [*window_params(p, "14d"), ("sort", p.sort)]
    where = f"organization {client.org!r}"
    if p.project:
        project = project_info(client, p.project)
        params.append(("project", project["id"]))
        where = f"project {project['slug']!r}"
    params += [(k, v) for k, v in (("query", p.query), ("environment", p.environment)) if v]
    try:
        rows, truncated = client.collect("organizations", client.org, "replays", params=params,
                                         limit=ctx.row_limit(p), unwrap="data", scope="org:read",
                                         progress=ctx.progress)
    except UnsupportedFeatureError as exc:
        raise client.features.missing("replays API", exc) from None
    for row in rows:
        row.setdefault("url", client.web_link(f"explore/replays/{row.get('id')}/"))
    errors = sum(count_of(r.get("count_errors"), "a replay's error count") for r in rows)
    return ToolResult(untrusted=True,
        summary=f"Found {plural(len(rows), 'replay', more=truncated)} in {where} "
                f"{describe(p, '14d')} ({plural(errors, 'error')} seen in them).",
        records=rows, truncated=truncated,
        columns=("id", "started_at", "duration", "count_errors", "url"),
        links={"Replays": client.web_link("explore/replays/")},
        hints=[] if rows else ["No replays: the browser SDK records them with replayIntegration()."])
