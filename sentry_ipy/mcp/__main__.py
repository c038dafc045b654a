"""``python -m sentry_ipy.mcp``: the same as ``sentry-ipy-mcp``."""

from __future__ import annotations

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
