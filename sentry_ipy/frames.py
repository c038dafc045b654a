"""Records to typed DataFrames: one fixed schema per kind of result.

A data scientist concatenates pulls, groups by columns and computes rates, so a
frame must look the same whatever the server sent: the same columns, in the
same order, with the same dtypes, also when there are no rows. The rules:

- **Columns come from the schema only** (:data:`FRAMES`). A column is a dotted
  path into the record (``project.slug`` reads ``row["project"]["slug"]``; a
  key that itself holds dots, like Discover's ``issue.id``, is read as it is).
  Fields outside the schema stay in ``ToolResult.records``; they never add a
  column that one pull has and the next lacks.
- **Tags and contexts as columns** for event frames: ``tags.<key>`` for every
  tag (``[{key, value}]`` lists, ``{key: value}`` objects or ``[key, value]``
  pairs), ``contexts.<name>.name`` and ``.version``. A fixed set is always
  there; other keys found in the data follow, sorted, all ``string``.
- **Types**: text is pandas' ``string`` dtype (missing is ``<NA>``), counts
  are ``Int64`` (Sentry's ``"42"`` strings included), times are
  ``datetime64[ns, UTC]`` (ISO text or epoch seconds/milliseconds), flags are
  ``boolean``; level, status, substatus, priority, platform and project are
  categorical (known values first, then any others, sorted). A value of the
  wrong shape (an object where text belongs) becomes its JSON text, a value
  that cannot be a number or time becomes missing; nothing fails.
- **Lists stay out of cells.** An issue's ``stats`` (``[[ts, n], ...]`` per
  period) is a tidy companion frame, :func:`issue_stats` (``issue, period,
  time, count``), reachable from the issues frame as ``frame.sentry.stats``.

pandas is imported inside the functions so importing this module stays cheap.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["DATETIME", "FRAMES", "META_DTYPES", "Frame", "FrameSchema", "columns", "flatten",
           "issue_stats", "meta_schema", "to_frame"]

DATETIME = "datetime64[ns, UTC]"
_S, _I, _F, _B, _T, _C = "string", "Int64", "Float64", "boolean", DATETIME, "category"

LEVELS = ("fatal", "error", "warning", "info", "debug")
STATUSES = ("unresolved", "resolved", "ignored", "reprocessing")
SUBSTATUSES = ("new", "ongoing", "escalating", "regressed", "archived_until_escalating",
               "archived_until_condition_met", "archived_forever")
PRIORITIES = ("high", "medium", "low")
#: Categories known in advance, per categorical column name (others get theirs from the data).
_KNOWN: dict[str, tuple[str, ...]] = {"level": LEVELS, "status": STATUSES, "substatus": SUBSTATUSES,
                                      "priority": PRIORITIES, "tags.level": LEVELS}

#: Tags every event frame has as columns, whatever the data (others follow, sorted).
EVENT_TAGS = ("environment", "release", "level", "browser", "browser.name", "os", "os.name",
              "runtime", "device", "url", "transaction", "server_name", "handled", "mechanism")
#: Contexts whose ``name`` and ``version`` every event frame has as columns.
EVENT_CONTEXTS = ("browser", "os", "runtime", "device")
_USER = (("user.id", _S), ("user.email", _S), ("user.username", _S), ("user.ip_address", _S),
         ("user.name", _S))


@dataclass(frozen=True)
class FrameSchema:
    """The columns of one kind of frame: fixed ``(name, dtype)`` pairs, then tag/context families.

    Attributes:
        fixed: every column the frame always has, in order.
        families: ``"tags"`` and/or ``"contexts"``: column families read from the
            record's ``tags`` list and ``contexts`` object (event frames only).
    """

    fixed: tuple[tuple[str, str], ...]
    families: tuple[str, ...] = ()
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fixed = list(self.fixed)
        if "tags" in self.families:
            fixed += [(f"tags.{t}", _C if t == "level" else _S) for t in EVENT_TAGS]
        if "contexts" in self.families:
            fixed += [(f"contexts.{c}.{k}", _S) for c in EVENT_CONTEXTS for k in ("name", "version")]
        object.__setattr__(self, "fixed", tuple(fixed))
        object.__setattr__(self, "names", tuple(name for name, _ in fixed))


_EVENT_FAMILIES = ("tags", "contexts")

class Frame(StrEnum):
    """The kinds of result rows with a column schema; a tool names its kind in ``@tool(frame=...)``.

    An enum rather than free strings: ``Frame.ISUES`` fails when the tool module
    is imported (and under mypy), where a misspelt string would quietly give an
    untyped DataFrame.
    """

    PROJECTS = "projects"
    ISSUES = "issues"
    EVENTS = "events"
    EVENT = "event"
    ERROR_EVENTS = "error_events"
    FILE_ERRORS = "file_errors"
    RELEASES = "releases"
    STATS = "stats"
    NOTEBOOK_RUNS = "notebook_runs"
    RUN_HEALTH = "run_health"
    RELEASE_HEALTH = "release_health"
    TRIAGE = "triage"
    TEAMS = "teams"
    TRACE = "trace"
    ACTIVITY = "activity"
    TAG_VALUES = "tag_values"
    REPLAYS = "replays"
    TIMESERIES = "timeseries"
    ORGANIZATIONS = "organizations"


#: Column order and dtype per frame kind.
FRAMES: dict[Frame, FrameSchema] = {
    Frame.PROJECTS: FrameSchema((
        ("id", _S), ("slug", _S), ("name", _S), ("platform", _C), ("dateCreated", _T),
        ("firstEvent", _T), ("isMember", _B), ("hasAccess", _B), ("team.slug", _S), ("status", _C),
        ("isBookmarked", _B), ("hasSessions", _B), ("hasReplays", _B))),
    Frame.ISSUES: FrameSchema((
        ("id", _S), ("shortId", _S), ("title", _S), ("culprit", _S), ("level", _C), ("status", _C),
        ("substatus", _C), ("priority", _C), ("count", _I), ("userCount", _I), ("firstSeen", _T),
        ("lastSeen", _T), ("project.slug", _C), ("project.id", _S), ("type", _S),
        ("issueCategory", _S), ("platform", _C), ("isUnhandled", _B), ("permalink", _S),
        ("logger", _S), ("metadata.type", _S), ("metadata.value", _S), ("metadata.filename", _S),
        ("metadata.function", _S), ("assignedTo.name", _S), ("numComments", _I),
        ("lifetime.count", _I), ("lifetime.userCount", _I))),
    Frame.EVENTS: FrameSchema((
        ("id", _S), ("eventID", _S), ("groupID", _S), ("projectID", _S), ("title", _S),
        ("message", _S), ("culprit", _S), ("location", _S), ("platform", _C), ("dateCreated", _T),
        ("event.type", _C), *_USER, ("metadata.type", _S), ("metadata.value", _S)),
        _EVENT_FAMILIES),
    Frame.EVENT: FrameSchema((
        ("eventID", _S), ("groupID", _S), ("projectID", _S), ("title", _S), ("message", _S),
        ("level", _C), ("platform", _C), ("dateCreated", _T), ("dateReceived", _T),
        ("release", _S), ("environment", _S), ("culprit", _S), ("stacktrace", _S), *_USER,
        ("sdk.name", _S), ("sdk.version", _S)), _EVENT_FAMILIES),
    Frame.ERROR_EVENTS: FrameSchema((
        ("id", _S), ("title", _S), ("timestamp", _T), ("level", _C), ("issue", _S),
        ("issue.id", _S), ("culprit", _S), ("message", _S), ("release", _S), ("environment", _S),
        ("project", _C), ("platform", _C), *_USER), _EVENT_FAMILIES),
    Frame.FILE_ERRORS: FrameSchema((
        ("issue", _S), ("issue.id", _S), ("title", _S), ("project", _C), ("count()", _I),
        ("last_seen()", _T))),
    Frame.RELEASES: FrameSchema((
        ("version", _S), ("shortVersion", _S), ("status", _C), ("dateCreated", _T),
        ("dateReleased", _T), ("newGroups", _I), ("commitCount", _I), ("deployCount", _I),
        ("firstEvent", _T), ("lastEvent", _T), ("ref", _S), ("url", _S))),
    Frame.STATS: FrameSchema((
        ("time", _T), ("count", _I), ("accepted", _I), ("filtered", _I), ("rate_limited", _I),
        ("invalid", _I), ("abuse", _I), ("client_discard", _I), ("cardinality_limited", _I))),
    Frame.NOTEBOOK_RUNS: FrameSchema((
        ("run_id", _S), ("notebook", _S), ("started", _T), ("duration_s", _F), ("outcome", _C),
        ("failing_cell", _S), ("error", _S), ("issue", _S), ("event_id", _S), ("cascades", _I),
        ("release", _S), ("environment", _S), ("trace", _S))),
    Frame.RUN_HEALTH: FrameSchema((
        ("time", _T), ("release", _S), ("sessions", _I), ("crash_free_rate", _F), ("healthy", _I),
        ("errored", _I), ("crashed", _I), ("abnormal", _I))),
    Frame.RELEASE_HEALTH: FrameSchema((
        ("time", _T), ("release", _S), ("environment", _S), ("project", _S), ("sessions", _I),
        ("users", _I), ("healthy", _I), ("errored", _I), ("crashed", _I), ("abnormal", _I),
        ("crashed_users", _I), ("crash_free_sessions", _F), ("crash_free_users", _F))),
    Frame.TRIAGE: FrameSchema((
        ("id", _S), ("shortId", _S), ("outcome", _C), ("changes", _S), ("status", _C), ("substatus", _C),
        ("assignee", _S), ("priority", _C), ("isBookmarked", _B), ("hasSeen", _B), ("title", _S),
        ("project", _C))),
    Frame.TEAMS: FrameSchema((
        ("id", _S), ("slug", _S), ("name", _S), ("dateCreated", _T), ("memberCount", _I),
        ("isMember", _B), ("hasAccess", _B))),
    Frame.REPLAYS: FrameSchema((
        ("id", _S), ("project_id", _S), ("started_at", _T), ("finished_at", _T), ("duration", _I),
        ("count_errors", _I), ("count_warnings", _I), ("count_infos", _I), ("count_urls", _I),
        ("count_rage_clicks", _I), ("count_dead_clicks", _I), ("environment", _S),
        ("platform", _C), ("user.display_name", _S), ("browser.name", _S), ("os.name", _S),
        ("url", _S))),
    Frame.TRACE: FrameSchema((
        ("span_id", _S), ("parent", _S), ("depth", _I), ("op", _S), ("description", _S),
        ("start", _F), ("duration", _F), ("project", _C), ("transaction", _S), ("errors", _S))),
    Frame.ACTIVITY: FrameSchema((
        ("id", _S), ("type", _C), ("dateCreated", _T), ("user.name", _S), ("user.email", _S),
        ("data.text", _S))),
    Frame.ORGANIZATIONS: FrameSchema((
        ("slug", _S), ("name", _S), ("id", _S), ("region", _S), ("links.regionUrl", _S),
        ("links.organizationUrl", _S), ("dateCreated", _T), ("status.id", _S), ("isEarlyAdopter", _B))),
    Frame.TIMESERIES: FrameSchema((("time", _T), ("series", _S), ("yAxis", _S), ("value", _F))),
    Frame.TAG_VALUES: FrameSchema((
        ("key", _S), ("value", _S), ("count", _I), ("share", _F), ("firstSeen", _T),
        ("lastSeen", _T))),
}

#: The dtype of each column type Sentry names in a response's ``meta.fields`` (Explore,
#: Discover, time series): results whose columns the query chooses are typed by these,
#: with no schema per query. Durations, sizes and rates stay numbers; their unit is in
#: ``meta.units`` (kept in the frame's ``attrs``). Types not listed here are text.
META_DTYPES: dict[str, str] = {
    "integer": _I, "number": _F, "duration": _F, "percentage": _F, "size": _F, "rate": _F,
    "score": _F, "percent_change": _F, "currency": _F, "date": _T, "boolean": _B, "string": _S,
}


def meta_schema(types: Mapping[str, str]) -> FrameSchema:
    """The schema of a result whose server said each column's type (``meta.fields``), in order."""
    return FrameSchema(tuple((name, META_DTYPES.get(kind, _S)) for name, kind in types.items()))


