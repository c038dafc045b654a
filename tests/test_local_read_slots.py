"""``ReadSlots``: at most ``READ_SLOTS`` reads are computed at once; writes, health checks and slow readers hold none."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from sentry_ipy.local import LocalServer
from sentry_ipy.local.api._plumbing import READ_SLOTS, Context, ReadSlots


class _Recorder:
    """An ASGI app that answers once released, counting how many requests are inside it at once."""

    def __init__(self) -> None:
        self.inside = 0
        self.most = 0
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.inside += 1
        self.most = max(self.most, self.inside)
        self.entered.set()
        try:
            await self.release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
        finally:
            self.inside -= 1
        if scope["path"] == "/slow-body":
            await asyncio.Event().wait()  # the body never finishes: the client is not reading it
        await send({"type": "http.response.body", "body": b"{}"})


def _scope(context: Context, method: str = "GET", path: str = "/api/0/organizations/") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "sentry_ipy.ctx": context}


async def _noop_send(message: Any) -> None:
    return None


async def _receive() -> Any:
    return {"type": "http.request", "body": b""}


def test_reads_wait_for_a_slot_and_other_requests_do_not(tmp_path: Any) -> None:
    async def main() -> None:
        from sentry_ipy.local.store._store import Store

        store = Store(tmp_path / "s.sqlite3")
        context = Context(store=store, token="t")
        app = _Recorder()
        slots = ReadSlots(app)
        reads = [asyncio.create_task(slots(_scope(context), _receive, _noop_send)) for _ in range(READ_SLOTS + 5)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert app.inside == READ_SLOTS  # the rest queue outside the handler
        others = [asyncio.create_task(slots(_scope(context, method), _receive, _noop_send)) for method in ("POST", "PUT")]
        health = asyncio.create_task(slots(_scope(context, path="/_health"), _receive, _noop_send))
        for _ in range(20):
            await asyncio.sleep(0)
        assert app.inside == READ_SLOTS + 3  # writes and the health check did not wait
        app.release.set()
        await asyncio.gather(*reads, *others, health)
        assert app.most == READ_SLOTS + 3 and app.inside == 0
        assert context.read_slots._value == READ_SLOTS  # every slot came back

        # a read whose client never takes its body gives its slot back once the response started
        app.release = asyncio.Event()
        app.release.set()
        stuck = [asyncio.create_task(slots(_scope(context, path="/slow-body"), _receive, _noop_send))
                 for _ in range(READ_SLOTS)]
        for _ in range(20):
            await asyncio.sleep(0)
        await asyncio.wait_for(slots(_scope(context), _receive, _noop_send), 30)  # not queued behind them
        for task in stuck:
            task.cancel()
        store.close()

    asyncio.run(main())


def test_many_concurrent_readers_all_get_answers(srv: LocalServer) -> None:
    async def main() -> list[int]:
        headers = {"Authorization": f"Bearer {srv.token}"}
        async with httpx.AsyncClient(base_url=srv.url, headers=headers, timeout=60) as client:
            answers = await asyncio.gather(*(client.get("/api/0/organizations/local/issues/")
                                             for _ in range(4 * READ_SLOTS)))
        return [a.status_code for a in answers]

    assert asyncio.run(main()) == [200] * (4 * READ_SLOTS)
