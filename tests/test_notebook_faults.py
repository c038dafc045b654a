"""Cell monitoring's own failures never break the user's cell; an interrupted fetch leaves the kernel usable.

A real InteractiveShell with the extension loaded: a local whose ``__repr__``
raises, a local the scrubber cannot walk, an ingest that refuses connections
(the event waits in the spool and ``%sentry_status`` says so), and a Ctrl-C
(SIGINT) while a magic waits on a slow Web API.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.utils.capture import capture_output  # noqa: E402

from tests._scripted import TOKEN, Reply, ScriptedServer  # noqa: E402
from tests._sdk import stored_events  # noqa: E402
from tests._shell import ip, loaded_shell, point_at  # noqa: E402, F401  (fixture)

_BROKEN_REPR = """
class Broken:
    def __repr__(self):
        raise ZeroDivisionError("repr is broken")
    __str__ = __repr__
broken = Broken()
raise ValueError("{marker}")
"""

_UNWALKABLE = """
import collections.abc
class Unwalkable(collections.abc.Mapping):
    def __getitem__(self, key):
        raise RuntimeError("no items")
    def __iter__(self):
        raise RuntimeError("no iteration")
    def __len__(self):
        raise RuntimeError("no length")
table = Unwalkable()
raise KeyError("{marker}")
"""


def _only_the_users_error(shell: Any, cell: str, kind: type[BaseException]) -> None:
    with capture_output() as out:
        result = shell.run_cell(cell)
    assert isinstance(result.error_in_exec, kind), result.error_in_exec
    assert "sentry-ipy" not in out.stderr and "sentry_ipy" not in out.stdout
    assert shell.run_cell("40 + 2").result == 42, "the next cell runs normally"


def test_a_local_with_a_broken_repr_neither_breaks_the_cell_nor_loses_the_event(ip: Any,  # noqa: F811
                                                                                  local_server: Any) -> None:
    marker = f"marker-repr-{uuid.uuid4().hex[:8]}"
    _only_the_users_error(ip, _BROKEN_REPR.format(marker=marker), ValueError)
    events = stored_events(local_server, lambda e: marker in json.dumps(e))
    assert events, "the cell's error was still reported"


def test_a_local_the_scrubber_cannot_walk_does_not_break_the_cell(ip: Any) -> None:  # noqa: F811
    marker = f"marker-scrub-{uuid.uuid4().hex[:8]}"
    _only_the_users_error(ip, _UNWALKABLE.format(marker=marker), KeyError)
    frame = ip.run_line_magic("sentry_projects", "")
    assert "notebook" in set(frame["slug"]), "the next magic works"


def test_an_unreachable_ingest_spools_the_cells_error_and_status_says_so(
        local_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import sentry_sdk

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    point_at(monkeypatch, local_server)
    monkeypatch.setenv("SENTRY_DSN", f"http://abc@127.0.0.1:{port}/1")
    try:
        with loaded_shell() as shell:
            _only_the_users_error(shell, "1/0", ZeroDivisionError)
            status = shell.run_line_magic("sentry_status", "")
            text = status._repr_markdown_()
            assert "Spooled on disk: 1 envelope(s)" in text and "refused the connection" in text
    finally:
        sentry_sdk.get_client().close()
        sentry_sdk.init()


def test_ctrl_c_during_a_slow_fetch_leaves_the_kernel_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer() as server:
        monkeypatch.setenv("SENTRY_URL", server.url)
        monkeypatch.setenv("SENTRY_AUTH_TOKEN", TOKEN)
        monkeypatch.setenv("SENTRY_ORG", "acme")
        server.queue(Reply(200, [], delay=30))  # a Web API that takes its time

        def interrupt_once_asked() -> None:
            deadline = time.monotonic() + 30
            while not server.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)  # what Jupyter's interrupt button sends

        with loaded_shell() as shell:
            threading.Thread(target=interrupt_once_asked, daemon=True).start()
            with capture_output():
                result = shell.run_cell("%sentry_projects")
            assert isinstance(result.error_in_exec, KeyboardInterrupt)
            server.queue(Reply(200, [{"id": "7", "slug": "after-interrupt", "name": "after-interrupt",
                                      "platform": "python", "dateCreated": "2026-01-01T00:00:00Z"}]))
            frame = shell.run_line_magic("sentry_projects", "")
            assert list(frame["slug"]) == ["after-interrupt"], "the next magic works"
            assert shell.run_cell("6 * 7").result == 42
