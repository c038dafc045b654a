"""Load for the ingest measurements of ``local_backend.py``: senders, a sink, readers (each in its own process).

* :func:`send_sdk`: a sentry-sdk client sending events of one kind (what a user's program does).
* :func:`sink`: a loopback server that reads each request and answers ``{}``, storing nothing;
  with a ``capture`` file it also keeps every request it read, byte for byte.
* :func:`capture`: sentry-sdk's own requests for ``n`` events of a kind, caught by the sink once,
  so they can be sent again without the SDK's cost (0.85 ms of CPU per message event here).
* :func:`replay`: a lightweight sender that posts captured requests over keep-alive connections
  as fast as they are answered; beside the same replay into the sink it measures the server's own
  capacity, which sentry-sdk on 2 cores cannot reach.
* :func:`read_issues`: a reader process listing issues until told to stop, as a real client would
  (readers in the server's own process would share its GIL and measure the benchmark, not the server).
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import pickle
import time
from pathlib import Path
from typing import Any

from api_pagination import _word

KINDS = ("message", "exception", "transaction")


def send_sdk(dsn: str, kind: str, n: int) -> None:
    """Send ``n`` events of one kind with a sentry-sdk client of its own (one process each)."""
    import sentry_sdk

    client = sentry_sdk.Client(dsn=dsn, default_integrations=False, auto_enabling_integrations=False,
                               transport_queue_size=n + 10, traces_sample_rate=1.0)
    with sentry_sdk.new_scope() as scope:
        scope.set_client(client)
        for i in range(n):
            if kind == "message":
                scope.capture_message(f"ingest message {_word(i)}")
            elif kind == "exception":
                try:
                    raise ValueError(f"ingest failure {_word(i % 50)}")
                except ValueError as exc:
                    scope.capture_exception(exc)
            else:
                with sentry_sdk.start_transaction(name=f"ingest-tx-{i % 10}", op="task"):
                    for s in range(20):
                        with sentry_sdk.start_span(op="step", name=f"span {s}"):
                            pass
    client.flush(timeout=600)
    client.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def sink(ready: Any, capture_to: str | None = None) -> None:
    """A trivial loopback ingest sink (its own process): reads each request, answers ``{}``, stores nothing.

    sentry-sdk sending to it is the floor of ingest over HTTP on this machine: the
    SDK's own cost per event (building, serialising, compressing, one HTTP request
    per envelope from its transport thread) with a server that costs next to nothing.
    With ``capture_to``, every request (head and body) is appended to that file before
    it is answered, so once the senders are done the file holds all of them.
    """
    out = open(capture_to, "ab") if capture_to else None  # noqa: SIM115 - lives as long as the process

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head, body = await _read_request(reader)
                if out is not None:
                    pickle.dump((head, body), out)
                    out.flush()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


class Sink:
    """:func:`sink` in a process of its own, for a ``with`` block; ``port`` is where it listens."""

    def __init__(self, capture_to: Path | None = None) -> None:
        ready: Any = mp.Queue()
        self._proc = mp.Process(target=sink, args=(ready, str(capture_to) if capture_to else None), daemon=True)
        self._proc.start()
        self.port: int = ready.get(timeout=30)

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._proc.terminate()
        self._proc.join()


def run_all(procs: list[mp.Process]) -> float:
    """Start the processes, wait for all of them; the seconds that took."""
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        if p.exitcode:
            raise RuntimeError(f"a load process failed (exit code {p.exitcode})")
    return time.perf_counter() - t0


def capture(dsn: str, kind: str, n: int, senders: int, where: Path) -> list[tuple[bytes, bytes]]:
    """sentry-sdk's requests (head, body) for ``n`` events of ``kind`` sent to ``dsn``'s key and project.

    The DSN's host is replaced by a capturing sink's, so the requests carry the real
    server's key and project ID and only their ``Host`` changes when replayed.
    """
    path = where / f"capture-{kind}.pickle"
    with Sink(path) as s:
        scheme, rest = dsn.split("://", 1)
        user, hostpath = rest.split("@", 1)
        sink_dsn = f"{scheme}://{user}@127.0.0.1:{s.port}/{hostpath.split('/', 1)[1]}"
        run_all([mp.Process(target=send_sdk, args=(sink_dsn, kind, n // senders)) for _ in range(senders)])
    requests = []
    with path.open("rb") as f:
        while True:
            try:
                requests.append(pickle.load(f))
            except EOFError:
                break
    return requests


def _with_host(head: bytes, port: int) -> bytes:
    lines = [line for line in head.rstrip(b"\r\n").split(b"\r\n") if not line.lower().startswith(b"host:")]
    return b"\r\n".join([lines[0], f"Host: 127.0.0.1:{port}".encode(), *lines[1:]]) + b"\r\n\r\n"


def replay(port: int, requests: list[tuple[bytes, bytes]], connections: int, failures: Any) -> None:
    """Post ``requests`` to ``port`` over ``connections`` keep-alive connections, each waiting for its answer.

    Any answer but a 2xx is put on ``failures`` (a queue), so the caller can count them.
    """
    wire = [_with_host(head, port) + body for head, body in requests]

    async def connection(todo: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for request in todo:
            writer.write(request)
            head, _ = await _read_request(reader)
            status = head.split(b" ", 2)[1]
            if not status.startswith(b"2"):
                failures.put(status.decode())
        writer.close()

    async def main() -> None:
        await asyncio.gather(*(connection(wire[i::connections]) for i in range(connections)))

    asyncio.run(main())


def replay_rate(port: int, requests: list[tuple[bytes, bytes]], senders: int, connections: int) -> tuple[float, int]:
    """Requests/s of ``senders`` :func:`replay` processes sharing ``requests``, and how many failed."""
    failures: Any = mp.Queue()
    seconds = run_all([mp.Process(target=replay, args=(port, requests[i::senders], connections, failures))
                       for i in range(senders)])
    failed = 0
    while not failures.empty():
        failures.get()
        failed += 1
    return len(requests) / seconds, failed


def read_issues(url: str, token: str, stop: Any, results: Any) -> None:
    """List issues (page 1 of 100) until ``stop`` is set; put ``(latencies_ms, errors)`` on ``results``."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                r = client.get(f"{url}/api/0/organizations/local/issues/?limit=100&query=")
                if r.status_code != 200 or not isinstance(r.json(), list):
                    errors.append(str(r.status_code))
            except Exception as exc:  # noqa: BLE001 - counted, that is the measurement
                errors.append(repr(exc))
            latencies.append((time.perf_counter() - t0) * 1000)
    results.put((latencies, errors))
