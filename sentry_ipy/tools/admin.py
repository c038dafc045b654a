"""Account tools: who the token belongs to, and the organization's teams (who can own projects and be assigned issues)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..api import organizations_everywhere
from ..frames import Frame
from ._context import ToolContext
from ._params import Number, Params, limit_field
from ._lookup import say
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["FindOrganizationsParams", "ListTeamsParams", "WhoamiParams"]

#: Every tool here reads the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): admin.
PURPOSE = "admin"


class ListTeamsParams(Params):
    limit: Number = limit_field(1000, "teams")


@tool("sentry_list_teams", title="List teams", read_only=True, idempotent=True, alias="teams",
      frame=Frame.TEAMS)
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
        records=rows, truncated=truncated, columns=("slug", "name", "id", "memberCount", "isMember"),
        links={"Teams": client.web_link("settings/teams/")},
        hints=[f'Assign to it: sentry_update_issue with {{"assignTo": "team:{first["id"]}"}}.'] if first else [])


class WhoamiParams(Params):
    pass


@tool("sentry_whoami", title="Who am I", read_only=True, idempotent=True, alias="whoami")
def whoami(ctx: ToolContext, p: WhoamiParams) -> ToolResult:
    """Show who the token belongs to (user, email), its scopes, and the server and organization in use.

    Call when a tool answers 401/403. E.g. {}
    """
    client = ctx.api()
    root = client.get_object(scope=None)
    user: dict[str, Any] | None = root["user"] if isinstance(root.get("user"), dict) else None
    auth: dict[str, Any] = root["auth"] if isinstance(root.get("auth"), dict) else {}
    scopes = sorted(s for s in auth.get("scopes") or [] if isinstance(s, str))
    data = {"user.id": user.get("id") if user else None, "user.name": user.get("name") if user else None,
            "user.email": user.get("email") if user else None,
            "user.username": user.get("username") if user else None,
            "scopes": scopes, "organization": ctx.effective_settings().org, "server": client.base_url}
    who = (f"{user.get('name') or user.get('username')} <{user.get('email')}>" if user else
           "no user (an organization or integration token)")
    return ToolResult(summary=f"The token belongs to {who}, with {plural(len(scopes), 'scope')}, "
                              f"on {client.base_url}.", data=data,
                      columns=("user.name", "user.email", "organization", "server", "scopes"))


class FindOrganizationsParams(Params):
    query: str | None = Field(None, description="Part of a name or slug")
    limit: Number = limit_field(100, "organizations")


@tool("sentry_find_organizations", title="Find organizations", read_only=True, idempotent=True,
      alias="orgs", frame=Frame.ORGANIZATIONS)
def find_organizations(ctx: ToolContext, p: FindOrganizationsParams) -> ToolResult:
    """List the organizations the token can reach in every region (sentry.io US and EU), with slugs and region URLs.

    A slug is what SENTRY_ORG takes. E.g. {}
    """
    client = ctx.api()
    rows, truncated, notes = organizations_everywhere(client, query=p.query, limit=ctx.row_limit(p),
                                                      progress=ctx.progress)
    regions = sorted({str(r["region"]) for r in rows})
    where = f" in {plural(len(regions), 'region')} ({', '.join(regions)})" if regions else ""
    return ToolResult(
        summary=f"Found {plural(len(rows), 'organization', more=truncated)}{where}.{say(notes)}",
        records=rows, truncated=truncated, columns=("slug", "name", "region", "id"),
        hints=[f"Use one: SENTRY_ORG={rows[0]['slug']}."] if rows and rows[0].get("slug") else [])
