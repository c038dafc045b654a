"""Settings: one frozen object, resolved once, passed everywhere.

Precedence, highest first: explicit arguments (a magic flag, an MCP CLI flag, a
``%config`` trait), then ``SENTRY_*`` environment variables, then sentry-cli's
``.sentryclirc`` (the working directory's, then the home directory's). With no
URL and no token at all, tools use the embedded local backend.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit

from .errors import ConfigurationError

if TYPE_CHECKING:  # pragma: no cover
    import configparser

__all__ = ["LOCAL_TOKEN_PREFIX", "LOOPBACK_HOSTS", "OPTIONS", "SENTRY_IO", "SETTINGS", "Setting",
           "Settings", "parse_dsn", "public_dsn", "read_sentryclirc", "setting_from_env",
           "settings_table", "without_userinfo"]

SENTRY_IO = "https://sentry.io"

#: Host names that only this machine can reach (no token needed to serve MCP there;
#: a Sentry URL on one of them may be the embedded backend).
LOOPBACK_HOSTS: tuple[str, ...] = ("127.0.0.1", "localhost", "::1")

#: How every token the embedded local backend issues begins.
LOCAL_TOKEN_PREFIX = "sntrys_local_"



@dataclass(frozen=True)
class Setting:
    """One user-facing setting, declared once; every face and the README are generated from it.

    The notebook's ``%config SentryMagics.<name>`` traits, the MCP server's
    ``--<name>`` flags, the environment and ``.sentryclirc`` lookups of
    :meth:`Settings.resolve` and the README's configuration table all read
    :data:`SETTINGS` (as sentry-python derives its options from one signature).

    Attributes:
        name: the :class:`Settings` field.
        label: what the README table calls it.
        help: a short phrase for the trait's and the flag's help.
        env: environment variables, first match wins.
        rc: ``(section, key)`` in sentry-cli's ``.sentryclirc``, if it has one.
        option: exposed as a notebook trait and an MCP CLI flag (the token is not:
            it belongs in the environment, not in a notebook or a process list).
    """

    name: str
    label: str
    help: str
    env: tuple[str, ...] = ()
    rc: tuple[str, str] | None = None
    option: bool = True

    def trait_help(self) -> str:
        """Help for the notebook trait: the phrase and where the value comes from otherwise."""
        return f"{self.help[0].upper()}{self.help[1:]} (else {' or '.join(self.env)})."

    def flag_help(self) -> str:
        """Help for the MCP CLI flag."""
        return f"{self.help} ({' / '.join(self.env)})"


#: Every setting a user can give, in the order the README and ``--help`` list them.
SETTINGS: tuple[Setting, ...] = (
    Setting("auth_token", "auth token", "Web API auth token", env=("SENTRY_AUTH_TOKEN",),
            rc=("auth", "token"), option=False),
    Setting("org", "organization", "organization slug", env=("SENTRY_ORG",), rc=("defaults", "org")),
    Setting("project", "project", "default project slug", env=("SENTRY_PROJECT",),
            rc=("defaults", "project")),
    Setting("url", "web URL", "Sentry web URL, e.g. https://sentry.io or https://de.sentry.io",
            env=("SENTRY_URL", "SENTRY_HOST"), rc=("defaults", "url")),
    Setting("dsn", "DSN", "DSN the SDK tools and cell errors send events to", env=("SENTRY_DSN",)),
    Setting("release", "release", "release stamped on events and sessions", env=("SENTRY_RELEASE",)),
    Setting("environment", "environment", "environment stamped on events",
            env=("SENTRY_ENVIRONMENT",)),
    Setting("dist", "dist", "distribution (build) of the release", env=("SENTRY_DIST",),
            option=False),
)

#: The settings every face offers as an option (trait, flag).
OPTIONS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.option)


def setting_from_env(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The value the environment gives setting ``name`` (stripped; empty means unset).

    For hot paths that must not read ``.sentryclirc`` (the notebook checks for a
    release before every cell); everything else uses :meth:`Settings.resolve`.
    """
    env = os.environ if env is None else env
    for key in _BY_NAME[name].env:
        value = (env.get(key) or "").strip()
        if value:
            return value
    return None


def settings_table() -> str:
    """The README's configuration table (markdown), generated from :data:`SETTINGS`."""
    rows = ["| setting | environment | `.sentryclirc` | `%config SentryMagics.` / MCP flag |",
            "|---|---|---|---|"]
    for s in SETTINGS:
        rc = f"`[{s.rc[0]}] {s.rc[1]}`" if s.rc else ""
        option = f"`{s.name}` / `--{s.name.replace('_', '-')}`" if s.option else ""
        rows.append(f"| {s.label} | {' / '.join(f'`{e}`' for e in s.env)} | {rc} | {option} |")
    return "\n".join(rows) + "\n"


