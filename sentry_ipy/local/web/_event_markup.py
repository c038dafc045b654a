"""Render issues and events (as the API serialises them) to HTML fragments.

The pages take the exact JSON the ``/api/0/`` handlers return, so what a user
sees in the browser is what the tools read; nothing here queries the store.
Every value goes through :mod:`._markup`, which escapes it.
"""

from __future__ import annotations

from typing import Any

from ._markup import (
    Html,
    dl,
    esc,
    external,
    join,
    link,
    pre,
    section,
    segment,
    table,
    tag,
    when,
)

__all__ = ["event_body", "issue_facts", "issue_tags", "level_badge"]


def level_badge(level: Any) -> Html:
    """A coloured badge for an event or issue level."""
    return tag("span", level or "—", class_=f"badge {level or ''}".strip())


def issue_facts(issue: dict[str, Any], base: str) -> Html:
    """The key facts of an issue: status, counts, first/last seen, releases."""
    project = issue.get("project") or {}
    first, last = issue.get("firstRelease") or {}, issue.get("lastRelease") or {}

    def release(ref: dict[str, Any]) -> Html | None:
        version = ref.get("version")
        return link(f"{base}releases/{segment(version)}/", version) if version else None

    return dl([
        ("Short ID", issue.get("shortId")),
        ("Project", link(f"{base}issues/?project={segment(project.get('id'))}", project.get("slug"))
         if project else None),
        ("Status", f"{issue.get('status')} ({issue.get('substatus') or '—'})"),
        ("Level", level_badge(issue.get("level"))),
        ("Culprit", issue.get("culprit")),
        ("Events", issue.get("count")),
        ("Users", issue.get("userCount")),
        ("First seen", when(issue.get("firstSeen"))),
        ("Last seen", when(issue.get("lastSeen"))),
        ("First release", release(first)),
        ("Last release", release(last)),
        ("Unhandled", "yes" if issue.get("isUnhandled") else None),
    ])


def issue_tags(tags: list[dict[str, Any]]) -> Html:
    """Tag keys with their most common values and counts."""
    rows = [
        (t.get("key"), join((f"{v.get('value')} ({v.get('count')})" for v in t.get("topValues") or []), ", "),
         t.get("totalValues"))
        for t in tags
    ]
    return table(("Tag", "Top values", "Events"), rows, empty="No tags.")


def _frame(frame: dict[str, Any]) -> Html:
    where = frame.get("filename") or frame.get("absPath") or frame.get("module") or "?"
    summary = tag("summary", f"{where} in {frame.get('function') or '?'} at line {frame.get('lineNo') or '?'}",
                  " ", tag("span", "(in app)" if frame.get("inApp") else "", class_="muted"))
    lines = [
        tag("li", tag("span", number, class_="ln"), line or "",
            class_="hit" if number == frame.get("lineNo") else None)
        for number, line in frame.get("context") or []
    ]
    body = [tag("ol", *lines)] if lines else []
    if frame.get("vars"):
        body.append(pre(frame["vars"]))
    css = "frame app" if frame.get("inApp") else "frame"
    return tag("details", summary, *body, class_=css, open="" if frame.get("inApp") else None)


def _exception(data: dict[str, Any]) -> Html:
    parts = []
    for value in data.get("values") or []:
        mechanism = value.get("mechanism") or {}
        handled = mechanism.get("handled")
        heading = tag("h3", f"{value.get('type') or 'Error'}: {value.get('value') or ''}")
        note = tag("p", f"mechanism {mechanism.get('type') or 'generic'}, "
                        f"{'handled' if handled else 'unhandled' if handled is False else 'handled: unknown'}",
                   class_="muted") if mechanism else Html("")
        frames = ((value.get("stacktrace") or {}).get("frames") or [])[::-1]  # most recent call first
        parts.append(Html(heading + note + join(_frame(f) for f in frames)))
    return section("Exception (most recent call first)", *parts)


def _breadcrumbs(data: dict[str, Any]) -> Html:
    rows = [
        (when(c.get("timestamp")), c.get("category") or c.get("type"), level_badge(c.get("level")),
         c.get("message") or "", pre(c["data"]) if c.get("data") else "")
        for c in data.get("values") or []
    ]
    return section("Breadcrumbs", table(("Time", "Category", "Level", "Message", "Data"), rows))


def _request(data: dict[str, Any]) -> Html:
    headers = data.get("headers") or []
    return section("Request", dl([
        ("URL", join([data.get("method") or "", " " if data.get("method") and data.get("url") else "",
                      external(data["url"]) if data.get("url") else ""])),
        ("Query", data.get("query")),
        ("Body", pre(data["data"]) if data.get("data") else None),
        ("Headers", table(("Header", "Value"), headers) if headers else None),
    ]))


def _entries(entries: list[dict[str, Any]]) -> list[Html]:
    out = []
    for entry in entries:
        kind, data = entry.get("type"), entry.get("data")
        if kind == "exception" and isinstance(data, dict):
            out.append(_exception(data))
        elif kind == "message" and isinstance(data, dict):
            out.append(section("Message", pre(data.get("formatted") or data.get("message") or "")))
        elif kind == "breadcrumbs" and isinstance(data, dict):
            out.append(_breadcrumbs(data))
        elif kind == "request" and isinstance(data, dict):
            out.append(_request(data))
        elif kind == "spans" and isinstance(data, list):
            rows = [(s.get("op"), s.get("description"), s.get("span_id")) for s in data if isinstance(s, dict)]
            out.append(section("Spans", table(("Op", "Description", "Span ID"), rows)))
    return out


def event_body(event: dict[str, Any], base: str) -> Html:
    """One event in full: facts, entries (stack trace, message, breadcrumbs), user, tags, contexts.

    Args:
        event: the JSON of ``GET .../events/{id}/`` (``event_shape``).
        base: ``/organizations/{org}/``, for links to releases and issues.
    """
    release = (event.get("release") or {}).get("version")
    sdk = event.get("sdk") or {}
    facts = dl([
        ("Event ID", event.get("eventID")),
        ("Date", when(event.get("dateCreated"))),
        ("Received", when(event.get("dateReceived"))),
        ("Release", link(f"{base}releases/{segment(release)}/", release) if release else None),
        ("Environment", event.get("environment")),
        ("Location", event.get("location")),
        ("Platform", event.get("platform")),
        ("SDK", f"{sdk.get('name')} {sdk.get('version')}" if sdk else None),
        ("Fingerprint", ", ".join(event.get("fingerprints") or [])),
    ])
    parts: list[Html] = [facts, *_entries(event.get("entries") or [])]
    user = {k: v for k, v in (event.get("user") or {}).items() if v not in (None, "", {}, [])}
    if user:
        parts.append(section("User", dl(sorted(user.items()))))
    tags = [(t.get("key"), t.get("value")) for t in event.get("tags") or []]
    parts.append(section("Tags", table(("Tag", "Value"), tags, empty="No tags.")))
    contexts = event.get("contexts") or {}
    if contexts:
        parts.append(section("Contexts", dl((name, pre(value)) for name, value in sorted(contexts.items()))))
    if event.get("context"):
        parts.append(section("Additional data", pre(event["context"])))
    return esc(join(parts))
