"""Progress of long fetches in a notebook: one line that says what is true, also once saved.

A bar whose total is the ``limit`` (``0/500``) lies twice: the data may hold
fewer rows, and a bar widget is saved into the notebook as its first frame.
Instead, a kernel shows one text line through a display handle, updated per
page (``Sentry: 300 rows so far, page 3``), and when the magic ends the same
handle is updated to the outcome (``Sentry: fetched 480 rows.``), so
a saved or nbclient-executed notebook holds that final line. An IPython terminal
on a TTY gets a tqdm counter without a total instead; scripts, tests and piped
output get nothing. A one-page answer is quick and shows nothing at all.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["FetchProgress"]


class FetchProgress:
    """The ``progress(done, total, message)`` callback the magics give their tool context.

    Args:
        shell: the IPython shell (a kernel's has ``.kernel``).
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.calls = 0
        self.handle: Any = None
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int | None, message: str) -> None:
        self.calls += 1
        self.done = done
        if self.calls < 2:
            return
        text = f"Sentry: {done} rows so far, {message}" + (f" (limit {total})" if total else "")
        if getattr(self.shell, "kernel", None) is not None:
            self._show(text)
        elif _tty():
            self._tick(done)

    def _show(self, text: str) -> None:
        from IPython.display import display

        if self.handle is None:
            self.handle = display({"text/plain": text}, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        else:
            self.handle.update({"text/plain": text}, raw=True)

    def _tick(self, done: int) -> None:
        if self.bar is None:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=None, unit="rows", leave=False, desc="Sentry", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self, rows: int | None = None) -> None:
        """End the fetch: the line says how many rows came (``rows``), the terminal bar goes.

        Called however the magic ended; without ``rows`` (the fetch failed) the
        line says how far it got.
        """
        if self.handle is not None:
            text = (f"Sentry: fetched {rows} rows." if rows is not None
                    else f"Sentry: stopped after {self.done} rows.")
            self.handle.update({"text/plain": text}, raw=True)
        if self.bar is not None:
            self.bar.close()
        self.handle = self.bar = None
        self.calls = self.done = 0


def _tty() -> bool:
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())
