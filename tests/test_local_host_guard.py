"""The local backend answers only to its own names (DNS rebinding) and sends browser security headers."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from sentry_ipy.local import LocalServer
from sentry_ipy.local._guard import host_name
from tests._local_cli import foreground_local


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
        assert httpx.get(server.url + "/", headers={"Host": "notebooks.lan:9000"}).status_code == 401  # token
        assert httpx.get(server.url + "/", headers={"Host": "other.lan"}).status_code == 400


def test_pages_beyond_loopback_need_the_token_link(tmp_path: Path) -> None:
    """A name other than loopback (here as a reverse proxy on this machine would send it) needs the token."""
    with LocalServer(tmp_path / "d", allowed_hosts=["notebooks.lan"]) as server:
        key = server.store.keys(1)[0]["public_key"]
        lan = {"Host": f"notebooks.lan:{server.port}"}
        # ingest and the API keep their own auth, whatever the name
        r = httpx.post(f"{server.url}/api/1/store/?sentry_key={key}", json={"message": "secret stack"}, headers=lan)
        assert r.status_code == 200
        api = httpx.get(f"{server.url}/api/0/organizations/", headers={**lan, "Authorization": f"Bearer {server.token}"})
        assert api.status_code == 200 and api.json()[0]["slug"] == "local"
        issues = f"{server.url}/organizations/local/issues/"
        with httpx.Client(headers=lan) as browser:
            r = browser.get(issues)
            assert r.status_code == 401 and "secret stack" not in r.text
            assert r.text == ("This page needs the link with ?token= that `sentry-ipy local` printed when it started;"
                              " open it once in this browser.\n")
            r = browser.get(issues, params={"token": "guess"})
            assert r.status_code == 403 and r.text.startswith("That link's token is not this server's;")
            assert not browser.cookies
            # the printed link names the allowed host; visiting it sets the cookie and drops the token from the URL
            assert server.web_url == f"http://notebooks.lan:{server.port}/?token={server.web_token}"
            r = browser.get(issues, params={"query": "is:unresolved", "token": server.web_token})
            assert r.status_code == 302 and r.headers["location"] == "/organizations/local/issues/?query=is%3Aunresolved"
            cookie = r.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
            r = browser.get(f"{server.url}{r.headers['location']}")
            assert r.status_code == 200 and "secret stack" in r.text
        # another browser without the cookie is still refused; the cookie's value must be the token
        assert httpx.get(issues, headers=lan, cookies={"sentry_ipy_web": "forged"}).status_code == 401
        # loopback needs no token, as before
        assert httpx.get(issues).status_code == 200


def test_loopback_only_server_has_no_token(srv: LocalServer) -> None:
    assert srv.web_token is None and srv.web_url == srv.url + "/"
    assert httpx.get(srv.url + "/organizations/local/issues/").status_code == 200


def test_cli_local_prints_the_token_link(tmp_path: Path) -> None:
    with foreground_local("--port", "0", "--allow-host", "notebooks.lan", "--data-dir", str(tmp_path / "d")) as text:
        match = re.search(r"^Web UI \(open this link once per browser; it sets a cookie\): "
                          r"http://notebooks\.lan:(\d+)/\?token=([\w-]+)$", text, re.M)
        assert match, text
        port, token = match.groups()
        with httpx.Client(headers={"Host": f"notebooks.lan:{port}"}, timeout=10) as browser:
            assert browser.get(f"http://127.0.0.1:{port}/organizations/local/issues/").status_code == 401
            r = browser.get(f"http://127.0.0.1:{port}/?token={token}")
            assert r.status_code == 302 and r.headers["location"] == "/"
            assert browser.get(f"http://127.0.0.1:{port}/organizations/local/issues/").status_code == 200