assert set(FRAMES) == set(Frame), "every Frame needs its column schema in FRAMES"
_NAMES = frozenset(f.value for f in Frame)

_MAX_DEPTH = 2  # project.slug, contexts.os.name; deeper objects stay as dicts


def columns(frame_name: str) -> tuple[str, ...]:
    """The fixed columns of ``frame_name``, in order."""
    return FRAMES[Frame(frame_name)].names


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


def to_frame(rows: Iterable[Mapping[str, Any]], frame_name: str | None = None,
             attrs: Mapping[str, Any] | None = None, *,
             types: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Build the typed DataFrame of ``frame_name`` from API records.

    Args:
        rows: records as the tools return them (nested dicts allowed).
        frame_name: a key of :data:`FRAMES`; ``None`` (results without a schema,
            such as the tool table) flattens every key and types only text.
        attrs: stored as ``frame.attrs`` (how the rows were fetched, whether
            the fetch stopped at a limit).
        types: column -> Sentry meta type (``meta.fields``), for results without a
            fixed schema (Explore): the columns, in this order, typed by :data:`META_DTYPES`.

    Empty input gives an empty frame that still has the schema's columns and dtypes.
    """
    import pandas as pd

    records = rows if isinstance(rows, list) else list(rows)
    schema = FRAMES[Frame(frame_name)] if frame_name in _NAMES else (
        meta_schema(types) if types else None)
    if schema is None:
        frame = _untyped(records)
    else:
        plain = [(n, d) for n, d in schema.fixed if not _family_column(n, schema)]
        raw = _columns(records, (n for n, _ in plain))
        data: dict[str, Any] = {name: _typed(raw[name], dtype, name) for name, dtype in plain}
        if schema.families:
            data.update(_families(records, schema))
        frame = pd.DataFrame(data, columns=_ordered(schema, data), copy=False)
        if frame_name == "issues":
            _STATS.remember(frame, records)
    if attrs:
        frame.attrs.update(attrs)
    return frame


def issue_stats(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The issues' ``stats`` series as a tidy frame: ``issue, period, time, count``.

    Sentry sends ``stats: {"24h": [[epoch_s, n], ...]}`` (periods ``24h``, ``14d``
    or ``30d``, as asked with ``statsPeriod``); one row per issue, period and bucket.
    """
    import pandas as pd

    issue: list[Any] = []
    period: list[Any] = []
    when: list[Any] = []
    count: list[Any] = []
    for row in rows:
        stats = row.get("stats")
        if not isinstance(stats, dict):
            continue
        for name, series in stats.items():
            for point in series if isinstance(series, list) else ():
                if isinstance(point, (list, tuple)) and len(point) == 2:
                    issue.append(row.get("id"))
                    period.append(name)
                    when.append(point[0])
                    count.append(point[1])
    return pd.DataFrame({"issue": _typed(issue, _S, "issue"), "period": _typed(period, _C, "period"),
                         "time": _typed(when, _T, "time"), "count": _typed(count, _I, "count")})


# -- reading records --------------------------------------------------------------------

def _columns(records: list[Mapping[str, Any]], names: Iterable[str]) -> dict[str, list[Any]]:
    """Each column's raw values: the key itself, else the dotted path into nested objects.

    Written as list comprehensions over the records, one per column, and each
    nested object read once for all its columns: at 10,000 rows a function call
    per cell would cost more than everything else together.
    """
    out: dict[str, list[Any]] = {}
    parents: dict[str, list[Any]] = {}
    for name in names:
        head, _, rest = name.partition(".")
        if not rest:
            out[name] = [r.get(name) for r in records]
            continue
        if head not in parents:
            parents[head] = [r.get(head) for r in records]
        values = parents[head]
        for part in rest.split("."):
            values = [v.get(part) if type(v) is dict else None for v in values]
        if any(name in r for r in records):  # Discover rows carry "issue.id" as one key
            values = [r[name] if name in r else v for r, v in zip(records, values, strict=True)]
        out[name] = values
    return out


def _family_column(name: str, schema: FrameSchema) -> bool:
    return bool(schema.families) and name.startswith(("tags.", "contexts."))


def _tags(row: Mapping[str, Any]) -> dict[str, Any]:
    """A record's tags as ``{key: value}`` from any of Sentry's shapes; ``tags[x]`` keys too."""
    raw = row.get("tags")
    out: dict[str, Any] = {}
    if isinstance(raw, dict):
        out.update(raw)
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and "key" in item:
                out[str(item["key"])] = item.get("value")
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                out[str(item[0])] = item[1]
    for key, value in row.items():  # Discover's tags[browser] columns
        if key.startswith("tags[") and key.endswith("]"):
            out.setdefault(key[5:-1], value)
    return out


def _contexts(row: Mapping[str, Any]) -> dict[str, Any]:
    """``{"os.name": ..., "os.version": ...}`` from a record's ``contexts`` object."""
    raw = row.get("contexts")
    out: dict[str, Any] = {}
    if isinstance(raw, dict):
        for name, ctx in raw.items():
            if isinstance(ctx, dict):
                for key in ("name", "version"):
                    if ctx.get(key) is not None:
                        out[f"{name}.{key}"] = ctx[key]
    return out


def _families(records: list[Mapping[str, Any]], schema: FrameSchema) -> dict[str, Any]:
    """The ``tags.*`` and ``contexts.*`` columns: the fixed ones, then the data's others."""
    out: dict[str, Any] = {}
    dtypes = dict(schema.fixed)
    for family, read in (("tags", _tags), ("contexts", _contexts)):
        if family not in schema.families:
            continue
        values = [read(r) for r in records]
        fixed = [n[len(family) + 1:] for n in schema.names if n.startswith(family + ".")]
        seen = set(fixed)
        extra = sorted({k for v in values for k in v if k not in seen})
        for key in [*fixed, *extra]:
            name = f"{family}.{key}"
            out[name] = _typed([v.get(key) for v in values], dtypes.get(name, _S), name)
    return out


def _ordered(schema: FrameSchema, data: Mapping[str, Any]) -> list[str]:
    """Fixed columns in schema order, then the families' extra columns in their (sorted) order."""
    fixed = set(schema.names)
    return [*schema.names, *(n for n in data if n not in fixed)]


def _untyped(records: list[Mapping[str, Any]]) -> pd.DataFrame:
    """A frame for rows without a schema: flattened keys in order of appearance, text as ``string``."""
    import pandas as pd

    flat = [flatten(r) for r in records]
    names = list(dict.fromkeys(k for row in flat for k in row))
    frame = pd.DataFrame({n: pd.Series([row.get(n) for row in flat], dtype=object) for n in names},
                         columns=names).infer_objects()
    for name in names:
        if frame[name].dtype == object and all(isinstance(v, str) for v in frame[name].dropna()):
            frame[name] = frame[name].astype(_S)
    return frame


# -- typing columns -----------------------------------------------------------------------

def _typed(values: list[Any], dtype: str, name: str) -> Any:
    """One column's values as a pandas array of ``dtype``; misfits become missing (or JSON text)."""
    import pandas as pd

    if dtype == _S:
        return pd.array([v if v is None or type(v) is str else _text(v) for v in values], dtype=_S)
    if dtype == _C:
        texts = [v if v is None or type(v) is str else _text(v) for v in values]
        known = _KNOWN.get(name, ())
        others = sorted({t for t in texts if t is not None} - set(known))
        return pd.Categorical(texts, categories=[*known, *others])
    if dtype == _T:
        return _times(values)
    if dtype == _I:
        return pd.array([v if type(v) is int else _integer(v) for v in values], dtype=_I)
    if dtype == _F:
        return pd.array([_number(v) for v in values], dtype=_F)
    if dtype == _B:
        return pd.array([v if isinstance(v, bool) else None for v in values], dtype=_B)
    raise ValueError(f"unknown column dtype {dtype!r}")


def _text(value: Any) -> str | None:
    if value is None or type(value) is str:
        return value
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    if isinstance(value, float) and value != value:  # NaN
        return None
    return str(value)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if type(value) is str:
        try:
            return int(value)  # Sentry's "42"
        except ValueError:
            pass
    number = _number(value)
    return None if number is None else round(number)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return None if value != value or value in (float("inf"), float("-inf")) else float(value)
    if isinstance(value, str):
        try:
            return _number(float(value))
        except ValueError:
            return None
    return None


def _times(values: list[Any]) -> Any:
    """ISO strings and epoch numbers (seconds, or milliseconds when large) as UTC datetimes."""
    import pandas as pd

    texts = [v if isinstance(v, str) else None for v in values]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    parsed = pd.to_datetime(pd.Series(texts, dtype=object), utc=True, errors="coerce",
                            format="ISO8601")
    if numbers:
        unit = "ms" if max(abs(n) for n in numbers) > 1e11 else "s"
        epochs = pd.Series([v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
                            for v in values], dtype="float64")
        from_numbers = pd.to_datetime(epochs, unit=unit, utc=True, errors="coerce")
        parsed = parsed.where(parsed.notna(), from_numbers)
    return pd.DatetimeIndex(parsed).astype(DATETIME).array


# -- companion frames -----------------------------------------------------------------------

class _Companions:
    """Records behind each issues frame built here, so ``frame.sentry.stats`` can build its stats.

    Keyed by the frame's ``id`` and dropped when the frame is collected; copies of
    the frame (``frame.head()``) are new objects and have no companion.
    """

    def __init__(self) -> None:
        self._rows: dict[int, list[Mapping[str, Any]]] = {}

    def remember(self, frame: Any, rows: list[Mapping[str, Any]]) -> None:
        if not any(isinstance(r.get("stats"), dict) for r in rows):
            return
        key = id(frame)
        self._rows[key] = rows
        weakref.finalize(frame, self._rows.pop, key, None)
        _register_accessor()

    def rows(self, frame: Any) -> list[Mapping[str, Any]] | None:
        return self._rows.get(id(frame))


_STATS = _Companions()
_accessor_registered = False


def _register_accessor() -> None:
    """Register ``DataFrame.sentry`` once, on the first issues frame that has stats."""
    global _accessor_registered
    if _accessor_registered:
        return
    import pandas as pd

    @pd.api.extensions.register_dataframe_accessor("sentry")
    class SentryAccessor:
        """``frame.sentry.stats``: the tidy stats of the issues in a frame from sentry-ipy."""

        def __init__(self, frame: pd.DataFrame) -> None:
            self._frame = frame

        @property
        def stats(self) -> pd.DataFrame:
            rows = _STATS.rows(self._frame)
            if rows is None:
                raise AttributeError("this frame has no stats: only the issues frame a tool returned "
                                     "(not a copy of it) carries them; use "
                                     "sentry_ipy.frames.issue_stats(result.records) instead")
            return issue_stats(rows)

    _accessor_registered = True
