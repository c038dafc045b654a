"""Frames look the same on every pull: columns, order and dtypes fixed per kind, whatever the data."""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

from sentry_ipy import frames
from sentry_ipy.config import Settings
from sentry_ipy.tools import ToolContext, run_tool
from tests._sdk import sending_to


def _signature(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return [(c, str(t)) for c, t in frame.dtypes.items()]


@pytest.fixture(scope="module")
def real(local_server: Any) -> dict[str, list[dict[str, Any]]]:
    """Issue and event records as the embedded backend serves them (one pull each)."""
    ctx = ToolContext(Settings(), local_server=local_server)
    run_tool("sentry_create_project", {"name": "frames", "slug": "frames", "team": "local"}, ctx)
    with sending_to(local_server.dsn("frames")) as sdk:
        sdk.set_tag("cohort", "b")
        sdk.set_user({"id": "42", "username": "ada"})
        sdk.set_context("os", {"name": "Linux", "version": "6.1"})
        for level in ("error", "warning"):
            sdk.capture_message(f"frames probe {level}", level=level)
    try:
        issues = run_tool("sentry_list_issues", {"projectSlug": "frames", "query": ""}, ctx).records or []
        events = run_tool("sentry_list_issue_events", {"issueId": issues[0]["id"]}, ctx).records or []
        errors = run_tool("sentry_list_error_events_in_project", {"projectSlug": "frames"},
                          ctx).records or []
    finally:
        ctx.close()
    assert issues and events and errors
    return {"issues": issues, "events": events, "error_events": errors}


def _variants(row: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The same record as other servers and other days send it."""
    ints = copy.deepcopy(row)
    for key in ("count", "userCount"):
        if key in ints:
            ints[key] = int(ints[key])  # GlitchTip-style numbers instead of "42"
    sparse = {k: v for k, v in row.items() if k in ("id", "title")}  # most fields absent
    odd = copy.deepcopy(row)
    odd.update({"user": "someone", "project": None, "level": "catastrophic", "count": "n/a",
                "firstSeen": 1_700_000_000_000, "unknownField": {"a": 1}, "tags": {"release": "9"}})
    return [[row], [ints], [sparse], [odd], [row, sparse, odd], []]


@pytest.mark.parametrize("kind", ["issues", "events", "error_events"])
def test_every_shape_gives_the_same_columns_and_dtypes(real: dict[str, Any], kind: str) -> None:
    schema = frames.FRAMES[kind]
    want = [(name, dtype) for name, dtype in schema.fixed]
    for rows in _variants(real[kind][0]):
        frame = frames.to_frame(rows, kind)
        got = _signature(frame)
        assert got[:len(want)] == want, (kind, rows[:1])
        extra = got[len(want):]  # only the families may add columns: tags.* and contexts.*, as text
        assert all(c.startswith(("tags.", "contexts.")) and t == "string" for c, t in extra), extra
        assert [c for c, _ in extra] == sorted(c for c, _ in extra)
    both = pd.concat([frames.to_frame(real[kind], kind), frames.to_frame([], kind)])
    assert list(both.columns[:len(want)]) == [c for c, _ in want]


def test_values_are_typed_by_one_rule(real: dict[str, Any]) -> None:
    row = real["issues"][0]
    odd = {**row, "count": "n/a", "level": "catastrophic", "firstSeen": 1_700_000_000_000,
           "title": {"not": "text"}}
    frame = frames.to_frame([row, odd], "issues")
    assert frame["count"].tolist()[0] == int(row["count"]) and frame["count"].isna().tolist()[1]
    assert frame["lifetime.count"].dtype == "Int64"  # "42" in a nested object is a count too
    assert list(frame["level"].cat.categories[:5]) == list(frames.LEVELS)  # known first, then others
    assert "catastrophic" in frame["level"].cat.categories
    assert str(frame["firstSeen"][1]) == "2023-11-14 22:13:20+00:00"  # epoch ms, UTC
    assert frame["title"][1] == '{"not": "text"}'  # an object where text belongs: its JSON
    for column in ("level", "status", "substatus", "priority", "platform", "project.slug"):
        assert str(frame[column].dtype) == "category", column
    assert not any("stats" in c for c in frame.columns)


def test_events_frames_have_tags_user_and_contexts_as_columns(real: dict[str, Any]) -> None:
    for kind in ("events", "error_events"):
        frame = frames.to_frame(real[kind], kind)
        assert set(frame["tags.cohort"].dropna()) == {"b"}, kind  # a custom tag
        assert set(frame["user.id"].dropna()) == {"42"} and set(frame["user.username"]) == {"ada"}
        assert set(frame["contexts.os.name"]) == {"Linux"}, kind
        assert frame["tags.level"].dtype == "category"


def test_stats_are_a_tidy_companion_frame(real: dict[str, Any]) -> None:
    issues = frames.to_frame(real["issues"], "issues")
    stats = issues.sentry.stats
    assert _signature(stats) == [("issue", "string"), ("period", "category"),
                                 ("time", frames.DATETIME), ("count", "Int64")]
    assert set(stats["issue"]) == set(issues["id"])
    total = sum(n for r in real["issues"] for _, n in r["stats"]["24h"])
    assert int(stats["count"].sum()) == total
    with pytest.raises(AttributeError, match="no stats"):
        _ = issues.head(1).sentry.stats  # a copy has none: the function takes the records
    assert frames.issue_stats(real["issues"]).equals(stats)