_BY_NAME = {s.name: s for s in SETTINGS}


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
    #: Where ``auth_token`` came from (``resolve`` sets it: an env var name or a
    #: ``.sentryclirc`` path), so a 401 can point at the right place.
    auth_token_source: str | None = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        shown = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.repr}
        shown["auth_token"] = "***" if self.auth_token else None
        shown["dsn"] = public_dsn(self.dsn)
        shown["url"] = without_userinfo(self.url)
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
        out.extend(_userinfo(self.dsn, user_is_key=True))
        out.extend(_userinfo(self.url))
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
        return cls.resolve_with_sources(env=env, home=home, cwd=cwd, **explicit)[0]

    @classmethod
    def resolve_with_sources(cls, *, env: Mapping[str, str] | None = None, home: Path | None = None,
                             cwd: Path | None = None, **explicit: Any) -> tuple["Settings", dict[str, str]]:
        """:meth:`resolve`, also saying where each set field came from.

        Returns:
            (settings, sources): ``sources`` maps each field that was set to
            ``"explicit"``, the environment variable's name (``"SENTRY_URL"``)
            or the ``.sentryclirc`` path it was read from.

        Raises:
            ConfigurationError: an unknown key, or a URL or DSN that cannot work.
        """
        names = {f.name for f in dataclasses.fields(cls)} - {"auth_token_source"}
        unknown = sorted(set(explicit) - names)
        if unknown:
            raise ConfigurationError(
                f"Unknown setting {', '.join(unknown)}; known settings are {', '.join(sorted(names))}.")
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for path in _rc_paths(home, cwd):
            found = read_sentryclirc(path)
            values.update(found)
            sources.update(dict.fromkeys(found, str(path)))
        for setting in SETTINGS:
            name = setting.name
            for key in setting.env:
                value = (env.get(key) or "").strip()
                if value:  # empty or whitespace-only means unset, as in sentry-cli
                    values[name] = value
                    sources[name] = key
                    break
        for name, value in explicit.items():
            if isinstance(value, str):
                value = value.strip()
            if value is not None and value != "":
                values[name] = value
                sources[name] = "explicit"
        if values.get("url"):
            values["url"] = _normalise_url(str(values["url"]))
        if values.get("dsn"):
            parse_dsn(str(values["dsn"]))
        if values.get("auth_token") and not _TOKEN_CHARS.fullmatch(str(values["auth_token"])):
            raise ConfigurationError(f"{_token_origin(sources.get('auth_token'))} contains spaces, line "
                                     "breaks or other characters a token never has; copy it again as one "
                                     "line.")
        if "auth_token" in sources:
            values["auth_token_source"] = sources["auth_token"]
        return cls(**values), sources


def _token_origin(source: str | None) -> str:
    """How a message names where the token came from."""
    if source in (None, "explicit", "SENTRY_AUTH_TOKEN"):
        return "SENTRY_AUTH_TOKEN"
    return f"The auth token in {source}"


def _rc_paths(home: Path | None, cwd: Path | None) -> list[Path]:
    home = home if home is not None else Path.home()
    cwd = cwd if cwd is not None else Path.cwd()
    paths = [home / ".sentryclirc"]
    local = cwd / ".sentryclirc"
    if local != paths[0]:
        paths.append(local)  # later wins: the project's file overrides the user's
    return paths


def read_sentryclirc(path: Path) -> dict[str, str]:
    """Read the keys sentry-cli shares with us from one ``.sentryclirc`` file.

    Parsing is as lenient as sentry-cli's: a UTF-8 byte-order mark (Windows
    editors write one), inline ``;``/``#`` comments after a space, quotes
    around a value and repeated keys (the last wins) are all accepted.

    Raises:
        ConfigurationError: the file cannot be read or is not INI text; the
            sentence names the file and the line, never the line's content
            (it may hold the token).
    """
    import configparser

    if not path.is_file():
        return {}
    parser = configparser.ConfigParser(interpolation=None, strict=False,
                                       inline_comment_prefixes=(";", "#"))
    try:
        with path.open(encoding="utf-8-sig") as handle:
            parser.read_file(handle, source=str(path))
    except OSError as exc:
        raise ConfigurationError(f"Cannot read {path} ({exc.strerror or exc}); fix its permissions "
                                 "or remove it.") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{path} is not UTF-8 text; save it as UTF-8 or remove it.") from None
    except configparser.Error as exc:
        raise ConfigurationError(f"{path} is not a valid .sentryclirc file ({_ini_problem(exc)}); "
                                 "fix or remove it.") from None
    out: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.rc is None:
            continue
        value = _unquote(parser.get(*setting.rc, fallback="").strip())
        if value:
            out[setting.name] = value
    return out


