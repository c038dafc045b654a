"""Project tools: list, create, and set up (DSN plus install instructions)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..errors import ConflictError, UnexpectedResponseError
from ..frames import Frame
from ._context import ToolContext
from ._lookup import not_found_as, project_info
from ._params import Number, Params, limit_field, project_field
from ._registry import tool
from ._result import ToolResult, plural

__all__ = ["CreateProjectParams", "ListProjectsParams", "SetupProjectParams", "install_instructions"]

#: Every tool here reads or writes the Web API.
FAMILY = "api"
#: What the tools here are for (an MCP toolset): admin.
PURPOSE = "admin"

DOCS = "https://docs.sentry.io/platforms/{}/"
#: What a created project's result shows (markdown, MCP): not its 30 feature flags.
PROJECT_FIELDS = ("id", "slug", "name", "platform", "dateCreated", "team.slug")

#: Platforms Sentry documents, beyond the ones we write instructions for.
OTHER_PLATFORMS = ("android", "apple", "dart", "dotnet", "elixir", "flutter", "go", "java",
                   "kotlin", "native", "php", "powershell", "react-native", "ruby", "rust",
                   "unity", "unreal")


class ListProjectsParams(Params):
    query: str | None = Field(None, description="Name or slug contains this")
    limit: Number = limit_field(1000, "projects")


@tool("sentry_list_projects", title="List projects", read_only=True, idempotent=True,
      alias="projects", frame=Frame.PROJECTS)
def list_projects(ctx: ToolContext, p: ListProjectsParams) -> ToolResult:
    """List the organization's projects with their slugs and platforms.

    Call first: other tools need a projectSlug. E.g. {}
    """
    client = ctx.api()
    params = {"query": p.query} if p.query else None
    rows, truncated = client.collect("organizations", client.org, "projects", params=params,
                                     limit=ctx.row_limit(p), scope="org:read", progress=ctx.progress)
    note = ""
    text = (p.query or "").strip().lower()
    if text and ":" not in text:
        kept = [r for r in rows if text in f"{r.get('name') or ''} {r.get('slug') or ''}".lower()]
        if len(kept) < len(rows):  # the server ignored query: it is applied here
            note = (f" This server ignored query {p.query!r}; names and slugs were matched here "
                    f"({plural(len(rows) - len(kept), 'other')} left out).")
            rows = kept
    first = rows[0]["slug"] if rows else "<slug>"
    return ToolResult(
        summary=f"Found {plural(len(rows), 'project', more=truncated)} in "
                f"organization {client.org!r}.{note}",
        records=rows, truncated=truncated,
        columns=("slug", "name", "id", "platform", "dateCreated"),
        links={"Projects": client.web_link("projects/")},
        hints=[f'Next: sentry_list_issues with {{"projectSlug": "{first}"}}, or sentry_setup_project '
               "for a project's DSN."])


class CreateProjectParams(Params):
    name: str
    slug: str
    team: str = Field(description="Team slug")
    platform: str | None = Field(None, description="e.g. 'python'")


@tool("sentry_create_project", title="Create project", read_only=False, frame=Frame.PROJECTS)
def create_project(ctx: ToolContext, p: CreateProjectParams) -> ToolResult:
    """Create a project owned by a team; then sentry_setup_project for its DSN.

    E.g. {"name":"Backend","slug":"backend","team":"core"}
    """
    client = ctx.api()
    body: dict[str, Any] = {"name": p.name, "slug": p.slug}
    if p.platform:
        body["platform"] = p.platform
    try:
        with not_found_as(f"Team {p.team!r} was not found in organization {client.org!r}; "
                          "check the team slug under Settings > Teams."):
            _, project = client.post_object("teams", client.org, p.team, "projects", json=body,
                                            scope="project:write")
    except ConflictError as exc:
        raise ConflictError(f"A project with slug {p.slug!r} already exists in organization "
                            f"{client.org!r}; pick another slug or use the existing project.",
                            status=exc.status, url=exc.url, detail=exc.detail) from None
    slug = project.get("slug") or p.slug
    renamed = (f" The server changed the slug: it is {slug!r}, not {p.slug!r} (that slug is "
               "probably taken); use the new one."
               if slug != p.slug else "")
    return ToolResult(
        summary=f"Created project {slug!r} (ID {project.get('id')}) for team {p.team!r}.{renamed}",
        data=project, columns=PROJECT_FIELDS,
        links={"Project settings": client.web_link(f"settings/projects/{slug}/")},
        hints=[f'Next: sentry_setup_project with {{"projectSlug": "{slug}"}} for the DSN.'])


class SetupProjectParams(Params):
    projectSlug: str = project_field()
    platform: str = Field("javascript", description="python, jupyter, javascript, node or "
                          "other (docs link)")


@tool("sentry_setup_project", title="Set up project", read_only=False, idempotent=True,
      alias="setup")
def setup_project(ctx: ToolContext, p: SetupProjectParams) -> ToolResult:
    """Get a project's DSN (creating a client key if none) and install instructions.

    E.g. {"projectSlug":"backend","platform":"python"}
    """
    client = ctx.api()
    project = project_info(client, p.projectSlug)
    slug = project["slug"]
    with not_found_as(f"Project {p.projectSlug!r} was not found in organization {client.org!r}."):
        keys = client.get_rows("projects", client.org, slug, "keys", params={"status": "active"},
                               scope="project:read")
    active = [k for k in keys if k.get("isActive", True)]
    key = next((k for k in active if k.get("name") == "Default" or k.get("label") == "Default"),
               active[0] if active else None)
    created = key is None
    if key is None:
        _, key = client.post_object("projects", client.org, slug, "keys", json={"name": "Default"},
                                    scope="project:write")
    dsn = dsns.get("public") if isinstance(dsns := key.get("dsn"), dict) else None
    if not isinstance(dsn, str) or not dsn:
        raise UnexpectedResponseError(
            f"Project {slug!r} has a client key without a public DSN; check Project Settings > "
            "Client Keys.", status=200, url=client.url("projects", client.org, slug, "keys"))
    platform = p.platform.strip().lower()
    steps = install_instructions(platform, dsn)
    made = " (created a new client key named Default)" if created else ""
    return ToolResult(
        summary=f"DSN for project {slug!r}{made}: {dsn}",
        data={"project": slug, "projectId": project["id"], "dsn": dsn, "keyId": key.get("id"),
              "keyName": key.get("name") or key.get("label"), "keyCreated": created,
              "platform": platform, "instructions": steps, "docs": DOCS.format(_docs_slug(platform))},
        links={"Client keys": client.web_link(f"settings/projects/{slug}/keys/"),
               "Docs": DOCS.format(_docs_slug(platform))},
        hints=[steps])


def _docs_slug(platform: str) -> str:
    base = platform.split("-", 1)[0] if platform not in OTHER_PLATFORMS else platform
    return {"jupyter": "python", "ipython": "python", "node": "javascript/guides/node",
            "nodejs": "javascript/guides/node"}.get(base, base)


_TEMPLATES = {
    "python": """Install: `pip install --upgrade sentry-sdk`

