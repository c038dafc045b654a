"""``sentry_find_organizations``: every region's organizations, on the local backend and on sentry.io's shape."""

from __future__ import annotations

from typing import Any

import anyio
from mcp import Client

from sentry_ipy.config import Settings
from sentry_ipy.mcp import build_mcp_server
from sentry_ipy.tools import ToolContext, registry, run_tool
from tests._scripted import TOKEN, Reply, ScriptedServer, scripted_settings, server
from tests._shell import ip

__all__ = ["ip", "server"]


def _org(slug: str, url: str) -> dict[str, Any]:
    return {"id": str(abs(hash(slug)) % 1000), "slug": slug, "name": slug.title(),
            "links": {"organizationUrl": url, "regionUrl": url}, "dateCreated": "2026-01-01T00:00:00Z"}


def test_local_backend_in_every_face(tctx: ToolContext, local_server: Any, ip: Any) -> None:
    spec = registry()["sentry_find_organizations"]
    assert spec.read_only and spec.idempotent and not spec.destructive
    result = run_tool("sentry_find_organizations", {}, tctx)
    assert [(r["slug"], r["region"]) for r in result.records or []] == [(local_server.org_slug, "local")]
    assert result.summary == "Found 1 organization in 1 region (local)."

    ip.run_line_magic("sentry_orgs", "-o orgs")
    frame = ip.user_ns["orgs"]
    assert list(frame["slug"]) == [local_server.org_slug] and str(frame["dateCreated"].dtype).startswith("datetime64")

    mcp_server = build_mcp_server(context=ToolContext(Settings(), local_server=local_server, fetch_all=False))

    async def main() -> Any:
        async with Client(mcp_server) as client:
            return await client.call_tool("sentry_find_organizations", {})

    answer = anyio.run(main)
    assert answer.structured_content["records"][0]["slug"] == local_server.org_slug


def test_every_region_and_only_trusted_hosts(server: ScriptedServer) -> None:
    with ScriptedServer() as eu:
        server.route("GET", "/api/0/users/me/regions/", Reply(200, {"regions": [
            {"name": "us", "url": server.url}, {"name": "de", "url": eu.url},
            {"name": "elsewhere", "url": "http://example.com"}]}))
        server.route("GET", "/api/0/organizations/", Reply(200, [_org("acme", server.url)]))
        eu.route("GET", "/api/0/organizations/", Reply(200, [_org("acme-eu", eu.url), _org("beta", eu.url)]))
        context = ToolContext(scripted_settings(server.url))
        result = run_tool("sentry_find_organizations", {}, context)
        context.close()
        asked_eu = [s for s in eu.requests if s.route == "/api/0/organizations/"]
    assert [(r["slug"], r["region"]) for r in result.records or []] == [
        ("acme", "us"), ("acme-eu", "de"), ("beta", "de")]
    assert "Region 'elsewhere' at http://example.com was skipped" in result.summary
    assert asked_eu and asked_eu[0].headers.get("Authorization") == f"Bearer {TOKEN}"


def test_a_server_without_regions_is_one(server: ScriptedServer) -> None:
    server.route("GET", "/api/0/users/me/regions/", Reply(404, {"detail": "Not found"}))
    server.route("GET", "/api/0/organizations/", Reply(200, [_org("solo", server.url)]))
    context = ToolContext(scripted_settings(server.url))
    result = run_tool("sentry_find_organizations", {"query": "so"}, context)
    context.close()
    assert [(r["slug"], r["region"]) for r in result.records or []] == [("solo", "default")]
    listed = [s for s in server.requests if s.route == "/api/0/organizations/"]
    assert listed[0].arg("query") == "so"
