"""Measure the local backend's memory under hostile uploads: four concurrent ~100 MB POSTs.

Run: ``.venv/bin/python benchmarks/ingest_memory.py [--source DIR]`` — it prints a Markdown
table; ``benchmarks/ingest_memory.md`` keeps it beside the same table for the code before the
change (``--source`` runs the server from another checkout, e.g. ``git archive 35be969``).

The server runs in a subprocess of its own (a ``LocalServer`` on 127.0.0.1, port 0); its
resident memory (``VmRSS``) and peak (``VmHWM``, reset before each scenario through
``/proc/PID/clear_refs``) are read from ``/proc``. Each scenario sends four uploads at once
over raw sockets, the way a hostile page or client would, and then a small event to check
the server still ingests. Linux only; the machine is shared, but memory is not a timing.

Scenarios: unauthenticated 99 MB envelopes; authenticated ones declaring 101 MiB (over the
cap); authenticated chunked ones (no ``Content-Length``) that run past the cap; and
authenticated 99 MB envelopes that are accepted (one attachment each).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024
_SERVER = """
import sys, time
from sentry_ipy.local import LocalServer
srv = LocalServer(sys.argv[1], retention_days=0).start()
print(srv.port, srv.store.keys(1)[0]["public_key"], flush=True)
time.sleep(3600)
"""


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) // 1024
    return fields


def _upload(port: int, head: bytes, body_size: int, chunked: bool, results: list[str]) -> None:
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    block = b"\n" * MB
    try:
        sock.sendall(head)
        sent = 0
        while sent < body_size:
            piece = block[: min(MB, body_size - sent)]
            sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            sent += len(piece)
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server answered early and closed: exactly what it should do with a refused upload
    try:
        answer = sock.recv(4096).split(b"\r\n", 1)[0].decode()
    except OSError as exc:
        answer = f"no answer ({exc.__class__.__name__})"
    results.append(answer)
    sock.close()


def _scenario(pid: int, port: int, key: str | None, declared: int | None, body_size: int,
              first: bytes) -> tuple[list[str], dict[str, int], dict[str, int]]:
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _status(pid)
    lines = ["POST /api/1/envelope/ HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines.append(f"Content-Length: {declared}" if declared is not None else "Transfer-Encoding: chunked")
    if key:
        lines.append(f"X-Sentry-Auth: Sentry sentry_key={key}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if declared is None:
        head += b"%x\r\n%s\r\n" % (len(first), first)
    else:
        head += first
    results: list[str] = []
    threads = [threading.Thread(target=_upload, args=(port, head, body_size - len(first), declared is None, results))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1.0)  # let the server drop what it held
    return results, before, _status(pid)


def _small_event(port: int, key: str) -> str:
    body = b'{}\n{"type":"event"}\n{"message":"still here"}\n'
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall((f"POST /api/1/envelope/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
                      f"X-Sentry-Auth: Sentry sentry_key={key}\r\n\r\n").encode() + body)
        return sock.recv(4096).split(b"\r\n", 1)[0].decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(HERE.parent), help="checkout to run the server from")
    args = parser.parse_args()
    attachment = 99 * MB - 200
    accepted_first = (b'{"event_id":"' + b"a" * 32 + b'"}\n{"type":"attachment","length":%d,"filename":"big.bin"}\n' % attachment)
    scenarios = [
        ("4 x 99 MB, no auth", None, 99 * MB, 99 * MB, b"{}\n"),
        ("4 x declared 101 MiB, auth", "key", 101 * MB, 101 * MB, b"{}\n"),
        ("4 x chunked 101 MiB, auth", "key", None, 101 * MB, b"{}\n"),
        ("4 x 99 MB accepted (attachment), auth", "key", len(accepted_first) + attachment + 1,
         len(accepted_first) + attachment + 1, accepted_first),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "PYTHONPATH": args.source}
        proc = subprocess.Popen([sys.executable, "-c", _SERVER, data], stdout=subprocess.PIPE, text=True, env=env,
                                cwd=args.source)
        try:
            assert proc.stdout is not None
            port_text, key = proc.stdout.readline().split()
            port = int(port_text)
            _small_event(port, key)
            for name, auth, declared, size, first in scenarios:
                answers, before, after = _scenario(proc.pid, port, key if auth else None, declared, size, first)
                rows.append((name, sorted(set(answers)), before["VmRSS"], after["VmHWM"], after["VmRSS"],
                             _small_event(port, key)))
        finally:
            proc.kill()
            proc.wait()
    out = [f"Server from `{args.source}`; RSS in MiB (VmRSS before, peak VmHWM during, VmRSS after).", "",
           "| scenario | answers | RSS before | peak | RSS after | next small event |", "|---|---|---|---|---|---|"]
    out += [f"| {n} | {', '.join(a)} | {b} | {p} | {r} | {nxt} |" for n, a, b, p, r, nxt in rows]
    text = "\n".join(out) + "\n"
    print(text)


if __name__ == "__main__":
    main()
