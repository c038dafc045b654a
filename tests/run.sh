#!/usr/bin/env bash
# The whole test suite, from a fresh machine: sets up everything the tests need, then runs pytest.
#
#   bash tests/run.sh            # everything
#   bash tests/run.sh -k mcp     # extra arguments go to pytest
#   bash tests/run.sh -m browser # only the JupyterLab + Chromium widget test
#
# It creates .venv (the project, editable, with the test extra), .venv-bugsink (Bugsink, a real
# independent ingest server, in its own venv), .test-cache/inspector (the npm MCP Inspector),
# .test-cache/sentry-cli and .test-cache/sentry-clients (Sentry's own clients, pinned) and,
# as root, Debian's Chromium for the browser tests (tests/setup_chromium.sh) and valgrind.
# Each step is idempotent and quiet when there is nothing to do.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
PY="${PYTHON:-python3}"

step() { printf '==> %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
    step "creating .venv"
    "$PY" -m venv .venv
fi
step "installing sentry-ipy and its test extra into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c tests/constraints.txt -e '.[test]'

step "installing Bugsink into .venv-bugsink"
bash tests/setup_bugsink.sh

step "installing the MCP Inspector into .test-cache/inspector"
bash tests/setup_inspector.sh

step "installing Sentry's own clients into .test-cache/ (sentry-cli, npm sentry, @sentry/mcp-server)"
bash tests/setup_sentry_clients.sh

if ! command -v valgrind >/dev/null 2>&1; then
    step "installing valgrind (the linear-time tests count instructions with callgrind)"
    apt-get install -y -qq valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind; }
fi

step "installing Chromium for the browser tests"
bash tests/setup_chromium.sh

# Most tests wait on subprocesses and loopback servers rather than on the CPU, so four workers
# finish a 2-core run in about half the time; every server binds port 0, so workers never collide.
# PYTEST_WORKERS=0 runs in one process (for -x or pdb).
WORKERS="${PYTEST_WORKERS:-4}"
step "running pytest ($WORKERS workers)"
if [ "$WORKERS" = 0 ]; then
    exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi
exec .venv/bin/python -m pytest -p no:cacheprovider -n "$WORKERS" "$@"
