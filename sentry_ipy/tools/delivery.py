"""The delivery status tool: what was sent, what waits in the disk spool and why, what was lost."""

from __future__ import annotations

from ._context import ToolContext
from ._params import Params
from ._registry import tool
from ._result import ToolResult

__all__ = ["STATUS_FLUSH", "DeliveryStatusParams"]

#: Seconds the status waits for queued envelopes (and one replay attempt) before it reports.
STATUS_FLUSH = 2.0

#: Every tool here sends telemetry through sentry-sdk.
FAMILY = "sdk"
#: What the tools here are for (an MCP toolset): capture.
PURPOSE = "capture"


class DeliveryStatusParams(Params):
    pass


@tool("sentry_delivery_status", title="Delivery status", read_only=True, idempotent=True,
      open_world=False, alias="status")
def delivery_status(ctx: ToolContext, p: DeliveryStatusParams) -> ToolResult:
    """Show whether captured events reached Sentry: sent, spooled on disk (and why), rate limits, lost.

    Events that could not be sent wait in a disk spool and go out oldest-first
    once the server takes them; this says how many and why.
    """
    tel = ctx.telemetry()
    if not tel.enabled:
        return ToolResult(summary=tel.describe(), data={"enabled": False})
    tel.flush(STATUS_FLUSH)  # give what is queued its chance first, so the answer says where it is now
    lines = [tel.describe(), *tel.delivery_lines()]
    return ToolResult(summary=" ".join(lines), data={"enabled": True, **tel.delivery()})
