"""The local backend answers only to its own names (DNS rebinding) and sends browser security headers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from sentry_ipy.local import LocalServer
from sentry_ipy.local._guard import host_name


@pytest.mark.parametrize("header, name", [
    ("127.0.0.1:9000", "127.0.0.1"), ("LOCALHOST", "localhost"), ("[::1]:9000", "::1"), ("::1", "::1"),
    ("evil.example:80", "evil.example"), ("", ""),
])
def test_host_name_strips_the_port(header: str, name: str) -> None:
    assert host_name(header) == name


def test_foreign_host_is_refused_on_pages_api_and_ingest(srv: LocalServer) -> None:
    key = srv.store.keys(1)[0]["public_key"]
    assert httpx.post(f"{srv.url}/api/1/store/?sentry_key={key}", json={"message": "secret stack"}).status_code == 200
    issue = srv.store.issues()[0]["id"]
    page = f"{srv.url}/organizations/local/issues/{issue}/"
    assert httpx.get(page).status_code == 200
    evil = {"Host": "evil.example"}
    for method, url in (("GET", page), ("GET", f"{srv.url}/api/0/organizations/"),
                        ("POST", f"{srv.url}/api/1/store/?sentry_key={key}")):
        r = httpx.request(method, url, headers={**evil, "Authorization": f"Bearer {srv.token}"}, json={})
        assert r.status_code == 400, (method, url)
        assert "does not answer to the host 'evil.example'" in r.text and "secret stack" not in r.text
        assert "--allow-host" in r.text
    # The next request on a proper name is served.
    assert httpx.get(page.replace("127.0.0.1", "localhost")).status_code == 200


def test_pages_carry_security_headers(srv: LocalServer) -> None:
    r = httpx.get(srv.url + "/", follow_redirects=True)
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"


def test_configured_names_are_answered(tmp_path: Path) -> None:
    with LocalServer(tmp_path / "d", allowed_hosts=["notebooks.lan"]) as server:
        assert httpx.get(server.url + "/", headers={"Host": "notebooks.lan:9000"}).status_code == 302
        assert httpx.get(server.url + "/", headers={"Host": "other.lan"}).status_code == 400


def test_cli_local_help_names_the_allow_host_flag() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "sentry_ipy.cli", "local", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "--allow-host NAME" in out and "DNS rebinding" in " ".join(out.split())
