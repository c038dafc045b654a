"""Type aliases shared across packages, defined once (as httpx keeps its unions in ``_types.py``).

Only the standard library is imported, so any module may use these for free.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

__all__ = ["PURPOSES", "Family", "Progress", "Purpose", "QueryParams"]

#: ``progress(done, total_or_None, message)``: called by long fetches between pages.
Progress = Callable[[int, "int | None", str], None]

#: Query parameters for a Web API request: a mapping, or pairs when a key repeats.
QueryParams = Mapping[str, Any] | list[tuple[str, Any]] | None

#: A tool family: ``sdk`` tools send telemetry, ``api`` tools use the Web API.
Family = Literal["sdk", "api"]

#: What a tool is for, the toolsets a model's client picks by: ``triage`` (issues and
#: their events), ``explore`` (queries, series, traces, health), ``capture`` (telemetry)
#: and ``admin`` (projects, releases, alerts, teams, organizations).
Purpose = Literal["triage", "explore", "capture", "admin"]
PURPOSES: tuple[Purpose, ...] = ("triage", "explore", "capture", "admin")
