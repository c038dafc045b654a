"""The ``sentry-ipy`` command: ``demo``, ``local``, ``run``, ``doctor`` and ``mcp``.

``demo`` is the first thing a new user runs: it needs no account, starts the
embedded backend, sends real events through sentry-sdk and reads them back
through the same tools the notebook and MCP faces use.
"""

from __future__ import annotations

import argparse
import logging
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
    from .errors import SentryIpyError, error_line

    try:
        return int(args.run(args) or 0)
    except SentryIpyError as exc:
        print(f"sentry-ipy: {error_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    from . import __version__
    from .local import LOCAL_PORT

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
    local.add_argument("--port", type=int, default=LOCAL_PORT,
                       help=f"port (default {LOCAL_PORT}; 0 picks a free one)")
    local.add_argument("--data-dir", type=Path, help="SQLite folder (default: the user data dir)")
    local.add_argument("--tls", action="store_true",
                       help="serve https with a certificate from a CA kept in the data dir (for clients "
                            "that insist on https); the CA's path is printed for NODE_EXTRA_CA_CERTS and friends")
    local.add_argument("--retention-days", type=float, metavar="DAYS",
                       help="delete events, sessions, replays and issues older than this, at start and "
                            "hourly (default 90, like Sentry; 0 keeps everything)")
    local.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                       help="a Host name to answer besides loopback names and --host (repeatable), e.g. this "
                            "machine's name with --host 0.0.0.0; other names are refused against DNS rebinding")
    local.set_defaults(run=_local)

    runner = sub.add_parser(
        "run", help="execute a notebook headless, monitored (session, transaction, errors)",
        description="Execute NOTEBOOK with nbclient as one monitored job: a release-health session "
                    "(exited, errored, crashed or abnormal), one transaction with a span per cell, the "
                    "failing cell's error captured once with the run's context. Exits 1 when a cell "
                    "fails, and the executed notebook is saved (to -o, else beside the input as "
                    "NAME.failed.ipynb).",
        epilog="Parameters go into a cell after the one tagged 'parameters', as papermill does: "
               "sentry-ipy run report.ipynb -p day 2026-01-31 -p limit 100 -o out.ipynb")
    runner.add_argument("notebook", type=Path, help="the .ipynb file to run")
    runner.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set a parameter (True/False/None, numbers, else text); repeatable")
    runner.add_argument("-o", "--output", type=Path,
                        help="write the executed notebook here (default: only on failure, NAME.failed.ipynb)")
    runner.add_argument("--release", help="release the run's session counts for (default: SENTRY_RELEASE)")
    runner.add_argument("--environment", help="environment (default: SENTRY_ENVIRONMENT)")
    runner.add_argument("--timeout", type=float, default=600.0,
                        help="seconds a cell may run before the run is abnormal (default 600; 0: no limit)")
    runner.add_argument("--kernel", help="Jupyter kernel name (default: the notebook's, else python3)")
    runner.add_argument("--cwd", type=Path, help="the kernel's working directory (default: the notebook's folder)")
    runner.set_defaults(run=_run)

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
    from .local import start_local_server

    logging.getLogger("uvicorn.error").addFilter(_hide_process_line)
    srv = start_local_server(args.data_dir, host=args.host, port=args.port, request_log=True, tls=args.tls,
                             retention_days=args.retention_days, allowed_hosts=tuple(args.allow_host))
    data_dir = getattr(srv, "data_dir", args.data_dir)
    print(f"Embedded Sentry backend on {srv.url}  (data: {data_dir})", file=sys.stderr)
    if srv.web_token:
        print(f"Web UI (open this link once per browser; it sets a cookie): {srv.web_url}", file=sys.stderr)
    else:
        print(f"Web UI: {srv.web_url}", file=sys.stderr)
    print("Point the tools at it:", file=sys.stderr)
    print(f"  export SENTRY_URL={srv.url}", file=sys.stderr)
    print(f"  export SENTRY_ORG={srv.org_slug}", file=sys.stderr)
    print(f"  export SENTRY_AUTH_TOKEN={srv.token}", file=sys.stderr)
    print(f"  export SENTRY_DSN={srv.dsn()}", file=sys.stderr)
    ca = getattr(srv, "ca_path", None)
    if ca is not None:
        from .local import ca_environment

        print(f"Trust its certificate authority ({ca}):", file=sys.stderr)
        for name, value in ca_environment(ca).items():
            print(f"  export {name}={value}", file=sys.stderr)
    print("Ctrl-C stops it.", file=sys.stderr)
    srv.serve_forever()  # returns after Ctrl-C, with the server stopped
    return 0


