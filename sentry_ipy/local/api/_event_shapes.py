"""Serialise issues (groups) and events to Sentry JSON.

Events are rebuilt from the raw payload each time: the ``entries`` list
(exception, message, breadcrumbs, request, spans) uses the API's camelCase
frame keys, while tags are flattened to ``[{key, value}]`` pairs with the
indexed tags Sentry adds itself (level, environment, release...).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from .._clock import iso, now
from ..ingest._grouping import event_message, exception_values, short_id
from ..store._event_queries import daily_event_counts, event_neighbours, events_of_issue, issue_culprits
from ..store._issue_records import activities
from ..store._issue_updates import triage_of
from ..store._release_records import releases_by_version
from ..store._store import Store
from ._shapes import user_shape

__all__ = ["activity_shapes", "event_shape", "event_shapes", "event_tags", "hourly_stats", "issue_activity", "issue_detail_shape", "issue_shape",
           "issue_shapes", "issue_tag_values", "simple_event_shape", "tag_summary"]


def _project_ref(project: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(project["id"]),
        "name": project["name"],
        "slug": project["slug"],
        "platform": project["platform"],
    }


def hourly_stats(store: Store, issue_ids: list[int], hours: int = 24) -> dict[int, list[list[int]]]:
    """The ``stats["24h"]`` series of several issues, from one grouped query."""
    end = int(now() // 3600 + 1) * 3600
    start = end - hours * 3600
    series = {issue_id: [0] * hours for issue_id in issue_ids}
    for (issue_id, bucket), n in store.issue_event_buckets(issue_ids, start, end, 3600).items():
        if 0 <= bucket < hours and issue_id in series:
            series[issue_id][bucket] = n
    stamps = range(start, end, 3600)
    return {issue_id: [[t, n] for t, n in zip(stamps, counts, strict=True)] for issue_id, counts in series.items()}


_DERIVED = {
    "blocker": "none", "progress": "not_started", "status": "not_started", "viewCount": 0,
    "hasOpenFixPr": False, "isAssigned": False, "hasRootCause": False,
    "lastCompletedAutofixStep": "none", "lastProgressedAt": None,
}


def issue_shape(
    issue: dict[str, Any],
    project: dict[str, Any],
    store: Store,
    base_url: str,
    org_slug: str,
    expand: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Serialise one issue as issue lists return it (see :func:`issue_shapes`)."""
    return issue_shapes([issue], {project["id"]: project}, store, base_url, org_slug, expand)[0]


