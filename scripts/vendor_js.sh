#!/usr/bin/env bash
# Re-fetch the two third-party browser scripts we keep in the repository, at pinned versions,
# from the npm registry (with npm's own client, which checks each tarball's integrity), and
# check each file against the sha256 sum written here before copying it into place.
#
#   scripts/vendor_js.sh           fetch, verify, install (needs npm and the registry)
#   scripts/vendor_js.sh --check   only verify the files already in place (no network)
#
# What and why:
#   socket.io-client  MIT      chatbot/channels/static/vendor/   served to people by the widget
#   axe-core          MPL-2.0  tests/web/vendor/                 injected by tests only, never served
#
# To move to a new version: change VERSION and SHA256 below, run this script, look at the diff,
# and run the widget tests (.venv/bin/python -m pytest tests/test_web_widget.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# package | version | file in the tarball | destination | sha256 of that file
PINS=(
  "socket.io-client|4.8.4|package/dist/socket.io.min.js|chatbot/channels/static/vendor/socket.io.min.js|d5d79a35039e860b32bdef4795528b05c2f788d4b2d9dacc913120e2878f7b3f"
  "socket.io-client|4.8.4|package/LICENSE|chatbot/channels/static/vendor/socket.io.LICENSE|73cb68c437d59e066f9386ef97be57298df4db119fdbd7d7150817c6dbd9f189"
  "axe-core|4.14.1|package/axe.min.js|tests/web/vendor/axe.min.js|29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
  "axe-core|4.14.1|package/LICENSE|tests/web/vendor/axe-core.LICENSE|af175b9d96ee93c21a036152e1b905b0b95304d4ae8c2c921c7609100ba8df7e"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

if [ "${1:-}" = "--check" ]; then
  bad=0
  for pin in "${PINS[@]}"; do
    IFS='|' read -r pkg version _ dest sum <<<"$pin"
    if [ ! -f "$ROOT/$dest" ]; then
      echo "missing: $dest ($pkg $version); run scripts/vendor_js.sh" >&2
      bad=1
    elif [ "$(sha "$ROOT/$dest")" != "$sum" ]; then
      echo "changed: $dest is not $pkg $version as pinned; run scripts/vendor_js.sh" >&2
      bad=1
    fi
  done
  [ "$bad" -eq 0 ] && echo "==> vendored scripts match their pinned sha256 sums"
  exit "$bad"
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed to fetch from the npm registry (apt-get install npm), or use --check." >&2
  exit 1
fi

work="$(mktemp -d -t vendor-js.XXXXXX)"
trap 'rm -rf "$work"' EXIT

declare -A fetched=()
for pin in "${PINS[@]}"; do
  IFS='|' read -r pkg version inner dest sum <<<"$pin"
  dir="$work/$pkg-$version"
  if [ -z "${fetched[$pkg@$version]:-}" ]; then
    mkdir -p "$dir"
    echo "==> npm pack $pkg@$version"
    # npm verifies the tarball against the registry's integrity (sha512) while fetching it.
    if ! tarball="$(cd "$dir" && npm pack --silent "$pkg@$version" 2>"$dir/npm.log" | tail -n 1)"; then
      cat "$dir/npm.log" >&2
      echo "error: could not fetch $pkg@$version from the npm registry." >&2
      exit 1
    fi
    tar -xzf "$dir/$tarball" -C "$dir"
    fetched[$pkg@$version]=1
  fi
  if [ ! -f "$dir/$inner" ]; then
    echo "error: $pkg@$version has no $inner" >&2
    exit 1
  fi
  got="$(sha "$dir/$inner")"
  if [ "$got" != "$sum" ]; then
    echo "error: $pkg@$version $inner has sha256 $got, expected $sum. Nothing was changed." >&2
    exit 1
  fi
done

# Everything verified: only now copy into the repository.
for pin in "${PINS[@]}"; do
  IFS='|' read -r pkg version inner dest _ <<<"$pin"
  mkdir -p "$(dirname "$ROOT/$dest")"
  cp "$work/$pkg-$version/$inner" "$ROOT/$dest"
  echo "    $dest  ($pkg $version)"
done
echo "==> vendored scripts fetched and verified"
