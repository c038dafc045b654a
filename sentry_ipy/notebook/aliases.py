"""Short magic names: ``%sentry_<alias>`` runs the tool it maps to.

Kept as data here (not read from the registry) so ``%load_ext`` registers the
magics without importing the tool modules; ``tests/test_notebook.py`` checks this
table against each tool's ``alias``. ``%sentry_capture`` is a magic of its own
(a message, or the last exception), so its alias is not registered separately.
"""

from __future__ import annotations

__all__ = ["MAGIC_ALIASES"]

MAGIC_ALIASES: dict[str, str] = {
    "alert": "sentry_create_alert_rule",
    "breadcrumb": "sentry_add_breadcrumb",
    "capture": "sentry_capture_message",
    "capture_exception": "sentry_capture_exception",
    "capture_session": "sentry_capture_session",
    "context": "sentry_set_context",
    "create_release": "sentry_create_release",
    "end_session": "sentry_end_session",
    "event": "sentry_get_event",
    "events": "sentry_list_error_events_in_project",
    "file_errors": "sentry_search_errors_in_file",
    "finish_transaction": "sentry_finish_transaction",
    "health": "sentry_get_release_health",
    "issue": "sentry_get_issue",
    "issue_events": "sentry_list_issue_events",
    "issues": "sentry_list_issues",
    "notebook_health": "sentry_get_notebook_health",
    "notebook_runs": "sentry_list_notebook_runs",
    "projects": "sentry_list_projects",
    "release": "sentry_set_release",
    "trace": "sentry_get_trace",
    "note": "sentry_add_issue_note",
    "activity": "sentry_list_issue_activity",
    "tag_values": "sentry_get_issue_tag_values",
    "releases": "sentry_list_releases",
    "replays": "sentry_list_organization_replays",
    "setup": "sentry_setup_project",
    "shortid": "sentry_resolve_short_id",
    "start_session": "sentry_start_session",
    "start_transaction": "sentry_start_transaction",
    "stats": "sentry_get_organization_stats",
    "status": "sentry_delivery_status",
    "tag": "sentry_set_tag",
    "teams": "sentry_list_teams",
    "update_issue": "sentry_update_issue",
    "user": "sentry_set_user",
    "whoami": "sentry_whoami",
}
