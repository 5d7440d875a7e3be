#!/usr/bin/env bash
# Installs Debian's `chromium` (/usr/bin/chromium) when no Chromium is there, for the checks of the official
# MLflow UI (test/helpers/mlflow-ui.ts drives it with playwright-core; no browser download). Called by that
# helper and by .ci/run; a no-op when a Chromium is installed or MLFLOW_KIT_CHROMIUM names one.
set -euo pipefail
if [ -n "${MLFLOW_KIT_CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] || [ -x /usr/bin/google-chrome ]; then
  exit 0
fi
exec bash "$(dirname "$0")/apt-install.sh" chromium