```python
import sentry_sdk

sentry_sdk.init(
    dsn="{dsn}",
    send_default_pii=False,
    traces_sample_rate=1.0,  # lower in production
)
```""",
    "jupyter": """Install: `pip install sentry-ipy`, then in the notebook:

```python
import os
os.environ["SENTRY_DSN"] = "{dsn}"
%load_ext sentry_ipy
```

Errors raised in cells are now captured; `%sentry_issues` lists them.""",
    "javascript": """Install: `npm install --save @sentry/browser`

```javascript
import * as Sentry from "@sentry/browser";

Sentry.init({{
  dsn: "{dsn}",
  integrations: [Sentry.browserTracingIntegration()],
  tracesSampleRate: 1.0, // lower in production
}});
```""",
    "node": """Install: `npm install --save @sentry/node`

```javascript
// instrument.js: require this before anything else
const Sentry = require("@sentry/node");

Sentry.init({{
  dsn: "{dsn}",
  tracesSampleRate: 1.0, // lower in production
}});
```""",
}
_ALIASES = {"ipython": "jupyter", "notebook": "jupyter", "nodejs": "node", "browser": "javascript"}


def install_instructions(platform: str, dsn: str) -> str:
    """Markdown instructions to send events from ``platform`` to ``dsn``.

    The API returns no instructions, so they are templated here for the
    platforms a notebook user meets most; other platforms get their docs link.
    """
    name = _ALIASES.get(platform, platform)
    template = _TEMPLATES.get(name) or _TEMPLATES.get(name.split("-", 1)[0])
    if template is not None:
        return f"Set up {platform}:\n\n" + template.format(dsn=dsn)
    known = ", ".join(f"[{p}]({DOCS.format(p)})" for p in OTHER_PLATFORMS)
    return (f"No built-in instructions for {platform!r}: follow {DOCS.format(_docs_slug(platform))} "
            f"and use the DSN {dsn}. Built-in: {', '.join(sorted(_TEMPLATES))}. Other platforms: {known}.")
