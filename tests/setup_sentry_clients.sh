#!/usr/bin/env bash
# Install Sentry's own clients, pinned, for the conformance suites (tests/test_conformance_*.py):
#   npm  @sentry/mcp-server  -> $REPO/.test-cache/sentry-clients/node_modules/@sentry/mcp-server
#   npm  sentry (getsentry's newer CLI) -> $REPO/.test-cache/sentry-clients/node_modules/.bin/sentry
#   PyPI sentry-cli          -> $REPO/.test-cache/sentry-cli/bin/sentry-cli (its own venv)
# .test-cache/ is gitignored. Idempotent and quiet: prints nothing when everything is installed
# at the pinned versions; on failure prints the installer's log and exits non-zero.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$REPO/.test-cache"
NPM_PREFIX="$CACHE/sentry-clients"
CLI_VENV="$CACHE/sentry-cli"
MCP_VERSION="0.39.0"
SENTRY_VERSION="0.49.0"
SENTRY_CLI_VERSION="3.8.2"
PY="${PYTHON:-python3}"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
fail() { echo "setup_sentry_clients.sh: $1" >&2; cat "$log" >&2; exit 1; }

npm_has() {  # npm_has PACKAGE VERSION
    node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
        "$NPM_PREFIX/node_modules/$1/package.json" "$2" >/dev/null 2>&1
}

if ! npm_has @sentry/mcp-server "$MCP_VERSION" || ! npm_has sentry "$SENTRY_VERSION"; then
    command -v npm >/dev/null 2>&1 || fail "npm not found (install Node.js and npm, e.g. apt-get install nodejs npm)"
    mkdir -p "$NPM_PREFIX"
    # Telemetry and update checks of the installers themselves stay off too.
    DO_NOT_TRACK=1 npm install --prefix "$NPM_PREFIX" --no-audit --no-fund --loglevel=error \
        "@sentry/mcp-server@$MCP_VERSION" "sentry@$SENTRY_VERSION" >"$log" 2>&1 \
        || fail "npm install @sentry/mcp-server@$MCP_VERSION sentry@$SENTRY_VERSION failed:"
    npm_has @sentry/mcp-server "$MCP_VERSION" && npm_has sentry "$SENTRY_VERSION" \
        || fail "installed, but the pinned versions are not in $NPM_PREFIX"
fi

cli_has() {
    [ -x "$CLI_VENV/bin/sentry-cli" ] \
        && "$CLI_VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("sentry-cli") != sys.argv[1])' \
            "$SENTRY_CLI_VERSION" >/dev/null 2>&1
}

if ! cli_has; then
    [ -x "$CLI_VENV/bin/python" ] || "$PY" -m venv "$CLI_VENV" >"$log" 2>&1 || fail "python -m venv $CLI_VENV failed:"
    "$CLI_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "sentry-cli==$SENTRY_CLI_VERSION" >"$log" 2>&1 || fail "pip install sentry-cli==$SENTRY_CLI_VERSION failed:"
    cli_has || fail "installed, but $CLI_VENV/bin/sentry-cli $SENTRY_CLI_VERSION is missing"
fi
