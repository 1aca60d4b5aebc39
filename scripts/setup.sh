#!/usr/bin/env bash
# Create .venv and install the pinned lock. Idempotent: with an unchanged lock
# and pyproject it only compares a checksum and exits in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
stamp=.venv/.installed
want=$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
if ! command -v "$PY" >/dev/null; then
  echo "error: $PY not found. Install Python 3.11 (or set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
[ -x .venv/bin/python ] || { echo "==> creating .venv with $($PY --version)"; "$PY" -m venv .venv; }
echo "==> installing $(grep -vc '^#' requirements/lock.txt) pinned packages into .venv"
echo "    (first time: about 2-5 minutes and 3 GB for Rasa and TensorFlow; later: seconds)"
mkdir -p var
log=var/setup-pip.log
# Every version is pinned, so Rasa's "Requires-Python <3.11" can be ignored safely
# (see shared/RASA-ON-PY311.md). Show progress live; the machine's pip config names local indexes that may not
# exist, and that noise stays in the log.
set +o pipefail
.venv/bin/pip install --progress-bar off --no-deps --ignore-requires-python -r requirements/lock.txt 2>&1 | tee "$log" \
  | grep --line-buffered -E '^(Collecting|Installing collected|Successfully installed)' \
  | sed -u -e 's/^Collecting /    + /' -e 's/^Successfully installed.*/    installed./'
status=${PIPESTATUS[0]}
if [ "$status" -eq 0 ]; then
  .venv/bin/pip install --no-deps -e . >>"$log" 2>&1 || status=$?
fi
set -o pipefail
if [ "$status" -ne 0 ]; then
  grep -v "^WARNING: Location 'file:" "$log" | tail -20 >&2
  echo "error: installing the lock failed (full log: $log). Check the network to PyPI, then run 'make setup' again." >&2
  exit 1
fi
.venv/bin/python - <<'PY'
import importlib.metadata as m, sys
for dist in ("rasa", "rasa-sdk", "spacy", "SQLAlchemy", "python-telegram-bot", "chatbot"):
    try:
        m.version(dist)
    except m.PackageNotFoundError:
        sys.exit(f"error: {dist} did not install; see the pip output above, then run `make setup` again.")
PY
echo "$want" > "$stamp"
echo "==> .venv ready: $(.venv/bin/rasa --version 2>/dev/null | grep -m1 'Rasa Version' | tr -s ' ')"
