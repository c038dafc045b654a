"""Measure the embedded backend at 1k, 10k and 100k issues, each number beside its floor.

Run: ``.venv/bin/python benchmarks/local_backend.py [--sizes 1000,10000,100000] [--events-per-issue 10]``
— it rewrites ``benchmarks/local_backend.md``. ``--data-dir DIR`` keeps the built
datasets and reuses them; ``--no-ingest`` measures the datasets only and prints
the table instead of rewriting the record. For each size it:

* builds the dataset through the store's own batch path (:func:`save_events`:
  real normalisation and grouping, thousands of events to a transaction), with
  timestamps spread over the last 13 days so every issue is in the default 14d window;
* times page 1 and the last page of ``GET organizations/local/issues/?limit=100``
  over loopback HTTP (p50, p99), beside the same page read by a bare SQL query
  on the same file;
* times the whole ``sentry_list_issues`` fetch (every page, through the tool
  layer and SentryClient), beside a bare httpx loop that only follows ``Link``;
* times an issue search per page with a tag filter and with free text;
* times page 1 and the last page of the project event list (``full=true``) and of
  a Discover query, each beside the bare SQL reading the same rows (:func:`measure_lists`);
* once: ingest from sentry-sdk over HTTP (messages, exceptions with stack
  traces, transactions with 20 spans) beside two floors: the same senders to a
  loopback sink that stores nothing (what sentry-sdk itself can send here) and a
  bare SQL insert loop; then the server's own capacity: sentry-sdk's requests,
  captured once, posted again by lightweight keep-alive senders (beside the same
  senders into the sink), since sentry-sdk cannot send 3,000 events/s on 2 cores;
  the server's CPU ms per stored event for each; then 20 concurrent reader
  processes (as real clients are: threads in the server's process would share its
  GIL) during a mixed ingest. The load generators are in :mod:`ingest_load`.

Floors are measured in the same run, so ratios survive a busy (shared) machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import sqlite3
import statistics
import sys
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from api_pagination import _word  # the same distinct words as the pagination benchmark
from ingest_load import KINDS, Sink, capture, read_issues, replay, replay_rate, run_all, send_sdk

PAGE = 100
#: ``sentry_list_issues`` accepts at most this ``limit``; beyond it only the httpx loop fetches everything.
TOOL_LIMIT = 10000


def _payloads(issues: int, events: int, now: float) -> Iterator[dict[str, Any]]:
    """``events`` events over ``issues`` groups; every issue gets at least one."""
    span = 13 * 86400
    for n in range(events):
        i = n % issues
        yield {
            "message": f"benchmark problem {_word(i)}",
            "level": "error" if i % 3 else "warning",
            "timestamp": now - span * ((n * 7919) % events) / events,
            "release": f"1.{i % 20}",
            "environment": "prod" if i % 4 else "staging",
            "tags": {"shard": f"s{i % 50}", "cell": str(n % 100)},
            "user": {"id": str(n % 5000)},
            "platform": "python",
        }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} / {_pct(values, 0.99):.1f}"


def _links(response: httpx.Response) -> dict[str, tuple[str, bool]]:
    out = {}
    for part in response.headers.get("link", "").split(","):
        if not part.strip():
            continue
        url = part.split(";")[0].strip()[1:-1]
        rel = part.split('rel="')[1].split('"')[0]
        out[rel] = (url, 'results="true"' in part)
    return out


def _cursor_loop(client: httpx.Client, url: str) -> tuple[int, list[str]]:
    """Follow ``next`` until it says no more; returns (rows, every page URL)."""
    rows, urls = 0, []
    next_url: str | None = url
    while next_url:
        urls.append(next_url)
        r = client.get(next_url)
        r.raise_for_status()
        rows += len(r.json())
        nxt = _links(r).get("next")
        next_url = nxt[0] if nxt and nxt[1] else None
    return rows, urls


def _bare_sql(db: Path, offset: int, since: float) -> Callable[[], Any]:
    conn = sqlite3.connect(str(db))

    def run() -> Any:
        return conn.execute(
            "SELECT * FROM issues WHERE project_id = 1 AND status = 'unresolved' AND last_seen >= ?"
            " ORDER BY last_seen DESC, id DESC LIMIT ? OFFSET ?", (since, PAGE, offset)).fetchall()

    return run


#: A kept dataset is reused only while every issue is still inside the default 14-day window.
REUSE_HOURS = 12


@contextmanager
def _dataset(data_dir: Path | None, issues: int, events: int) -> Iterator[tuple[Any, float, float]]:
    """A running :class:`LocalServer` holding the dataset: ``(server, built_at, build_s)``.

    Built through the store's batch path into a temporary directory, or, with
    ``data_dir``, into ``data_dir/issues-N-events-M`` and reused by later runs
    while it is younger than :data:`REUSE_HOURS` (building 1M events takes minutes).
    A reused file is opened as any start opens it, so schema upgrades apply to it.
    """
    from sentry_ipy.local import LocalServer
    from sentry_ipy.local.ingest._pipeline import save_events

    with contextlib.ExitStack() as stack:
        if data_dir is None:
            where = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            where = data_dir / f"issues-{issues}-events-{events}"
        marker = where / "dataset.json"
        built = json.loads(marker.read_text()) if marker.exists() else None
        if built is not None and time.time() - built["built_at"] > REUSE_HOURS * 3600:
            shutil.rmtree(where)
            built = None
        if built is None and where.exists() and data_dir is not None:
            shutil.rmtree(where)  # a build that did not finish
        where.mkdir(parents=True, exist_ok=True)
        srv = stack.enter_context(LocalServer(where))
        if built is None:
            now = time.time()
            project = srv.store.project_by_id(1)
            assert project is not None
            t0 = time.perf_counter()
            save_events(srv.store, project, _payloads(issues, events, now))
            built = {"built_at": now, "build_s": time.perf_counter() - t0}
            marker.write_text(json.dumps(built))
        yield srv, built["built_at"], built["build_s"]


def measure_size(issues: int, events: int, repeat: int, data_dir: Path | None = None) -> dict[str, Any]:
    from sentry_ipy.config import Settings
    from sentry_ipy.tools import ToolContext, run_tool

    result: dict[str, Any] = {"issues": issues, "events": events}
    with _dataset(data_dir, issues, events) as (srv, now, build_s):
        result["build_s"] = build_s
        base = f"{srv.url}/api/0/organizations/local/issues/"
        headers = {"Authorization": f"Bearer {srv.token}"}
        with httpx.Client(headers=headers, timeout=120) as client:
            t0 = time.perf_counter()
            rows, urls = _cursor_loop(client, f"{base}?limit={PAGE}&query=is:unresolved")
            result["httpx_loop_s"] = time.perf_counter() - t0
            assert rows == issues, (rows, issues)
            first, last = urls[0], urls[-1]
            result["pages"] = len(urls)
            result["page1"] = _timed(lambda: client.get(first).raise_for_status(), repeat)
            result["pagelast"] = _timed(lambda: client.get(last).raise_for_status(), repeat)
            since = now - 14 * 86400 - 60
            result["sql1"] = _timed(_bare_sql(srv.store.path, 0, since), repeat)
            result["sqllast"] = _timed(_bare_sql(srv.store.path, (len(urls) - 1) * PAGE, since), repeat)
            tag_url = f"{base}?limit={PAGE}&query=shard:s7"
            text_url = f"{base}?limit={PAGE}&query=problem%20ab"
            result["tag"] = _timed(lambda: client.get(tag_url).raise_for_status(), repeat)
            result["text"] = _timed(lambda: client.get(text_url).raise_for_status(), repeat)
        ctx = ToolContext(Settings(), local_server=srv)
        limit = min(issues, TOOL_LIMIT)
        t0 = time.perf_counter()
        tool = run_tool("sentry_list_issues", {"projectSlug": "notebook", "query": "is:unresolved", "limit": limit}, ctx)
        result["tool_s"], result["tool_rows"] = time.perf_counter() - t0, limit
        ctx.close()
        assert len(tool.records or []) == limit, len(tool.records or [])
        result.update(measure_lists(srv, now, repeat))
    return result


#: The other growing lists measured per size: (name, URL path and query, which events it lists, in SQL).
LISTS = {
    "events": ("projects/local/notebook/events/?full=true", "project_id = 1 AND type != 'transaction'"),
    "discover": ("organizations/local/events/?field=id&field=title&field=timestamp&field=issue&statsPeriod=14d",
                 "project_id = 1 AND type IN ('error', 'default') AND timestamp >= ?"),
}


def measure_lists(srv: Any, now: float, repeat: int) -> dict[str, Any]:
    """Page 1 and the last page of the project event list (``full=true``) and of a Discover query.

    Each beside the bare SQL that reads the same rows: ``LIMIT`` for page 1, and
    for the last page the keyset range from the row above it. The last page is
    asked for with the cursor the server hands out there (the key and ties of
    the row above it, found once by ``OFFSET``), checked to be the last.
    """
    conn = sqlite3.connect(str(srv.store.path))
    since = now - 14 * 86400 + 60
    out: dict[str, Any] = {}
    with httpx.Client(headers={"Authorization": f"Bearer {srv.token}"}, timeout=120) as client:
        for name, (path, where) in LISTS.items():
            params = (since,) if "?" in where else ()
            total = conn.execute(f"SELECT COUNT(*) FROM events WHERE {where}", params).fetchone()[0]
            above = (total - 1) // PAGE * PAGE - 1
            key, ident = conn.execute(f"SELECT timestamp, id FROM events WHERE {where} ORDER BY timestamp DESC,"
                                      " id DESC LIMIT 1 OFFSET ?", (*params, above)).fetchone()
            ties = conn.execute(f"SELECT COUNT(*) FROM events WHERE {where} AND timestamp = ? AND id >= ?",
                                (*params, key, ident)).fetchone()[0]
            first = f"{srv.url}/api/0/{path}&per_page={PAGE}"
            last = f"{first}&cursor={key!r}:{ties}:0"
            r = client.get(last)
            r.raise_for_status()
            got = r.json()["data"] if name == "discover" else r.json()
            assert len(got) == total - above - 1 and not _links(r)["next"][1], (name, len(got), total)
            out[f"{name}_rows"] = total
            out[f"{name}1"] = _timed(lambda u=first: client.get(u).raise_for_status(), repeat)
            out[f"{name}last"] = _timed(lambda u=last: client.get(u).raise_for_status(), repeat)
            sql = f"SELECT * FROM events WHERE {where}{{}} ORDER BY timestamp DESC, id DESC LIMIT {PAGE}"
            out[f"{name}sql1"] = _timed(lambda s=sql.format(""), p=params: conn.execute(s, p).fetchall(), repeat)
            out[f"{name}sqllast"] = _timed(lambda s=sql.format(" AND (timestamp, id) < (?, ?)"), p=(*params, key, ident):
                                           conn.execute(s, p).fetchall(), repeat)
    conn.close()
    return out


def lists_table(sizes: list[dict[str, Any]]) -> str:
    """The table of :func:`measure_lists` per size."""
    rows = [f"| {s['issues']:,} / {s['events']:,} | " + " | ".join(
        _ms(s[f"{name}{which}"]) for name in LISTS for which in ("1", "sql1", "last", "sqllast")) + " |" for s in sizes]
    return ("| issues / events | project events `full=true` page 1 | floor: bare SQL | last page | floor: bare SQL"
            " from its cursor | Discover page 1 | floor: bare SQL | last page | floor: bare SQL from its cursor |\n"
            "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def _sql_floor(events: int) -> float:
    """Events/s of a bare SQL insert loop: event rows (with their JSON payload) into the store's
    ``events`` table, one prepared statement, one transaction, WAL and ``synchronous=NORMAL``."""
    import json

    from sentry_ipy.local.store._store import Store

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "floor.sqlite3")
        now = time.time()
        rows = [(f"{n:032x}", 1, None, "error", now, now, "error", f"t {n}", f"m {n}", None, None, "1.0",
                 "prod", None, None, "python", None, json.dumps({"message": f"ingest message {n}", "n": n}))
                for n in range(events)]
        t0 = time.perf_counter()
        with store.tx() as conn:
            conn.executemany(
                "INSERT INTO events (event_id, project_id, issue_id, type, timestamp, received, level, title,"
                " message, culprit, transaction_name, release, environment, user_key, user_email, platform,"
                " trace_id, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        rate = events / (time.perf_counter() - t0)
        store.close()
    return rate


def _wait_for(store: Any, total: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.one("SELECT COUNT(*) AS n FROM events")["n"] >= total:
            return
        time.sleep(0.05)
    raise RuntimeError("ingest did not finish")


def _cpu_s() -> float:
    """CPU seconds this process (the server's, since it runs in here) has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stored(srv: Any, procs: list[Any]) -> tuple[float, float, int]:
    """Run load processes against ``srv``: ``(stored events/s, server CPU ms per stored event, events stored)``.

    Every sender waits for its answers and a 200 means committed, so once the
    processes are done the rows are there; the benchmark's own thread only
    waits meanwhile, so this process's CPU time is the server's.
    """
    before = srv.store.one("SELECT COUNT(*) AS n FROM events")["n"]
    cpu = _cpu_s()
    seconds = run_all(procs)
    spent = _cpu_s() - cpu
    stored = srv.store.one("SELECT COUNT(*) AS n FROM events")["n"] - before
    return stored / seconds, spent * 1000 / max(stored, 1), stored


def measure_ingest(per_kind: int, senders: int, replayed: int, connections: int) -> dict[str, Any]:
    """Ingest over HTTP, each kind alone: from sentry-sdk, and from prebuilt envelopes (the server's own
    capacity), each beside the same senders into a sink; then 20 reader processes during a mixed ingest."""
    import multiprocessing as mp

    from sentry_ipy.local import LocalServer

    out: dict[str, Any] = {"senders": senders, "per_kind": per_kind, "replayed": replayed,
                           "connections": connections, "sql_floor": _sql_floor(per_kind)}
    n = per_kind // senders
    for kind in KINDS:
        with Sink() as sink_:
            dsn = f"http://{'0' * 32}@127.0.0.1:{sink_.port}/1"
            out[f"{kind}_floor"] = n * senders / run_all([mp.Process(target=send_sdk, args=(dsn, kind, n))
                                                          for _ in range(senders)])
    with tempfile.TemporaryDirectory() as tmp, LocalServer(Path(tmp) / "data") as srv:
        dsn = srv.dsn()
        for kind in KINDS:
            out[kind], out[f"{kind}_cpu_ms"], _ = _stored(
                srv, [mp.Process(target=send_sdk, args=(dsn, kind, n)) for _ in range(senders)])
        for kind in KINDS:
            requests = capture(dsn, kind, replayed, senders, Path(tmp))
            with Sink() as sink_:
                out[f"{kind}_replay_floor"], failed = replay_rate(sink_.port, requests, senders, connections)
            failures: Any = mp.Queue()
            out[f"{kind}_replay"], out[f"{kind}_replay_cpu_ms"], stored = _stored(
                srv, [mp.Process(target=replay, args=(srv.port, requests[i::senders], connections, failures))
                      for i in range(senders)])
            out[f"{kind}_replay_failed"] = failed + failures.qsize()
            out[f"{kind}_replay_events"] = stored
        # 20 reader processes (as real clients are) while one sentry-sdk sender per kind sends
        stop, results = mp.Event(), mp.Queue()
        readers = [mp.Process(target=read_issues, args=(srv.url, srv.token, stop, results)) for _ in range(20)]
        for p in readers:
            p.start()
        time.sleep(1.0)  # the readers are reading before ingest starts
        out["mixed_eps"], out["mixed_cpu_ms"], _ = _stored(
            srv, [mp.Process(target=send_sdk, args=(dsn, kind, per_kind // 3)) for kind in KINDS])
        stop.set()
        latencies, errors = [], []
        for _ in readers:
            got_latencies, got_errors = results.get(timeout=120)
            latencies += got_latencies
            errors += got_errors
        for p in readers:
            p.join()
        out["readers"] = {"requests": len(latencies), "errors": len(errors), "error_kinds": sorted(set(errors))[:3],
                          "p50": statistics.median(latencies), "p99": _pct(latencies, 0.99)}
    return out


_KIND_NAMES = {"message": "messages", "exception": "exceptions with stack traces",
               "transaction": "transactions with 20 spans"}


def ingest_report(ingest: dict[str, Any]) -> str:
    """The ingest section of the record (markdown)."""
    r = ingest["readers"]
    sdk = "".join(f"| {_KIND_NAMES[k]} | {ingest[k]:.0f} | {ingest[k + '_floor']:.0f} | {ingest[k + '_cpu_ms']:.2f} |\n"
                  for k in KINDS)
    replayed = "".join(
        f"| {_KIND_NAMES[k]} | {ingest[k + '_replay']:.0f} | {ingest[k + '_replay_floor']:.0f} |"
        f" {ingest[k + '_replay_cpu_ms']:.2f} | {ingest[k + '_replay_failed']} |\n" for k in KINDS)
    return (
        f"Ingest through sentry-sdk over HTTP ({ingest['senders']} sending processes per kind, "
        f"{ingest['per_kind']} events each kind; until every event is stored):\n\n"
        "| kind | events/s, stored by us | floor: the same sentry-sdk senders to a sink that stores nothing |"
        " server CPU ms per stored event |\n"
        "|---|---|---|---|\n" + sdk +
        f"| mixed, with 20 reader processes listing issues meanwhile | {ingest['mixed_eps']:.0f} | |"
        f" {ingest['mixed_cpu_ms']:.2f} (readers' pages included) |\n\n"
        f"The server's own capacity: sentry-sdk's requests for {ingest['replayed']:,} events per kind, captured once,"
        f" posted again by {ingest['senders']} lightweight processes over {ingest['connections']} keep-alive"
        " connections each (each waits for its answer):\n\n"
        "| kind | events/s, stored by us | floor: the same senders to the sink | server CPU ms per stored event |"
        " non-2xx answers |\n"
        "|---|---|---|---|---|\n" + replayed + "\n"
        f"Floor of the storage itself: a bare SQL insert loop of {ingest['per_kind']:,} event rows"
        f" (one prepared statement, one transaction) ran at {ingest['sql_floor']:,.0f} rows/s.\n\n"
        f"20 concurrent reader processes during the mixed ingest: {r['requests']} requests, **{r['errors']} errors**,"
        f" p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms.\n")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version},"
            f" load average {load:.1f} at the start"
            + (" (a shared machine: other work was running)" if load > 1.5 * (os.cpu_count() or 1) else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--events-per-issue", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--ingest", type=int, default=3000, help="events per kind sent through sentry-sdk")
    parser.add_argument("--senders", type=int, default=3, help="sending processes at once (sentry-sdk or replay)")
    parser.add_argument("--replay", type=int, default=6000,
                        help="events per kind captured once from sentry-sdk and posted again by lightweight senders")
    parser.add_argument("--connections", type=int, default=4, help="keep-alive connections per replaying process")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help=f"keep the built datasets here and reuse them for {REUSE_HOURS} h (default: build each run)")
    parser.add_argument("--no-ingest", action="store_true", help="measure the datasets only, not ingest")
    parser.add_argument("--ingest-only", action="store_true",
                        help="measure ingest only and print it, without rewriting the record")
    args = parser.parse_args()
    machine = _machine()
    # Once per process, the first tool call imports the tool modules and builds their models; timed
    # apart so every size's whole fetch measures the same thing, as every later call in a notebook does.
    t0 = time.perf_counter()
    from sentry_ipy.tools._registry import registry

    registry()
    registry_s = time.perf_counter() - t0
    sizes = []
    for size in [] if args.ingest_only else args.sizes.split(","):
        s = measure_size(int(size), int(size) * args.events_per_issue, args.repeat, args.data_dir)
        sizes.append(s)
        print(s["issues"], {k: (round(v, 2) if isinstance(v, float) else (_ms(v) if isinstance(v, list) else v))
                            for k, v in s.items()}, flush=True)
    ingest = None if args.no_ingest else measure_ingest(args.ingest, args.senders, args.replay, args.connections)
    print(ingest, flush=True)
    if args.ingest_only and ingest is not None:
        print(f"{machine}\n\n{ingest_report(ingest)}")
        return
    rows = []
    for s in sizes:
        rows.append(
            f"| {s['issues']:,} / {s['events']:,} | {s['build_s']:.0f} s | {_ms(s['page1'])} | {_ms(s['sql1'])} |"
            f" {_ms(s['pagelast'])} | {_ms(s['sqllast'])} | {s['tool_s']:.2f} s ({s['tool_rows']:,} rows) |"
            f" {s['httpx_loop_s']:.2f} s"
            f" ({s['pages']} pages) | {_ms(s['tag'])} | {_ms(s['text'])} |")
    sizes_table = (
        "| issues / events | build (batch path) | page 1 | floor: bare SQL page 1 | last page |"
        " floor: bare SQL last page | whole `sentry_list_issues` | floor: bare httpx cursor loop |"
        " search `shard:s7` (tag) | search `problem ab` (free text) |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    sizes_table += ("\nThe whole fetch is timed with the tool registry already loaded. Loading it (importing the"
                    " tools' modules and building their input models) happens once per process, at its first"
                    f" tool call: {registry_s:.2f} s in this run.\n")
    sizes_table += "\nOther lists, pages of 100 (p50 / p99 ms):\n\n" + lists_table(sizes)
    if ingest is None:  # a partial run is printed, not recorded
        print(f"{machine}\n\n{sizes_table}")
        return
    report = Path(__file__).with_suffix(".md")
    report.write_text(
        "# The local backend at size\n\n"
        f"Measured with `benchmarks/{Path(__file__).name} --sizes {args.sizes} --events-per-issue"
        f" {args.events_per_issue}` on {time.strftime('%Y-%m-%d')}: {machine}. Latencies are"
        f" p50 / p99 in ms over {args.repeat} requests on loopback HTTP; pages of {PAGE}.\n\n"
        + sizes_table + "\n"
        + ingest_report(ingest))
    print(report.read_text())


if __name__ == "__main__":
    main()
