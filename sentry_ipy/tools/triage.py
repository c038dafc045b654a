"""Triage: change issues in bulk (resolve, ignore, assign, priority, bookmark, seen) and prove it.

Sentry's bulk ``PUT organizations/{o}/issues/?id=…`` is quiet about failure:
one ID outside the selected projects makes it change nothing while it still
answers success, and it answers 204 when nothing matched. So this tool reads
every issue before and after and reports, issue by issue, what changed, what
already was so and what the server left as it was. A change selected by query
is shown first (the issues it would touch) and only made with ``confirm``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from ..errors import NotFoundError, SentryIpyError, ToolInputError, UnsupportedFeatureError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import project_info, resolve_issue
from ._params import MAX_LIMIT, FromVariable, Number, Params
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["BULK_CHUNK", "UpdateIssueParams", "issue_ids"]

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): triage.
PURPOSE = "triage"

#: Most IDs per bulk ``PUT`` (Sentry's bulk mutation limit).
BULK_CHUNK = 1000
#: What the tool compares before and after, as Sentry names it.
_WATCHED = ("status", "substatus", "statusDetails", "assignedTo", "priority", "isBookmarked", "hasSeen")
#: What a row shows before and after, in the ``changes`` text (``status unresolved → ignored``).
_SHOWN = ("status", "substatus", "assignee", "priority", "isBookmarked", "hasSeen")
COLUMNS = ("shortId", "outcome", "changes", "status", "substatus", "assignee", "priority", "isBookmarked",
           "title")


def issue_ids(value: Any) -> Any:
    """Issue references from a list, one string (commas or spaces) or a frame of issues.

    A pandas DataFrame (what ``sentry_list_issues`` returns) gives its ``id``
    column, else ``shortId``; a Series gives its values. Anything else is left
    for pydantic to refuse in one sentence.
    """
    columns = getattr(value, "columns", None)
    if columns is not None:
        for name in ("id", "shortId", "issue.id", "issue"):
            if name in columns:
                return [str(v) for v in value[name].tolist() if v is not None and str(v) != "nan"]
        raise ValueError("must be a frame with an 'id' or 'shortId' column")
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return [str(v) for v in value.tolist()]
    if isinstance(value, str):
        return [w for w in value.replace(",", " ").split() if w]
    if isinstance(value, (list, tuple)):
        return [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    return value


#: Issue references; the notebook's ``-i df`` and Python's ``issues=df`` pass a frame.
IssueRefs = Annotated[list[str], BeforeValidator(issue_ids), Field(max_length=MAX_LIMIT), FromVariable("-i")]


class UpdateIssueParams(Params):
    issues: IssueRefs | None = Field(None, description="IDs, short IDs or URLs")
    projectSlug: str | None = Field(None, description="With query: the project searched")
    query: str | None = Field(None, description="Issue search selecting the issues (previews unless confirm)")
    status: Literal["resolved", "resolvedInNextRelease", "unresolved", "ignored"] | None = None
    inRelease: str | None = Field(None, description="Resolve in this release version")
    ignoreUntil: Literal["escalating", "forever"] | None = Field(None, description="With ignored")
    ignoreMinutes: Number | None = Field(None, ge=1, description="Ignore for this long")
    ignoreCount: Number | None = Field(None, ge=1, description="Ignore until this many more events")
    ignoreUsers: Number | None = Field(None, ge=1, description="Ignore until this many more users")
    ignoreWindow: Number | None = Field(None, ge=1, description="Minutes the count/users are within")
    assignTo: str | None = Field(None, description="user:ID, team:ID, username or email; '' unassigns")
    priority: Literal["low", "medium", "high"] | None = None
    bookmark: bool | None = None
    seen: bool | None = None
    confirm: bool = Field(False, description="Apply a query selection after its preview")
    limit: Number = Field(100, ge=1, le=MAX_LIMIT, description="Most issues a query selects")


def _body(p: UpdateIssueParams) -> dict[str, Any]:
    """The ``PUT`` body for the requested changes (only what changes, as Sentry asks)."""
    body: dict[str, Any] = {}
    ignoring = p.ignoreUntil or p.ignoreMinutes or p.ignoreCount or p.ignoreUsers
    status = "ignored" if ignoring and p.status is None else p.status
    if p.inRelease is not None:
        if status not in (None, "resolved"):
            raise ToolInputError(f"inRelease resolves an issue; it cannot go with status {status!r}.")
        status = "resolved"
    if ignoring and status != "ignored":
        raise ToolInputError("The ignore options (ignoreUntil, ignoreMinutes, ignoreCount, ignoreUsers) "
                             f"go with status 'ignored', not {status!r}.")
    if status is not None:
        body["status"] = status
    if p.inRelease is not None:
        body["statusDetails"] = {"inRelease": p.inRelease}
    if status == "ignored":
        details: dict[str, Any] = {}
        if p.ignoreMinutes:
            details["ignoreDuration"] = p.ignoreMinutes
        if p.ignoreCount:
            details |= {"ignoreCount": p.ignoreCount, **({"ignoreWindow": p.ignoreWindow} if p.ignoreWindow else {})}
        if p.ignoreUsers:
            details |= {"ignoreUserCount": p.ignoreUsers,
                        **({"ignoreUserWindow": p.ignoreWindow} if p.ignoreWindow else {})}
        body["substatus"] = ("archived_until_condition_met" if details else
                             "archived_forever" if p.ignoreUntil == "forever" else "archived_until_escalating")
        if details:
            body["statusDetails"] = details
    if p.assignTo is not None:
        body["assignedTo"] = p.assignTo.strip()
    for key, value in (("priority", p.priority), ("isBookmarked", p.bookmark), ("hasSeen", p.seen)):
        if value is not None:
            body[key] = value
    if not body:
        raise ToolInputError("Nothing to change: give status, inRelease, an ignore option, assignTo, priority, "
                             "bookmark or seen.")
    return body


def _applied(body: dict[str, Any], issue: dict[str, Any]) -> bool:
    """Whether ``issue`` (as read back) shows every change of ``body``."""
    status = body.get("status")
    if status is not None:
        wanted = "resolved" if status == "resolvedInNextRelease" else status
        if issue.get("status") != wanted:
            return False
        details = issue.get("statusDetails") or {}
        release = (body.get("statusDetails") or {}).get("inRelease")
        if release is not None and details.get("inRelease") != release:
            return False
        if status == "ignored" and issue.get("substatus") != body.get("substatus"):
            return False
    if "assignedTo" in body and (issue.get("assignedTo") is None) != (body["assignedTo"] == ""):
        return False
    if "assignedTo" in body and body["assignedTo"] and not _assignee_matches(body["assignedTo"], issue["assignedTo"]):
        return False
    return all(issue.get(k) == body[k] for k in ("priority", "isBookmarked", "hasSeen") if k in body)


def _assignee_matches(wanted: str, shown: dict[str, Any]) -> bool:
    kind, _, ident = wanted.partition(":")
    if kind in ("user", "team") and ident:
        return shown.get("type") == kind and str(shown.get("id")) == ident
    return wanted.lower() in {str(shown.get(k) or "").lower() for k in ("email", "name", "username")} \
        or shown.get("type") == "user"


def _assignee(issue: dict[str, Any]) -> str | None:
    who = issue.get("assignedTo")
    if not isinstance(who, dict):
        return None
    return f"{who.get('type')}:{who.get('name') or who.get('email') or who.get('id')}"


def _row(issue: dict[str, Any], outcome: str, changes: str = "") -> dict[str, Any]:
    return {"id": str(issue.get("id")), "shortId": issue.get("shortId"), "outcome": outcome,
            "changes": changes, "status": issue.get("status"), "substatus": issue.get("substatus"), "assignee": _assignee(issue),
            "priority": issue.get("priority"), "isBookmarked": issue.get("isBookmarked"),
            "hasSeen": issue.get("hasSeen"), "title": issue.get("title"),
            "project": (issue.get("project") or {}).get("slug")}


def _changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    """What differs between two reads of an issue, e.g. ``status unresolved → ignored, isBookmarked False → True``."""
    before, after = _row(old, ""), _row(new, "")
    return ", ".join(f"{k} {before[k]} → {after[k]}" for k in _SHOWN if before[k] != after[k])


def _read(client: Any, org: str, issue_id: str) -> dict[str, Any] | None:
    from ..api import capabilities

    try:
        return capabilities.get_issue(client, org, issue_id)
    except NotFoundError:
        return None


def _by_reference(client: Any, refs: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The issues named by ``refs`` as they are now, and the references that found none."""
    issues: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    for ref in dict.fromkeys(r.strip() for r in refs if r.strip()):
        try:
            issue_id, org, _, found = resolve_issue(client, ref)
        except NotFoundError:
            missing.append(ref)
            continue
        issue = _read(client, org, issue_id) if found is None or "statusDetails" not in found else found
        if issue is None:
            missing.append(ref)
        else:
            issues.setdefault(str(issue.get("id") or issue_id), issue)
    return list(issues.values()), missing