def _ini_problem(exc: configparser.Error) -> str:
    """Where an INI file went wrong, without quoting the line (it may hold the token)."""
    import configparser

    if isinstance(exc, configparser.MissingSectionHeaderError):
        return f"line {exc.lineno} comes before any [section] header such as [auth] or [defaults]"
    if isinstance(exc, configparser.ParsingError):
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors[:5])
        return f"line {lines} is not 'key = value'"
    return type(exc).__name__


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1].strip()
    return value


# A DNS label (letters, digits, hyphens inside; underscores as real hosts use them).
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# Shortest URL user name treated as a key (a DSN's public key has 32 hex digits).
_KEY_LENGTH = 16
# What an HTTP bearer token may contain: printable ASCII, no spaces.
_TOKEN_CHARS = re.compile(r"[!-~]+")


def _host_problem(host: str) -> str | None:
    """Why ``host`` (from ``urlsplit``) cannot be connected to, or ``None`` when it can."""
    if ":" in host:  # an IPv6 literal (urlsplit removed the brackets)
        import ipaddress

        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            return f"{host!r} is not an IPv6 address"
        return None
    name = host[:-1] if host.endswith(".") else host
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return f"the host name {host!r} has an empty or too long part"
    for label in ascii_name.split("."):
        if not _LABEL.fullmatch(label):
            return f"the host name {host!r} has an invalid part {label!r}"
        if label.lower().startswith("xn--"):
            try:
                label.encode("ascii").decode("idna")
            except UnicodeError:
                return f"the host name {host!r} has an invalid punycode part {label!r}"
    return None


def _normalise_url(url: str) -> str:
    """Check a Sentry web URL and reduce it to ``scheme://host[:port][/path]``.

    Raises:
        ConfigurationError: the URL could never be connected to (bad host,
            port or scheme), or carries a user name or password.
    """
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = "https://" + url
    from .scrub import redact_text

    shown = redact_text(url)
    hint = "set SENTRY_URL like https://sentry.io or https://sentry.example.com."
    try:
        parts = urlsplit(url)
        problem = None
        if parts.scheme not in ("http", "https"):
            problem = "it is not an http(s) URL"
        elif not parts.hostname:
            problem = "it has no host name"
        elif parts.port is None and parts.netloc.endswith(":"):
            problem = "its port is empty"
    except ValueError as exc:  # an unclosed [IPv6 bracket, a port out of range
        problem = str(exc).rstrip(".") or "it cannot be parsed"
    if problem is None and (parts.username is not None or parts.password is not None):
        raise ConfigurationError("SENTRY_URL contains a user name or password; remove it and use "
                                 "SENTRY_AUTH_TOKEN.")
    if problem is None:
        problem = _host_problem(parts.hostname or "")
    if problem is not None:
        raise ConfigurationError(f"Sentry URL {shown!r} cannot work: {problem}; {hint}")
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


def public_dsn(dsn: str | None) -> str | None:
    """``dsn`` with its key replaced by ``***``, for reprs and ``doctor``."""
    if not dsn:
        return None
    try:
        _, base, project_id = parse_dsn(dsn)
    except ConfigurationError:
        return "***"
    return f"{base.split('://')[0]}://***@{base.split('://')[1]}/{project_id}"


def _userinfo(url: str | None, *, user_is_key: bool = False) -> list[str]:
    """The secret part of a URL's userinfo: the password, and the user name when it is a key.

    A DSN's user name is its key. Elsewhere a short user name (``admin``) is
    not a secret, and redacting it would blank that word in every message.
    """
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    user = parts.username if user_is_key or len(parts.username or "") >= _KEY_LENGTH else None
    return [p for p in (user, parts.password) if p]


def without_userinfo(url: str | None) -> str | None:
    """``url`` with any ``user:password@`` replaced by ``***@``, for reprs."""
    if not url or "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    if "@" not in netloc:
        return url
    return f"{scheme}{sep}***@{netloc.rsplit('@', 1)[1]}{slash}{path}"
