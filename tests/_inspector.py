"""Run the official MCP Inspector CLI (npm ``@modelcontextprotocol/inspector@2.12.0``).

``tests/setup_inspector.sh`` installs it into ``$REPO/.test-cache/inspector``.
Verified CLI facts (inspector 2.12.0 on Node 20; npm warns EBADENGINE, it runs):

* binary: ``.test-cache/inspector/node_modules/.bin/mcp-inspector``; the mode flag
  ``--cli`` must come first, then the server command (stdio), then options::

      mcp-inspector --cli [-e KEY=VAL ...] python -m x --method tools/list
      mcp-inspector --cli python -m x --method tools/call --tool-name NAME \\
          --tool-arg k=v --tool-arg 'obj={"a":1}'
      mcp-inspector --cli python -m x --method tools/call --tool-name NAME \\
          --tool-args-json '{"k": "123", "obj": {"a": 1}}'

* ``--tool-arg k=v``: ``v`` is ``JSON.parse``d when it parses, else kept as a
  string (not schema-aware): ``n=5`` sends int 5, ``flag=true`` a bool,
  ``obj={"a":1}`` an object, ``tags=["x"]`` a list; a string that looks like a
  number must be quoted (``k="123"``) or sent with ``--tool-args-json``.
  An empty value (``k=``) is a usage error. ``--tool-arg`` and
  ``--tool-args-json`` are mutually exclusive.
* ``-q`` prints only the result JSON on stdout (drops the server's stderr);
  ``--format json`` prints one line ``{"result": {...}}``; default is the
  pretty-printed result object (``{"content": [...], "structuredContent": ...,
  "isError": false}``).
* the stdio server does NOT inherit the inspector's environment: it gets only
  the MCP SDK defaults (HOME, LOGNAME, PATH, SHELL, TERM, USER) plus ``-e KEY=VAL``
  (repeatable, placed anywhere after ``--cli``; a value may contain ``=``, an
  empty value is a usage error). So PYTHONPATH, SENTRY_DSN, ... must go via -e;
  ``--cwd DIR`` sets the server's working directory.
* exit codes: 0 ok; 1 usage/spawn/protocol error; 3 auth required; 4 unreachable;
  5 tool error — a result with ``isError: true`` (the result is still printed
  on stdout, and stderr gets ``{"error":{"code":"tool_is_error",...}}``) or an
  unknown tool (``tool_not_found``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSPECTOR_PREFIX = Path(
    os.environ.get("SENTRY_IPY_INSPECTOR_PREFIX", REPO / ".test-cache" / "inspector")
)

EXIT_OK = 0
EXIT_USAGE = 1
EXIT_AUTH_REQUIRED = 3
EXIT_UNREACHABLE = 4
EXIT_TOOL_ERROR = 5


def inspector_bin() -> Path | None:
    """The ``mcp-inspector`` launcher, or None if not installed (or no node)."""
    path = INSPECTOR_PREFIX / "node_modules" / ".bin" / "mcp-inspector"
    if not path.exists() or shutil.which("node") is None:
        return None
    return path


def run_inspector(
    args: list[str], env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``mcp-inspector --cli *args`` and capture text stdout/stderr.

    ``args`` is everything after ``--cli``: the server command then the options,
    e.g. ``[sys.executable, "-m", "sentry_ipy.mcp", "--method", "tools/list"]``.
    ``env`` holds variables for the stdio MCP server: each becomes ``-e KEY=VAL``
    (the server does not inherit the inspector's environment, see above; an
    empty value cannot be passed and raises ValueError). Never raises on a
    non-zero exit: check ``returncode`` (see the module docstring).
    """
    binary = inspector_bin()
    if binary is None:
        raise FileNotFoundError(
            "MCP Inspector not installed: run tests/setup_inspector.sh (tests/run.sh does this)"
        )
    full_env = dict(os.environ)
    # Keep the inspector's catalog/client config out of the user's home.
    full_env.setdefault("MCP_CATALOG_PATH", str(INSPECTOR_PREFIX / "catalog.json"))
    full_env.setdefault("MCP_CLIENT_CONFIG_PATH", str(INSPECTOR_PREFIX / "client.json"))
    full_env.setdefault("NO_UPDATE_NOTIFIER", "1")
    env_flags: list[str] = []
    for key, value in (env or {}).items():
        if not key or "=" in key or value == "":
            raise ValueError(f"cannot pass env var {key!r}={value!r} to the MCP Inspector")
        env_flags += ["-e", f"{key}={value}"]
    return subprocess.run(
        [str(binary), "--cli", *env_flags, *args],
        env=full_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
