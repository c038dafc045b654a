"""Issue alerts through the workflows API, falling back to the legacy rules API, then to the
project alerts API of Sentry-compatible servers (GlitchTip).

The seed posted to ``/projects/{o}/{p}/rules/`` (deprecated, dropped from the
public schema in 2026). Current Sentry creates a *workflow* linked to the
project's ``issue_stream`` detector. Callers may still write conditions and
actions the legacy way (``sentry.rules.conditions.first_seen_event.
FirstSeenEventCondition``, ``sentry.mail.actions.NotifyEmailAction``) or the
new way (``first_seen_event``, ``email``); both are read into one canonical
form and rendered for whichever API the server has.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ..errors import NotFoundError, ToolInputError, UnexpectedResponseError, UnsupportedFeatureError
from ._context import ToolContext
from ._lookup import project_info
from ._params import Number, Params, environment_field, project_field
from ._registry import tool
from ._result import ToolResult

__all__ = ["ACTION_TYPES", "CONDITION_TYPES", "LEGACY_ACTIONS", "AlertRuleParams", "alerts_body",
           "canonical_actions", "canonical_conditions", "legacy_body", "workflow_body"]

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): admin.
PURPOSE = "admin"

_COND = "sentry.rules.conditions."
#: Legacy condition IDs and their workflow types.
LEGACY_CONDITIONS = {
    _COND + "first_seen_event.FirstSeenEventCondition": "first_seen_event",
    _COND + "regression_event.RegressionEventCondition": "regression_event",
    _COND + "reappeared_event.ReappearedEventCondition": "reappeared_event",
    _COND + "event_frequency.EventFrequencyCondition": "event_frequency_count",
    _COND + "event_frequency.EventUniqueUserFrequencyCondition": "event_unique_user_frequency_count",
    _COND + "event_frequency.EventFrequencyPercentCondition": "event_frequency_percent",
}
_LEGACY_BY_TYPE = {v: k for k, v in LEGACY_CONDITIONS.items()}
#: Conditions that start a workflow (the rest filter before actions run).
TRIGGERS = frozenset({"first_seen_event", "regression_event", "reappeared_event",
                      "issue_resolved_trigger"})
#: Every condition type an issue workflow takes (Sentry's ``Condition`` enum, issue-alert part).
#: A typo ("first_seen") would otherwise be sent on and fail, or worse, match nothing.
CONDITION_TYPES = TRIGGERS | frozenset({
    "event_frequency_count", "event_frequency_percent", "event_unique_user_frequency_count",
    "event_unique_user_frequency_percent", "age_comparison", "assigned_to", "event_attribute",
    "tagged_event", "latest_release", "latest_adopted_release", "level", "issue_occurrences",
    "issue_category", "issue_priority_equals", "issue_priority_greater_or_equal",
    "issue_priority_deescalating", "existing_high_priority_issue", "new_high_priority_issue"})
#: Workflow action types (Sentry's ``Action.Type``).
ACTION_TYPES = frozenset({"email", "slack", "msteams", "discord", "pagerduty", "opsgenie", "github",
                          "github_enterprise", "jira", "jira_server", "vsts", "sentry_app",
                          "plugin", "webhook"})
EMAIL_ACTION = "sentry.mail.actions.NotifyEmailAction"
_INT = "sentry.integrations."
#: Legacy rule action IDs, passed through as written to the rules API.
LEGACY_ACTIONS = frozenset({
    EMAIL_ACTION, "sentry.rules.actions.notify_event.NotifyEventAction",
    "sentry.rules.actions.notify_event_service.NotifyEventServiceAction",
    "sentry.rules.actions.notify_event_sentry_app.NotifyEventSentryAppAction",
    _INT + "slack.notify_action.SlackNotifyServiceAction",
    _INT + "msteams.notify_action.MsTeamsNotifyServiceAction",
    _INT + "discord.notify_action.DiscordNotifyServiceAction",
    _INT + "pagerduty.notify_action.PagerDutyNotifyServiceAction",
    _INT + "opsgenie.notify_action.OpsgenieNotifyTeamAction",
    _INT + "jira.notify_action.JiraCreateTicketAction",
    _INT + "jira_server.notify_action.JiraServerCreateTicketAction",
    _INT + "github.notify_action.GitHubCreateTicketAction",
    _INT + "github_enterprise.notify_action.GitHubEnterpriseCreateTicketAction",
    _INT + "vsts.notify_action.AzureDevopsCreateTicketAction"})
_TARGETS = {"IssueOwners": "issue_owners", "Team": "team", "Member": "user"}
_LEGACY_TARGETS = {v: k for k, v in _TARGETS.items()}
#: Frequencies (minutes) the workflows UI offers; a request is snapped to the nearest.
WORKFLOW_FREQUENCIES = (5, 10, 30, 60, 180, 720, 1440)


class AlertRuleParams(Params):
    projectSlug: str = project_field()
    name: str
    conditions: list[Any] | None = Field(
        None, description="first_seen_event (default), regression_event, reappeared_event "
                          "or legacy objects")
    actions: list[Any] | None = Field(
        None, description="'email' (issue owners; default), {'type':'email','targetType':'team',"
                          "'targetIdentifier':'12'} or legacy objects")
    frequency: Number = Field(30, ge=5, le=43200, description="Minutes between notifications")
    actionMatch: Literal["all", "any", "none"] = "any"
    environment: str | None = environment_field()


@tool("sentry_create_alert_rule", title="Create alert rule", read_only=False, alias="alert")
def create_alert_rule(ctx: ToolContext, p: AlertRuleParams) -> ToolResult:
    """Create an issue alert (default: email issue owners on each new issue).

    E.g. {"projectSlug":"backend","name":"New issues"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    conditions = canonical_conditions(p.conditions or ["first_seen_event"])
    actions = canonical_actions(p.actions or ["email"])
    note = ""
    api = "workflows"
    created: dict[str, Any] | None = None
    features = client.features
    if not features.lacks("workflows"):
        try:
            detectors = client.get_rows("organizations", client.org, "detectors",
                                        params={"project": project["id"],
                                                "query": "type:issue_stream"},
                                        scope="alerts:read")
            stream = next((d for d in detectors if d.get("type") == "issue_stream"), None)
            if stream is None:
                note = " (the project has no issue_stream detector, so the legacy rules API was used)"
            else:
                body, snapped = workflow_body(p, conditions, actions, _detector_id(client, stream))
                _, created = client.post_object("organizations", client.org, "workflows",
                                                json=body, scope="alerts:write")
                if snapped != p.frequency:
                    note = f" (frequency {p.frequency} min is not offered by workflows; used {snapped})"
        except (NotFoundError, UnsupportedFeatureError):
            features.learn_missing("workflows")
    if created is None and not features.lacks("rules"):
        api = "rules"
        note = note or " (this server has no workflows API, so the legacy rules API was used)"
        try:
            _, created = client.post_object("projects", client.org, project["slug"], "rules",
                                            json=legacy_body(p, conditions, actions),
                                            scope="alerts:write")
        except (NotFoundError, UnsupportedFeatureError):
            features.learn_missing("rules")
    if created is None:
        api = "alerts"
        body, note = alerts_body(p, conditions, actions)
        try:
            _, created = client.post_object("projects", client.org, project["slug"], "alerts",
                                            json=body, scope="alerts:write")
        except (NotFoundError, UnsupportedFeatureError) as exc:
            cause = exc if isinstance(exc, UnsupportedFeatureError) else None
            raise features.missing("issue alert API (neither workflows, rules nor project alerts)",
                                   cause) from None
    rule_id = created.get("id")
    link = {"workflows": client.web_link(f"issues/automations/{rule_id}/"),
            "rules": client.web_link(f"alerts/rules/{project['slug']}/{rule_id}/details/"),
            "alerts": client.web_link(f"settings/projects/{project['slug']}/alerts/")}[api]
    what = ", ".join(c["type"] for c in conditions)
    to = ", ".join(f"{a['type']} to {a.get('targetType') or 'target'}" for a in actions)
    return ToolResult(
        summary=f"Created alert {p.name!r} (ID {rule_id}, {api} API) for project "
                f"{project['slug']!r}: when {what}, {to}{note}.",
        data={"id": rule_id, "name": p.name, "api": api, "project": project["slug"],
              "conditions": conditions, "actions": actions, "response": created},
        columns=("id", "name", "api", "project", "conditions", "actions"),
        links={"Alert": link})


def _detector_id(client: Any, stream: dict[str, Any]) -> int:
    """The issue_stream detector's numeric ID, or a sentence when Sentry sent something else."""
    value = stream.get("id")
    if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value).isdigit():
        return int(value)
    raise UnexpectedResponseError(f"Sentry listed an issue_stream detector with ID {value!r}, which "
                                  "is not a number; check that SENTRY_URL is a Sentry server.",
                                  status=200, url=client.url("organizations", client.org, "detectors"))


