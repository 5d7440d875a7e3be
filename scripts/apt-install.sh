#!/usr/bin/env bash
# Installs Debian packages with apt-get (as root, non-interactive), or says what to run when this is not root.
# Usage: scripts/apt-install.sh <package>...   (used by setup-postgres.sh and setup-chromium.sh)
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "$* not installed and this is not root: run 'sudo apt-get install -y $*'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "$@"
