"""Issue tag tool: how one tag's values are distributed over an issue's events.

``tags/{key}/`` gives the totals (events tagged, distinct values), ``values/``
every value with its count, page by page; each row's ``share`` is its count over
the server's total, so rows of a truncated list still carry true shares.
"""

from __future__ import annotations

from pydantic import Field

from ..frames import Frame
from ._context import ToolContext
from ._lookup import count_of, issue_target, not_found_as
from ._params import Number, Params, limit_field
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["GetIssueTagValuesParams"]

#: Every tool here reads the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): triage.
PURPOSE = "triage"


class GetIssueTagValuesParams(Params):
    issueId: str = Field(description="ID, short ID or URL")
    key: str = Field(min_length=1, description="Tag key, e.g. browser, release, environment")
    limit: Number = limit_field(100, "values")


@tool("sentry_get_issue_tag_values", title="Get issue tag values", read_only=True, idempotent=True,
      alias="tag_values", frame=Frame.TAG_VALUES)
def get_issue_tag_values(ctx: ToolContext, p: GetIssueTagValuesParams) -> ToolResult:
    """Get the distribution of one tag's values over an issue's events (count and share each).

    E.g. {"issueId":"BACKEND-1Z","key":"browser"}
    """
    client = ctx.api()
    issue_id, org, name = issue_target(client, p.issueId)
    key = p.key.strip()
    with not_found_as(f"Issue {name!r} has no tag {key!r} in organization {org!r}; "
                      "sentry_get_issue shows its tags."):
        summary = client.get_object("organizations", org, "issues", issue_id, "tags", key,
                                    scope="event:read")
        rows, truncated = client.collect("organizations", org, "issues", issue_id, "tags", key,
                                         "values", limit=ctx.row_limit(p), scope="event:read",
                                         progress=ctx.progress)
    total = count_of(summary.get("totalValues"), "a tag's total")
    unique = count_of(summary.get("uniqueValues"), "a tag's distinct values")
    for row in rows:
        count = count_of(row.get("count"), "a tag value's count")
        row["share"] = round(count / total, 6) if total else None
    top = rows[0] if rows else None
    lead = (f" Most common: {top.get('value')!r} ({top['share']:.0%})." if top and top["share"] is not None
            else "")
    return ToolResult(
        untrusted=True,
        summary=f"Tag {key!r} of issue {name}: {plural(unique, 'distinct value')} over "
                f"{plural(total, 'tagged event')}.{lead}",
        records=rows, columns=("value", "count", "share", "lastSeen"),
        truncated=truncated,
        links={"Tags": client.web_link(f"issues/{issue_id}/tags/{key}/")})