def issue_shapes(
    issues: list[dict[str, Any]],
    projects: dict[int, dict[str, Any]],
    store: Store,
    base_url: str,
    org_slug: str,
    expand: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Serialise a page of issues as issue lists return them (``count`` is a string).

    What each row needs beyond its own columns (the 24h stats, the triage fields)
    is read with one query per page, not per issue. ``projects`` maps each
    issue's ``project_id`` to its row. ``inbox`` is only present with
    ``expand=inbox``, as on sentry.io (the published schema marks it and
    ``owners`` required; we omit owners since the local backend has no ownership
    rules).
    """
    ids = [int(issue["id"]) for issue in issues]
    stats, triage = hourly_stats(store, ids), triage_of(store, ids)
    inbox = "inbox" in expand
    return [_issue(issue, projects[issue["project_id"]], base_url, org_slug, stats[issue_id], triage[issue_id], inbox)
            for issue, issue_id in zip(issues, ids, strict=True)]


def _issue(issue: dict[str, Any], project: dict[str, Any], base_url: str, org_slug: str,
           stats: list[list[int]], triage: dict[str, Any], inbox: bool) -> dict[str, Any]:
    user_count = int(issue["user_count"])
    metadata = issue["metadata"]
    if isinstance(metadata, str):
        metadata = json.loads(metadata)
    count = str(issue["times_seen"])
    first, last = iso(issue["first_seen"]), iso(issue["last_seen"])
    shape = {
        "id": str(issue["id"]),
        "shareId": None,
        "shortId": short_id(project["slug"], int(issue["short_seq"])),
        "title": issue["title"],
        "culprit": issue["culprit"],
        "permalink": f"{base_url}/organizations/{org_slug}/issues/{issue['id']}/",
        "logger": issue["logger"],
        "level": issue["level"],
        "status": issue["status"],
        "substatus": issue["substatus"],
        "isPublic": False,
        "platform": issue["platform"],
        "priority": "high" if issue["level"] in ("error", "fatal") else "medium",
        "priorityLockedAt": None,
        "seerFixabilityScore": None,
        "seerAutofixLastTriggered": None,
        "seerExplorerAutofixLastTriggered": None,
        "project": _project_ref(project),
        "type": issue["type"],
        "issueType": "error",
        "issueCategory": "error",
        "metadata": metadata,
        "numComments": 0,
        "isSubscribed": False,
        "subscriptionDetails": None,
        "annotations": [],
        "isUnhandled": bool(issue["is_unhandled"]),
        "count": count,
        "userCount": user_count,
        "firstSeen": first,
        "lastSeen": last,
        "derivedData": dict(_DERIVED),
        "stats": {"24h": stats},
        "lifetime": {"count": count, "userCount": user_count, "firstSeen": first, "lastSeen": last, "stats": None},
        "filtered": None,
        "sessionCount": 0,
        "integrationIssues": [],
        "sentryAppIssues": [],
        "latestEventHasAttachments": False,
        "matchingEventId": None,
        "matchingEventEnvironment": None,
    }
    shape.update(triage)
    if inbox and issue["status"] == "unresolved":
        shape["inbox"] = {
            "reason": 0,
            "reason_details": {"until": None, "count": None, "window": None, "user_count": None, "user_window": None},
            "date_added": first,
        }
    return shape


def _release_ref(store: Store, org_id: int, version: str | None) -> dict[str, Any] | None:
    if not version:
        return None
    release = store.release(org_id, version)
    if release is None:
        return None
    from ._shapes import release_shape

    return release_shape(release, store)


def issue_tag_values(store: Store, issue_id: int) -> dict[str, list[dict[str, Any]]]:
    """Every tag key of an issue's events with all its values, most frequent first.

    Each value is ``{key, name, value, count, firstSeen, lastSeen}`` (Sentry's
    tag value shape); the tags are those :func:`event_tags` gives each event.
    """
    rows = events_of_issue(store, issue_id, "payload, timestamp")
    counts: dict[str, Counter[str]] = {}
    seen: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        for tag in event_tags(json.loads(row["payload"])):
            counts.setdefault(tag["key"], Counter())[tag["value"]] += 1
            span = seen.setdefault((tag["key"], tag["value"]), [row["timestamp"], row["timestamp"]])
            span[0], span[1] = min(span[0], row["timestamp"]), max(span[1], row["timestamp"])
    return {
        key: [{"key": key, "name": value, "value": value, "count": n, "firstSeen": iso(seen[(key, value)][0]),
               "lastSeen": iso(seen[(key, value)][1])} for value, n in counts[key].most_common()]
        for key in sorted(counts)
    }


def tag_summary(key: str, values: list[dict[str, Any]]) -> dict[str, Any]:
    """One tag key of an issue: totals and its nine most frequent values."""
    return {"key": key, "name": key, "uniqueValues": len(values), "totalValues": sum(v["count"] for v in values),
            "topValues": values[:9]}


def _issue_tags(store: Store, issue_id: int) -> list[dict[str, Any]]:
    return [tag_summary(key, values) for key, values in issue_tag_values(store, issue_id).items()]


def activity_shapes(store: Store, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Activity rows (``issue_activity``) as Sentry's activity items; notes carry the API's one user."""
    # notes are written through the API, by its one user
    user = user_shape(store.orgs()[0]) if any(a["type"] == "note" for a in rows) else None
    return [{"id": str(a["id"]), "type": a["type"], "data": json.loads(a["data"]), "dateCreated": iso(a["date_created"]),
             "user": user if a["type"] == "note" else None} for a in rows]


def issue_activity(store: Store, issue: dict[str, Any]) -> list[dict[str, Any]]:
    """An issue's activity, newest first, ending with its ``first_seen``."""
    activity = activity_shapes(store, activities(store, int(issue["id"])))
    activity.append(
        {"id": f"{issue['id']}-first", "type": "first_seen", "data": {}, "dateCreated": iso(issue["first_seen"]), "user": None}
    )
    return activity


def issue_detail_shape(issue: dict[str, Any], project: dict[str, Any], store: Store, base_url: str, org_slug: str) -> dict[str, Any]:
    """Serialise one issue with activity, tags, releases and 24h/30d stats."""
    shape = issue_shape(issue, project, store, base_url, org_slug)
    for key in ("lifetime", "filtered", "sessionCount", "matchingEventId", "matchingEventEnvironment"):
        shape.pop(key, None)
    shape["owners"] = []
    shape["inbox"] = None
    shape["forecast"] = {}
    shape["stats"] = {"24h": shape["stats"]["24h"], "30d": _daily_stats(store, int(issue["id"]))}
    shape.update(
        {
            "activity": issue_activity(store, issue),
            "seenBy": [],
            "participants": [],
            "userReportCount": 0,
            "tags": _issue_tags(store, int(issue["id"])),
            "firstRelease": _release_ref(store, int(project["org_id"]), issue["first_release"]),
            "lastRelease": _release_ref(store, int(project["org_id"]), issue["last_release"]),
        }
    )
    return shape


def _daily_stats(store: Store, issue_id: int, days: int = 30) -> list[list[int]]:
    end = int(now() // 86400 + 1) * 86400
    start = end - days * 86400
    counts = daily_event_counts(store, issue_id, start)
    return [[start + i * 86400, counts.get(i, 0)] for i in range(days)]


def event_tags(payload: dict[str, Any]) -> list[dict[str, str]]:
    """Flatten payload tags plus Sentry's indexed tags into ``[{key, value}]``."""
    tags: dict[str, str] = {}
    raw = payload.get("tags")
    if isinstance(raw, dict):
        tags.update({str(k): str(v) for k, v in raw.items() if v is not None})
    elif isinstance(raw, list):
        for pair in raw:
            if isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[1] is not None:
                tags[str(pair[0])] = str(pair[1])
    for key in ("level", "environment", "release", "server_name", "transaction", "logger", "dist"):
        if payload.get(key) and key not in tags:
            tags[key] = str(payload[key])
    if payload.get("type") != "transaction" and "level" not in tags:
        tags["level"] = "error"
    values = exception_values(payload)
    mech = values[-1].get("mechanism") if values else None
    if isinstance(mech, dict):
        tags.setdefault("mechanism", str(mech.get("type") or "generic"))
        if mech.get("handled") is not None:
            tags.setdefault("handled", "yes" if mech.get("handled") else "no")
    user = payload.get("user")
    if isinstance(user, dict):
        for field in ("id", "email", "username", "ip_address"):
            if user.get(field):
                tags.setdefault("user", f"{field if field != 'ip_address' else 'ip'}:{user[field]}")
                break
    return [{"key": k, "value": v} for k, v in sorted(tags.items())]


def _user(payload: dict[str, Any]) -> dict[str, Any] | None:
    user = payload.get("user")
    if not isinstance(user, dict) or not user:
        return None
    return {
        "id": None if user.get("id") is None else str(user.get("id")),
        "email": user.get("email"),
        "username": user.get("username"),
        "ip_address": user.get("ip_address"),
        "name": user.get("name"),
        "geo": user.get("geo"),
        "data": user.get("data"),
    }


def simple_event_shape(row: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Serialise an event as event lists return it (no entries)."""
    return {
        "id": row["event_id"],
        "event.type": row["type"],
        "groupID": None if row["issue_id"] is None else str(row["issue_id"]),
        "eventID": row["event_id"],
        "projectID": str(row["project_id"]),
        "message": event_message(payload) or row["title"] or "",
        "title": row["title"] or "",
        "location": row["culprit"],
        "culprit": row["culprit"],
        "user": _user(payload),
        "tags": event_tags(payload),
        "platform": payload.get("platform") or "python",
        "dateCreated": iso(row["timestamp"]),
        "crashFile": None,
        "metadata": _event_metadata(payload, row),
    }


def _event_metadata(payload: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    values = exception_values(payload)
    if values:
        return {"type": values[-1].get("type"), "value": values[-1].get("value")}
    return {"title": row["title"] or ""}


def _frame(frame: dict[str, Any]) -> dict[str, Any]:
    lineno = frame.get("lineno")
    context: list[list[Any]] = []
    if isinstance(lineno, int):
        pre = list(frame.get("pre_context") or [])
        post = list(frame.get("post_context") or [])
        start = lineno - len(pre)
        context = [[start + i, line] for i, line in enumerate(pre)]
        if frame.get("context_line") is not None:
            context.append([lineno, frame["context_line"]])
        context += [[lineno + 1 + i, line] for i, line in enumerate(post)]
    return {
        "filename": frame.get("filename"),
        "absPath": frame.get("abs_path"),
        "module": frame.get("module"),
        "package": frame.get("package"),
        "platform": frame.get("platform"),
        "instructionAddr": frame.get("instruction_addr"),
        "symbolAddr": frame.get("symbol_addr"),
        "function": frame.get("function"),
        "rawFunction": frame.get("raw_function"),
        "symbol": frame.get("symbol"),
        "context": context,
        "lineNo": lineno,
        "colNo": frame.get("colno"),
        "inApp": bool(frame.get("in_app")),
        "trust": None,
        "errors": None,
        "lock": None,
        "sourceLink": None,
        "vars": frame.get("vars"),
    }


def _entries(payload: dict[str, Any]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    values = exception_values(payload)
    if values:
        out = []
        for value in values:
            stack = value.get("stacktrace") if isinstance(value.get("stacktrace"), dict) else None
            frames = [_frame(f) for f in (stack or {}).get("frames") or [] if isinstance(f, dict)]
            out.append(
                {
                    "type": value.get("type"),
                    "value": value.get("value"),
                    "module": value.get("module"),
                    "mechanism": value.get("mechanism"),
                    "threadId": value.get("thread_id"),
                    "rawStacktrace": None,
                    "stacktrace": None if stack is None else {
                        "frames": frames,
                        "framesOmitted": None,
                        "registers": None,
                        "hasSystemFrames": any(not f["inApp"] for f in frames),
                    },
                }
            )
        entries.append({"type": "exception", "data": {"values": out, "excOmitted": None, "hasSystemFrames": True}})
    message = event_message(payload)
    if message:
        logentry = raw_log if isinstance(raw_log := payload.get("logentry"), dict) else {}
        entries.append(
            {"type": "message", "data": {"formatted": message, "message": logentry.get("message"), "params": logentry.get("params")}}
        )
    crumbs = payload.get("breadcrumbs")
    crumb_values = crumbs.get("values") if isinstance(crumbs, dict) else crumbs
    if isinstance(crumb_values, list) and crumb_values:
        entries.append(
            {
                "type": "breadcrumbs",
                "data": {
                    "values": [
                        {
                            "type": c.get("type") or "default",
                            "category": c.get("category"),
                            "level": c.get("level") or "info",
                            "message": c.get("message"),
                            "data": c.get("data"),
                            "timestamp": iso(t) if isinstance(t := c.get("timestamp"), (int, float)) else t,
                            "event_id": None,
                        }
                        for c in crumb_values
                        if isinstance(c, dict)
                    ]
                },
            }
        )
    request = payload.get("request")
    if isinstance(request, dict):
        headers = request.get("headers")
        entries.append(
            {
                "type": "request",
                "data": {
                    "url": request.get("url"),
                    "method": request.get("method"),
                    "query": request.get("query_string"),
                    "data": request.get("data"),
                    "headers": sorted(headers.items()) if isinstance(headers, dict) else headers,
                    "cookies": request.get("cookies"),
                    "env": request.get("env"),
                    "fragment": request.get("fragment"),
                    "inferredContentType": None,
                },
            }
        )
    if payload.get("type") == "transaction":
        entries.append({"type": "spans", "data": payload.get("spans") or []})
    return entries


def event_shape(row: dict[str, Any], store: Store, org_id: int) -> dict[str, Any]:
    """Serialise one event in full (entries, contexts, neighbours, release)."""
    return event_shapes([row], store, org_id)[0]


def event_shapes(rows: list[dict[str, Any]], store: Store, org_id: int) -> list[dict[str, Any]]:
    """Serialise a page of events in full with a fixed number of queries for the whole page.

    Neighbours, issue culprits and releases are each read once for every row
    (:func:`event_neighbours`, :func:`issue_culprits`, :func:`releases_by_version`
    with :func:`event_release_shapes`), so a page of 100 costs what a page of 1
    does in statements; only the JSON decoding grows with the page.
    """
    from ._shapes import event_release_shapes

    neighbours = event_neighbours(store, rows)
    culprits = issue_culprits(store, sorted({int(r["issue_id"]) for r in rows if r["issue_id"]}))
    found = list(releases_by_version(store, org_id, sorted({str(r["release"]) for r in rows if r["release"]})).values())
    releases = {str(r["version"]): shape for r, shape in zip(found, event_release_shapes(found, store), strict=True)}
    return [_full_event(row, neighbours.get(int(row["id"]), (None, None)), culprits,
                        releases.get(row["release"]) if row["release"] else None) for row in rows]


def _full_event(row: dict[str, Any], neighbours: tuple[str | None, str | None], culprits: dict[int, str | None],
                release: dict[str, Any] | None) -> dict[str, Any]:
    payload = json.loads(row["payload"])
    shape = simple_event_shape(row, payload)
    shape.pop("event.type", None)
    next_id, prev_id = neighbours
    sdk = payload.get("sdk") if isinstance(payload.get("sdk"), dict) else None
    fingerprints = payload.get("fingerprint") if isinstance(payload.get("fingerprint"), list) else ["{{ default }}"]
    shape.update(
        {
            "type": row["type"],
            "dateReceived": iso(row["received"]),
            "contexts": payload.get("contexts") or {},
            "size": len(row["payload"]),
            "entries": _entries(payload),
            "dist": payload.get("dist"),
            "sdk": {"name": sdk.get("name"), "version": sdk.get("version")} if sdk else None,
            "context": payload.get("extra") or {},
            "packages": payload.get("modules") or {},
            "errors": [e for e in payload.get("errors") or [] if isinstance(e, dict)],
            "occurrence": None,
            "_meta": {},
            "fingerprints": [str(f) for f in fingerprints],
            "groupingConfig": {"id": "newstyle:2023-01-11", "enhancements": ""},
            "release": None if release is None else dict(release),
            "userReport": None,
            "sdkUpdates": [],
            "resolvedWith": [],
            "nextEventID": next_id,
            "previousEventID": prev_id,
            "environment": row["environment"],
        }
    )
    if row["type"] == "transaction":
        shape["startTimestamp"] = payload.get("start_timestamp") if isinstance(payload.get("start_timestamp"), (int, float)) else row["timestamp"]
        shape["endTimestamp"] = row["timestamp"]
        shape["measurements"] = payload.get("measurements")
        shape["breakdowns"] = None
    if row["issue_id"] and int(row["issue_id"]) in culprits:
        shape["culprit"] = culprits[int(row["issue_id"])]
    return shape
