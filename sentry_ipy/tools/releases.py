"""Release tools: create a release (idempotently) and list a project's releases."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import Field

from ..errors import ConflictError, SentryIpyError, ServerError, ToolInputError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import not_found_as, parse_time, project_info
from ._params import Number, Params, limit_field, project_field
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["CreateReleaseParams", "ListReleasesParams", "check_url", "check_version"]

#: Releases read, at most, to match a query a server ignored.
_RELEASE_SCAN = 2000

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): admin.
PURPOSE = "admin"

RELEASE_COLUMNS = ("version", "dateCreated", "dateReleased", "newGroups", "status")


#: What a model reads of a created release (Python callers get the whole object).
CREATED_FIELDS = ("version", "shortVersion", "alreadyExisted", "dateCreated", "dateReleased", "ref", "url",
                  "projects")

class CreateReleaseParams(Params):
    version: str
    projects: list[str] | None = Field(None, description="Slugs; default the configured project")
    url: str | None = None
    dateReleased: str | None = Field(None, description="ISO or Unix time")
    ref: str | None = Field(None, description="Commit SHA or tag")


@tool("sentry_create_release", title="Create release", read_only=False, idempotent=True,
      alias="create_release", frame=Frame.RELEASES)
def create_release(ctx: ToolContext, p: CreateReleaseParams) -> ToolResult:
    """Create a release for projects ; an existing version is no error.

    Then sentry_set_release. E.g. {"version":"app@1.0","projects":["backend"]}
    """
    client = ctx.api()
    version = check_version(p.version)
    url = check_url(p.url)
    default = ctx.effective_settings().project
    projects = p.projects or ([default] if default else [])
    if not projects:
        raise ToolInputError("sentry_create_release needs 'projects' (a list of project slugs) "
                             "when no default project is configured.")
    body: dict[str, Any] = {"version": version, "projects": projects}
    if url:
        body["url"] = url
    if p.ref:
        body["ref"] = p.ref
    if p.dateReleased:
        body["dateReleased"] = parse_time(p.dateReleased, "dateReleased").isoformat()
    with not_found_as(f"Organization {client.org!r} or one of the projects "
                      f"{', '.join(projects)} was not found; call sentry_list_projects."):
        try:
            status, release = client.post_object("organizations", client.org, "releases",
                                                 json=body, scope="project:releases")
        except (ConflictError, ServerError) as exc:
            # Sentry answers 208 for an existing version; other servers answer 409 or 500.
            found = _existing_release(client, version)
            if found is None:
                raise exc from None
            status, release = 208, found
    existed = status == 208
    what = "already existed (nothing changed)" if existed else "was created"
    return ToolResult(
        summary=f"Release {version!r} {what} for {', '.join(projects)}.",
        data={**release, "alreadyExisted": existed}, columns=CREATED_FIELDS,
        links={"Release": client.web_link(f"releases/{quote(version, safe='')}/")},
        hints=[f"Send events with release={version!r} (sentry_set_release) so issues link to it."])


def _existing_release(client: Any, version: str) -> dict[str, Any] | None:
    """The release ``version`` if the server has it, else ``None`` (any error counts as no)."""
    try:
        found: dict[str, Any] = client.get_object("organizations", client.org, "releases", version,
                                                  scope="project:releases", require={"version": str})
        return found
    except SentryIpyError:
        return None


def check_version(version: str) -> str:
    """Reject versions Sentry (and sentry-cli) cannot store, with the reason."""
    if version != version.strip() or not version:
        raise ToolInputError(f"Release version {version!r} is empty or has leading/trailing spaces.")
    if version.lower() == "latest":
        raise ToolInputError("Release version 'latest' is reserved by Sentry (searches use it for the newest"
                             " release); choose another version, e.g. 'myapp@1.2.3'.")
    if version in (".", "..") or any(c in version for c in "/\n\t\v\f"):
        raise ToolInputError(f"Release version {version!r} may not be '.', '..' or contain '/', "
                             "newlines or tabs.")
    return version


def check_url(url: str | None) -> str | None:
    """Accept only an ``http(s)://`` address with a host (Sentry's UI shows it as a link)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname
            or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url)):
        raise ToolInputError(f"Release url {url[:80]!r} is not a valid http(s) address; "
                             "give one like 'https://example.com/changelog' or leave it out.")
    return url


class ListReleasesParams(Params):
    projectSlug: str = project_field()
    query: str | None = Field(None, description="Version contains this")
    limit: Number = limit_field(100, "releases")


@tool("sentry_list_releases", title="List releases", read_only=True, idempotent=True,
      alias="releases", frame=Frame.RELEASES)
def list_releases(ctx: ToolContext, p: ListReleasesParams) -> ToolResult:
    """List a project's releases, newest first, all pages up to limit.

    E.g. {"projectSlug":"backend"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    text = (p.query or "").strip()
    limit = ctx.row_limit(p)
    # The project route filters by project on every server; the org route's
    # ?project= is ignored by some, which listed other projects' releases.
    route = ("projects", client.org, project["slug"], "releases")
    ignored = 0
    if not text:
        rows, truncated = client.collect(*route, limit=limit, scope="project:releases",
                                         progress=ctx.progress)
    else:
        rows, truncated = [], False
        for row in client.paginate(*route, params={"query": text}, limit=_RELEASE_SCAN,
                                   scope="project:releases", progress=ctx.progress):
            if text.lower() not in str(row.get("version") or "").lower():
                ignored += 1  # Sentry matches query as a substring of the version; this server did not
            elif len(rows) == limit:
                truncated = True
                break
            else:
                rows.append(row)
    note = (f" This server ignored query {text!r}; the versions were matched here "
            f"({plural(ignored, 'other')} left out)." if ignored else "")
    return ToolResult(
        summary=f"Found {plural(len(rows), 'release', more=truncated)} in project "
                f"{project['slug']!r}{f' matching {text!r}' if text else ''}.{note}",
        records=rows, columns=RELEASE_COLUMNS, truncated=truncated,
        links={"Releases": client.web_link(f"releases/?project={project['id']}")},
        hints=[] if rows else ["Create one with sentry_create_release."])