def canonical_conditions(items: list[Any]) -> list[dict[str, Any]]:
    """Read legacy or short-form conditions as ``{"type", "comparison"}`` dicts."""
    out = []
    for item in items:
        spec = {"id": item} if isinstance(item, str) and "." in item else (
            {"type": item} if isinstance(item, str) else item)
        if not isinstance(spec, dict):
            raise ToolInputError(f"Alert condition {item!r} must be a name or an object.")
        extras = {k: v for k, v in spec.items() if k not in ("id", "type", "name", "comparison",
                                                             "conditionResult")}
        if "id" in spec and "type" not in spec:
            kind = LEGACY_CONDITIONS.get(str(spec["id"]))
            if kind is None:
                raise ToolInputError(f"Unknown alert condition {spec['id']!r}; known: "
                                     f"{', '.join(sorted(_LEGACY_BY_TYPE))} or their legacy IDs.")
        else:
            kind = str(spec.get("type") or "")
            if kind not in CONDITION_TYPES:
                raise ToolInputError(f"Alert condition {item!r} needs a 'type' out of "
                                     f"{', '.join(sorted(CONDITION_TYPES))}, or a legacy 'id'.")
        comparison = spec.get("comparison", True if kind in TRIGGERS else extras)
        out.append({"type": kind, "comparison": comparison})
    return out


