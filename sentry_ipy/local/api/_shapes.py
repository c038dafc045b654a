"""Serialise organisations, teams, projects, keys and releases to Sentry JSON.

Field names and JSON types follow Sentry's public API (``id`` of a project is
a string, of a release an int; ``projectId`` of a key is an int). Fields our
backend has no concept of get the neutral value Sentry uses for a fresh
object, so clients written against sentry.io parse our answers unchanged.
"""

from __future__ import annotations

from typing import Any

from .._clock import iso
from ..store import _release_records as records
from ..store._issue_updates import LOCAL_USER
from ..store._project_queries import (
    latest_release_version,
    new_issue_counts,
    project_environments,
    release_event_spans,
    release_project_rows,
    team_by_id,
)
from ..store._store import Store

__all__ = [
    "commit_shape",
    "deploy_shape",
    "event_release_shapes",
    "EVENT_RELEASE_KEYS",
    "dsn",
    "key_shape",
    "org_shape",
    "project_detail_shape",
    "project_shape",
    "release_shape",
    "event_release_shapes", "release_shapes",
    "team_shape",
    "user_shape",
]

_AVATAR = {"avatarType": "letter_avatar", "avatarUuid": None, "avatarUrl": None}
_ORG_ACCESS = ["org:read", "org:write", "project:read", "project:write", "project:releases",
               "team:read", "event:read", "event:write", "alerts:read", "alerts:write"]


