"""Session tools: release-health sessions sent as real ``session`` envelope items.

Sentry counts crash-free sessions and users per release from these; a
session without a release is discarded by Sentry, so these tools refuse to
send one and say to call ``sentry_set_release`` first.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ._context import ToolContext
from ._params import Number, Params, Text
from ._registry import tool
from ._result import ToolResult
from .capture import DELIVERY_TIMEOUT

__all__ = ["CaptureSessionParams", "EndSessionParams", "StartSessionParams"]

_RELEASE = "Release version; defaults to the one set by sentry_set_release."


class StartSessionParams(Params):
    distinctId: Text | None = Field(None, description="Unique user identifier (ID, email, or username).")
    sessionId: Text | None = Field(
        None, description="Optional custom session ID; a UUID is used as is, other text maps to a "
                          "stable UUID.")
    release: Text | None = Field(None, description=_RELEASE)
    environment: Text | None = Field(None, description="Environment name (production, staging, etc).")


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


@tool("sentry_start_session", params=StartSessionParams, title="Start a session", family="sdk",
      read_only=False, idempotent=False, open_world=True, alias="start_session")
def start_session(ctx: ToolContext, p: StartSessionParams) -> ToolResult:
    """Start a release-health session for a user; errors captured while it is open count against it.

    Needs a release (sentry_set_release or the release argument). An open session is ended as exited
    first. Example: {"distinctId": "user-42"}
    """
    body, previous = ctx.telemetry().start_session(session_id=p.sessionId, distinct_id=p.distinctId,
                                                   release=p.release, environment=p.environment)
    extra = f" The previous session {previous['sid']} was ended as exited." if previous else ""
    result = _session_result(ctx, "Started", body, extra)
    if previous:
        result.data = {**(result.data or {}), "previous": previous}
    result.hints.append("End it with sentry_end_session and a status (exited, crashed, abnormal, errored).")
    return result


class EndSessionParams(Params):
    status: Literal["exited", "crashed", "abnormal", "errored"] = Field(
        "exited", description="How the session ended.")


@tool("sentry_end_session", params=EndSessionParams, title="End the session", family="sdk",
      read_only=False, idempotent=False, open_world=True, alias="end_session")
def end_session(ctx: ToolContext, p: EndSessionParams) -> ToolResult:
    """End the open session with a status and send the final update with its duration and error count.

    Example: {"status": "crashed"}
    """
    body = ctx.telemetry().end_session(p.status)
    return _session_result(ctx, "Ended", body, f" It lasted {body.get('duration', 0):.3f} s with "
                                               f"{body.get('errors', 0)} error(s).")


class CaptureSessionParams(Params):
    sessionId: Text = Field(description="Unique session identifier (a UUID, or text mapped to a "
                                        "stable UUID).")
    distinctId: Text | None = Field(None, description="User identifier.")
    status: Literal["ok", "exited", "crashed", "abnormal", "errored"] = Field(
        "ok", description="Session status.")
    duration: float | None = Field(None, ge=0, description="Session duration in seconds.")
    errors: Number = Field(0, ge=0, description="Number of errors in session.")
    release: Text | None = Field(None, description=_RELEASE)
    environment: Text | None = Field(None, description="Environment name.")


@tool("sentry_capture_session", params=CaptureSessionParams, title="Capture a session", family="sdk",
      read_only=False, idempotent=False, open_world=True, alias="capture_session")
def capture_session(ctx: ToolContext, p: CaptureSessionParams) -> ToolResult:
    """Send one complete session (server or request mode) as a standalone session update.

    Use when you tracked the session yourself. Needs a release. Example:
    {"sessionId": "9f1c...", "distinctId": "user-42", "status": "exited", "duration": 42.5}
    """
    body = ctx.telemetry().capture_session(
        session_id=p.sessionId, distinct_id=p.distinctId, status=p.status, duration=p.duration,
        errors=p.errors, release=p.release, environment=p.environment)
    return _session_result(ctx, "Captured", body)
