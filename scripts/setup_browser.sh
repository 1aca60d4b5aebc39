#!/usr/bin/env bash
# Make sure Debian's Chromium is installed, for the web widget's browser tests
# (tests/test_web_widget.py drives it with Playwright through executable_path).
# Never downloads Playwright's own browsers (`playwright install` fails here).
# CHROMIUM=/path/to/chromium uses another build.
exec bash "$(dirname "$0")/ensure_debian_tool.sh" chromium /usr/bin/chromium CHROMIUM --version browser
