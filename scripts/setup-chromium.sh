#!/usr/bin/env bash
# Installs Debian's `chromium` (/usr/bin/chromium) when no Chromium is there, for the checks of the official
# MLflow UI (test/helpers/mlflow-ui.ts drives it with playwright-core; no browser download).
# Called by that helper and by .ci/run; a no-op when a Chromium is already installed or MLFLOW_KIT_CHROMIUM names one.
set -euo pipefail
if [ -n "${MLFLOW_KIT_CHROMIUM:-}" ] || [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ] || [ -x /usr/bin/google-chrome ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Chromium is not installed and this is not root: run 'sudo apt-get install -y chromium', or set MLFLOW_KIT_CHROMIUM to a Chromium or Chrome binary" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends chromium
