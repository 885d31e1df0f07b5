#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium, for the browser tests (test/integration/browser.ts
# drives it with playwright-core; playwright's own browser downloads are not used: the machine may be offline).
# Idempotent: exits at once when /usr/bin/chromium exists. Otherwise installs the `chromium` package with apt-get,
# non-interactively, running `apt-get update` only when the package is not known to apt yet. Output goes to
# .stack/logs/chromium-install.log. Must never: install anything but Debian's chromium package, or ask a question.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROMIUM=/usr/bin/chromium
LOG="$ROOT/.stack/logs/chromium-install.log"

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

fail() {
  echo "ensure-chromium: $*" >&2
  exit 1
}

command -v apt-get > /dev/null 2>&1 || fail "$CHROMIUM is missing and apt-get is not available: install Chromium by hand (Debian/Ubuntu package 'chromium') so that $CHROMIUM exists"
[[ "$(id -u)" == 0 ]] || fail "$CHROMIUM is missing; installing it needs root: run 'sudo apt-get install -y chromium' (or this script as root)"

mkdir -p "$(dirname "$LOG")"
export DEBIAN_FRONTEND=noninteractive
echo "[chromium] installing Debian's chromium package (log: $LOG)…"
{
  echo "=== $(date -u +%Y-%m-%dT%H:%M:%SZ) ensure-chromium"
  # An apt cache that does not know the package yet (fresh image, emptied lists) needs an update first.
  if ! apt-cache show chromium > /dev/null 2>&1; then
    echo "--- apt-get update"
    apt-get update -q
  fi
  echo "--- apt-get install chromium"
  apt-get install -y -q --no-install-recommends chromium
} >> "$LOG" 2>&1 || fail "installing chromium failed; see $LOG (last lines: $(tail -n 3 "$LOG" | tr '\n' ' '))"

[[ -x "$CHROMIUM" ]] || fail "the chromium package installed, but $CHROMIUM is still missing; see $LOG"
echo "[chromium] $("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM") installed"