def _put(client: Any, issues: list[dict[str, Any]], body: dict[str, Any]) -> None:
    """Bulk ``PUT`` in chunks of :data:`BULK_CHUNK`, naming each chunk's projects.

    A Sentry-compatible server without the bulk route (it answers 405 or a web
    page) gets one ``PUT`` per issue instead, through the single-issue routes.
    """
    from ..api import capabilities

    for at in range(0, len(issues), BULK_CHUNK):
        chunk = issues[at:at + BULK_CHUNK]
        projects = sorted({str((i.get("project") or {}).get("id")) for i in chunk if i.get("project")})
        params = [("id", str(i["id"])) for i in chunk] + [("project", pid) for pid in projects]
        try:
            client.request("PUT", "organizations", client.org, "issues", params=params, json=body,
                           scope="event:write")
        except UnsupportedFeatureError:
            for issue in chunk:
                capabilities.update_issue(client, client.org, str(issue["id"]), body)


@tool("sentry_update_issue", title="Update issues", read_only=False, destructive=True,
      idempotent=True, alias="update_issue", frame=Frame.TRIAGE)
def update_issue(ctx: ToolContext, p: UpdateIssueParams) -> ToolResult:
    """Resolve, ignore, assign, prioritise, bookmark or mark seen one or many issues, then read each back.

    By issues (IDs/short IDs), or projectSlug+query (previews; confirm applies). Reports per issue changed / already / unchanged. E.g. {"issues":["BACKEND-1Z"],"status":"resolved"}
    """
    body = _body(p)
    client = ctx.api()
    if p.issues and (p.query is not None):
        raise ToolInputError("Give either issues or projectSlug+query, not both.")
    missing: list[str] = []
    if p.issues:
        before, missing = _by_reference(client, p.issues)
    elif p.query is not None and p.projectSlug:
        from ..api import capabilities

        project = project_info(client, p.projectSlug)
        listing = capabilities.list_issues(client, client.org, [("project", project["id"])], query=p.query,
                                           sort="date", limit=p.limit, progress=ctx.progress)
        before = listing.rows
        if not p.confirm:
            more = " (more match; raise limit)" if listing.truncated else ""
            return ToolResult(
                summary=f"Preview: {plural(len(before), 'issue')}{more} in {project['slug']!r} match {p.query!r}; "
                        f"nothing changed. Call again with confirm true to apply {body}.",
                records=[_row(i, "would change") for i in before], columns=COLUMNS, truncated=listing.truncated,
                hints=["Next: the same call with confirm true."] if before else [])
    else:
        raise ToolInputError("Say which issues: issues (IDs or short IDs), or projectSlug with query.")
    if not before:
        return ToolResult(summary=f"No issue found for {', '.join(missing) or 'the query'}; nothing changed.",
                          records=[], columns=COLUMNS)
    try:
        _put(client, before, body)
    except SentryIpyError as exc:
        # Reworded in place: the error keeps its class and attributes (an APIError's status and URL).
        exc.args = (f"The bulk update failed, nothing is known to have changed: {exc}",)
        raise exc from None
    rows: list[dict[str, Any]] = []
    for old in before:
        new = _read(client, client.org, str(old["id"]))
        if new is None:
            rows.append(_row(old, "gone"))
            continue
        done = _applied(body, new)
        same = all(old.get(k) == new.get(k) for k in _WATCHED if k in old)
        rows.append(_row(new, "already" if done and same else "changed" if done else "unchanged",
                         _changes(old, new)))
    counts = {k: sum(r["outcome"] == k for r in rows) for k in ("changed", "already", "unchanged", "gone")}
    parts = [f"{counts['changed']} changed"] + [f"{n} {k}" for k, n in counts.items() if n and k != "changed"]
    summary = f"Updated {plural(len(rows), 'issue')} with {body}: {', '.join(parts)} (read back)."
    if counts["unchanged"]:
        summary += (" The server left the 'unchanged' ones as they were (e.g. an ID outside the projects, "
                    "or the change needs a permission you lack).")
    if missing:
        summary += f" Not found: {', '.join(missing)}."
    return ToolResult(summary=summary, records=rows, columns=COLUMNS,
                      hints=[] if not counts["unchanged"] else
                      ["Next: sentry_get_issue on an 'unchanged' issue to see why."])
