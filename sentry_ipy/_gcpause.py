"""Pause Python's cycle collector while a large tree of plain data is built.

Decoding 10,000 issues from JSON, or scrubbing them, makes a few million dicts,
lists and strings that all survive; the cycle collector, triggered every few
hundred allocations, walks them again and again and took about 40 % of the
time of a whole ``sentry_list_issues`` fetch. Such data has no reference
cycles (JSON cannot express one), so nothing is lost by not looking for them
meanwhile; reference counting still frees it. The collector runs again, as
configured, when the last holder leaves.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]

_lock = threading.Lock()
_holders = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the cycle collector off inside the block (nested and concurrent blocks share one pause).

    Only the first holder turns it off, and only if it was on; the last one turns it back on.
    """
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()