def _run(args: argparse.Namespace) -> int:
    from .config import Settings
    from .runs import parse_value, run_notebook
    from .tools import ToolContext

    ctx = ToolContext(Settings.resolve(release=args.release, environment=args.environment))
    try:
        result = run_notebook(args.notebook, [(name, parse_value(value)) for name, value in args.parameter],
                              output=args.output, ctx=ctx, timeout=args.timeout or None,
                              kernel_name=args.kernel, cwd=args.cwd)
    finally:
        ctx.close()
    print(result.summary())
    for note in result.notes:
        print(f"sentry-ipy: {note}", file=sys.stderr)
    if result.output:
        print(f"Executed notebook saved to {result.output}")
    return result.exit_code


def _hide_process_line(record: logging.LogRecord) -> bool:
    """Drop uvicorn's "Started server process [N]": the lines above say what is running."""
    return not str(record.msg).startswith("Started server process")


def _doctor(args: argparse.Namespace) -> int:
    import dataclasses

    from .config import Settings
    from .tools import ToolContext

    settings, sources = Settings.resolve_with_sources()
    shown = [(f.name, getattr(settings, f.name)) for f in dataclasses.fields(settings)
             if f.name in sources and getattr(settings, f.name) not in (None, "")]
    if shown:
        print("Settings (explicit values beat environment variables, which beat .sentryclirc):")
        width = max(len(name) for name, _ in shown)
        for name, value in shown:
            print(f"  {name:<{width}}  {_shown_setting(name, value)}  (from {_source_label(sources[name])})")
    else:
        print("No Sentry settings found (no SENTRY_* environment variables, no .sentryclirc).")
    for line in _spool_lines():
        print(line)
    if settings.uses_local_backend:
        return _doctor_local()
    ctx = ToolContext(settings)
    try:
        client = ctx.api()
        print(f"Checking {client.web_url} (organization {client.org!r}) ...", flush=True)
        org = client.get("organizations", client.org, scope="org:read")
        print(f"OK: organization {org.get('slug')!r} ({org.get('name')}) at {client.base_url}")
    finally:
        ctx.close()
    return 0


def _doctor_local() -> int:
    """Without a URL or token the tools use the embedded backend: show its data dir and start it once."""
    from .local import start_local_server

    print("No SENTRY_URL or SENTRY_AUTH_TOKEN: tools use the embedded local backend "
          "(set them to use a real Sentry).")
    print("Checking that the local backend can start ...", flush=True)
    srv = start_local_server()
    try:
        print(f"OK: the local backend started on {srv.url} with data dir {srv.data_dir}; "
              "'sentry-ipy local' serves it with a web UI.")
    finally:
        srv.stop()
    return 0


def _spool_lines() -> list[str]:
    """What waits in the delivery spools under the data dir (one folder per DSN), read from disk."""
    from .local import default_data_dir
    from .telemetry import Spool, describe_delivery

    root = default_data_dir() / "spool"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    lines: list[str] = []
    for folder in folders:
        lines.extend(describe_delivery({"spool": Spool(folder).summary()}))
    return lines or [f"Delivery spool: empty ({root})."]


def _shown_setting(name: str, value: object) -> str:
    """A setting's value as doctor prints it: the token masked, DSN and URL without secrets."""
    from .config import public_dsn, without_userinfo

    text = str(value)
    if name == "auth_token":
        prefix = text[:7] if text.startswith(("sntrys_", "sntryu_")) else ""
        return f"{prefix}*** ({len(text)} characters)"
    if name == "dsn":
        return public_dsn(text) or ""
    if name == "url":
        return without_userinfo(text) or ""
    return text


def _source_label(source: str) -> str:
    if source == "explicit":
        return "an explicit value"
    if source.startswith("SENTRY_"):
        return f"environment variable {source}"
    return source


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
