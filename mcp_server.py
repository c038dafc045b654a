"""Run the sentry-ipy MCP server: ``python mcp_server.py [--http] [--read-only] ...``.

A thin launcher for people who run a checkout; installed users run
``sentry-ipy-mcp`` (the same code, ``sentry_ipy.mcp:main``).
"""

from __future__ import annotations

import sys

from sentry_ipy.mcp import main

if __name__ == "__main__":
    sys.exit(main())
