"""Run ``sentry-ipy local`` as a user does, in a subprocess, and read what it prints at start.

``foreground_local(args)`` yields the start-up text (everything up to "Ctrl-C stops it.")
and stops the server with SIGINT, as Ctrl-C would, when the block ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["foreground_local"]


@contextmanager
def foreground_local(*args: str) -> Iterator[str]:
    """Start ``python -m sentry_ipy.cli local ARGS`` and yield its start-up text (stderr)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "sentry_ipy.cli", "local", *args], stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        for line in proc.stderr:
            lines.append(line)
            if line.startswith("Ctrl-C stops it."):
                break
        yield "".join(lines)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=15)
