"""The ``sentry-ipy`` command: ``demo``, ``local``, ``doctor`` and ``mcp``.

``demo`` is the first thing a new user runs: it needs no account, starts the
embedded backend, sends real events through sentry-sdk and reads them back
through the same tools the notebook and MCP faces use.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["mcp"]:  # everything after "mcp" belongs to the MCP server's own parser
        from .mcp import main as mcp_main

        return int(mcp_main(argv[1:]) or 0)
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from .errors import SentryIpyError

    try:
        return int(args.run(args) or 0)
    except SentryIpyError as exc:
        print(f"sentry-ipy: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="sentry-ipy",
        description="Sentry for Jupyter, IPython and MCP clients.",
        epilog="Run 'sentry-ipy demo' first: it needs no Sentry account.")
    parser.add_argument("--version", action="version", version=f"sentry-ipy {__version__}")
    sub = parser.add_subparsers(dest="command", title="commands", metavar="COMMAND")

    demo = sub.add_parser("demo", help="send sample events to the embedded local backend and list the issues",
                          description="Start the embedded local backend (no account needed), send sample "
                                      "errors, a message, a transaction and a session through sentry-sdk, "
                                      "then list the issues the backend grouped them into.")
    demo.add_argument("--data-dir", type=Path, help="where the local backend keeps its SQLite file "
                                                   "(default: the user data dir, or $SENTRY_IPY_DATA_DIR)")
    demo.set_defaults(run=_demo)

    local = sub.add_parser("local", help="run the embedded Sentry-compatible backend in the foreground",
                           description="Serve the embedded backend: ingest at /api/<project>/envelope/ and "
                                       "the Web API subset at /api/0/. Point SENTRY_DSN and SENTRY_URL at it.")
    local.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    local.add_argument("--port", type=int, default=9000, help="port (default 9000; 0 picks a free one)")
    local.add_argument("--data-dir", type=Path, help="SQLite folder (default: the user data dir)")
    local.set_defaults(run=_local)

    doctor = sub.add_parser("doctor", help="show the resolved settings and check the connection",
                            description="Show where each setting comes from and try one API call.")
    doctor.set_defaults(run=_doctor)

    # "mcp" is dispatched in main() before parsing; listed here for --help only.
    sub.add_parser("mcp", help="run the MCP server (same as sentry-ipy-mcp; 'sentry-ipy mcp --help')")
    return parser


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.data_dir)


def _local(args: argparse.Namespace) -> int:
    from .tools._context import start_local_server

    srv = start_local_server(args.data_dir, host=args.host, port=args.port, request_log=True)
    data_dir = getattr(srv, "data_dir", args.data_dir)
    print(f"Embedded Sentry backend on {srv.url}  (data: {data_dir})", file=sys.stderr)
    print("Point the tools at it:", file=sys.stderr)
    print(f"  export SENTRY_URL={srv.url}", file=sys.stderr)
    print(f"  export SENTRY_ORG={srv.org_slug}", file=sys.stderr)
    print(f"  export SENTRY_AUTH_TOKEN={srv.token}", file=sys.stderr)
    print(f"  export SENTRY_DSN={srv.dsn()}", file=sys.stderr)
    print("Ctrl-C stops it.", file=sys.stderr)
    srv.serve_forever()  # returns after Ctrl-C, with the server stopped
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from .config import Settings
    from .tools import ToolContext

    settings = Settings.resolve()
    print(f"settings: {settings!r}")
    if settings.uses_local_backend:
        print("No SENTRY_URL or SENTRY_AUTH_TOKEN: tools use the embedded local backend.")
        return 0
    ctx = ToolContext(settings)
    try:
        client = ctx.api()
        org = client.get("organizations", client.org, scope="org:read")
        print(f"OK: organization {org.get('slug')!r} ({org.get('name')}) at {client.base_url}")
    finally:
        ctx.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