def canonical_actions(items: list[Any]) -> list[dict[str, Any]]:
    """Read legacy or short-form actions; email actions become ``{type, targetType, ...}``."""
    out = []
    for item in items:
        spec = {"type": item} if isinstance(item, str) and "." not in item else (
            {"id": item} if isinstance(item, str) else item)
        if not isinstance(spec, dict):
            raise ToolInputError(f"Alert action {item!r} must be a name or an object.")
        config = {**(spec.get("config") or {}), **spec}
        if spec.get("id") == EMAIL_ACTION or spec.get("type") == "email":
            target = str(config.get("targetType") or "issue_owners")
            target = _TARGETS.get(target, target)
            if target not in _LEGACY_TARGETS:
                raise ToolInputError(f"Email target {target!r} is not one of issue_owners, team, user.")
            ident = config.get("targetIdentifier")
            if target != "issue_owners" and ident in (None, ""):
                raise ToolInputError(f"An email action to a {target} needs 'targetIdentifier' (its ID).")
            out.append({"type": "email", "targetType": target,
                        "targetIdentifier": None if ident in (None, "") else str(ident),
                        "fallthroughType": config.get("fallthroughType") or "ActiveMembers"})
        elif spec.get("type") in ACTION_TYPES or spec.get("id") in LEGACY_ACTIONS:
            out.append(dict(spec))  # another integration: passed through as written
        else:
            raise ToolInputError(
                f"Alert action {item!r} needs a 'type' out of {', '.join(sorted(ACTION_TYPES))}, "
                "or a legacy 'id' such as sentry.mail.actions.NotifyEmailAction.")
    return out


