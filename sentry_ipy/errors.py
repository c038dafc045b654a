"""The exception tree every face translates at its edge.

Each message is one sentence that says what went wrong and what to do next; it
never contains a token or a traceback. The notebook face turns these into a
one-line ``UsageError`` and the MCP face into an ``isError`` tool result, so the
wording here is what users read.

::

    SentryIpyError
    ├── ConfigurationError        settings missing or malformed (no org, bad DSN, ...)
    ├── ToolInputError            an argument a tool cannot use
    ├── TransportError            no answer: connection refused, DNS, timeout
    └── APIError                  the server answered with an error (.status, .url)
        ├── AuthenticationError   401: token missing, wrong or expired
        ├── PermissionDeniedError 403: token lacks a scope
        ├── NotFoundError         404: wrong org, project, ID or region
        ├── ConflictError         409: the thing exists already
        ├── RateLimitError        429 after retries (.retry_after)
        ├── ServerError           5xx after retries
        ├── UnsupportedFeatureError  the server lacks the route (404/405 or a web page
        │                            on a Sentry-compatible server), not the object
        └── UnexpectedResponseError  HTML or malformed JSON where JSON was due
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "SentryIpyError",
    "ServerError",
    "ToolInputError",
    "TransportError",
    "UnexpectedResponseError",
    "UnsupportedFeatureError",
    "error_line",
]


class SentryIpyError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigurationError(SentryIpyError):
    """Settings are missing or malformed."""


class ToolInputError(SentryIpyError):
    """A tool was given an argument it cannot use."""


class TransportError(SentryIpyError):
    """The server could not be reached or did not answer in time."""


class APIError(SentryIpyError):
    """The Web API answered with an error status.

    Attributes:
        status: the HTTP status code.
        url: the request URL (never carries the token: auth is a header).
        detail: Sentry's ``detail`` text when the body had one.
    """

    def __init__(self, message: str, *, status: int, url: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url
        self.detail = detail


class AuthenticationError(APIError):
    """401: the token is missing, wrong or expired."""


class PermissionDeniedError(APIError):
    """403: the token is valid but lacks a scope."""


class NotFoundError(APIError):
    """404: the organization, project, issue, event or region is wrong."""


class ConflictError(APIError):
    """409: the object exists already."""


class RateLimitError(APIError):
    """429 that outlasted the retries; ``retry_after`` says when to try again."""

    def __init__(self, message: str, *, status: int, url: str, detail: str | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, url=url, detail=detail)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx that outlasted the retries."""


class UnsupportedFeatureError(APIError):
    """The server does not offer this route or feature (a Sentry-compatible server, an older Sentry).

    Raised when a server that otherwise speaks the API answers a route with 405,
    or with a web page (any status) where JSON was due: the *route* is missing,
    so "not found", "check the scopes" or "not a Sentry server" would all be false.

    Attributes:
        feature: what the tool wanted, in words ("replays API"), when known.
    """

    def __init__(self, message: str, *, status: int, url: str, detail: str | None = None,
                 feature: str | None = None) -> None:
        super().__init__(message, status=status, url=url, detail=detail)
        self.feature = feature


class UnexpectedResponseError(APIError):
    """The body was not the JSON the endpoint promises (HTML page, cut-off JSON)."""


def error_line(exc: BaseException, *, named: bool = True, first_line: bool = False,
               secrets: Iterable[str | None] = ()) -> str:
    """The one line every face shows for an error: ``TypeName: message``, secrets scrubbed.

    Every face (a magic's ``UsageError``, an MCP ``isError`` result, the CLI's
    stderr line, a widget's status) formats errors here, as click's
    ``format_message()`` does, so a change to the wording or the scrubbing
    reaches all of them at once.

    Args:
        exc: the error.
        named: lead with the exception's class name (MCP results leave it out:
            a model needs the sentence, not our class names).
        first_line: keep only the first line (a foreign exception's text can be long).
        secrets: known secret values (token, DSN key) to replace besides token shapes.
    """
    from .scrub import redact_text

    text = str(exc).strip()
    if first_line:
        text = text.splitlines()[0] if text else ""
    text = redact_text(text, secrets)
    if not named:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