def org_shape(org: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Serialise an organisation; both link URLs point at this server."""
    return {
        "id": str(org["id"]),
        "slug": org["slug"],
        "name": org["name"],
        "status": {"id": "active", "name": "active"},
        "dateCreated": iso(org["date_created"]),
        "isEarlyAdopter": False,
        "require2FA": False,
        "avatar": dict(_AVATAR),
        "links": {"organizationUrl": base_url, "regionUrl": base_url},
        "hasAuthProvider": False,
        "allowMemberInvite": True,
        "allowMemberProjectCreation": True,
        "allowSuperuserAccess": False,
        "features": [],
        "extraOptions": {},
        "access": list(_ORG_ACCESS),
        "onboardingTasks": [],
    }


def user_shape(org: dict[str, Any]) -> dict[str, Any]:
    """The one user of the local backend: whoever holds the token, an owner of the local org.

    Sentry ties a user token to a person; the local token stands for the
    machine's user, so ``/auth/`` and ``/api/0/`` answer with this account.
    """
    joined = iso(org["date_created"])
    return {
        **LOCAL_USER,
        "avatarUrl": None, "isActive": True, "hasPasswordAuth": False, "isManaged": False,
        "dateJoined": joined, "lastLogin": joined, "lastActive": joined, "has2fa": False,
        "isSuperuser": False, "isStaff": False, "experiments": {},
        "emails": [{"id": "1", "email": LOCAL_USER["email"], "is_verified": True}],
        "avatar": dict(_AVATAR), "options": {"timezone": "UTC", "language": "en"},
        "flags": {"newsletter_consent_prompt": False}, "identities": [], "permissions": [],
        "authenticators": [], "canReset2fa": False,
    }


def team_shape(team: dict[str, Any]) -> dict[str, Any]:
    """Serialise a team (every local caller is a member)."""
    return {
        "id": str(team["id"]),
        "slug": team["slug"],
        "name": team["name"],
        "dateCreated": iso(team["date_created"]),
        "isMember": True,
        "teamRole": "admin",
        "flags": {"idp:provisioned": False},
        "access": ["team:read", "team:write", "project:read", "project:write"],
        "hasAccess": True,
        "isPending": False,
        "memberCount": 1,
        "avatar": dict(_AVATAR),
    }


def _latest_release(store: Store, project_id: int) -> dict[str, Any] | None:
    version = latest_release_version(store, project_id)
    return {"version": version} if version is not None else None


def project_shape(project: dict[str, Any], store: Store) -> dict[str, Any]:
    """Serialise a project as in organisation project lists and POST results."""
    team = team_by_id(store, int(project["team_id"])) if project["team_id"] else None
    team_ref = {"id": str(team["id"]), "name": team["name"], "slug": team["slug"]} if team else None
    platform = project["platform"]
    return {
        "id": str(project["id"]),
        "slug": project["slug"],
        "name": project["name"],
        "platform": platform,
        "dateCreated": iso(project["date_created"]),
        "isBookmarked": False,
        "isMember": True,
        "features": [],
        "firstEvent": iso(project["first_event"]),
        "firstTransactionEvent": project["first_transaction"] is not None,
        "access": ["project:read", "project:write", "project:releases", "event:read"],
        "hasAccess": True,
        "hasFeedbacks": False,
        "hasFlags": False,
        "hasMinifiedStackTrace": False,
        "hasMonitors": False,
        "hasNewFeedbacks": False,
        "hasProfiles": False,
        "hasReplays": bool(project["has_replays"]),
        "hasSessions": bool(project["has_sessions"]),
        "hasInsightsHttp": False,
        "hasInsightsDb": False,
        "hasInsightsAssets": False,
        "hasInsightsAppStart": False,
        "hasInsightsScreenLoad": False,
        "hasInsightsVitals": False,
        "hasInsightsCaches": False,
        "hasInsightsQueues": False,
        "hasInsightsAgentMonitoring": False,
        "hasInsightsMCP": False,
        "hasLogs": False,
        "hasTraceMetrics": False,
        "team": team_ref,
        "teams": [team_ref] if team_ref else [],
        "platforms": [platform] if platform else [],
        "hasUserReports": False,
        "environments": project_environments(store, int(project["id"])),
        "latestRelease": _latest_release(store, int(project["id"])),
        "latestDeploys": None,
        "options": {},
    }


def project_detail_shape(project: dict[str, Any], store: Store, base_url: str) -> dict[str, Any]:
    """Serialise a project as ``GET projects/{o}/{p}/`` returns it (more settings)."""
    org = store.org(project["org_id"])
    assert org is not None
    shape = project_shape(project, store)
    shape.pop("latestDeploys", None)
    shape.pop("hasUserReports", None)
    shape.pop("environments", None)
    shape.update(
        {
            "isInternal": False,
            "isPublic": False,
            "avatar": dict(_AVATAR),
            "color": "#3f70bf",
            "status": "active",
            "digestsMinDelay": 300,
            "digestsMaxDelay": 1800,
            "subjectPrefix": "",
            "allowedDomains": ["*"],
            "resolveAge": 0,
            "dataScrubber": True,
            "dataScrubberDefaults": True,
            "safeFields": [],
            "storeCrashReports": None,
            "sensitiveFields": [],
            "subjectTemplate": "$shortID - $title",
            "securityToken": "0" * 32,
            "securityTokenHeader": None,
            "verifySSL": False,
            "scrubIPAddresses": False,
            "scrapeJavaScript": True,
            "enableAutoReleaseCreation": True,
            "highlightTags": ["handled", "level", "environment", "release"],
            "highlightContext": {},
            "highlightPreset": {"tags": ["handled", "level"], "context": {}},
            "groupingConfig": "newstyle:2023-01-11",
            "derivedGroupingEnhancements": "",
            "groupingEnhancements": "",
            "secondaryGroupingExpiry": 0,
            "secondaryGroupingConfig": None,
            "fingerprintingRules": "",
            "organization": org_shape(org, base_url),
            "processingIssues": 0,
            "defaultEnvironment": None,
            "relayPiiConfig": None,
            "builtinSymbolSources": [],
            "dynamicSamplingBiases": [],
            "symbolSources": "[]",
            "isDynamicallySampled": False,
            "tempestFetchScreenshots": False,
            "autofixAutomationTuning": "off",
            "seerScannerAutomation": False,
            "seerNightshiftTweaks": None,
            "scmSourceContextEnabled": False,
            "debugFilesRole": None,
        }
    )
    return shape


def dsn(base_url: str, public_key: str, project_id: int, secret_key: str | None = None) -> str:
    """Build a DSN for this server: ``http://<public>@host:port/<project_id>``."""
    scheme, _, host = base_url.partition("://")
    user = f"{public_key}:{secret_key}" if secret_key else public_key
    return f"{scheme}://{user}@{host}/{project_id}"


def key_shape(key: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Serialise a client key with every DSN flavour Sentry lists."""
    pub, pid = key["public_key"], int(key["project_id"])
    api = f"{base_url}/api/{pid}"
    return {
        "id": pub,
        "name": key["label"],
        "label": key["label"],
        "public": pub,
        "secret": key["secret_key"],
        "projectId": pid,
        "isActive": bool(key["is_active"]),
        "rateLimit": None,
        "dsn": {
            "secret": dsn(base_url, pub, pid, key["secret_key"]),
            "public": dsn(base_url, pub, pid),
            "csp": f"{api}/csp-report/?sentry_key={pub}",
            "security": f"{api}/security/?sentry_key={pub}",
            "minidump": f"{api}/minidump/?sentry_key={pub}",
            "nel": f"{api}/nel/?sentry_key={pub}",
            "unreal": f"{api}/unreal/{pub}/",
            "crons": f"{api}/cron/___MONITOR_SLUG___/{pub}/",
            "cdn": f"{base_url}/js-sdk-loader/{pub}.min.js",
            "playstation": f"{api}/playstation/?sentry_key={pub}",
            "integration": f"{api}/integration/",
            "otlp_traces": f"{api}/integration/otlp/v1/traces",
            "otlp_logs": f"{api}/integration/otlp/v1/logs",
        },
        "browserSdkVersion": "latest",
        "browserSdk": {"choices": [["latest", "latest"], ["9.x", "9.x"], ["8.x", "8.x"]]},
        "dateCreated": iso(key["date_created"]),
        "dynamicSdkLoaderOptions": {
            "hasReplay": True,
            "hasPerformance": True,
            "hasDebug": False,
            "hasFeedback": False,
            "hasLogsAndMetrics": False,
        },
        "useCase": "user",
    }


def _version_info(version: str) -> dict[str, Any]:
    package, _, rest = version.partition("@") if "@" in version else ("", "", version)
    raw = rest or version
    core, _, build = raw.partition("+")
    parts = core.split(".")
    nums = [int(p) if p.isdigit() else None for p in parts[:3]]
    if parts and all(n is not None for n in nums) and len(parts) <= 4:
        ver: dict[str, Any] = {
            "major": nums[0],
            "minor": nums[1] if len(nums) > 1 else 0,
            "patch": nums[2] if len(nums) > 2 else 0,
            "pre": None,
            "buildCode": build or None,
            "components": len(parts),
            "raw": raw,
        }
    else:
        ver = {"raw": raw}
    return {
        "package": package or None,
        "version": ver,
        "description": raw,
        "buildHash": raw if len(raw) == 40 and all(c in "0123456789abcdef" for c in raw) else None,
    }


def release_activity(deploys: list[dict[str, Any]], commits: list[dict[str, Any]]) -> dict[str, Any]:
    """``commitCount``, ``deployCount``, ``lastCommit`` and ``lastDeploy`` from a release's rows, newest first."""
    return {
        "commitCount": len(commits),
        "deployCount": len(deploys),
        "lastCommit": commit_shape(commits[0]) if commits else None,
        "lastDeploy": deploy_shape(deploys[0]) if deploys else None,
    }


def deploy_shape(row: dict[str, Any]) -> dict[str, Any]:
    """Serialise a deploy as Sentry's ``DeploySerializer`` does."""
    return {"id": str(row["id"]), "environment": row["environment"], "dateStarted": iso(row["date_started"]),
            "dateFinished": iso(row["date_finished"]), "name": row["name"], "url": row["url"]}


def commit_shape(row: dict[str, Any]) -> dict[str, Any]:
    """Serialise a release commit (no repository integration, so no pull request)."""
    author = ({"name": row["author_name"], "email": row["author_email"]}
              if row["author_name"] or row["author_email"] else None)
    return {"id": row["sha"], "message": row["message"], "dateCreated": iso(row["timestamp"]),
            "pullRequest": None, "suspectCommitType": "", "releases": [], "author": author,
            **({"repository": {"id": row["repository"], "name": row["repository"], "url": None, "provider": {},
                               "status": "active", "dateCreated": iso(row["timestamp"])}}
               if row["repository"] else {})}


def release_shape(release: dict[str, Any], store: Store) -> dict[str, Any]:
    """Serialise a release with its projects and event statistics."""
    return release_shapes([release], store)[0]


def release_shapes(releases: list[dict[str, Any]], store: Store) -> list[dict[str, Any]]:
    """Serialise a page of releases with five queries for the whole page, not a few per release."""
    ids = [int(r["id"]) for r in releases]
    projects, spans = release_project_rows(store, ids), release_event_spans(store, ids)
    new_issues, deploys, commits = new_issue_counts(store, ids), records.deploys_of(store, ids), records.commits_of(store, ids)
    return [_release(r, projects.get(int(r["id"]), []), spans.get(int(r["id"]), {}), new_issues,
                     release_activity(deploys.get(int(r["id"]), []), commits.get(int(r["id"]), [])))
            for r in releases]


#: The release fields an event carries (Sentry's event serializer shows a subset of the release).
EVENT_RELEASE_KEYS = ("id", "commitCount", "data", "dateCreated", "dateReleased", "deployCount", "ref", "lastCommit",
                      "lastDeploy", "status", "url", "userAgent", "version", "versionInfo")


def event_release_shapes(releases: list[dict[str, Any]], store: Store) -> list[dict[str, Any]]:
    """Releases as an event shows them (:data:`EVENT_RELEASE_KEYS`), two queries for a page of events.

    Only deploys and commits are read: the full shape's projects, first/last
    event and new-issue counts are left out of an event's release, and the
    first/last event would scan ``events`` (no index on ``events.release``).
    """
    ids = [int(r["id"]) for r in releases]
    deploys, commits = records.deploys_of(store, ids), records.commits_of(store, ids)
    shapes = [_release(r, [], {}, {}, release_activity(deploys.get(int(r["id"]), []), commits.get(int(r["id"]), [])))
              for r in releases]
    return [{k: shape[k] for k in EVENT_RELEASE_KEYS} for shape in shapes]


def _release(release: dict[str, Any], projects: list[dict[str, Any]], stats: dict[str, Any],
             new_issues: dict[tuple[int, int], int], activity: dict[str, Any]) -> dict[str, Any]:
    rid, version = int(release["id"]), release["version"]
    project_list = [
        {
            "id": int(p["id"]),
            "slug": p["slug"],
            "name": p["name"],
            "platform": p["platform"],
            "platforms": [p["platform"]] if p["platform"] else [],
            "newGroups": new_issues.get((rid, int(p["id"])), 0),
            "hasHealthData": bool(p["has_health"]),
        }
        for p in projects
    ]
    short = version.split("@", 1)[-1]
    return {
        "id": rid,
        "version": version,
        "shortVersion": short[:12] if len(short) == 40 else short,
        "status": release["status"],
        "ref": release["ref"],
        "url": release["url"],
        "dateCreated": iso(release["date_created"]),
        "dateReleased": iso(release["date_released"]),
        "dateStarted": None,
        "data": {},
        "newGroups": sum(p["newGroups"] for p in project_list),
        "owner": None,
        **activity,
        "authors": [],
        "projects": project_list,
        "versionInfo": _version_info(version),
        "firstEvent": iso(stats.get("first")),
        "lastEvent": iso(stats.get("last")),
        "currentProjectMeta": {},
        "userAgent": None,
    }
