"""The issue browser's events-over-time chart: an issue's ``stats`` drawn as a PNG.

The data is the issue's own ``stats`` (hourly for ``24h``, daily for ``30d``),
which Sentry sends with the issue, made tidy by :func:`sentry_ipy.frames.issue_stats`;
nothing is fetched here. The figure is a :class:`matplotlib.figure.Figure` of
its own, drawn by pandas' ``.plot``: no pyplot state, so the inline backend
never shows it a second time under the cell and widget callbacks on other
threads cannot trip over each other. matplotlib is optional (the ``notebook``
extra): without it :func:`events_png` raises ``ImportError`` and the browser
says how to install it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

__all__ = ["CHART_PERIODS", "events_png", "events_series"]

#: The periods of an issue's ``stats``, as Sentry names them: label -> key.
CHART_PERIODS: tuple[tuple[str, str], ...] = (("Last 24 h", "24h"), ("Last 30 d", "30d"))
_SIZE = (6.4, 1.9)  # inches: a strip under the issue's facts, not a poster


def events_series(issue: Mapping[str, Any], period: str) -> Any:
    """The issue's event counts per bucket of ``period`` as a Series indexed by UTC time.

    Empty when the issue came without ``stats`` for that period (an older or
    compatible server): the chart then says so instead of drawing zeros.
    """
    from ..frames import issue_stats

    tidy = issue_stats([issue])
    tidy = tidy[tidy["period"] == period]
    return tidy.set_index("time")["count"].rename("events")


def events_png(series: Any, title: str) -> bytes:
    """Draw ``series`` (from :func:`events_series`) as a bar per bucket; the PNG's bytes.

    Raises:
        ImportError: matplotlib is not installed.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=_SIZE, dpi=100, layout="constrained")
    ax = figure.subplots()
    when, counts = series.index.to_pydatetime(), series.astype("float64").to_numpy()
    # One bar per bucket, each starting at its bucket's time and as wide as a bucket (in days,
    # matplotlib's date unit), so the newest bucket shows as clearly as the others.
    width = (when[1] - when[0]).total_seconds() / 86400 if len(when) > 1 else 1 / 24
    ax.bar(when, counts, width=width * 0.9, align="edge", color="#6c5fc7")
    ax.set_title(title, fontsize=9, loc="left")
    ax.set_xlabel("")
    ax.set_ylabel("events", fontsize=8)
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
