#!/usr/bin/env bash
# Installs Debian's `postgresql` (server binaries under /usr/lib/postgresql/<major>/bin) when it is missing.
# Called by the test setup (test/setup/postgres.ts) and by .ci/run; a no-op when initdb is already there.
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" postgresql
