"""HTTPS for the local backend: its own CA in the data dir, trusted by clients through the usual variables."""

from __future__ import annotations

import re
import ssl
import stat
from pathlib import Path

import httpx
import pytest

from sentry_ipy.local import LocalServer
from tests._local_cli import foreground_local
from tests._sdk import reset_sentry_sdk, sending_to  # noqa: F401  (autouse fixture)


def test_tls_server_is_trusted_through_its_ca_and_ingests(tmp_path: Path) -> None:
    with LocalServer(tmp_path / "data", tls=True) as srv:
        assert srv.url.startswith("https://127.0.0.1:")
        ca = srv.ca_path
        assert ca is not None and ca.parent == tmp_path / "data" / "tls"
        for private in ("ca-key.pem", "key.pem"):
            assert stat.S_IMODE((ca.parent / private).stat().st_mode) == 0o600
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(srv.url + "/_health", verify=ssl.create_default_context())
        context = ssl.create_default_context(cafile=str(ca))
        with httpx.Client(base_url=srv.url, verify=context,
                          headers={"Authorization": f"Bearer {srv.token}"}) as client:
            org = client.get("/api/0/organizations/local/").json()
            assert org["links"]["organizationUrl"].startswith("https://")
            assert srv.dsn().startswith("https://")
            with sending_to(srv.dsn(), ca_certs=str(ca)) as scope:
                scope.capture_message("over https")
            titles = [e["title"] for e in client.get("/api/0/projects/local/notebook/events/").json()]
            assert titles == ["over https"]


def test_certificate_is_kept_across_restarts_and_reissued_for_a_new_host(tmp_path: Path) -> None:
    from cryptography import x509

    with LocalServer(tmp_path / "data", tls=True) as srv:
        assert srv.ca_path is not None
        ca_pem = srv.ca_path.read_bytes()
        cert_pem = (srv.ca_path.parent / "cert.pem").read_bytes()
    with LocalServer(tmp_path / "data", tls=True) as srv:  # a client trusting the CA keeps trusting it
        assert srv.ca_path is not None
        assert srv.ca_path.read_bytes() == ca_pem
        assert (srv.ca_path.parent / "cert.pem").read_bytes() == cert_pem
    with LocalServer(tmp_path / "data", tls=True, host="localhost") as srv:
        assert srv.ca_path is not None and srv.ca_path.read_bytes() == ca_pem
        cert = x509.load_pem_x509_certificate((srv.ca_path.parent / "cert.pem").read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "localhost" in san.get_values_for_type(x509.DNSName)
        assert {str(ip) for ip in san.get_values_for_type(x509.IPAddress)} >= {"127.0.0.1", "::1"}
        context = ssl.create_default_context(cafile=str(srv.ca_path))
        assert httpx.get(srv.url + "/_health", verify=context).json() == {"ok": True}


def test_plain_http_stays_the_default(tmp_path: Path) -> None:
    with LocalServer(tmp_path / "data") as srv:
        assert srv.url.startswith("http://") and srv.ca_path is None
        assert not (tmp_path / "data" / "tls").exists()


def test_local_tls_prints_the_ca_for_each_client_kind(tmp_path: Path) -> None:
    with foreground_local("--tls", "--port", "0", "--data-dir", str(tmp_path / "d")) as text:
        url = re.search(r"^  export SENTRY_URL=(https://127\.0\.0\.1:\d+)$", text, re.M)
        assert url, text
        ca = str(tmp_path / "d" / "tls" / "ca.pem")
        for name in ("NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
            assert f"  export {name}={ca}\n" in text, text
        context = ssl.create_default_context(cafile=ca)
        assert httpx.get(url.group(1) + "/_health", verify=context).json() == {"ok": True}
