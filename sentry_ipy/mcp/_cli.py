"""``sentry-ipy-mcp``: run the MCP server over stdio (default) or streamable HTTP.

stdout belongs to the protocol; every log line and notice goes to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from collections.abc import Sequence

__all__ = ["build_parser", "is_loopback", "main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765

_DESCRIPTION = """\
Serve sentry-ipy's Sentry tools to MCP clients (Claude, Cursor, VS Code...).

"""
_SETTINGS_NOTE = ("Settings come from these flags, then SENTRY_* environment variables ({env}), "
                  "then ~/.sentryclirc. With no token and no URL the tools use an embedded local "
                  "Sentry-compatible backend.")

_EPILOG = """\
examples:
  sentry-ipy-mcp                                 stdio, for Claude Desktop / Code, Cursor, VS Code
  sentry-ipy-mcp --read-only --toolsets api      only the tools that read Sentry data
  sentry-ipy-mcp --http --port 8765 --auth-token-env MCP_TOKEN
                                                 streamable HTTP at http://127.0.0.1:8765/mcp
"""


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface, kept separate so ``sentry-ipy mcp`` can share it."""
    from ..config import OPTIONS, SETTINGS

    env = ", ".join(e for s in SETTINGS for e in s.env[:1])
    description = _DESCRIPTION + textwrap.fill(_SETTINGS_NOTE.format(env=env), 80) + "\n"
    p = argparse.ArgumentParser(prog="sentry-ipy-mcp", description=description,
                                epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    t = p.add_argument_group("transport")
    t.add_argument("--http", action="store_true",
                   help="serve streamable HTTP instead of stdio; one process is one Sentry client, so every HTTP client shares its scope (user, tags, context), open transactions and session: run one server per user")
    t.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to bind with --http (default {DEFAULT_HOST}; any other "
                        "address needs --auth-token-env or --allow-unauthenticated)")
    t.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port for --http (default {DEFAULT_PORT}; 0 picks a free one, "
                        "printed on stderr)")
    t.add_argument("--path", default="/mcp", help="endpoint path for --http (default /mcp)")
    t.add_argument("--auth-token-env", metavar="NAME",
                   help="name of an environment variable holding a token that HTTP clients "
                        "must send as 'Authorization: Bearer <token>'")
    t.add_argument("--allow-unauthenticated", action="store_true",
                   help="with --http on a non-loopback --host and no --auth-token-env, serve "
                        "anyway (anyone who can reach the address can use your Sentry token)")
    t.add_argument("--allowed-host", action="append", default=[], metavar="HOST",
                   help="extra Host header name to accept with --http (repeatable); other "
                        "hosts are refused to block DNS rebinding")
    s = p.add_argument_group("tools")
    s.add_argument("--read-only", action="store_true",
                   help="hide every tool that writes (captures, creates, changes scope)")
    s.add_argument("--toolsets", metavar="LIST",
                   help="comma-separated toolsets: sdk, api, a module (issues, capture, ...) "
                        "or a tool name; default all")
    c = p.add_argument_group("sentry")
    for setting in OPTIONS:  # one flag per option in config.SETTINGS
        c.add_argument(f"--{setting.name.replace('_', '-')}", dest=setting.name,
                       help=setting.flag_help())
    p.add_argument("--log-level", default="WARNING", type=str.upper,
                   choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"],
                   help="stderr log level (default WARNING)")
    return p


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only: ``localhost`` or a loopback address."""
    import ipaddress

    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _say(message: str) -> None:
    print(f"sentry-ipy-mcp: {message}", file=sys.stderr, flush=True)


def _start_local_backend() -> None:
    """Start the embedded backend now, or say in one line why not and serve anyway.

    A server that exits on startup is invisible in most MCP clients (a red dot
    at best); one that runs can answer each tool call with the sentence, which
    the model relays to the user.
    """
    from ..errors import SentryIpyError, error_line
    from ..tools import shared_local_server

    try:
        local = shared_local_server()
    except SentryIpyError as exc:
        _say(f"{error_line(exc, named=False)} Serving anyway: tools that need the backend answer with "
             "this error.")
        return
    _say(f"no SENTRY_AUTH_TOKEN or SENTRY_URL set: the tools use the embedded local "
         f"backend at {local.url}.")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, build the server and serve until the client goes away.

    Returns the exit status: 0 after a clean shutdown, 2 for a configuration
    problem (explained in one line on stderr).
    """
    args = build_parser().parse_args(argv)
    exposed = args.http and not args.auth_token_env and not is_loopback(args.host)
    if exposed and not args.allow_unauthenticated:
        _say(f"refusing to serve {args.host} without --auth-token-env: anyone who can reach it "
             "could use every tool with your Sentry token; set --auth-token-env NAME, bind "
             "127.0.0.1, or pass --allow-unauthenticated to accept that.")
        return 2
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from ..config import OPTIONS, Settings
    from ..errors import SentryIpyError, error_line

    token: str | None = None
    try:
        settings = Settings.resolve(**{s.name: getattr(args, s.name) for s in OPTIONS})
        if args.auth_token_env:
            token = os.environ.get(args.auth_token_env, "").strip()
            if not token:
                _say(f"--auth-token-env {args.auth_token_env}: that environment variable is "
                     "empty or unset; export a long random token in it.")
                return 2
        from ._server import build_mcp_server

        server = build_mcp_server(settings, read_only=args.read_only, toolsets=args.toolsets)
    except SentryIpyError as exc:
        _say(error_line(exc, named=False))
        return 2

    if settings.uses_local_backend:
        _start_local_backend()
    if exposed:
        _say(f"warning: serving {args.host} without --auth-token-env (--allow-unauthenticated); "
             "anyone who can reach it can use your Sentry token.")
    try:
        if args.http:
            from ._http import serve_http

            serve_http(server, host=args.host, port=args.port, path=args.path, token=token,
                       extra_hosts=args.allowed_host, log_level=args.log_level,
                       announce=lambda url: _say(f"serving MCP over streamable HTTP at {url}"))
        else:
            import anyio

            from ._stdio import serve_stdio

            anyio.run(serve_stdio, server)
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        _say(f"cannot serve on {args.host}:{args.port} ({exc.strerror or exc}); pick another "
             "--port.")
        return 2
    return 0
