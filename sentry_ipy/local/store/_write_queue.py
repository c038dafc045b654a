"""Group commit: one writer thread runs queued write jobs, many to a transaction.

Per-envelope transactions cost a commit each (every touched index page is
written to the WAL again); under load most of ingest's time went there. Here
each job (one envelope) still runs alone in a savepoint, but all jobs that
queued up while the previous commit ran share the next one. A caller's
future resolves only after its commit, so a 200 still means "stored" and a
read right after it sees the event. A sender alone waits for no window: its
job runs as soon as the writer is free.

Callers on an event loop (the ingest endpoints) are woken once per batch:
waking each future from this thread cost a write to the loop's self-pipe
apiece (``call_soon_threadsafe``), 12 % of the writer's time, and as many
loop iterations.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Union

__all__ = ["WriteQueue"]

#: Most jobs in one transaction, so one commit never holds readers' WAL growth for long.
MAX_BATCH = 256

#: Where a job's outcome goes: a thread's future, or an event loop's future with its loop.
_Waiter = Union["Future[Any]", "tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]"]
#: A finished job: its waiter, whether it returned, and what it returned (or raised).
_Outcome = tuple[_Waiter, bool, Any]


def _settle(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    """Resolve a batch's event-loop futures (on their loop); a caller that gave up is skipped."""
    for future, ok, value in outcomes:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class WriteQueue:
    """Run ``job()`` callables on one thread inside ``tx()`` transactions.

    Args:
        tx: the store's transaction context (``Store.tx``), called with
            ``savepoint=True`` for each job inside the batch's transaction.
    """

    def __init__(self, tx: Callable[..., Any]) -> None:
        self._tx = tx
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], _Waiter] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        """Queue a job; the future holds its result (or exception) once its transaction committed."""
        future: Future[Any] = Future()
        self._put(job, future)
        return future

    async def run(self, job: Callable[[], Any]) -> Any:
        """Queue a job from an event loop and return its result once its transaction committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._put(job, (loop, future))
        return await future

    def _put(self, job: Callable[[], Any], waiter: _Waiter) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sentry-ipy-local-writer", daemon=True)
                self._thread.start()
        self._jobs.put((job, waiter))

    def close(self, timeout: float = 10.0) -> None:
        """Finish queued jobs and stop the thread."""
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._jobs.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._commit(batch)
            first = item = None  # the jobs hold request bodies: drop them before waiting for the next
            batch.clear()

    def _commit(self, batch: list[tuple[Callable[[], Any], _Waiter]]) -> None:
        outcomes: list[_Outcome] = []
        try:
            with self._tx():
                for job, waiter in batch:
                    outcomes.append((waiter, *self._one(job)))
        except BaseException as exc:  # noqa: BLE001 - the commit failed: every job in it failed
            outcomes = [(waiter, False, exc) for _, waiter in batch]
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for waiter, ok, value in outcomes:
            if isinstance(waiter, tuple):
                by_loop.setdefault(waiter[0], []).append((waiter[1], ok, value))
            elif ok:
                waiter.set_result(value)
            else:
                waiter.set_exception(value)
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, settled)
            except RuntimeError:  # the loop closed meanwhile: nobody is waiting any more
                pass

    def _one(self, job: Callable[[], Any]) -> tuple[bool, Any]:
        """Run one job in its savepoint: kept when it returns, undone when it raises.

        A job that must keep writes and still fail (an ``invalid`` outcome,
        then a 400) returns its error as a value for the caller to raise.
        """
        try:
            with self._tx(savepoint=True):
                return True, job()
        except Exception as exc:  # noqa: BLE001 - handed to the job's caller
            return False, exc
