#!/usr/bin/env bash
# Make sure Debian's nginx is installed, for the production profile
# (`python -m chatbot production up` runs it as a child process with its own prefix,
# pid file, logs and temp paths under var/production/nginx/, never the system nginx).
#
# Idempotent: when nginx (or $NGINX) already runs, this returns in well under a second.
# Debian's package puts its own site on port 80 and may start it (not in a container whose
# policy-rc.d forbids it); the production profile does not use it: see docs/deployment.md.
set -euo pipefail

DEBIAN_NGINX=/usr/sbin/nginx
NGINX="${NGINX:-$DEBIAN_NGINX}"

if [ -x "$NGINX" ] && "$NGINX" -v >/dev/null 2>&1; then
  echo "==> nginx: $("$NGINX" -v 2>&1 | head -n 1)"
  exit 0
fi

if [ "$NGINX" != "$DEBIAN_NGINX" ]; then
  echo "error: NGINX=$NGINX does not run. Fix the path, or unset NGINX to use Debian's nginx." >&2
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<MSG
error: nginx is not installed at $NGINX, and installing it needs root.
  Run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends nginx
  (or set NGINX=/path/to/nginx if it lives elsewhere), then run this again.
MSG
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get here; install nginx yourself and set NGINX=/path/to/nginx." >&2
  exit 1
fi

echo "==> installing Debian's nginx (apt-get; under a minute the first time)"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t setup-nginx.XXXXXX.log)"
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends nginx; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "error: apt-get could not install nginx (full log: $log). Check the network and apt sources." >&2
  exit 1
fi
rm -f "$log"

if ! "$NGINX" -v >/dev/null 2>&1; then
  echo "error: nginx was installed but $NGINX does not run (try: $NGINX -V)." >&2
  exit 1
fi
echo "==> nginx: $("$NGINX" -v 2>&1 | head -n 1)"
