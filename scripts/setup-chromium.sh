#!/usr/bin/env bash
# Installs Debian's `chromium` (/usr/bin/chromium, driven headless by playwright-core in test/browser) when it is
# missing. Called by the browser tests' setup (test/helpers/chromium.ts) and by .ci/run; a no-op when it is there.
set -euo pipefail
chromium="${MLFLOW_KIT_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is not installed and this is not root: run 'sudo apt-get install -y chromium'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium
[ -x "$chromium" ] || { echo "apt-get installed chromium, but $chromium is missing" >&2; exit 1; }
