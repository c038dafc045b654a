"""Organization tools: its teams (who can own projects and be assigned issues)."""

from __future__ import annotations

from ._context import ToolContext
from ._params import Number, Params, limit_field
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["ListTeamsParams"]


class ListTeamsParams(Params):
    limit: Number = limit_field(1000, "teams")


@tool("sentry_list_teams", params=ListTeamsParams, title="List teams", family="api",
      read_only=True, idempotent=True, alias="teams")
def list_teams(ctx: ToolContext, p: ListTeamsParams) -> ToolResult:
    """List the organization's teams with slugs, IDs and member counts, all pages.

    A team is what sentry_create_project needs and sentry_update_issue assigns ("team:ID"). E.g. {}
    """
    client = ctx.api()
    rows, truncated = client.collect("organizations", client.org, "teams", limit=ctx.row_limit(p),
                                     scope="team:read", progress=ctx.progress)
    first = rows[0] if rows else None
    return ToolResult(
        summary=f"Found {plural(len(rows), 'team', more=truncated)} in organization {client.org!r}.",
        records=rows, frame="teams", truncated=truncated, columns=("slug", "name", "id", "memberCount", "isMember"),
        links={"Teams": client.web_link("settings/teams/")},
        hints=[f'Assign to it: sentry_update_issue with {{"assignTo": "team:{first["id"]}"}}.'] if first else [])
