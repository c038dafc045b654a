"""Records to typed DataFrames: one column schema per kind of result.

Sentry sends counts as strings (``"count": "42"``), times as ISO strings or
epoch numbers, and nests objects (``project: {slug, ...}``). Analysis wants
``Int64`` counts, UTC datetimes and flat ``project.slug`` columns, in the same
order every time, even when there are no rows. pandas is imported inside the
functions so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DATETIME", "FRAMES", "RAW_API_FRAMES", "columns", "flatten", "to_frame"]

DATETIME = "datetime64[ns, UTC]"
_S, _I, _F, _B, _T = "string", "Int64", "Float64", "boolean", DATETIME

#: Column order and dtype per frame; unknown columns follow these, untyped.
FRAMES: dict[str, tuple[tuple[str, str], ...]] = {
    "projects": (("id", _S), ("slug", _S), ("name", _S), ("platform", _S), ("dateCreated", _T),
                 ("firstEvent", _T), ("isMember", _B), ("hasAccess", _B), ("team.slug", _S),
                 ("status", _S)),
    "issues": (("id", _S), ("shortId", _S), ("title", _S), ("culprit", _S), ("level", _S),
               ("status", _S), ("substatus", _S), ("priority", _S), ("count", _I),
               ("userCount", _I), ("firstSeen", _T), ("lastSeen", _T), ("project.slug", _S),
               ("project.id", _S), ("type", _S), ("issueCategory", _S), ("platform", _S),
               ("isUnhandled", _B), ("permalink", _S)),
    "events": (("id", _S), ("eventID", _S), ("groupID", _S), ("projectID", _S), ("title", _S),
               ("message", _S), ("culprit", _S), ("location", _S), ("platform", _S),
               ("dateCreated", _T), ("event.type", _S), ("user.id", _S), ("user.email", _S)),
    "event": (("eventID", _S), ("groupID", _S), ("projectID", _S), ("title", _S), ("message", _S),
              ("level", _S), ("platform", _S), ("dateCreated", _T), ("dateReceived", _T),
              ("release", _S), ("environment", _S), ("culprit", _S), ("stacktrace", _S)),
    "error_events": (("id", _S), ("title", _S), ("timestamp", _T), ("level", _S), ("issue", _S),
                     ("issue.id", _S), ("culprit", _S), ("message", _S), ("release", _S),
                     ("environment", _S)),
    "file_errors": (("issue", _S), ("issue.id", _S), ("title", _S), ("project", _S),
                    ("count()", _I), ("last_seen()", _T)),
    "releases": (("version", _S), ("shortVersion", _S), ("status", _S), ("dateCreated", _T),
                 ("dateReleased", _T), ("newGroups", _I), ("commitCount", _I), ("deployCount", _I),
                 ("firstEvent", _T), ("lastEvent", _T), ("ref", _S), ("url", _S)),
    "stats": (("time", _T), ("count", _I)),
    "replays": (("id", _S), ("project_id", _S), ("started_at", _T), ("finished_at", _T),
                ("duration", _I), ("count_errors", _I), ("count_warnings", _I), ("count_infos", _I),
                ("count_urls", _I), ("count_rage_clicks", _I), ("count_dead_clicks", _I),
                ("environment", _S), ("platform", _S), ("user.display_name", _S),
                ("browser.name", _S), ("os.name", _S), ("url", _S)),
}

#: Frames whose rows are whole Sentry API objects, worth cutting down for a model's context.
RAW_API_FRAMES = frozenset({"issues", "events", "projects", "releases", "replays"})

_MAX_DEPTH = 2  # project.slug, contexts.os.name; deeper objects stay as dicts


def columns(frame_name: str) -> tuple[str, ...]:
    """The known columns of ``frame_name``, in order."""
    return tuple(name for name, _ in FRAMES[frame_name])


def flatten(row: Mapping[str, Any], prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Flatten nested dicts into dotted keys (``project.slug``); lists stay as values."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value and depth < _MAX_DEPTH:  # JSON objects; dict is 5x faster than Mapping
            out.update(flatten(value, name + ".", depth + 1))
        else:
            out[name] = value
    return out


def to_frame(rows: Iterable[Mapping[str, Any]], frame_name: str | None = None) -> pd.DataFrame:
    """Build a DataFrame from API records with ``frame_name``'s columns first, typed.

    Args:
        rows: records as the tools return them (nested dicts allowed).
        frame_name: a key of :data:`FRAMES`; ``None`` (or a name without a
            schema, e.g. from a tool that has none yet) flattens without typing.

    Empty input gives an empty frame that still has the known columns and dtypes.
    """
    import pandas as pd

    flat = [flatten(r) for r in rows]
    schema = FRAMES.get(frame_name or "", ())
    known = [name for name, _ in schema]
    extra: list[str] = []
    seen = set(known)
    for row in flat:
        for key in row:
            if key not in seen:
                seen.add(key)
                extra.append(key)
    data = {name: pd.Series([row.get(name) for row in flat], dtype=object)
            for name in [*known, *extra]}
    frame = pd.DataFrame(data, columns=[*known, *extra])
    for name, dtype in schema:
        frame[name] = _convert(frame[name], dtype)
    if extra:
        frame[extra] = frame[extra].infer_objects()
    return frame


def _convert(series: pd.Series, dtype: str) -> pd.Series:
    """Coerce one column; values that do not fit become missing rather than failing."""
    import pandas as pd

    if dtype == DATETIME:
        values = series.where(series.notna(), None)
        numeric = pd.to_numeric(values, errors="coerce")
        if len(values) and numeric.notna().sum() == values.notna().sum() and numeric.notna().any():
            unit = "ms" if numeric.abs().max() > 1e11 else "s"
            return pd.to_datetime(numeric, unit=unit, utc=True).astype(DATETIME)
        text = values.map(lambda v: None if v is None else str(v))
        return pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601").astype(DATETIME)
    if dtype in ("Int64", "Float64"):
        numeric = pd.to_numeric(series.map(_scalar), errors="coerce")
        return (numeric.round() if dtype == "Int64" else numeric).astype(dtype)
    if dtype == "boolean":
        return series.map(lambda v: v if isinstance(v, bool) else None).astype("boolean")
    return series.map(lambda v: None if v is None else (v if isinstance(v, str) else str(v))).astype(dtype)


def _scalar(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
