#!/usr/bin/env bash
# Make sure a program from a Debian package is installed; install it with apt-get if not.
#
#   ensure_debian_tool.sh PACKAGE PROGRAM_PATH OVERRIDE_VAR VERSION_FLAG LABEL
#
# Idempotent: when the program (or the path in $OVERRIDE_VAR) already runs, this returns
# in well under a second. Installing needs root; otherwise it says what to run.
set -euo pipefail
package=$1 debian_path=$2 override_var=$3 version_flag=$4 label=$5
program="${!override_var:-$debian_path}"

# Chromium prints its version on stdout (and wrapper noise on stderr); nginx only on stderr.
version() {
  local out
  out=$("$program" "$version_flag" 2>/dev/null | head -n 1)
  [ -n "$out" ] || out=$("$program" "$version_flag" 2>&1 | tail -n 1)
  echo "$out"
}

if [ -x "$program" ] && "$program" "$version_flag" >/dev/null 2>&1; then
  echo "==> $label: $(version)"
  exit 0
fi

if [ "$program" != "$debian_path" ]; then
  echo "error: $override_var=$program does not run. Fix the path, or unset $override_var to use Debian's $package." >&2
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<MSG
error: $package is not installed at $program, and installing it needs root.
  Run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends $package
  (or set $override_var=/path/to/$package if it lives elsewhere), then run this again.
MSG
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "error: no apt-get here; install $package yourself and set $override_var=/path/to/$package." >&2
  exit 1
fi

echo "==> installing Debian's $package (apt-get; about a minute the first time)"
export DEBIAN_FRONTEND=noninteractive
log="$(mktemp -t "setup-$package.XXXXXX.log")"
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "$package"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "error: apt-get could not install $package (full log: $log). Check the network and apt sources." >&2
  exit 1
fi
rm -f "$log"

if ! "$program" "$version_flag" >/dev/null 2>&1; then
  echo "error: $package was installed but $program does not run (try: $program $version_flag)." >&2
  exit 1
fi
echo "==> $label: $(version)"
