"""Issue actions the notebook widgets need that are not (yet) tools: change an issue's status.

Kept out of the registry on purpose: the tool surface follows the seed spec, and
the issue browser only needs one small write. HTTP stays in the tools layer.
"""

from __future__ import annotations

from typing import Any

from ..errors import ToolInputError
from ..frames import Frame
from ._context import ToolContext
from ._result import ToolResult

__all__ = ["ISSUE_STATUSES", "update_issue_status"]

#: Statuses ``PUT organizations/{o}/issues/{id}/`` accepts that the browser offers.
ISSUE_STATUSES = ("resolved", "unresolved", "ignored")


def update_issue_status(ctx: ToolContext, issue_id: str, status: str) -> ToolResult:
    """Set one issue's status (resolved, unresolved or ignored) and return the updated issue.

    Args:
        issue_id: numeric ID, short ID like ``BACKEND-1Z`` or an issue URL.
        status: one of :data:`ISSUE_STATUSES`.

    Raises:
        ToolInputError: the status is not one of :data:`ISSUE_STATUSES`.
        NotFoundError: the issue does not exist in the organization.
    """
    from ..api import capabilities  # imports the HTTP client: on first use
    from ._lookup import not_found_as, resolve_issue

    if status not in ISSUE_STATUSES:
        raise ToolInputError(f"Status {status!r} is not one of {', '.join(ISSUE_STATUSES)}.")
    client = ctx.api()
    numeric, org, ref, _ = resolve_issue(client, issue_id)
    with not_found_as(f"Issue {ref.issue_id!r} was not found in organization {org!r}."):
        issue: dict[str, Any] = capabilities.update_issue(client, org, numeric, {"status": status})
    short = issue.get("shortId") or numeric
    return ToolResult(untrusted=True, summary=f"{short} is now {issue.get('status') or status}.", data=issue,
                      frame=Frame.ISSUES, links={"Issue": issue.get("permalink") or
                                             client.web_link(f"issues/{numeric}/")})
