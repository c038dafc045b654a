"""Replay handlers: aggregate ``replay_event`` segments into replay records."""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .._clock import iso, parse_timestamp
from ..search._query import (
    And,
    Term,
    match_any,
    match_date,
    match_number,
    parse_query,
    validate_values,
)
from ..store._lookups import replay_segments, replays_by_issue
from ..store._store import as_db_id
from ._plumbing import (
    NOT_FOUND,
    ApiError,
    Context,
    bool_param,
    ctx,
    get_org,
    paginate,
    project_filter,
    respond,
    window,
)

__all__ = ["replay_detail", "replay_list", "replay_shape", "routes"]

_SORT_KEYS = {"started_at", "finished_at", "duration", "count_errors", "count_urls", "count_segments"}
_NUMBER_KEYS = frozenset({"duration", "count_errors", "count_urls", "count_segments",
                          "count_dead_clicks", "count_rage_clicks", "error_count"})
_DATE_KEYS = frozenset({"started_at", "finished_at"})


def _ctx(payload: dict[str, Any], name: str) -> dict[str, Any]:
    contexts = payload.get("contexts")
    value = contexts.get(name) if isinstance(contexts, dict) else None
    return value if isinstance(value, dict) else {}


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v is not None and v not in seen:
            seen.append(v)
    return seen


