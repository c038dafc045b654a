"""Work measured in CPU instructions (valgrind's callgrind), not seconds.

Tests never assert on wall-clock time; instruction counts are repeatable for the same
binary and input whatever else the machine is doing, so a linear-time claim becomes an
assertion: doubling the input must about double the instructions.

``os.getppid()`` is the marker between cases: callgrind dumps its counters before every
call to ``getppid``, so one process measures every case and pays Python's start-up once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["instructions"]

_SCRIPT = """\
import os
{setup}
_cases = [compile(c, "<case>", "exec") for c in {cases!r}]
os.getppid()
for _c in _cases:
    os.getppid()
    exec(_c)
os.getppid()
"""


def instructions(setup: str, cases: list[str], *, timeout: float = 600) -> list[int]:
    """Run ``setup`` once, then each case, under callgrind; return each case's instruction count.

    A case that is not linear takes so long under valgrind that ``timeout`` ends it:
    the caller's test fails with that as its message.
    """
    valgrind = shutil.which("valgrind")
    assert valgrind, "valgrind is needed to count instructions (tests/run.sh installs it)"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        script = Path(tmp) / "work.py"
        script.write_text(_SCRIPT.format(setup=setup, cases=cases))
        cmd = [valgrind, "--tool=callgrind", "--dump-before=getppid", f"--callgrind-out-file={out}",
               "--dump-instr=no", "--compress-strings=no", sys.executable, str(script)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  env={**os.environ, "PYTHONHASHSEED": "0"})
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the work did not finish under callgrind in {timeout:.0f} s: "
                                 "it grows faster than linearly") from None
        assert proc.returncode == 0, proc.stderr[-2000:]
        totals = []
        # Dump 1 is start-up, dump 2 the empty gap before the first case, then one per case.
        for index in range(3, len(cases) + 3):
            text = Path(f"{out}.{index}").read_text()
            line = next(line for line in text.splitlines() if line.startswith("totals:"))
            totals.append(int(line.split()[1]))
        return totals
