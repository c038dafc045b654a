#!/usr/bin/env bash
# Install the official MCP Inspector CLI (npm @modelcontextprotocol/inspector) into
# $REPO/.test-cache/inspector (gitignored), for the MCP client tests.
#
# Idempotent and quiet: prints nothing when it is already installed or the install
# succeeds; on failure prints npm's log and exits non-zero.
# The binary is then $REPO/.test-cache/inspector/node_modules/.bin/mcp-inspector
# (use it as `mcp-inspector --cli <server command...> --method tools/list`).
# Inspector 2.12.0 declares node >= 22.19 but runs its CLI fine on the machine's
# Node 20 (npm only warns, EBADENGINE).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${SENTRY_IPY_INSPECTOR_PREFIX:-$REPO/.test-cache/inspector}"
VERSION="2.12.0"
PKG_JSON="$PREFIX/node_modules/@modelcontextprotocol/inspector/package.json"
BIN="$PREFIX/node_modules/.bin/mcp-inspector"

installed() {
    [ -x "$BIN" ] && [ -f "$PKG_JSON" ] \
        && node -e 'process.exit(require(process.argv[1]).version === process.argv[2] ? 0 : 1)' \
            "$PKG_JSON" "$VERSION" >/dev/null 2>&1
}

if installed; then
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "setup_inspector.sh: npm not found (install Node.js and npm, e.g. apt-get install nodejs npm)" >&2
    exit 1
fi

mkdir -p "$PREFIX"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! npm install --prefix "$PREFIX" --no-audit --no-fund --loglevel=error \
        "@modelcontextprotocol/inspector@$VERSION" >"$log" 2>&1; then
    echo "setup_inspector.sh: npm install @modelcontextprotocol/inspector@$VERSION failed:" >&2
    cat "$log" >&2
    exit 1
fi

if ! installed; then
    echo "setup_inspector.sh: installed, but $BIN (inspector $VERSION) is missing" >&2
    cat "$log" >&2
    exit 1
fi
