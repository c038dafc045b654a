"""Open transactions and spans, kept per process rather than per thread.

sentry-sdk keeps the "current span" in a context variable. MCP 2.x runs each
synchronous tool call on a worker thread, so a transaction started by one
call would be invisible to the next. :class:`SpanStack` keeps the open
transaction and its open spans in one lock-guarded stack instead: the tool
that finishes a transaction finds it whichever thread it runs on, and spans
opened from Python nest under whatever is open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import sentry_sdk
from sentry_sdk.tracing import Span, Transaction

from ..errors import ToolInputError

__all__ = ["SPAN_STATUSES", "OpenSpan", "SpanStack"]

#: Span statuses Sentry accepts (the seed's enum for sentry_finish_transaction).
SPAN_STATUSES: tuple[str, ...] = (
    "ok", "cancelled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
    "already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted",
    "out_of_range", "unimplemented", "internal_error", "unavailable", "data_loss", "unauthenticated",
)

NO_TRANSACTION = "No transaction is open; start one with sentry_start_transaction."


@dataclass
class OpenSpan:
    """One open transaction or child span on the stack."""

    span: Span
    kind: Literal["transaction", "span"]
    started: float = field(default_factory=time.monotonic)
    #: Opened by sentry-ipy itself (a notebook's run segment or cell), not by the user:
    #: ``finish()`` without an entry never picks it, and leaves it open when it is inside.
    automatic: bool = False

    def info(self) -> dict[str, Any]:
        """What a tool result says about it."""
        span = self.span
        out: dict[str, Any] = {"kind": self.kind, "trace_id": span.trace_id, "span_id": span.span_id,
                               "op": span.op, "sampled": bool(span.sampled)}
        if isinstance(span, Transaction):
            out["name"] = span.name
        if span.description:
            out["description"] = span.description
        if span.parent_span_id:
            out["parent_span_id"] = span.parent_span_id
        return out


class SpanStack:
    """A lock-guarded stack of open transactions and spans, innermost last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stack: list[OpenSpan] = []

    def top(self) -> OpenSpan | None:
        """The innermost open transaction or span."""
        with self._lock:
            return self._stack[-1] if self._stack else None

    def __len__(self) -> int:
        with self._lock:
            return len(self._stack)

    def start(self, name: str, op: str, description: str | None = None, *,
              automatic: bool = False) -> OpenSpan:
        """Open a transaction, or a child span when one is already open.

        A nested start is recorded as a span of the open transaction, because a
        second root in the same trace would appear in Sentry as an unrelated
        transaction. ``automatic`` marks spans sentry-ipy opens on its own
        (see :class:`OpenSpan`).
        """
        with self._lock:
            parent = self._stack[-1].span if self._stack else None
            if parent is None:
                # sentry-sdk's kwargs type says description is a str; leave it out rather than pass None
                txn = (sentry_sdk.start_transaction(name=name, op=op) if description is None
                       else sentry_sdk.start_transaction(name=name, op=op, description=description))
                entry = OpenSpan(txn, "transaction", automatic=automatic)
            else:
                child = parent.start_child(op=op, name=description or name)
                child.set_data("sentry_ipy.transaction_name", name)
                entry = OpenSpan(child, "span", automatic=automatic)
            self._stack.append(entry)
        return entry

    def finish(self, status: str = "ok", entry: OpenSpan | None = None) -> dict[str, Any]:
        """Finish ``entry`` (default: the innermost the user opened) with ``status``; return what was sent.

        Spans still open inside it are finished first with the same status, so
        nothing is left dangling in a transaction that has already been sent;
        when no entry is named, automatic spans inside (the running notebook
        cell) stay open, since they are not the user's to end.
        """
        with self._lock:
            mine = [e for e in self._stack if not e.automatic]
            if entry is None and not mine:
                raise ToolInputError(NO_TRANSACTION)
            target = entry or mine[-1]
            if target not in self._stack:
                return target.info()  # already finished (e.g. by an outer finish)
            index = self._stack.index(target)
            inner = self._stack[index:]
            kept = [e for e in inner[1:] if e.automatic] if entry is None else []
            self._stack[index:] = kept
            inner = [e for e in inner if e not in kept]
        for item in reversed(inner[1:]):
            _finish(item, "cancelled" if status == "ok" else status)
        return _finish(target, status)

    def finish_alone(self, entry: OpenSpan, status: str = "ok") -> dict[str, Any]:
        """Finish ``entry`` but leave the spans opened inside it open, above its parent.

        For spans that mark a stretch of time other code may outlive: a
        notebook cell ends while a transaction the user started in it runs on
        into later cells.
        """
        with self._lock:
            if entry not in self._stack:
                return entry.info()
            self._stack.remove(entry)
        return _finish(entry, status)

    def clear(self) -> None:
        """Forget open spans without sending them (used when the client is replaced)."""
        with self._lock:
            self._stack.clear()

    @contextmanager
    def span(self, op: str, description: str | None = None) -> Iterator[Span]:
        """Time a block as a span of the open transaction (or as its own transaction).

        An exception inside marks the span ``internal_error`` and propagates.
        """
        entry = self.start(description or op, op, description)
        status = "ok"
        try:
            yield entry.span
        except BaseException:
            status = "internal_error"
            raise
        finally:
            self.finish(status, entry)


def _finish(entry: OpenSpan, status: str) -> dict[str, Any]:
    span = entry.span
    recorder = getattr(span, "_span_recorder", None)  # the SDK drops it on finish: count first
    children = sum(1 for s in (recorder.spans if recorder else ()) if s is not span)
    span.set_status(status)
    event_id = span.finish()
    out = entry.info()
    out["status"] = status
    end = span.timestamp
    out["duration"] = round((end - span.start_timestamp).total_seconds(), 6) if end else \
        round(time.monotonic() - entry.started, 6)
    if entry.kind == "transaction":
        out["event_id"] = event_id
        out["spans"] = children
    return out
