"""Host names as the local backend sees them: the name part of a ``Host`` header, and loopback.

Standard library only, so :class:`~._backend.LocalServer` can decide at construction
whether its web UI needs a token (see :mod:`._guard`) without loading Starlette.
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
