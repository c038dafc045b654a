"""HTTPS for the local backend: a private CA and a loopback certificate in the data dir.

Some clients refuse plain http (the official Sentry MCP server requires https
region URLs), so ``sentry-ipy local --tls`` serves the same app over TLS. The
certificate is signed by a CA made for this data dir alone; clients trust it
through the usual variables (``NODE_EXTRA_CA_CERTS``, ``REQUESTS_CA_BUNDLE``,
``SSL_CERT_FILE``) pointing at :attr:`TlsFiles.ca`. Both are created once and
reused, so a client configured yesterday still trusts today's server; the
server certificate is re-issued (by the same CA) when it is near expiry or
does not name the host being served.

``cryptography`` is imported only here, when a TLS server starts.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["TLS_DIR", "TlsFiles", "ca_environment", "ensure_certificate"]

TLS_DIR = "tls"
_CA_DAYS = 3650
_CERT_DAYS = 397  # what browsers accept for a server certificate
_RENEW_BEFORE = datetime.timedelta(days=30)
_LOOPBACK_NAMES = ("localhost",)
_LOOPBACK_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files the server and its clients use."""

    ca: Path
    cert: Path
    key: Path


def ca_environment(ca: Path) -> dict[str, str]:
    """The environment variables that make Node, requests/httpx and OpenSSL trust ``ca``."""
    return {"NODE_EXTRA_CA_CERTS": str(ca), "REQUESTS_CA_BUNDLE": str(ca), "SSL_CERT_FILE": str(ca)}


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def _new_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    pem: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())
    return pem


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _load_or_make_ca(folder: Path) -> tuple[Any, Any]:
    """Return (CA certificate, CA key), creating them on first use."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import NameOID

    ca_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if ca_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
        if cert.not_valid_after_utc - _now() > _RENEW_BEFORE:
            return cert, serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sentry-ipy local backend CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sentry-ipy")])
    start = _now() - datetime.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=_CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _key_pem(key))
    ca_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "cert.pem").unlink(missing_ok=True)  # issued by the old CA
    return cert, key


def _names(host: str) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the server certificate must cover."""
    dns, ips = list(_LOOPBACK_NAMES), list(_LOOPBACK_IPS)
    try:
        addr = str(ipaddress.ip_address(host))
        if addr not in ips:
            ips.append(addr)
    except ValueError:
        if host and host not in dns:
            dns.append(host)
    return dns, ips


def _cert_fits(path: Path, ca: Any, host: str) -> bool:
    from cryptography import x509

    if not path.exists() or not path.with_name("key.pem").exists():
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    if cert.issuer != ca.subject or cert.not_valid_after_utc - _now() < _RENEW_BEFORE:
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns, ips = _names(host)
    have_ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return set(dns) <= set(san.get_values_for_type(x509.DNSName)) and set(ips) <= have_ips


def ensure_certificate(data_dir: Path, host: str = "127.0.0.1") -> TlsFiles:
    """Return the CA and server certificate for ``host``, creating or renewing what is missing.

    Files live in ``data_dir/tls/``: ``ca.pem`` (give it to clients), ``ca-key.pem``,
    ``cert.pem`` and ``key.pem`` (private keys readable by the owner only).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = data_dir / TLS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    ca, ca_key = _load_or_make_ca(folder)
    files = TlsFiles(ca=folder / "ca.pem", cert=folder / "cert.pem", key=folder / "key.pem")
    if _cert_fits(files.cert, ca, host):
        return files
    key = _new_key()
    dns, ips = _names(host)
    san = [x509.DNSName(n) for n in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    start = _now() - datetime.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host or "localhost")]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=_CERT_DAYS))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(files.key, _key_pem(key))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files
