"""Issue sub-resources and what users attach to events: tags, activity, notes, user reports, attachments.

Tags are counted from the issue's stored events (the same tags an event
shows); activity is what the API and ingest recorded; notes are activity of
type ``note`` written through ``POST …/notes/``; user reports come from the
``user_report`` envelope item or ``POST projects/{o}/{p}/user-feedback/``;
attachments from ``attachment`` envelope items, kept byte for byte.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .._clock import iso
from ..ingest._pipeline import normalise_event_id
from ..store import _issue_records as records
from ..store._store import as_db_id
from ._event_shapes import activity_shapes, issue_activity, issue_tag_values, tag_summary
from ._issues_api import find_issue
from ._plumbing import (
    NOT_FOUND,
    ApiError,
    ctx,
    get_org,
    get_project,
    keyset_list,
    paginate,
    read_json_body,
    respond,
)

__all__ = ["routes", "user_report_shape"]


def _issue(request: Request) -> dict[str, Any]:
    issue, _ = find_issue(ctx(request), get_org(request), request.path_params["issue"])
    return issue


def list_tags(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/tags/``: every tag key with its top values."""
    issue = _issue(request)
    values = issue_tag_values(ctx(request).store, int(issue["id"]))
    return respond([tag_summary(k, v) for k, v in values.items()])


def _tag_values(request: Request) -> tuple[str, list[dict[str, Any]]]:
    issue, key = _issue(request), request.path_params["key"]
    values = issue_tag_values(ctx(request).store, int(issue["id"])).get(key)
    if values is None:
        raise ApiError(404, "Tag key not found.")
    return key, values


def get_tag(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/tags/{key}/``: totals and the nine most frequent values."""
    return respond(tag_summary(*_tag_values(request)))


def list_tag_values(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/tags/{key}/values/``: every value, most frequent first."""
    return paginate(request, _tag_values(request)[1])


def list_activities(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/activities/``: ``{"activity": [...]}``, newest first."""
    return respond({"activity": issue_activity(ctx(request).store, _issue(request))})


def list_notes(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/notes/``: the issue's notes, newest first."""
    store = ctx(request).store
    return keyset_list(request, records.note_rows(store, int(_issue(request)["id"])),
                       lambda rows: activity_shapes(store, rows))


def create_note(request: Request) -> JSONResponse:
    """``POST organizations/{o}/issues/{id}/notes/`` with ``{"text"}``: 201 with the note."""
    issue = _issue(request)
    body = read_json_body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, {"text": ["This field is required."]})
    row = records.add_activity(ctx(request).store, int(issue["id"]), "note", {"text": text})
    note = next(a for a in issue_activity(ctx(request).store, issue) if a["id"] == str(row["id"]))
    return respond(note, status=201)


def user_report_shape(row: dict[str, Any]) -> dict[str, Any]:
    """Serialise a user report as Sentry's ``UserReportSerializer`` does (no linked user here)."""
    return {"id": str(row["id"]), "eventID": row["event_id"], "name": row["name"] or "", "email": row["email"] or "",
            "comments": row["comments"], "dateCreated": iso(row["date_created"]), "user": None,
            "event": {"id": row["event_id"], "eventID": row["event_id"]},
            "issue": None if row["issue_id"] is None else {"id": str(row["issue_id"])}}


def _report_shapes(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [user_report_shape(r) for r in rows]


def issue_user_reports(request: Request) -> JSONResponse:
    """``GET organizations/{o}/issues/{id}/user-reports/``: reports on the issue's events."""
    issue = _issue(request)
    rows = records.user_report_rows(ctx(request).store, [int(issue["project_id"])], int(issue["id"]))
    return keyset_list(request, rows, _report_shapes)


def project_user_reports(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/user-feedback/``."""
    project = get_project(request)
    return keyset_list(request, records.user_report_rows(ctx(request).store, [int(project["id"])]), _report_shapes)


def create_user_report(request: Request) -> JSONResponse:
    """``POST projects/{o}/{p}/user-feedback/`` with ``event_id``, ``name``, ``email``, ``comments``."""
    c, project = ctx(request), get_project(request)
    body = read_json_body(request)
    errors: dict[str, list[str]] = {}
    for field in ("event_id", "comments"):
        if not isinstance(body.get(field), str) or not body[field].strip():
            errors[field] = ["This field is required."]
    for field in ("name", "email"):
        if body.get(field) is not None and not isinstance(body[field], str):
            errors[field] = ["Not a valid string."]
    if errors:
        raise ApiError(400, errors)
    row = records.add_user_report(c.store, int(project["id"]), normalise_event_id(body["event_id"]),
                                  body.get("name"), body.get("email"), body["comments"])
    shaped = records.user_report(c.store, int(row["id"]))
    assert shaped is not None
    return respond(user_report_shape(shaped))


def _attachment_shape(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(row["id"]), "event_id": row["event_id"], "type": row["type"], "name": row["name"],
            "mimetype": row["content_type"], "dateCreated": iso(row["date_created"]), "size": row["size"],
            "headers": {"Content-Type": row["content_type"] or "application/octet-stream"}, "sha1": row["sha1"]}


def list_attachments(request: Request) -> JSONResponse:
    """``GET projects/{o}/{p}/events/{event_id}/attachments/``."""
    project = get_project(request)
    event_id = request.path_params["event"].replace("-", "").lower()
    rows = records.attachments(ctx(request).store, int(project["id"]), event_id)
    return paginate(request, [_attachment_shape(r) for r in rows])


def get_attachment(request: Request) -> Response:
    """``GET …/attachments/{id}/``: its description, or its bytes with ``?download=1``."""
    project = get_project(request)
    event_id = request.path_params["event"].replace("-", "").lower()
    ident = as_db_id(request.path_params["attachment"])
    row = None if ident is None else records.attachment_data(ctx(request).store, int(project["id"]), event_id, ident)
    if row is None:
        raise ApiError(404, NOT_FOUND)
    if request.query_params.get("download") not in (None, "", "0", "false"):
        return Response(bytes(row["data"]), media_type=row["content_type"] or "application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{row["name"]}"'})
    return respond(_attachment_shape(row))


_ISSUE = "/organizations/{org}/issues/{issue}"
routes = [
    Route(_ISSUE + "/tags/", list_tags, methods=["GET"]),
    Route(_ISSUE + "/tags/{key}/", get_tag, methods=["GET"]),
    Route(_ISSUE + "/tags/{key}/values/", list_tag_values, methods=["GET"]),
    Route(_ISSUE + "/activities/", list_activities, methods=["GET"]),
    Route(_ISSUE + "/notes/", list_notes, methods=["GET"]),
    Route(_ISSUE + "/notes/", create_note, methods=["POST"]),
    Route(_ISSUE + "/user-reports/", issue_user_reports, methods=["GET"]),
    Route("/projects/{org}/{project}/user-feedback/", project_user_reports, methods=["GET"]),
    Route("/projects/{org}/{project}/user-feedback/", create_user_report, methods=["POST"]),
    Route("/projects/{org}/{project}/events/{event}/attachments/", list_attachments, methods=["GET"]),
    Route("/projects/{org}/{project}/events/{event}/attachments/{attachment}/", get_attachment, methods=["GET"]),
]
