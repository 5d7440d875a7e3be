#!/usr/bin/env bash
# Installs Debian's `postgresql` (server binaries under /usr/lib/postgresql/<major>/bin) when it is missing.
# Called by the test setup (test/setup/postgres.ts) and by .ci/run; a no-op when initdb is already there.
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "postgresql is not installed and this is not root: run 'sudo apt-get install -y postgresql'" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends postgresql
