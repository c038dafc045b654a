"""Settings: one frozen object, resolved once, passed everywhere.

Precedence, highest first: explicit arguments (a magic flag, an MCP CLI flag, a
``%config`` trait), then ``SENTRY_*`` environment variables, then sentry-cli's
``.sentryclirc`` (the working directory's, then the home directory's). With no
URL and no token at all, tools use the embedded local backend.
"""

from __future__ import annotations

import configparser
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from .errors import ConfigurationError

__all__ = ["SENTRY_IO", "Settings", "parse_dsn", "read_sentryclirc"]

SENTRY_IO = "https://sentry.io"

#: Environment variable for each settings field (first match wins).
_ENV: dict[str, tuple[str, ...]] = {
    "auth_token": ("SENTRY_AUTH_TOKEN",),
    "org": ("SENTRY_ORG",),
    "project": ("SENTRY_PROJECT",),
    "url": ("SENTRY_URL", "SENTRY_HOST"),
    "dsn": ("SENTRY_DSN",),
    "release": ("SENTRY_RELEASE",),
    "environment": ("SENTRY_ENVIRONMENT",),
    "dist": ("SENTRY_DIST",),
}

_RC_KEYS = {("auth", "token"): "auth_token", ("defaults", "url"): "url",
            ("defaults", "org"): "org", ("defaults", "project"): "project"}


@dataclass(frozen=True)
class Settings:
    """Everything the tools need to reach Sentry.

    Attributes:
        auth_token: Web API bearer token; never shown in ``repr``.
        org: organization slug.
        project: default project slug for tools that take one.
        url: web base URL (``https://sentry.io``, ``https://de.sentry.io``,
            a self-hosted host); ``None`` with no token means the local backend.
        dsn: where the SDK sends events.
        release, dist, environment: stamped on events and sessions.
        timeout: seconds for one HTTP request.
        max_retries: retries on 429, 5xx and connection errors.
    """

    auth_token: str | None = field(default=None, repr=False)
    org: str | None = None
    project: str | None = None
    url: str | None = None
    dsn: str | None = field(default=None, repr=False)
    release: str | None = None
    dist: str | None = None
    environment: str | None = None
    timeout: float = 30.0
    max_retries: int = 4
    traces_sample_rate: float = 1.0
    debug: bool = False

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        shown["auth_token"] = "***" if self.auth_token else None
        shown["dsn"] = _public_dsn(self.dsn)
        body = ", ".join(f"{k}={v!r}" for k, v in shown.items() if v is not None)
        return f"Settings({body})"

    @property
    def uses_local_backend(self) -> bool:
        """True when neither a URL nor a token points at a real Sentry."""
        return self.url is None and self.auth_token is None

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in output."""
        out: list[str] = []
        if self.auth_token:
            out.append(self.auth_token)
        if self.dsn:
            parts = urlsplit(self.dsn)
            out.extend(p for p in (parts.username, parts.password) if p)
        return tuple(out)

    def replace(self, **changes: Any) -> "Settings":
        """Return a copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def resolve(cls, *, env: Mapping[str, str] | None = None, home: Path | None = None,
                cwd: Path | None = None, **explicit: Any) -> "Settings":
        """Build settings from explicit values, then the environment, then ``.sentryclirc``.

        Raises:
            ConfigurationError: an unknown key, or a URL or DSN that cannot work.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(explicit) - names)
        if unknown:
            raise ConfigurationError(
                f"Unknown setting {', '.join(unknown)}; known settings are {', '.join(sorted(names))}.")
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for path in _rc_paths(home, cwd):
            values.update(read_sentryclirc(path))
        for name, keys in _ENV.items():
            for key in keys:
                if env.get(key):
                    values[name] = env[key].strip()
                    break
        values.update({k: v for k, v in explicit.items() if v is not None})
        if values.get("url"):
            values["url"] = _normalise_url(str(values["url"]))
        if values.get("dsn"):
            parse_dsn(str(values["dsn"]))
        return cls(**values)


def _rc_paths(home: Path | None, cwd: Path | None) -> list[Path]:
    home = home if home is not None else Path.home()
    cwd = cwd if cwd is not None else Path.cwd()
    paths = [home / ".sentryclirc"]
    local = cwd / ".sentryclirc"
    if local != paths[0]:
        paths.append(local)  # later wins: the project's file overrides the user's
    return paths


def read_sentryclirc(path: Path) -> dict[str, str]:
    """Read the keys sentry-cli shares with us from one ``.sentryclirc`` file."""
    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path} is not a valid .sentryclirc file ({exc.__class__.__name__}); "
                                 "fix or remove it.") from None
    out: dict[str, str] = {}
    for (section, key), name in _RC_KEYS.items():
        value = parser.get(section, key, fallback="").strip()
        if value:
            out[name] = value
    return out


def _normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"Sentry URL {url!r} is not an http(s) URL; set SENTRY_URL like "
                                 "https://sentry.io or https://sentry.example.com.")
    path = parts.path
    if path.endswith("/api/0"):
        path = path[: -len("/api/0")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def parse_dsn(dsn: str) -> tuple[str, str, str]:
    """Split a DSN into (public key, ingest base URL, project ID), or explain why not."""
    parts = urlsplit(dsn.strip())
    project_id = parts.path.rstrip("/").rsplit("/", 1)[-1] if parts.path else ""
    if parts.scheme not in ("http", "https") or not parts.hostname or not parts.username \
            or not project_id.isdigit():
        raise ConfigurationError(
            "The DSN is malformed; copy it from Project Settings > Client Keys, it looks like "
            "https://<public key>@o0.ingest.sentry.io/<project id>.")
    port = f":{parts.port}" if parts.port else ""
    return parts.username, f"{parts.scheme}://{parts.hostname}{port}", project_id


def _public_dsn(dsn: str | None) -> str | None:
    if not dsn:
        return None
    try:
        _, base, project_id = parse_dsn(dsn)
    except ConfigurationError:
        return "***"
    return f"{base.split('://')[0]}://***@{base.split('://')[1]}/{project_id}"
