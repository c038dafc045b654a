"""Tracing tools: open and finish a performance transaction.

The open transaction lives in the :class:`~sentry_ipy.telemetry.Telemetry`
object, not in a thread's context, so a transaction started by one MCP call
is finished by another even when they run on different worker threads.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._context import ToolContext
from ._params import Params, Text
from ._registry import tool
from ._result import ToolResult, plural
from .capture import DELIVERY_TIMEOUT

__all__ = ["FinishTransactionParams", "StartTransactionParams", "TransactionStatus"]

#: Every tool here sends telemetry through sentry-sdk.
FAMILY = "sdk"
#: What the tools here are for (an MCP toolset): capture.
PURPOSE = "capture"

TransactionStatus = Literal[
    "ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
    "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted",
    "out_of_range", "unimplemented", "internal_error", "unavailable", "data_loss", "unauthenticated",
]


class StartTransactionParams(Params):
    name: Text = Field(min_length=1)
    op: Text = Field(min_length=1, description="e.g. 'task' or 'db.query'")
    description: Text | None = None


@tool("sentry_start_transaction", title="Start a transaction", read_only=False, idempotent=False,
      open_world=False, alias="start_transaction")
def start_transaction(ctx: ToolContext, p: StartTransactionParams) -> ToolResult:
    """Start timing work as a transaction (a child span if one is open).

    End with sentry_finish_transaction. E.g. {"name":"import","op":"task"}
    """
    entry = ctx.telemetry().start_transaction(p.name, p.op, p.description)
    info = entry.info()
    if entry.kind == "transaction":
        what = f"transaction {p.name!r} (op {p.op})"
    else:
        what = f"span {p.name!r} (op {p.op}) as a child of the open transaction"
    sampled = "" if info["sampled"] else " It is sampled out (traces_sample_rate), so it will not be sent."
    return ToolResult(summary=f"Started {what} in trace {info['trace_id']}.{sampled}",
                      data=info, hints=["Finish it with sentry_finish_transaction and a status."])


class FinishTransactionParams(Params):
    status: TransactionStatus = "ok"


@tool("sentry_finish_transaction", title="Finish the transaction", read_only=False,
      idempotent=False, open_world=True, alias="finish_transaction")
def finish_transaction(ctx: ToolContext, p: FinishTransactionParams) -> ToolResult:
    """Finish the open transaction (or innermost span) with a status and send it.

    E.g. {"status":"ok"}
    """
    tel = ctx.telemetry()
    info = tel.finish_transaction(p.status)
    name = info.get("name") or info.get("description") or info.get("op")
    if info["kind"] == "span":
        return ToolResult(summary=f"Finished span {name!r} with status {p.status} after "
                                  f"{info['duration']:.3f} s; its transaction is still open.", data=info)
    delivered = tel.flush(DELIVERY_TIMEOUT) if info.get("event_id") else False
    info["delivered"] = delivered
    if not info["sampled"]:
        outcome = "; it was sampled out, so nothing was sent"
    elif delivered:
        outcome = f", sent as event {info['event_id']}"
    else:
        why = tel.undelivered() or "still in the send queue"
        outcome = f", but delivery is not confirmed yet ({why}; %sentry_status shows more)"
    return ToolResult(summary=f"Finished transaction {name!r} with status {p.status} after "
                              f"{info['duration']:.3f} s and {plural(info['spans'], 'span')}{outcome}.", data=info)
