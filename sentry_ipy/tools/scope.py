"""Scope tools: user, tags, contexts, breadcrumbs and release for every later event.

They write to sentry-sdk's global scope (through :class:`~sentry_ipy.telemetry.Telemetry`),
so what one MCP call sets is seen by captures made by later calls on other
worker threads, and by the notebook's cell capture.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._context import ToolContext
from ._params import JsonObject, Level, Params, Text
from ._registry import tool
from ._result import ToolResult, plural
from .capture import DELIVERY_TIMEOUT

__all__ = ["AddBreadcrumbParams", "SetContextParams", "SetReleaseParams", "SetTagParams", "SetUserParams"]

#: Every tool here sends telemetry through sentry-sdk.
FAMILY = "sdk"
#: What the tools here are for (an MCP toolset): capture.
PURPOSE = "capture"


class AddBreadcrumbParams(Params):
    message: Text
    category: Text | None = Field(None, description="e.g. 'ui.click'")
    level: Level = "info"
    data: JsonObject | None = None


@tool("sentry_add_breadcrumb", title="Add a breadcrumb", read_only=False, idempotent=False,
      open_world=False, alias="breadcrumb")
def add_breadcrumb(ctx: ToolContext, p: AddBreadcrumbParams) -> ToolResult:
    """Record a breadcrumb for later events, to show what led to an error.

    E.g. {"message":"loaded prices.csv","category":"io"}
    """
    crumb = ctx.telemetry().add_breadcrumb(p.message, category=p.category, level=p.level, data=p.data)
    where = f" in category {p.category!r}" if p.category else ""
    return ToolResult(summary=f"Added breadcrumb {crumb['message'][:80]!r}{where}; later events carry it.",
                      data=crumb)


class SetUserParams(Params):
    id: Text | None = None
    email: Text | None = None
    username: Text | None = None
    ip_address: Text | None = None
    segment: Text | None = Field(None, description="e.g. 'paid'")


@tool("sentry_set_user", title="Set the user", read_only=False, idempotent=True, open_world=False,
      alias="user")
def set_user(ctx: ToolContext, p: SetUserParams) -> ToolResult:
    """Set the user of later events and sessions; no fields clears it.

    E.g. {"id":"42","email":"ada@example.com"}
    """
    user = ctx.telemetry().set_user(**p.model_dump(exclude_none=True))
    if user is None:
        return ToolResult(summary="Cleared the user; later events carry no user.", data={"user": None})
    who = user.get("username") or user.get("email") or user.get("id") or user.get("ip_address")
    return ToolResult(summary=f"Set the user to {who!r}; later events carry it.", data={"user": user})


class SetTagParams(Params):
    key: Text = Field(description="Up to 32 of a-z A-Z 0-9 _ . : -")
    value: Text = Field(description="Up to 200 characters")


@tool("sentry_set_tag", title="Set a tag", read_only=False, idempotent=True, open_world=False,
      alias="tag")
def set_tag(ctx: ToolContext, p: SetTagParams) -> ToolResult:
    """Set a tag on all later events, searchable as key:value.

    E.g. {"key":"notebook","value":"prices.ipynb"}
    """
    key, value, notes = ctx.telemetry().set_tag(p.key, p.value)
    return ToolResult(summary=f"Set tag {key}={value!r} for later events.{notes.sentence()}",
                      data={"key": key, "value": value})


class SetContextParams(Params):
    name: Text
    context: JsonObject


@tool("sentry_set_context", title="Set a context", read_only=False, idempotent=True,
      open_world=False, alias="context")
def set_context(ctx: ToolContext, p: SetContextParams) -> ToolResult:
    """Attach named data to all later events (nesting past 8 levels is cut).

    E.g. {"name":"dataset","context":{"rows":120}}
    """
    value = ctx.telemetry().set_context(p.name, p.context)
    return ToolResult(summary=f"Set context {p.name!r} ({plural(len(value), 'key')}) for "
                              "later events.", data={"name": p.name, "context": value})


class SetReleaseParams(Params):
    release: Text
    dist: Text | None = Field(None, description="e.g. a build number")


@tool("sentry_set_release", title="Set the release", read_only=False, idempotent=True,
      open_world=False, alias="release")
def set_release(ctx: ToolContext, p: SetReleaseParams) -> ToolResult:
    """Set the release (and dist) of later events and sessions; sessions need it.

    An open session ends and restarts under the new release. E.g. {"release":"app@1.2.0"}
    """
    tel = ctx.telemetry()
    change = tel.change_release(p.release, p.dist)
    s = tel.settings
    dist = f" (dist {s.dist})" if s.dist else ""
    verb = "Set" if change.reinitialised else "Kept"
    data: dict[str, Any] = {"release": s.release, "dist": s.dist, "reinitialised": change.reinitialised}
    summary = f"{verb} release {s.release}{dist}; later events and sessions carry it."
    ended, started = change.ended_session, change.started_session
    if ended is not None and started is not None:
        ctx.telemetry().flush(DELIVERY_TIMEOUT)
        old = (ended.get("attrs") or {}).get("release")
        summary += (f" Sessions belong to one release, so session {ended['sid']} ({old}) was ended as "
                    f"exited with {ended.get('errors', 0)} error(s) and session {started['sid']} "
                    f"started under {s.release}.")
        data |= {"endedSession": ended, "startedSession": started}
    return ToolResult(summary=summary, data=data)
