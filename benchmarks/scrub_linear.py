"""Measure the secret scrubber on hostile text: 1 MB of each shape, beside a one-pass floor.

Run: ``.venv/bin/python benchmarks/scrub_linear.py`` — it rewrites ``benchmarks/scrub_linear.md``.

For each shape (the units of ``tests/test_scrub.py``), 1 MB made of that unit is scrubbed
with :func:`sentry_ipy.scrub.scrub`; the floor is one regex pass over the same text that
tests every position (a look-behind and a character class), the least a pattern-based
scrubber does.
Times are the best of three on a machine shared with other jobs, so read the ratio to the
floor, measured in the same run. The scrubber before this change (commit 19b306e, read from
git) is timed on 16 KB only: its time grew with the square of the length.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sentry_ipy.scrub import scrub  # noqa: E402
from tests.test_scrub import _HOSTILE_UNITS  # noqa: E402

BEFORE_COMMIT = "19b306e"
MB = 1_000_000
SMALL = 16_384


def best(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def before_scrubber() -> Callable[[str], object] | None:
    """The scrubber as it was at :data:`BEFORE_COMMIT`, or None outside a git checkout."""
    try:
        source = subprocess.run(["git", "show", f"{BEFORE_COMMIT}:sentry_ipy/scrub.py"], cwd=HERE,
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("scrub_before")
    exec(compile(source, "scrub_before.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module.scrub


def main() -> None:
    floor_pattern = re.compile(r"(?<=\x00)\x01")  # never matches; looks at every position
    old = before_scrubber()
    rows = []
    for unit in _HOSTILE_UNITS:
        text = (unit * (MB // len(unit) + 1))[:MB]
        floor = best(lambda text=text: floor_pattern.sub("", text))
        ours = best(lambda text=text: scrub(text))
        small = text[:SMALL]
        ours_small = best(lambda small=small: scrub(small))
        old_small = best(lambda small=small: old(small), runs=1) if old else float("nan")
        rows.append((unit, ours, floor, ours_small, old_small))
        print(f"{unit!r}: {ours * 1000:.0f} ms (floor {floor * 1000:.1f} ms)", file=sys.stderr)
    lines = [
        "# Scrubbing hostile text",
        "",
        "Regenerate with `.venv/bin/python benchmarks/scrub_linear.py` (machine shared with other",
        "jobs: best of three; compare with the floor from the same run). The linearity itself is",
        "asserted by `tests/test_scrub.py::test_scrubbing_grows_linearly_for_every_hostile_shape`",
        "in CPU instructions under callgrind, not in seconds.",
        "",
        f"| unit repeated | 1 MB now | floor (one regex pass over every position) | × floor | 16 KB now | 16 KB before ({BEFORE_COMMIT}) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for unit, ours, floor, ours_small, old_small in rows:
        label = repr(unit).replace("|", "\\|")
        lines.append(f"| `{label}` | {ours * 1000:.0f} ms | {floor * 1000:.1f} ms | {ours / floor:.0f} "
                     f"| {ours_small * 1000:.1f} ms | {old_small * 1000:.0f} ms |")
    worst = max(rows, key=lambda r: r[1])
    lines += ["", f"Slowest shape now: `{worst[0]!r}` at {worst[1] * 1000:.0f} ms for 1 MB.", ""]
    (HERE / "scrub_linear.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