def replay_shape(replay_id: str, project_id: int, segments: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold the segments of one replay into Sentry's replay record."""
    payloads = [json.loads(s["payload"]) for s in segments]
    first = payloads[0]
    starts = [parse_timestamp(p.get("replay_start_timestamp")) or s["timestamp"] for p, s in zip(payloads, segments, strict=True)]
    ends = [s["timestamp"] for s in segments]
    started, finished = min(starts), max(ends)
    user: dict[str, Any] = next((p["user"] for p in payloads if isinstance(p.get("user"), dict)), {})
    browser, os_, device = _ctx(first, "browser"), _ctx(first, "os"), _ctx(first, "device")
    sdk = first.get("sdk") if isinstance(first.get("sdk"), dict) else {}
    urls = [u for p in payloads for u in (p.get("urls") or [])]
    errors = _unique([e for p in payloads for e in (p.get("error_ids") or [])])
    tags: dict[str, list[str]] = {}
    for p in payloads:
        raw = p.get("tags")
        items = raw.items() if isinstance(raw, dict) else (raw if isinstance(raw, list) else [])
        for k, v in items:
            tags.setdefault(str(k), [])
            if str(v) not in tags[str(k)]:
                tags[str(k)].append(str(v))
    return {
        "id": replay_id,
        "project_id": str(project_id),
        "started_at": iso(started),
        "finished_at": iso(finished),
        "duration": int(round(finished - started)),
        "count_errors": len(errors),
        "count_warnings": 0,
        "count_infos": 0,
        "count_rage_clicks": 0,
        "count_dead_clicks": 0,
        "count_urls": len(urls),
        "count_segments": len(segments),
        "urls": urls,
        "error_ids": errors,
        "trace_ids": _unique([t for p in payloads for t in (p.get("trace_ids") or [])]),
        "releases": _unique([p.get("release") for p in payloads]),
        "environment": first.get("environment"),
        "platform": first.get("platform") or "javascript",
        "dist": first.get("dist"),
        "user": {
            "id": user.get("id"), "username": user.get("username"), "email": user.get("email"),
            "ip": user.get("ip_address"),
            "display_name": user.get("username") or user.get("email") or user.get("id") or user.get("ip_address"),
            "geo": user.get("geo") or {},
        },
        "browser": {"name": browser.get("name"), "version": browser.get("version")},
        "os": {"name": os_.get("name"), "version": os_.get("version")},
        "device": {"name": device.get("name"), "brand": device.get("brand"),
                   "model": device.get("model"), "family": device.get("family")},
        "sdk": {"name": sdk.get("name"), "version": sdk.get("version")},
        "ota_updates": {"channel": None, "runtime_version": None, "update_id": None},
        "tags": tags,
        "is_archived": False,
        "has_viewed": False,
        "replay_type": first.get("replay_type") or "session",
        "activity": min(10, 1 + len(errors) * 2 + len(urls) // 5),
        "clicks": [],
        "info_ids": [],
        "warning_ids": [],
    }


def _replays(c: Context, project_ids: list[int], replay_id: str | None = None) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in replay_segments(c.store, project_ids, replay_id):
        grouped.setdefault((row["replay_id"], row["project_id"]), []).append(row)
    return [replay_shape(rid, pid, segs) for (rid, pid), segs in grouped.items()]


def _matches(term: Term, value: Any) -> bool:
    if term.key in _NUMBER_KEYS:
        return match_number(term, value)
    if term.key in _DATE_KEYS:
        return match_date(term, parse_timestamp(value))
    return match_any(term, value if isinstance(value, list) else [value])


def replay_list(c: Context, project_ids: list[int], *, start: float | None, end: float | None,
                environment: str | None = None, query: str | None = None, sort: str = "-started_at",
                fields: list[str] | None = None) -> list[dict[str, Any]]:
    """The replays of the projects overlapping ``start``..``end``, filtered by ``query``, sorted by ``sort``."""
    items = [
        r for r in _replays(c, project_ids)
        if (start is None or (parse_timestamp(r["finished_at"]) or 0) >= start)
        and (end is None or (parse_timestamp(r["started_at"]) or 0) <= end)
    ]
    if environment:
        items = [r for r in items if r["environment"] == environment]
    terms = parse_query(query)
    validate_values(And(tuple(terms)), _NUMBER_KEYS, _DATE_KEYS)
    for term in terms:
        if term.key is None:
            text = term.value.lower()
            items = [r for r in items if text in json.dumps(r).lower()]
        else:
            path = term.key.split(".")

            def value(r: dict[str, Any], path: list[str] = path) -> Any:
                cur: Any = r
                for part in path:
                    cur = cur.get(part) if isinstance(cur, dict) else None
                return cur

            items = [r for r in items if _matches(term, value(r))]
    key = sort.lstrip("-")
    if key not in _SORT_KEYS:
        raise ApiError(400, f"Invalid sort field {key!r}.")
    items.sort(key=lambda r: (r[key] is not None, r[key]), reverse=sort.startswith("-"))
    if fields:
        items = [{k: v for k, v in r.items() if k in fields or k == "id"} for r in items]
    return items


def list_replays(request: Request) -> JSONResponse:
    """``GET organizations/{o}/replays/``: ``{data:[...]}`` with period, query, sort."""
    org = get_org(request)
    start, end = window(request, "14d")
    params = request.query_params
    items = replay_list(ctx(request), [p["id"] for p in project_filter(request, org)], start=start, end=end,
                        environment=params.get("environment"), query=params.get("query"),
                        sort=params.get("sort") or params.get("sortBy") or params.get("orderBy") or "-started_at",
                        fields=params.getlist("field"))
    return paginate(request, items, wrap="data", default_size=50)


def replay_detail(c: Context, project_ids: list[int], ident: str) -> dict[str, Any]:
    """The replay of these projects with this ID (dashes ignored) as one record; 404 otherwise."""
    wanted = ident.replace("-", "").lower()
    for replay in _replays(c, project_ids, wanted):
        if replay["id"] == wanted:
            return replay
    raise ApiError(404, NOT_FOUND)


def get_replay(request: Request) -> JSONResponse:
    """``GET organizations/{o}/replays/{id}/`` (dashes in the ID are ignored)."""
    org = get_org(request)
    pids = [p["id"] for p in project_filter(request, org)]
    return respond({"data": replay_detail(ctx(request), pids, request.path_params["replay"])})


def replay_count(request: Request) -> JSONResponse:
    """``GET organizations/{o}/replay-count/?query=issue.id:[1,2]``: replays per issue.

    ``returnIds=true`` gives the replay IDs instead of counts; issues without
    replays are left out, as Sentry does.
    """
    org = get_org(request)
    query = request.query_params.get("query") or ""
    match = re.fullmatch(r"\s*issue\.id:\[?([0-9,\s]*)\]?\s*", query)
    if match is None:
        raise ApiError(400, "Query must be issue.id:[ID, ...]: the local server counts replays per issue.")
    ids = [int(i) for i in re.findall(r"[0-9]+", match.group(1)) if as_db_id(i) is not None]
    found = replays_by_issue(ctx(request).store, int(org["id"]), ids)
    if bool_param(request, "returnIds"):
        return respond({str(k): v for k, v in found.items()})
    return respond({str(k): len(v) for k, v in found.items()})


routes = [
    Route("/organizations/{org}/replay-count/", replay_count, methods=["GET"]),
    Route("/organizations/{org}/replays/", list_replays, methods=["GET"]),
    Route("/organizations/{org}/replays/{replay}/", get_replay, methods=["GET"]),
]
