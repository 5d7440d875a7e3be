import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const SETUP_SCRIPT = fileURLToPath(new URL('../../scripts/setup-chromium.sh', import.meta.url));

function findChromium(): string | undefined {
  const chosen = process.env.MLFLOW_KIT_CHROMIUM;
  if (chosen && !existsSync(chosen))
    throw new Error(
      `MLFLOW_KIT_CHROMIUM names ${chosen}, which does not exist: point it at a Chromium binary or unset it.`,
    );
  if (chosen) return chosen;
  return CANDIDATES.find((path) => existsSync(path));
}

/**
 * The Chromium the browser tests and the MLflow UI checks drive (no browser download: playwright-core drives
 * it): `MLFLOW_KIT_CHROMIUM`, else the system's. When there is none, `scripts/setup-chromium.sh` installs
 * Debian's `chromium` (as root, on a fresh CI machine); if that cannot, the error says what to install. A
 * missing Chromium fails the tests, never skips them.
 */
export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  const setup = spawnSync('bash', [SETUP_SCRIPT], { stdio: ['ignore', 2, 'pipe'], encoding: 'utf8' });
  const installed = findChromium();
  if (installed) return installed;
  throw new Error(
    `The browser tests need Chromium and found none at ${CANDIDATES.join(', ')}; ` +
      `scripts/setup-chromium.sh could not install it (${(setup.stderr ?? '').trim().slice(-500) || `exit ${setup.status}`}). ` +
      'Install it (Debian/Ubuntu: apt-get install -y chromium) or set MLFLOW_KIT_CHROMIUM to a Chromium or Chrome binary.',
  );
}

/** Launches headless Chromium (no sandbox: CI runs as root), with SwiftShader's WebGL allowed. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
  });
}
