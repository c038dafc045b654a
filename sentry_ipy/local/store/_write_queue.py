"""Group commit: one writer thread runs queued write jobs, many to a transaction.

Per-envelope transactions cost a commit each (every touched index page is
written to the WAL again); under load most of ingest's time went there. Here
each job (one envelope) still runs alone in a savepoint, but all jobs that
queued up while the previous commit ran share the next one. A caller's
future resolves only after its commit, so a 200 still means "stored" and a
read right after it sees the event. A sender alone waits for no window: its
job runs as soon as the writer is free.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["WriteQueue"]

#: Most jobs in one transaction, so one commit never holds readers' WAL growth for long.
MAX_BATCH = 256


class WriteQueue:
    """Run ``job()`` callables on one thread inside ``tx()`` transactions.

    Args:
        tx: the store's transaction context (``Store.tx``), called with
            ``savepoint=True`` for each job inside the batch's transaction.
    """

    def __init__(self, tx: Callable[..., Any]) -> None:
        self._tx = tx
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        """Queue a job; the future holds its result (or exception) once its transaction committed."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sentry-ipy-local-writer", daemon=True)
                self._thread.start()
        future: Future[Any] = Future()
        self._jobs.put((job, future))
        return future

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

    def _commit(self, batch: list[tuple[Callable[[], Any], Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], bool, Any]] = []
        try:
            with self._tx():
                for job, future in batch:
                    outcomes.append((future, *self._one(job)))
        except BaseException as exc:  # noqa: BLE001 - the commit failed: every job in it failed
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for future, ok, value in outcomes:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

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
