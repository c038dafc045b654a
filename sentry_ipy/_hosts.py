"""Host names: the name part of a ``Host`` header, and whether a name is loopback.

Standard library only, so the local backend can decide at construction whether its
web UI needs a token without loading Starlette, and the tools can tell whether a
URL names the configured server without loading the backend.
"""

from __future__ import annotations

import ipaddress

__all__ = ["host_name", "is_loopback"]


def host_name(header: str) -> str:
    """The name part of a ``Host`` header, lower-cased: ``[::1]:9000`` → ``::1``, ``a.b:80`` → ``a.b``."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1:value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def is_loopback(name: str) -> bool:
    """Whether a host name or address is this machine's loopback (``localhost``, ``127.x``, ``::1``)."""
    name = host_name(name) if name.startswith("[") else name.strip().lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
