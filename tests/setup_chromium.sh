#!/usr/bin/env bash
# Install Debian's Chromium (/usr/bin/chromium) for the browser tests (tests/test_widgets_browser.py),
# which drive it through the playwright Python package. Never `playwright install`: the tests use
# the distribution's browser via executable_path.
#
# Idempotent and quiet: prints nothing when Chromium is there or the install succeeds. As root it
# runs apt-get; otherwise it prints a hint and exits 0, so the browser tests skip (they fail under CI).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup_chromium.sh: /usr/bin/chromium not found; the browser tests will skip" \
         "(install it with: sudo apt-get install chromium)" >&2
    exit 0
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
    echo "setup_chromium.sh: apt-get install chromium failed:" >&2
    cat "$log" >&2
    exit 1
fi
