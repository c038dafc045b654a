#!/usr/bin/env bash
# Install Bugsink (a real, independent Sentry-compatible ingest server) into its own
# venv at $REPO/.venv-bugsink, for the `bugsink` pytest fixture.
#
# Idempotent and quiet: prints nothing when the venv already works or the install
# succeeds; on failure prints pip's log and exits non-zero. Never touches the
# project venv (.venv): Bugsink ships top-level packages (api, events, issues,
# projects, sentry, ...) and Django, which must not leak into the test process.
#
# Overrides: SENTRY_IPY_BUGSINK_VENV (venv path), PYTHON (interpreter, >= 3.11).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SENTRY_IPY_BUGSINK_VENV:-$REPO/.venv-bugsink}"
BUGSINK_VERSION="2.6.2"
PY="${PYTHON:-python3}"

check() {
    [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/gunicorn" ] && [ -x "$VENV/bin/bugsink-manage" ] \
        && "$VENV/bin/python" - "$BUGSINK_VERSION" >/dev/null 2>&1 <<'PYEOF'
import sys
from importlib.metadata import version
import bugsink, gunicorn  # noqa: F401
sys.exit(0 if version("bugsink") == sys.argv[1] else 1)
PYEOF
}

if check; then
    exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
{
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "bugsink==$BUGSINK_VERSION" gunicorn
} >"$log" 2>&1 || {
    echo "setup_bugsink.sh: installing bugsink==$BUGSINK_VERSION into $VENV failed:" >&2
    cat "$log" >&2
    exit 1
}

if ! check; then
    echo "setup_bugsink.sh: $VENV was installed but cannot import bugsink $BUGSINK_VERSION / gunicorn" >&2
    exit 1
fi
