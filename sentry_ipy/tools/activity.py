"""Issue activity tools: add a note to an issue, list what happened to it.

Notes are activity of type ``note`` in Sentry, so a note added here shows up in
the issue's activity next to status changes, assignments and its first event.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..errors import ToolInputError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import dicts, issue_target, not_found_as
from ._params import Params, Text
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["AddIssueNoteParams", "ListIssueActivityParams"]

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): triage.
PURPOSE = "triage"

_ACTIVITY_COLUMNS = ("dateCreated", "type", "user.name", "data.text")


class AddIssueNoteParams(Params):
    issueId: str = Field(description="ID, short ID or URL")
    text: Text = Field(min_length=1, description="Markdown; @mentions notify")


@tool("sentry_add_issue_note", title="Add issue note", read_only=False, alias="note")
def add_issue_note(ctx: ToolContext, p: AddIssueNoteParams) -> ToolResult:
    """Add a note (comment) to an issue, e.g. what was found while triaging it.

    E.g. {"issueId":"BACKEND-1Z","text":"Caused by the 2.3 migration"}
    """
    if not p.text.strip():
        raise ToolInputError("The note's text is empty; say what you want to note.")
    client = ctx.api()
    issue_id, org, name = issue_target(client, p.issueId)
    with not_found_as(f"Issue {name!r} was not found in organization {org!r}."):
        _, note = client.post_object("organizations", org, "issues", issue_id, "notes",
                                     json={"text": p.text}, scope="event:write")
    return ToolResult(
        summary=f"Added note {note.get('id')} to issue {name}.", data=note,
        columns=("id", "type", "dateCreated"),
        links={"Issue": client.web_link(f"issues/{issue_id}/activity/")},
        hints=[f'Next: sentry_list_issue_activity with {{"issueId": "{name}"}}.'])


class ListIssueActivityParams(Params):
    issueId: str = Field(description="ID, short ID or URL")


@tool("sentry_list_issue_activity", title="List issue activity", read_only=True, idempotent=True,
      alias="activity", frame=Frame.ACTIVITY)
def list_issue_activity(ctx: ToolContext, p: ListIssueActivityParams) -> ToolResult:
    """List an issue's activity, newest first: notes, status changes, assignments, first seen.

    E.g. {"issueId":"BACKEND-1Z"}
    """
    client = ctx.api()
    issue_id, org, name = issue_target(client, p.issueId)
    with not_found_as(f"Issue {name!r} was not found in organization {org!r}."):
        body = client.get_object("organizations", org, "issues", issue_id, "activities",
                                 scope="event:read")
    rows: list[dict[str, Any]] = list(dicts(body.get("activity")))
    kinds = sorted({str(r.get("type")) for r in rows})
    return ToolResult(
        untrusted=True,
        summary=f"Issue {name} has {plural(len(rows), 'activity', 'activities')}"
                f"{' (' + ', '.join(kinds) + ')' if kinds else ''}.",
        records=rows, columns=_ACTIVITY_COLUMNS,
        links={"Activity": client.web_link(f"issues/{issue_id}/activity/")})
