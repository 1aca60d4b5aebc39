#!/usr/bin/env bash
# Make sure Debian's Chromium is installed, for the web widget's browser tests
# (tests/test_web_widget.py drives it with Playwright through executable_path).
#
# Idempotent: when /usr/bin/chromium (or $CHROMIUM) already runs, this returns in well under
# a second. Never downloads Playwright's own browsers (`playwright install` fails here).
set -euo pipefail

DEBIAN_CHROMIUM=/usr/bin/chromium
CHROMIUM="${CHROMIUM:-$DEBIAN_CHROMIUM}"

if [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; then
  echo "==> browser: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
  exit 0
fi

if [ "$CHROMIUM" != "$DEBIAN_CHROMIUM" ]; then
  echo "error: CHROMIUM=$CHROMIUM does not run. Fix the path, or unset CHROMIUM to use Debian's chromium." >&2
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<MSG
error: Chromium is not installed at $CHROMIUM, and installing it needs root.
  Run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends chromium
  (or set CHROMIUM=/path/to/chromium if it lives elsewhere), then run this again.
MSG
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get here; install Chromium yourself and set CHROMIUM=/path/to/chromium." >&2
  exit 1
fi

echo "==> installing Debian's chromium (apt-get; about a minute the first time)"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t setup-browser.XXXXXX.log)"
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends chromium; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "error: apt-get could not install chromium (full log: $log). Check the network and apt sources." >&2
  exit 1
fi
rm -f "$log"

if ! "$CHROMIUM" --version >/dev/null 2>&1; then
  echo "error: chromium was installed but $CHROMIUM does not run (try: $CHROMIUM --headless --version)." >&2
  exit 1
fi
echo "==> browser: $("$CHROMIUM" --version 2>/dev/null | head -n 1)"
