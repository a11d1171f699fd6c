#!/usr/bin/env bash
# Install a real browser for the offline-map test (tests/test_offline_map.py).
# Debian's chromium package; Playwright drives it through executable_path, so
# `playwright install` (which downloads its own browser) is never needed.
# Idempotent: does nothing when /usr/bin/chromium already exists. Needs root (CI runs as root).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

source "$(dirname "$0")/apt_common.sh" "chromium"

$SUDO apt-get update
$SUDO apt-get install -y chromium
