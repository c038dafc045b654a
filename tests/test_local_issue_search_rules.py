"""Issue search and grouping details where the local backend must answer as Sentry does."""

from __future__ import annotations

import time

import httpx

from sentry_ipy.local import LocalServer


def _store(srv: LocalServer, payload: dict[str, object]) -> None:
    key = srv.store.keys(1)[0]["public_key"]
    assert httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json=payload).status_code == 200


def _titles(api: httpx.Client, query: str) -> list[str]:
    return sorted(i["title"] for i in api.get("organizations/local/issues/", params={"query": query}).json())


def _error(kind: str, value: str, handled: bool, **extra: object) -> dict[str, object]:
    frames = [{"filename": "app.py", "function": "run", "module": "app", "lineno": 1, "in_app": True}]
    return {"exception": {"values": [{"type": kind, "value": value, "stacktrace": {"frames": frames},
                                      "mechanism": {"type": "generic", "handled": handled}}]}, **extra}


def test_has_user_category_handled_and_free_text(srv: LocalServer, api: httpx.Client) -> None:
    _store(srv, _error("KeyError", "cart", True, user={"id": "u-1"}))
    _store(srv, _error("TypeError", "nope", False))
    _store(srv, {"message": "payment gateway slow", "culprit": "billing.charge", "level": "warning"})
    _store(srv, {"logentry": {"message": "job %s done", "formatted": "job nightly-import done"}})
    assert _titles(api, "has:user") == ["KeyError: cart"]
    assert _titles(api, "!has:user") == ["TypeError: nope", "job nightly-import done", "payment gateway slow"]
    assert len(_titles(api, "issue.category:error")) == 4
    assert _titles(api, "error.handled:1 error.type:KeyError") == ["KeyError: cart"]
    assert _titles(api, "error.handled:0") == ["TypeError: nope"]
    assert _titles(api, "billing.charge") == ["payment gateway slow"]  # free text matches the culprit
    assert _titles(api, "nightly-import") == ["job nightly-import done"]  # and the message


def test_a_second_event_keeps_a_new_issue_new_for_seven_days(srv: LocalServer, api: httpx.Client) -> None:
    now = time.time()
    _store(srv, {"message": "first week", "timestamp": now - 3600})
    _store(srv, {"message": "first week", "timestamp": now})
    _store(srv, {"message": "old news", "timestamp": now - 8 * 86400})
    _store(srv, {"message": "old news", "timestamp": now})
    substatus = {i["title"]: i["substatus"] for i in srv.store.issues()}
    assert substatus == {"first week": "new", "old news": "ongoing"}
    assert _titles(api, "is:new") == ["first week"]


def test_javascript_and_native_culprits_read_as_sentry_writes_them(srv: LocalServer) -> None:
    frame = {"filename": "index", "function": None, "in_app": True}
    _store(srv, {"platform": "javascript", "exception": {"values": [
        {"type": "Error", "value": "js", "stacktrace": {"frames": [frame]}}]}})
    _store(srv, {"platform": "node", "exception": {"values": [
        {"type": "Error", "value": "node", "stacktrace": {"frames": [{**frame, "function": "handler"}]}}]}})
    _store(srv, {"platform": "native", "exception": {"values": [
        {"type": "SIGSEGV", "value": "c", "stacktrace": {"frames": [{**frame, "function": "main"}]}}]}})
    assert [i["culprit"] for i in srv.store.issues()] == ["?(index)", "handler(index)", "main"]