def workflow_body(p: AlertRuleParams, conditions: list[dict[str, Any]],
                  actions: list[dict[str, Any]], detector_id: int) -> tuple[dict[str, Any], int]:
    """The ``POST /workflows/`` body (camelCase, as the API expects) and the frequency used."""
    frequency = min(WORKFLOW_FREQUENCIES, key=lambda f: (abs(f - p.frequency), f))
    logic = {"any": "any-short", "all": "all", "none": "none"}[p.actionMatch]
    rendered = []
    for action in actions:
        if action["type"] != "email" or "id" in action:
            rendered.append(action)
            continue
        issue_owners = action["targetType"] == "issue_owners"
        rendered.append({
            "type": "email", "integrationId": None, "status": "active",
            "data": {"fallthroughType": action["fallthroughType"]} if issue_owners else {},
            "config": {"targetType": action["targetType"], "targetDisplay": None,
                       "targetIdentifier": action["targetIdentifier"] or ""}})
    body: dict[str, Any] = {
        "name": p.name, "enabled": True, "config": {"frequency": frequency},
        "triggers": {"logicType": logic, "conditions": [
            {**c, "conditionResult": True} for c in conditions if c["type"] in TRIGGERS]},
        "actionFilters": [{"logicType": "all", "conditions": [
            {**c, "conditionResult": True} for c in conditions if c["type"] not in TRIGGERS],
            "actions": rendered}],
        "detectorIds": [detector_id],
    }
    if p.environment:
        body["environment"] = p.environment
    return body, frequency


def alerts_body(p: AlertRuleParams, conditions: list[dict[str, Any]],
                actions: list[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """The body for servers whose only alert API is ``POST /projects/{o}/{p}/alerts/`` (GlitchTip).

    Such an alert fires when an issue gets ``quantity`` events within
    ``timespanMinutes`` and emails the project's members; the returned note
    says how the requested conditions were read, since only frequency maps exactly.
    """
    if any(a["type"] != "email" or "id" in a for a in actions):
        raise ToolInputError("This server's alerts API can only send email; leave 'actions' out "
                             "or use 'email'.")
    quantity, minutes = 1, int(p.frequency)
    frequency = next((c for c in conditions if c["type"] == "event_frequency_count"), None)
    if frequency is not None and isinstance(frequency["comparison"], dict):
        quantity = int(frequency["comparison"].get("value") or 1)
        minutes = _minutes(frequency["comparison"].get("interval")) or minutes
    kinds = ", ".join(c["type"] for c in conditions)
    note = (f" (this server has neither workflows nor rules; its alerts API fires when an issue "
            f"gets {quantity} event{'s' if quantity != 1 else ''} within {minutes} min, which "
            f"stands for {kinds})")
    return {"name": p.name, "timespanMinutes": minutes, "quantity": quantity,
            "alertRecipients": [{"recipientType": "email"}]}, note


def _minutes(interval: Any) -> int | None:
    """``1m``, ``5m``, ``1h``, ``1d``, ``1w``, ``30d`` (legacy frequency intervals) in minutes."""
    text = str(interval or "")
    factor = {"m": 1, "h": 60, "d": 1440, "w": 10080}.get(text[-1:])
    return int(text[:-1]) * factor if factor and text[:-1].isdigit() else None


def legacy_body(p: AlertRuleParams, conditions: list[dict[str, Any]],
                actions: list[dict[str, Any]]) -> dict[str, Any]:
    """The deprecated ``POST /projects/{o}/{p}/rules/`` body."""
    legacy_conditions = []
    for cond in conditions:
        legacy_id = _LEGACY_BY_TYPE.get(cond["type"])
        if legacy_id is None:
            raise ToolInputError(f"Condition {cond['type']!r} has no legacy form; this server only "
                                 f"has the rules API ({', '.join(sorted(_LEGACY_BY_TYPE))}).")
        extra = cond["comparison"] if isinstance(cond["comparison"], dict) else {}
        legacy_conditions.append({"id": legacy_id, **extra})
    legacy_actions = []
    for action in actions:
        if action["type"] == "email" and "id" not in action:
            row = {"id": EMAIL_ACTION, "targetType": _LEGACY_TARGETS[action["targetType"]],
                   "fallthroughType": action["fallthroughType"]}
            if action["targetIdentifier"]:
                row["targetIdentifier"] = action["targetIdentifier"]
            legacy_actions.append(row)
        elif "id" in action:
            legacy_actions.append(action)
        else:
            raise ToolInputError(f"Action {action['type']!r} has no legacy form; give its legacy 'id'.")
    body: dict[str, Any] = {"name": p.name, "frequency": p.frequency,
                            "actionMatch": p.actionMatch, "filterMatch": "all",
                            "conditions": legacy_conditions, "filters": [],
                            "actions": legacy_actions}
    if p.environment:
        body["environment"] = p.environment
    return body
