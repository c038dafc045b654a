"""Capture tools: send an exception or a message event through sentry-sdk."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._context import ToolContext
from ._params import JsonObject, Level, Params, Text
from ._registry import tool
from ._result import ToolResult

__all__ = ["ADDITIONAL_CONTEXT", "DELIVERY_TIMEOUT", "CaptureExceptionParams", "CaptureMessageParams",
           "EventUser", "event_result"]

#: Every tool here sends telemetry through sentry-sdk.
FAMILY = "sdk"
#: What the tools here are for (an MCP toolset): capture.
PURPOSE = "capture"

#: Name of the context that holds a capture's ``context`` argument.
ADDITIONAL_CONTEXT = "additional"
#: Seconds a tool waits for the server to accept what it sent, so results can say "sent".
DELIVERY_TIMEOUT = 5.0


class EventUser(Params):
    id: Text | None = None
    email: Text | None = None
    username: Text | None = None


class _CaptureParams(Params):
    tags: dict[str, Text] | None = None
    context: JsonObject | None = None  # shown as the ADDITIONAL_CONTEXT context


class CaptureExceptionParams(_CaptureParams):
    error: Text = Field(description="'Type: message' sets the type")
    level: Level = "error"
    user: EventUser | None = None


class CaptureMessageParams(_CaptureParams):
    message: Text
    level: Level = "info"


def _contexts(p: _CaptureParams) -> dict[str, Any] | None:
    return {ADDITIONAL_CONTEXT: p.context} if p.context is not None else None


def event_result(ctx: ToolContext, kind: str, event_id: str | None, level: str, note: str,
                 **data: Any) -> ToolResult:
    """The result of a capture: the event ID and whether it reached the server, or why not."""
    tel = ctx.telemetry()
    if event_id is None:
        return ToolResult(summary=f"sentry-sdk discarded the {kind} (sampled out or a duplicate of the "
                                  f"previous event), so nothing was sent.{note}",
                          data={"event_id": None, "level": level, "delivered": False, **data})
    delivered = tel.flush(DELIVERY_TIMEOUT)
    where = tel.describe().removeprefix("Sending to ").rstrip(".")
    status = "sent to" if delivered else "queued for"
    summary = f"Captured {kind} {event_id} at level {level}, {status} {where}.{note}"
    hints = [] if delivered else [f"Delivery is not confirmed yet ({_lost(tel)}); "
                                  "%sentry_status (sentry_delivery_status) shows what waits and why."]
    return ToolResult(summary=summary, hints=hints,
                      data={"event_id": event_id, "level": level, "delivered": delivered, **data})


def _lost(tel: Any) -> str:
    return tel.undelivered() or "still in the send queue"


@tool("sentry_capture_exception", title="Capture an exception", read_only=False, idempotent=False,
      open_world=True, alias="capture_exception")
def capture_exception(ctx: ToolContext, p: CaptureExceptionParams) -> ToolResult:
    """Send an exception event to Sentry and return its event ID.

    For errors (else sentry_capture_message). E.g. {"error":"KeyError: 'price'"}
    """
    tel = ctx.telemetry()
    user = p.user.model_dump(exclude_none=True) if p.user else None
    event_id, entry, notes = tel.capture_error_text(p.error, level=p.level, tags=p.tags,
                                                    contexts=_contexts(p), user=user)
    return event_result(ctx, "exception", event_id, p.level, notes.sentence(),
                        type=entry["type"], value=entry["value"], truncated=bool(notes.changes))


@tool("sentry_capture_message", title="Capture a message", read_only=False, idempotent=False,
      open_world=True, alias="capture")
def capture_message(ctx: ToolContext, p: CaptureMessageParams) -> ToolResult:
    """Send a message event to Sentry and return its event ID.

    For notable non-errors (cut at 8192 chars). E.g. {"message":"import done","level":"warning"}
    """
    event_id, notes = ctx.telemetry().capture_message(p.message, level=p.level, tags=p.tags,
                                                      contexts=_contexts(p))
    return event_result(ctx, "message", event_id, p.level, notes.sentence(),
                        truncated=bool(notes.changes))
