"""Session tools: release-health sessions sent as real ``session`` envelope items.

Sentry counts crash-free sessions and users per release from these; a
session without a release is discarded by Sentry, so these tools refuse to
send one and say to call ``sentry_set_release`` first.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._context import ToolContext
from ._params import Number, Params, Seconds, Text
from ._registry import tool
from ._result import ToolResult
from .capture import DELIVERY_TIMEOUT

__all__ = ["CaptureSessionParams", "EndSessionParams", "StartSessionParams"]

#: Every tool here sends telemetry through sentry-sdk.
FAMILY = "sdk"
#: What the tools here are for (an MCP toolset): capture.
PURPOSE = "capture"

_RELEASE = "Default: current release"
_SID = "UUID, or text mapped to one"
_USER = "User ID, email or username"
#: Longest session a release-health update may report: 30 days (Relay drops longer ones).
MAX_DURATION = 30 * 86_400.0


class StartSessionParams(Params):
    distinctId: Text | None = Field(None, description=_USER)
    sessionId: Text | None = Field(None, description=_SID)
    release: Text | None = Field(None, description=_RELEASE)
    environment: Text | None = None


def _session_result(ctx: ToolContext, verb: str, body: dict[str, Any], extra: str = "") -> ToolResult:
    delivered = ctx.telemetry().flush(DELIVERY_TIMEOUT)
    attrs = body.get("attrs", {})
    data = {**body, "release": attrs.get("release"), "environment": attrs.get("environment"),
            "delivered": delivered}
    derived = f" (derived from {body['sid_derived_from']!r})" if body.get("sid_derived_from") else ""
    sent = "sent" if delivered else "queued, delivery not confirmed"
    return ToolResult(
        summary=f"{verb} session {body['sid']}{derived} with status {body['status']} for release "
                f"{attrs.get('release')} ({sent}).{extra}", data=data)


@tool("sentry_start_session", title="Start a session", read_only=False, idempotent=False,
      open_world=True, alias="start_session")
def start_session(ctx: ToolContext, p: StartSessionParams) -> ToolResult:
    """Start a release-health session; errors captured meanwhile count against it.

    Needs a release; end with sentry_end_session. E.g. {"distinctId":"user-42"}
    """
    body, previous = ctx.telemetry().start_session(session_id=p.sessionId, distinct_id=p.distinctId,
                                                   release=p.release, environment=p.environment)
    if body.get("already_open"):
        attrs = body.get("attrs", {})
        return ToolResult(
            summary=f"Session {body['sid']} is already open (release {attrs.get('release')}, "
                    f"{body.get('errors', 0)} error(s) so far); nothing was sent.",
            data={**body, "release": attrs.get("release"), "environment": attrs.get("environment")},
            hints=["End it with sentry_end_session and a status (exited, crashed, abnormal, errored)."])
    extra = f" The previous session {previous['sid']} was ended as exited." if previous else ""
    result = _session_result(ctx, "Started", body, extra)
    if previous:
        result.data = {**(result.data or {}), "previous": previous}
    result.hints.append("End it with sentry_end_session and a status (exited, crashed, abnormal, errored).")
    return result


class EndSessionParams(Params):
    status: Literal["exited", "crashed", "abnormal", "errored"] = "exited"


@tool("sentry_end_session", title="End the session", read_only=False, idempotent=False,
      open_world=True, alias="end_session")
def end_session(ctx: ToolContext, p: EndSessionParams) -> ToolResult:
    """End the open session with a status and send its duration and error count.

    E.g. {"status":"crashed"}
    """
    body = ctx.telemetry().end_session(p.status)
    return _session_result(ctx, "Ended", body, f" It lasted {body.get('duration', 0):.3f} s with "
                                               f"{body.get('errors', 0)} error(s).")


class CaptureSessionParams(Params):
    sessionId: Text = Field(description=_SID)
    distinctId: Text | None = Field(None, description=_USER)
    status: Literal["ok", "exited", "crashed", "abnormal", "errored"] = "ok"
    duration: Seconds | None = Field(None, le=MAX_DURATION, description="Seconds, up to 30 days")
    errors: Number = Field(0, ge=0, le=1_000_000)
    release: Text | None = Field(None, description=_RELEASE)
    environment: Text | None = None


@tool("sentry_capture_session", title="Capture a session", read_only=False, idempotent=False,
      open_world=True, alias="capture_session")
def capture_session(ctx: ToolContext, p: CaptureSessionParams) -> ToolResult:
    """Send one complete session (server or request mode) in one update.

    For sessions you tracked; needs a release. E.g. {"sessionId":"s1","status":"exited","duration":42.5}
    """
    body = ctx.telemetry().capture_session(
        session_id=p.sessionId, distinct_id=p.distinctId, status=p.status, duration=p.duration,
        errors=p.errors, release=p.release, environment=p.environment)
    return _session_result(ctx, "Captured", body)
