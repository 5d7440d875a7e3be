import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, the browser of the browser tests (no browser download: playwright-core drives it). */
export const CHROMIUM = process.env.MLFLOW_KIT_CHROMIUM ?? '/usr/bin/chromium';

const setupScript = new URL('../../scripts/setup-chromium.sh', import.meta.url).pathname;

/**
 * Installs Debian's `chromium` with apt-get when it is missing (scripts/setup-chromium.sh, shared with the UI checks; CI runs as root on a
 * fresh machine), and throws when that is impossible: the browser tests must fail, never skip, on a machine
 * without a browser.
 */
export function ensureChromium(): string {
  if (existsSync(CHROMIUM)) return CHROMIUM;
  try {
    execFileSync('bash', [setupScript], { stdio: 'inherit' });
  } catch (cause) {
    throw new Error(
      `No browser at ${CHROMIUM}, and scripts/setup-chromium.sh could not install Debian's chromium: run \`apt-get install -y chromium\` (or set MLFLOW_KIT_CHROMIUM to a Chromium binary).`,
      { cause },
    );
  }
  return CHROMIUM;
}

/** Launches headless Chromium (no sandbox: CI runs as root), with SwiftShader's WebGL allowed. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: ensureChromium(),
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-swiftshader', '--use-angle=swiftshader'],
  });
}
